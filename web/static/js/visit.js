// The video visit page: pre-call check -> consent (patients, once) -> waiting room -> call.
import { api, announce, ApiError } from "./api.js";
import { mountArrivalNotice } from "./arrival-notice.js";
import { getLocalMedia, otherCamera, playTestSound, screenTrack, watchLevel, browserSupported } from "./media.js";
import { PeerLink } from "./peer.js";
import { runNetworkTest } from "./precall.js";
import { SignalingSession } from "./signaling.js";
import { mountSplit } from "./split.js";

const root = document.getElementById("visit");
const $ = (id) => document.getElementById(id);
const visit = {
  id: root.dataset.appointmentId,
  role: root.dataset.role,
  otherName: root.dataset.otherName,
  consentNeeded: root.dataset.consentNeeded === "true",
  consentVersion: root.dataset.consentVersion,
  relayOnly: new URLSearchParams(location.search).get("relay") === "1",
  // Arrived from the agenda's "Admit" button: let the waiting patient in as soon as we are inside.
  admitOnArrival: new URLSearchParams(location.search).get("admit") === "1",
  // A guest (caregiver, interpreter) has no account: their invitation's token is the credential.
  guestToken: root.dataset.guestToken || "",
};
const state = {
  stream: null,
  audioOnly: false,
  facing: "user",
  micOn: true,
  cameraOn: true,
  sharing: null,
  // Both sides send no video (the switch, or a poor connection): the voices stay clear.
  audioOnlyCall: false,
  stopLevel: () => {},
  signaling: null,
  welcome: null,
  peers: new Map(),
  // What the room said about each other participant: {name, role}, for tiles and politeness.
  people: new Map(),
  // participant -> its tile in the grid of remote videos.
  tiles: new Map(),
  poorReadings: 0,
  autoAudioOnly: false,
};

function showStep(id) {
  for (const step of ["step-check", "step-consent", "step-waiting", "step-call"]) $(step).hidden = step !== id;
  // In the call the call is the screen: visit.css hides the site around it.
  document.body.classList.toggle("in-call", id === "step-call");
  if (id === "step-call") keepScreenAwake();
  $("chat").hidden = !(id === "step-waiting" || id === "step-call");
  const heading = $(id).querySelector("h2");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

function problem(message) {
  const box = $("problem");
  box.hidden = !message;
  box.textContent = message || "";
}

function setResult(id, ok, text) {
  const el = $(id);
  el.dataset.state = ok === null ? "pending" : ok ? "pass" : "fail";
  el.textContent = text;
}

// --- step 1: the pre-call check ------------------------------------------------------------------

async function startPreview() {
  problem("");
  state.stopLevel();
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  try {
    const { stream, audioOnly } = await getLocalMedia(state.facing);
    state.stream = stream;
    state.audioOnly = audioOnly;
    $("preview").srcObject = stream;
    $("self-video").srcObject = stream;
    setResult(
      "camera-result",
      !audioOnly,
      audioOnly ? "Camera: not available. You can still talk by audio." : "Camera: working. You should see yourself.",
    );
    let heard = false;
    state.stopLevel = watchLevel(stream, (level) => {
      $("mic-level").value = level;
      if (level > 0.08 && !heard) {
        heard = true;
        setResult("mic-result", true, "Microphone: working.");
      }
    });
  } catch (err) {
    setResult("camera-result", false, "Camera: not available.");
    setResult("mic-result", false, "Microphone: not available.");
    problem(err.message);
  }
}

// A therapist whose camera passed a check in this browser in the last hours goes from the
// agenda's "Admit" straight into the room: the patient is waiting, and the check was just done.
const CHECK_KEY = "telehealth.devices-checked-at";
const CHECK_VALID_MS = 4 * 3600 * 1000;

function rememberCheck() {
  if ($("camera-result").dataset.state !== "pass") return;
  try {
    localStorage.setItem(CHECK_KEY, String(Date.now()));
  } catch {
    // Storage refused (private window): the check is simply asked for next time.
  }
}

function checkedRecently() {
  try {
    const at = Number(localStorage.getItem(CHECK_KEY));
    return at > 0 && Date.now() - at < CHECK_VALID_MS;
  } catch {
    return false;
  }
}

function admitStraightAway() {
  if (visit.role !== "host" || !visit.admitOnArrival || !checkedRecently()) return;
  if ($("camera-result").dataset.state !== "pass" || $("opens-notice")) return;
  announce("Your camera and microphone were checked recently; going straight in…");
  enterRoom();
}

function bindCheck() {
  $("retry-media").addEventListener("click", startPreview);
  $("speaker-test").addEventListener("click", () => {
    // The answers appear with the sound, so nobody has to wait or hunt for them afterwards.
    $("speaker-answer").hidden = false;
    playTestSound().catch(() => setResult("speaker-result", false, "This browser could not play the test sound."));
  });
  $("speaker-answer").addEventListener("click", (event) => {
    const answer = event.target.dataset.heard;
    if (!answer) return;
    setResult(
      "speaker-result",
      answer === "yes",
      answer === "yes"
        ? "Speakers: working."
        : "Turn up the volume or unplug headphones, then play the sound again. You can still continue.",
    );
  });
  $("network-test").addEventListener("click", async () => {
    const button = $("network-test");
    button.disabled = true;
    setResult("network-result", null, "Testing your connection…");
    try {
      const result = await runNetworkTest(
        state.stream,
        visit.guestToken ? `/guest/${encodeURIComponent(visit.guestToken)}/network-test` : "/network-test",
      );
      $("network-figures").hidden = false;
      $("net-rtt").textContent = result.rttMs === null ? "–" : `${Math.round(result.rttMs)} ms`;
      $("net-loss").textContent = `${result.lossPercent.toFixed(1)} %`;
      $("net-bitrate").textContent = result.kbps === null ? "–" : `${Math.round(result.kbps)} kbit/s`;
      setResult("network-result", result.verdict !== "poor", result.advice);
    } catch (err) {
      setResult("network-result", false, err.message || "The connection test could not run. You can still continue.");
    } finally {
      button.disabled = false;
    }
  });
  waitForTheRoom();
  $("check-done").addEventListener("click", () => {
    rememberCheck();
    if (visit.role === "guest" && visit.consentNeeded) showStep("step-consent");
    else enterRoom();
  });
  $("consent-box").addEventListener("change", (e) => ($("consent-accept").disabled = !e.target.checked));
  $("consent-accept").addEventListener("click", async () => {
    try {
      await api("/consent", { method: "POST", body: { version: visit.consentVersion } });
      visit.consentNeeded = false;
      enterRoom();
    } catch (err) {
      problem(err.message);
    }
  });
}

// --- before the room opens -----------------------------------------------------------------------

// The same words as telehealth/visits/timing.until: "in 12 minutes", "in about 3 hours".
function untilWords(ms) {
  const minutes = Math.max(1, Math.ceil(ms / 60000));
  if (minutes < 60) return `in ${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `in about ${hours} hour${hours === 1 ? "" : "s"}`;
  const days = Math.round(minutes / 1440);
  return `in about ${days} day${days === 1 ? "" : "s"}`;
}

// Until the room opens, the check can be done but Continue waits; the wait is counted from the
// seconds the server gave, so a device whose clock is wrong still opens the door on time.
function waitForTheRoom() {
  const notice = $("opens-notice");
  if (!notice) return;
  const opensAt = performance.now() + Number(notice.dataset.opensIn) * 1000;
  const done = $("check-done");
  const when = $("opens-when");
  const day = when.textContent.replace(/ \(in [^)]*\)$/, "");
  done.disabled = true;
  const tick = () => {
    const left = opensAt - performance.now();
    if (left <= 0) {
      notice.hidden = true;
      done.disabled = false;
      announce("The video room is open. Press Continue when you are ready.");
      return;
    }
    when.textContent = `${day} (${untilWords(left)})`;
    // Hours away, "in about 3 hours" can be ten minutes late; the last hour counts in minutes.
    setTimeout(tick, Math.min(left, left > 3600000 ? 600000 : 30000));
  };
  tick();
}

// --- the room ------------------------------------------------------------------------------------

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${root.dataset.signalingUrl}`;
}

async function getTicket() {
  const path = visit.guestToken ? `/guest/${encodeURIComponent(visit.guestToken)}/ticket` : `/visits/${visit.id}/ticket`;
  const answer = await api(path, { method: "POST" });
  return answer.ticket;
}

async function enterRoom() {
  problem("");
  if (!state.stream) await startPreview();
  const signaling = new SignalingSession(socketUrl(), getTicket);
  state.signaling = signaling;
  signaling.addEventListener("welcome", (e) => {
    state.welcome = e.detail;
    signaling.send("join");
  });
  signaling.addEventListener("resumed", () => announce("Reconnected."));
  signaling.addEventListener("reconnecting", () => announce("Connection lost. Reconnecting…"));
  signaling.addEventListener("frame", (e) => onFrame(e.detail).catch((err) => console.warn(err)));
  signaling.addEventListener("closed", (e) => onClosed(e.detail));
  announce("Joining…");
  try {
    await signaling.start();
  } catch (err) {
    if (err instanceof ApiError) problem(err.message);
    else problem("We could not reach the visit room. Check your internet connection and press Continue again.");
    announce("");
    state.signaling = null;
  }
}

function participantName(frame) {
  return frame.display_name || visit.otherName;
}

function remember(p) {
  if (!p || !p.participant) return;
  const known = state.people.get(p.participant) || {};
  state.people.set(p.participant, { name: p.display_name || known.name || visit.otherName, role: p.role || known.role || null });
}

function nameOf(participant) {
  const known = state.people.get(participant);
  return (known && known.name) || visit.otherName;
}

// Perfect negotiation needs one polite side per pair. Between a host and a guest the server's
// flag says (guests are polite); between two guests (the patient and a caregiver) the one whose
// participant id sorts first is impolite, so exactly one side of every pair yields
// (docs/signaling.md, "More than two participants").
function politeToward(participant) {
  const mine = state.welcome.role;
  const theirs = (state.people.get(participant) || {}).role;
  if (!theirs || theirs !== mine) return !!state.welcome.polite;
  return state.welcome.participant > participant;
}

async function onFrame(frame) {
  switch (frame.type) {
    case "waiting":
      showStep("step-waiting");
      announce("You are in the waiting room.");
      break;
    case "admitted":
      showStep("step-call");
      announce(visit.role === "host" ? "You are in the visit." : "Your therapist let you in.");
      for (const p of frame.participants || []) {
        remember(p);
        if (p.participant !== state.welcome.participant && p.presence !== "left") ensurePeer(p.participant);
        if (p.role === "host") setHostPresence(true);
      }
      break;
    case "lobby":
      renderLobby(frame.waiting || []);
      break;
    case "presence":
      onPresence(frame);
      break;
    case "offer":
    case "answer":
    case "candidate": {
      let link = state.peers.get(frame.from);
      // A reloaded page brings a brand-new peer connection (new DTLS fingerprint): start afresh.
      if (frame.type === "offer" && link && link.pc.remoteDescription && fingerprint(frame.sdp) !== fingerprint(link.pc.remoteDescription.sdp)) {
        link = ensurePeer(frame.from, true);
      }
      link = link || ensurePeer(frame.from);
      await link.handle(frame);
      break;
    }
    case "chat":
      addChat(frame);
      break;
    case "error":
      announce(frame.message || "Something went wrong.");
      break;
    default:
      break;
  }
}

function fingerprint(sdp) {
  const match = /a=fingerprint:\S+ (\S+)/.exec(sdp || "");
  return match ? match[1] : null;
}

function setHostPresence(present) {
  const el = $("host-presence");
  if (!el) return;
  el.dataset.present = String(present);
  el.textContent = present ? `${visit.otherName} is here and will let you in.` : `${visit.otherName} has not joined yet.`;
}

function onPresence(frame) {
  const name = participantName(frame);
  if (frame.participant === state.welcome.participant) return;
  remember(frame);
  if (frame.role === "host") setHostPresence(frame.presence !== "left");
  if (frame.presence === "joined") {
    ensurePeer(frame.participant);
    announce(`${name} joined.`);
    remoteState("");
  } else if (frame.presence === "reconnecting") {
    remoteState(`${name}'s connection dropped. Waiting for them to come back…`);
    announce(`${name}'s connection dropped.`);
  } else if (frame.presence === "left") {
    const link = state.peers.get(frame.participant);
    if (link) link.close();
    state.peers.delete(frame.participant);
    dropTile(frame.participant);
    remoteState(`${name} left the visit.`);
    announce(`${name} left.`);
  }
}

function remoteState(text) {
  const el = $("remote-state");
  el.hidden = !text;
  el.textContent = text;
}

function ensurePeer(participant, fresh = false) {
  const existing = state.peers.get(participant);
  if (existing && !fresh) return existing;
  if (existing) existing.close();
  const link = new PeerLink({
    signaling: state.signaling,
    remoteId: participant,
    polite: politeToward(participant),
    iceServers: state.welcome.ice_servers || [],
    relayOnly: visit.relayOnly,
  });
  state.peers.set(participant, link);
  if (state.stream) link.setLocalStream(state.stream);
  if (state.audioOnlyCall) link.replaceVideo(null);
  link.addEventListener("audio-only", (e) => setAudioOnly(e.detail.on, { fromOther: true }));
  link.addEventListener("track", (e) => {
    const video = tileFor(participant).querySelector("video");
    if (video.srcObject !== e.detail) video.srcObject = e.detail;
    remoteState("");
  });
  link.addEventListener("control-open", () => sendMediaState());
  link.addEventListener("remote-media", (e) => {
    const { audio, video } = e.detail;
    const parts = [];
    if (!audio) parts.push("muted");
    if (!video && !state.audioOnlyCall) parts.push("camera off");
    const who = nameOf(participant);
    remoteState(parts.length ? `${who}: ${parts.join(", ")}` : "");
    if (parts.length) announce(`${who} ${parts.join(" and ")}.`);
  });
  link.addEventListener("state", (e) => {
    if (e.detail.connection === "connected") {
      announce("Connected.");
      if ($("quality").dataset.level === "0") $("quality").textContent = "Connected";
    }
    if (e.detail.connection === "failed") announce("The connection failed. Trying again…");
  });
  link.addEventListener("quality", (e) => showQuality(e.detail));
  watchConnection(participant, link);
  return link;
}

// --- the grid of remote videos: one tile per other participant ------------------------------------

// The first tile (with #remote-video) is in the page from the start; more are added as people
// join and taken away as they leave. data-count tells visit.css how to lay them out.
function tileFor(participant) {
  const grid = $("remote-grid");
  let tile = state.tiles.get(participant);
  if (!tile) {
    const first = grid.firstElementChild;
    const taken = new Set(state.tiles.values());
    if (first && !taken.has(first)) {
      tile = first;
    } else {
      tile = document.createElement("figure");
      tile.className = "tile";
      const video = document.createElement("video");
      video.autoplay = true;
      video.playsInline = true;
      const caption = document.createElement("figcaption");
      caption.className = "tile-name";
      tile.append(video, caption);
      grid.append(tile);
    }
    state.tiles.set(participant, tile);
  }
  tile.dataset.participant = participant;
  tile.querySelector("video").setAttribute("aria-label", `${nameOf(participant)}'s video`);
  labelTiles();
  return tile;
}

function dropTile(participant) {
  const tile = state.tiles.get(participant);
  if (!tile) return;
  state.tiles.delete(participant);
  const video = tile.querySelector("video");
  video.srcObject = null;
  // The page's own first tile stays (empty) for whoever comes next; added ones go.
  if (video.id !== "remote-video") tile.remove();
  else delete tile.dataset.participant;
  labelTiles();
}

function labelTiles() {
  const grid = $("remote-grid");
  grid.dataset.count = String(Math.max(1, grid.children.length));
  // With one other person the name is in the page's heading; with more, each tile says whose.
  const several = state.tiles.size > 1;
  for (const [participant, tile] of state.tiles) {
    const caption = tile.querySelector(".tile-name");
    caption.textContent = nameOf(participant);
    caption.hidden = !several;
  }
}

// A negotiation can stall (a lost answer, a glare the browsers did not settle). The host drives
// recovery: a link that has not connected in time is replaced by a fresh one, and the patient's
// side follows when it sees an offer with a new DTLS fingerprint.
const CONNECT_WITHIN_MS = 12000;

function watchConnection(participant, link) {
  if (link.polite) return;
  setTimeout(() => {
    if (state.peers.get(participant) !== link || link.closed) return;
    if (link.pc.connectionState === "connected") return;
    announce("The video did not connect. Trying again…");
    ensurePeer(participant, true);
  }, CONNECT_WITHIN_MS);
}

function showQuality({ rttMs, lossPercent, level }) {
  const el = $("quality");
  el.dataset.level = String(level);
  const words = ["", "Poor connection", "Fair connection", "Good connection"][level];
  el.textContent = `${words}${rttMs !== null ? ` · ${Math.round(rttMs)} ms` : ""}`;
  // A poor link for ~10 s: stop sending video so the voices stay clear.
  state.poorReadings = level === 1 ? state.poorReadings + 1 : 0;
  if (state.poorReadings >= 5 && state.cameraOn && !state.autoAudioOnly) {
    state.autoAudioOnly = true;
    setCamera(false);
    announce("The connection is poor, so your camera was turned off to keep the sound clear. You can turn it back on.");
  }
  if (lossPercent < 1 && level === 3 && state.autoAudioOnly && !state.cameraOn) {
    state.autoAudioOnly = false;
    setCamera(true);
    announce("The connection recovered; your camera is back on.");
  }
}

// Someone new in the waiting room is hard to miss while writing the note: a chime, a count in
// the tab's title that shows from any other tab, and (if the therapist asked for it) a desktop
// notification while the tab is hidden.
const pageTitle = document.title;
const seenWaiting = new Set();
const notifyArrival = $("notify-arrivals") ? mountArrivalNotice($("notify-arrivals"), $("notify-said")) : () => {};

function signalArrivals(waiting) {
  const arrived = waiting.filter((guest) => !seenWaiting.has(guest.participant));
  for (const guest of arrived) seenWaiting.add(guest.participant);
  document.title = waiting.length ? `(${waiting.length}) waiting · ${pageTitle}` : pageTitle;
  if (arrived.length) {
    playTestSound().catch(() => {});
    notifyArrival(arrived);
  }
}

function renderLobby(waiting) {
  const list = $("lobby-list");
  if (!list) return;
  signalArrivals(visit.admitOnArrival ? [] : waiting);
  if (visit.admitOnArrival && waiting.length) {
    visit.admitOnArrival = false;
    for (const guest of waiting) state.signaling.send("admit", { participant: guest.participant });
    announce(`Admitting ${waiting.map((g) => g.display_name).join(", ")}.`);
    return;
  }
  list.replaceChildren();
  $("lobby-empty").hidden = waiting.length > 0;
  for (const guest of waiting) {
    const item = document.createElement("li");
    item.className = "lobby-item";
    const name = document.createElement("span");
    name.textContent = guest.display_name;
    const admit = document.createElement("button");
    admit.type = "button";
    admit.className = "button button-primary";
    admit.textContent = `Admit ${guest.display_name}`;
    admit.addEventListener("click", () => state.signaling.send("admit", { participant: guest.participant }));
    const deny = document.createElement("button");
    deny.type = "button";
    deny.className = "button button-quiet";
    deny.textContent = "Deny";
    deny.setAttribute("aria-label", `Deny ${guest.display_name}`);
    deny.addEventListener("click", () => state.signaling.send("deny", { participant: guest.participant }));
    item.append(name, admit, deny);
    list.append(item);
  }
  if (waiting.length) announce(`${waiting.map((g) => g.display_name).join(", ")} is waiting.`);
}

function onClosed({ reason }) {
  for (const link of state.peers.values()) link.close();
  state.peers.clear();
  for (const participant of [...state.tiles.keys()]) dropTile(participant);
  if (visit.guestToken) {
    guestClosed(reason);
    return;
  }
  const messages = {
    ended: null,
    left: null,
    denied: "Your therapist could not admit you to this visit. Please contact the clinic.",
    removed: "You were removed from the visit.",
    revoked: "Your access to this visit has ended. Please contact the clinic.",
    replaced: "This visit is now open in another tab or device.",
    unauthorized: "You cannot enter this visit right now.",
    room_full: "The visit room is full.",
  };
  if (reason === "ended" || reason === "left") {
    location.assign(visit.role === "host" ? `/visits/${visit.id}/note` : `/visits/${visit.id}/ended`);
    return;
  }
  problem(messages[reason] || "The visit connection closed.");
  announce(messages[reason] || "The visit connection closed.");
}

// A guest has no visit page to go back to: the call closes and the page says why.
function guestClosed(reason) {
  const words = {
    ended: "The visit has ended. Thank you for joining. You can close this page.",
    left: "You left the visit. You can close this page.",
    denied: "The therapist could not let you into this visit.",
    removed: "You were removed from the visit.",
    revoked: "Your invitation was revoked, so you left the visit. You can close this page.",
    replaced: "This visit is now open in another tab or device.",
    unauthorized: "This invitation cannot be used right now.",
    room_full: "The visit room is full.",
  };
  const text = words[reason] || "The visit connection closed.";
  for (const step of ["step-check", "step-consent", "step-waiting", "step-call"]) $(step).hidden = true;
  document.body.classList.remove("in-call", "chat-open");
  $("chat").hidden = true;
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  // The alert says it (and is read out); the status line would only repeat it.
  announce("");
  problem(text);
}

// --- in-call controls ----------------------------------------------------------------------------

function sendMediaState() {
  for (const link of state.peers.values()) link.sendMediaState({ audio: state.micOn, video: state.cameraOn && !state.audioOnly });
}

function setMic(on) {
  state.micOn = on;
  state.stream.getAudioTracks().forEach((t) => (t.enabled = on));
  const button = $("toggle-mic");
  button.setAttribute("aria-pressed", String(!on));
  button.textContent = on ? "Mute" : "Unmute";
  sendMediaState();
}

// Audio only is for both sides: whoever switches it, neither sends video until it is switched
// back, so a poor line carries the voices; the cameras stay as they were, ready to resume.
async function setAudioOnly(on, { fromOther = false } = {}) {
  if (state.audioOnlyCall === on) return;
  state.audioOnlyCall = on;
  const button = $("audio-only");
  button.setAttribute("aria-pressed", String(on));
  button.textContent = on ? "Video on" : "Audio only";
  $("step-call").dataset.audioOnly = String(on);
  const camera = state.stream ? state.stream.getVideoTracks()[0] || null : null;
  for (const link of state.peers.values()) {
    await link.replaceVideo(on ? null : camera);
    if (!fromOther) link.sendAudioOnly(on);
  }
  remoteState(on ? "Audio only: video is paused on both sides." : "");
  const who = fromOther ? `${visit.otherName} switched` : "You switched";
  announce(on ? `${who} to audio only. Video is paused on both sides.` : `${who} video back on.`);
}

function setCamera(on) {
  state.cameraOn = on;
  state.stream.getVideoTracks().forEach((t) => (t.enabled = on));
  const button = $("toggle-camera");
  button.setAttribute("aria-pressed", String(!on));
  button.textContent = on ? "Camera off" : "Camera on";
  sendMediaState();
}

async function replaceCameraTrack(track) {
  const old = state.stream.getVideoTracks()[0];
  if (old) {
    state.stream.removeTrack(old);
    old.stop();
  }
  state.stream.addTrack(track);
  track.enabled = state.cameraOn;
  for (const link of state.peers.values()) await link.replaceVideo(track);
  $("self-video").srcObject = state.stream;
}

function bindControls() {
  $("toggle-mic").addEventListener("click", () => setMic(!state.micOn));
  $("toggle-camera").addEventListener("click", () => {
    state.autoAudioOnly = false;
    setCamera(!state.cameraOn);
  });
  $("switch-camera").addEventListener("click", async () => {
    const next = await otherCamera(state.stream.getVideoTracks()[0], state.facing);
    if (!next) {
      announce("No other camera was found.");
      return;
    }
    state.facing = next.facingMode;
    await replaceCameraTrack(next.track);
    announce("Switched camera.");
  });
  $("share-screen").addEventListener("click", async () => {
    const button = $("share-screen");
    if (state.sharing) {
      state.sharing.stop();
      return;
    }
    const track = await screenTrack();
    if (!track) return;
    state.sharing = track;
    button.setAttribute("aria-pressed", "true");
    button.textContent = "Stop sharing";
    for (const link of state.peers.values()) await link.replaceVideo(track);
    track.addEventListener("ended", async () => {
      state.sharing = null;
      button.setAttribute("aria-pressed", "false");
      button.textContent = "Share screen";
      const camera = state.stream.getVideoTracks()[0];
      for (const link of state.peers.values()) await link.replaceVideo(camera);
    });
    // stop() does not fire "ended" on our own track, so stopping from the button does it by hand.
    const stop = track.stop.bind(track);
    track.stop = () => {
      stop();
      track.dispatchEvent(new Event("ended"));
    };
  });
  const end = $("end-visit");
  if (end) {
    end.addEventListener("click", () => {
      if (confirm("End the visit for everyone?")) state.signaling.send("end");
    });
  }
  const chatButton = $("toggle-chat");
  if (chatButton) {
    chatButton.addEventListener("click", () => setMessagesOpen(!document.body.classList.contains("chat-open")));
    $("close-chat").addEventListener("click", () => {
      setMessagesOpen(false);
      chatButton.focus();
    });
  }
  $("audio-only").addEventListener("click", () => setAudioOnly(!state.audioOnlyCall));
  const leave = $("leave-visit");
  if (leave) {
    leave.addEventListener("click", () => {
      if (confirm("Leave the visit?")) state.signaling.leave();
    });
  }
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("chat-text");
    const text = input.value.trim();
    if (!text || !state.signaling) return;
    state.signaling.send("chat", { text });
    input.value = "";
  });
  const late = $("send-late");
  if (late) {
    late.addEventListener("click", () => {
      if (!state.signaling) {
        problem("Enter the room first (Continue), then tell the waiting room.");
        return;
      }
      const minutes = $("late-minutes").value;
      // A host's message reaches everyone in the waiting room (docs/signaling.md, Chat).
      state.signaling.send("chat", {
        text: `Your therapist is running about ${minutes} minutes late. Please keep this page open; you will be let in.`,
      });
      announce("The waiting room was told.");
    });
  }
}

// --- what the page says during the call ----------------------------------------------------------

// On the full-screen call the status line shows over the picture (visit.css). A state still under
// way ("Reconnecting…") stays until the next one replaces it; a done thing ("Reconnected.")
// clears itself after a few seconds, so the picture is not left under an old message.
const STATUS_SHOWN_MS = 6000;
let statusTimer = null;
new MutationObserver(() => {
  const text = $("status").textContent;
  clearTimeout(statusTimer);
  if (text && !text.endsWith("…")) {
    statusTimer = setTimeout(() => {
      if ($("status").textContent === text) $("status").textContent = "";
    }, STATUS_SHOWN_MS);
  }
}).observe($("status"), { childList: true, characterData: true, subtree: true });

// --- the screen stays on during a call (where the browser can), as a phone call's does -----------

let wakeLock = null;

async function keepScreenAwake() {
  if (!("wakeLock" in navigator) || wakeLock || document.visibilityState !== "visible") return;
  try {
    wakeLock = await navigator.wakeLock.request("screen");
    wakeLock.addEventListener("release", () => (wakeLock = null));
  } catch {
    // Refused (battery saver, no permission): the call works, the screen may dim.
  }
}

// The browser lets the lock go when the tab is hidden; take it again on return to the call.
document.addEventListener("visibilitychange", () => {
  if (document.body.classList.contains("in-call")) keepScreenAwake();
});

// --- messages ------------------------------------------------------------------------------------

let unread = 0;

function setMessagesOpen(open) {
  const button = $("toggle-chat");
  if (!button) return;
  document.body.classList.toggle("chat-open", open);
  button.setAttribute("aria-expanded", String(open));
  if (open) {
    unread = 0;
    $("chat-text").focus();
  }
  button.textContent = unread ? `Messages (${unread})` : "Messages";
}

function addChat(frame) {
  const item = document.createElement("li");
  const who = document.createElement("strong");
  who.textContent = frame.from === state.welcome.participant ? "You" : frame.display_name;
  const text = document.createElement("span");
  text.textContent = ` ${frame.text}`;
  item.append(who, text);
  $("chat-log").append(item);
  item.scrollIntoView({ block: "nearest" });
  // On the full-screen call the messages are behind a button: count what arrives meanwhile.
  const button = $("toggle-chat");
  const inCall = document.body.classList.contains("in-call");
  if (button && inCall && frame.from !== state.welcome.participant && !document.body.classList.contains("chat-open")) {
    unread += 1;
    button.textContent = `Messages (${unread})`;
    announce(`New message from ${frame.display_name}.`);
  }
}

async function mountNotes() {
  const panel = $("note-panel-body");
  if (!panel) return;
  try {
    const module = await import("./note-editor.js");
    if (typeof module.mountNotePanel === "function") module.mountNotePanel(panel, visit.id);
  } catch {
    // The note panel is optional in the call; the note page link above always works.
  }
}

if (!browserSupported()) {
  problem("This browser cannot make video calls. Please use a current Chrome, Edge, Firefox or Safari.");
} else {
  bindCheck();
  bindControls();
  startPreview().then(admitStraightAway);
  mountNotes();
  if ($("split")) mountSplit(root, $("split"));
}
window.addEventListener("pagehide", () => {
  // A reload or closed tab is not "leaving": the server keeps the place for the resume window.
  for (const link of state.peers.values()) link.close();
});

/**
 * Connection figures for support staff (and the browser tests): per peer, the connection and DTLS
 * state, the selected candidate types and the bytes sent and received. Call visitDiagnostics() in
 * the browser console.
 */
window.visitDiagnostics = async () => {
  const result = [];
  for (const [participant, link] of state.peers) {
    const stats = await link.pc.getStats();
    const byId = new Map();
    stats.forEach((r) => byId.set(r.id, r));
    const entry = { participant, connection: link.pc.connectionState, dtls: null, local: null, remote: null, bytesSent: 0, bytesReceived: 0, framesDecoded: 0 };
    stats.forEach((r) => {
      if (r.type === "transport") {
        entry.dtls = r.dtlsState;
        const pair = byId.get(r.selectedCandidatePairId);
        if (pair) {
          entry.local = (byId.get(pair.localCandidateId) || {}).candidateType || null;
          entry.remote = (byId.get(pair.remoteCandidateId) || {}).candidateType || null;
        }
      }
      if (r.type === "outbound-rtp") entry.bytesSent += r.bytesSent || 0;
      if (r.type === "inbound-rtp") {
        entry.bytesReceived += r.bytesReceived || 0;
        if (r.kind === "video") entry.framesDecoded += r.framesDecoded || 0;
      }
    });
    result.push(entry);
  }
  return result;
};
