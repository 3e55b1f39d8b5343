// The pre-call network test: a real WebRTC connection to the clinic's echo peer, measuring round
// trip time and packet loss on an unreliable data channel and the video bitrate from getStats().
import { api } from "./api.js";

const PINGS = 30;
const PING_EVERY_MS = 100;

function gatheringComplete(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => pc.iceGatheringState === "complete" && done();
    pc.addEventListener("icegatheringstatechange", check);
    setTimeout(done, timeoutMs);
  });
}

function opened(channel, timeoutMs) {
  return new Promise((resolve, reject) => {
    if (channel.readyState === "open") return resolve();
    const timer = setTimeout(() => reject(new Error("We could not connect to the clinic. A firewall may be blocking video calls.")), timeoutMs);
    channel.addEventListener("open", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function videoBytesSent(pc) {
  let bytes = 0;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "outbound-rtp" && r.kind === "video") bytes += r.bytesSent || 0;
  });
  return bytes;
}

function median(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Verdict and plain-language advice for measured figures. */
export function judge({ rttMs, lossPercent, kbps }) {
  const poor = rttMs === null || rttMs > 500 || lossPercent > 10 || (kbps !== null && kbps < 100);
  const good = !poor && rttMs < 250 && lossPercent < 3 && (kbps === null || kbps >= 250);
  if (good) return { verdict: "good", advice: "Your connection is good for a video visit." };
  if (!poor) {
    return {
      verdict: "fair",
      advice: "Your connection should work. If the picture freezes, move closer to your Wi-Fi router or pause downloads on other devices.",
    };
  }
  return {
    verdict: "poor",
    advice: "Your connection is weak. Move closer to your Wi-Fi router, or switch from mobile data to Wi-Fi. If video keeps freezing, the visit will switch to audio only.",
  };
}

/** Run the test; resolves to {rttMs, lossPercent, kbps, verdict, advice}. */
export async function runNetworkTest(stream, path = "/network-test") {
  const pc = new RTCPeerConnection({ iceServers: [] });
  try {
    // Unordered and never retransmitted, so a lost ping stays lost and can be counted.
    const channel = pc.createDataChannel("echo", { ordered: false, maxRetransmits: 0 });
    const video = stream && stream.getVideoTracks()[0];
    if (video) pc.addTrack(video, stream);
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc, 3000);
    const answer = await api(path, { method: "POST", body: { sdp: pc.localDescription.sdp } });
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    await opened(channel, 10000);

    const sentAt = new Map();
    const rtts = [];
    channel.onmessage = (event) => {
      const n = Number(event.data);
      if (sentAt.has(n)) {
        rtts.push(performance.now() - sentAt.get(n));
        sentAt.delete(n);
      }
    };
    const bytesBefore = await videoBytesSent(pc);
    const started = performance.now();
    for (let n = 0; n < PINGS; n++) {
      sentAt.set(n, performance.now());
      channel.send(String(n));
      await new Promise((r) => setTimeout(r, PING_EVERY_MS));
    }
    await new Promise((r) => setTimeout(r, 1500)); // late answers still count
    const seconds = (performance.now() - started) / 1000;
    const sent = (await videoBytesSent(pc)) - bytesBefore;
    const figures = {
      rttMs: median(rtts),
      lossPercent: (100 * (PINGS - rtts.length)) / PINGS,
      kbps: video ? (sent * 8) / 1000 / seconds : null,
    };
    return { ...figures, ...judge(figures) };
  } finally {
    pc.close();
  }
}
