// One peer connection to the other participant, with "perfect negotiation": both sides may offer at
// any time; on a collision the polite side (assigned by the server) yields. ICE candidates that
// arrive before the remote description are queued, not dropped. When ICE fails the impolite side
// restarts it; media state (mute, camera off) travels on a negotiated data channel.
//
// Events: "track" (detail = MediaStream), "state" (detail = {connection, ice}),
// "remote-media" (detail = {audio, video}), "quality" (detail = {rttMs, lossPercent, kbps, level}).

export class PeerLink extends EventTarget {
  constructor({ signaling, remoteId, polite, iceServers, relayOnly = false }) {
    super();
    this.signaling = signaling;
    this.remoteId = remoteId;
    this.polite = polite;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.pendingCandidates = [];
    this.closed = false;
    this.remoteStream = new MediaStream();
    this.senders = new Map();
    this.pc = new RTCPeerConnection({
      iceServers: iceServers || [],
      iceTransportPolicy: relayOnly ? "relay" : "all",
    });
    // Negotiated with a fixed id, so both sides have it without an extra offer/answer round.
    this.control = this.pc.createDataChannel("control", { negotiated: true, id: 0 });
    this.control.onmessage = (event) => this.onControl(event.data);
    this.control.onopen = () => this.dispatchEvent(new CustomEvent("control-open"));
    this.pc.ontrack = ({ track }) => {
      this.remoteStream.addTrack(track);
      track.onended = () => this.remoteStream.removeTrack(track);
      this.dispatchEvent(new CustomEvent("track", { detail: this.remoteStream }));
    };
    this.pc.onnegotiationneeded = () => this.negotiate();
    this.pc.onicecandidate = ({ candidate }) => {
      this.signaling.send("candidate", { to: this.remoteId, candidate: candidate ? candidate.toJSON() : null });
    };
    this.pc.oniceconnectionstatechange = () => this.onIceState();
    this.pc.onconnectionstatechange = () => this.emitState();
    this.disconnectedTimer = null;
    this.statsTimer = setInterval(() => this.measure(), 2000);
    this.lastBytes = null;
  }

  emitState() {
    this.dispatchEvent(
      new CustomEvent("state", { detail: { connection: this.pc.connectionState, ice: this.pc.iceConnectionState } }),
    );
  }

  async negotiate() {
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.signaling.send("offer", { to: this.remoteId, sdp: this.pc.localDescription.sdp });
    } catch (err) {
      console.warn("negotiation failed", err);
    } finally {
      this.makingOffer = false;
    }
  }

  /** Handle an offer, answer or candidate from the remote participant. */
  async handle(frame) {
    if (this.closed) return;
    if (frame.type === "candidate") return this.addCandidate(frame.candidate);
    const description = { type: frame.type, sdp: frame.sdp };
    const collision = frame.type === "offer" && (this.makingOffer || this.pc.signalingState !== "stable");
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    if (frame.type === "answer" && this.pc.signalingState !== "have-local-offer") return; // stale answer
    await this.pc.setRemoteDescription(description); // the polite side rolls back implicitly
    for (const candidate of this.pendingCandidates.splice(0)) await this.addCandidate(candidate);
    if (frame.type === "offer") {
      await this.pc.setLocalDescription();
      this.signaling.send("answer", { to: this.remoteId, sdp: this.pc.localDescription.sdp });
    }
  }

  async addCandidate(candidate) {
    if (!this.pc.remoteDescription) {
      this.pendingCandidates.push(candidate);
      return;
    }
    try {
      await this.pc.addIceCandidate(candidate || null);
    } catch (err) {
      if (!this.ignoreOffer) console.warn("could not add candidate", err);
    }
  }

  onIceState() {
    this.emitState();
    const state = this.pc.iceConnectionState;
    clearTimeout(this.disconnectedTimer);
    if (state === "failed") this.restart();
    // "disconnected" often heals by itself (a Wi-Fi blip); restart only if it lasts.
    if (state === "disconnected") this.disconnectedTimer = setTimeout(() => this.restart(), 4000);
  }

  restart() {
    if (this.closed) return;
    // restartIce() makes negotiationneeded fire; perfect negotiation carries the new offer.
    if (!this.polite || this.pc.iceConnectionState === "failed") this.pc.restartIce();
  }

  /** Add or replace the outgoing tracks of a local stream. */
  setLocalStream(stream) {
    for (const track of stream.getTracks()) {
      const sender = this.senderOf(track.kind);
      if (sender) sender.replaceTrack(track);
      else this.senders.set(track.kind, this.pc.addTrack(track, stream));
    }
  }

  // The sender of each kind, remembered: in audio-only its track is null, and a search by the
  // sender's track would then add a second video sender instead of finding this one.
  senderOf(kind) {
    const known = this.senders.get(kind);
    if (known && this.pc.getSenders().includes(known)) return known;
    const found = this.pc.getSenders().find((s) => s.track && s.track.kind === kind);
    if (found) this.senders.set(kind, found);
    return found || null;
  }

  /** Replace the outgoing video track (camera switch, screen share; null: send no video)
   *  without renegotiating. */
  async replaceVideo(track) {
    const sender = this.senderOf("video");
    if (sender) await sender.replaceTrack(track);
  }

  /** Ask the other side to send no video too (or to send it again). */
  sendAudioOnly(on) {
    if (this.control.readyState === "open") this.control.send(JSON.stringify({ type: "audio-only", on }));
  }

  sendMediaState(state) {
    if (this.control.readyState === "open") this.control.send(JSON.stringify({ type: "media", ...state }));
  }

  onControl(data) {
    try {
      const message = JSON.parse(data);
      if (message.type === "media") {
        this.dispatchEvent(new CustomEvent("remote-media", { detail: { audio: !!message.audio, video: !!message.video } }));
      }
      if (message.type === "audio-only") {
        this.dispatchEvent(new CustomEvent("audio-only", { detail: { on: !!message.on } }));
      }
    } catch {
      /* not ours */
    }
  }

  /** Round-trip time, loss and incoming bitrate from getStats(), as a 0-3 quality level. */
  async measure() {
    if (this.closed || this.pc.connectionState !== "connected") return;
    const stats = await this.pc.getStats();
    let rtt = null;
    let lost = 0;
    let received = 0;
    let bytes = 0;
    stats.forEach((report) => {
      if (report.type === "candidate-pair" && report.state === "succeeded" && report.nominated) {
        if (typeof report.currentRoundTripTime === "number") rtt = report.currentRoundTripTime * 1000;
      }
      if (report.type === "inbound-rtp") {
        lost += report.packetsLost || 0;
        received += report.packetsReceived || 0;
        bytes += report.bytesReceived || 0;
      }
    });
    const now = performance.now();
    let kbps = null;
    if (this.lastBytes) kbps = ((bytes - this.lastBytes.bytes) * 8) / (now - this.lastBytes.at);
    this.lastBytes = { bytes, at: now };
    const lossPercent = received + lost > 0 ? (100 * lost) / (received + lost) : 0;
    let level = 3;
    if ((rtt !== null && rtt > 400) || lossPercent > 10) level = 1;
    else if ((rtt !== null && rtt > 200) || lossPercent > 3) level = 2;
    this.dispatchEvent(new CustomEvent("quality", { detail: { rttMs: rtt, lossPercent, kbps, level } }));
  }

  close() {
    this.closed = true;
    clearInterval(this.statsTimer);
    clearTimeout(this.disconnectedTimer);
    this.pc.close();
  }
}
