// Camera and microphone: getting them with fallbacks, explaining failures in plain words, switching
// cameras, sharing the screen and measuring the microphone level.

export class MediaProblem extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

/** Whether this browser can do a video visit at all. */
export function browserSupported() {
  return (
    typeof window.RTCPeerConnection === "function" &&
    !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia) &&
    typeof window.WebSocket === "function"
  );
}

export function explain(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError") {
    return new MediaProblem(
      "denied",
      "Your browser is blocking the camera or microphone. Click the camera icon in the address bar, choose Allow, then press Try again.",
    );
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return new MediaProblem("missing", "We could not find a camera or microphone. Check that one is plugged in, then press Try again.");
  }
  if (name === "NotReadableError") {
    return new MediaProblem("busy", "Another program is using your camera or microphone. Close it (for example another video call), then press Try again.");
  }
  return new MediaProblem("unknown", "We could not start your camera or microphone. Press Try again, or restart your browser.");
}

/**
 * Camera and microphone, falling back to microphone only when the camera is missing or busy
 * (an audio visit is better than no visit). Returns {stream, audioOnly}.
 */
export async function getLocalMedia(facingMode = "user") {
  if (!browserSupported()) {
    throw new MediaProblem("unsupported", "This browser cannot make video calls. Please use a current Chrome, Edge, Firefox or Safari.");
  }
  const video = { facingMode, width: { ideal: 1280 }, height: { ideal: 720 } };
  try {
    return { stream: await navigator.mediaDevices.getUserMedia({ audio: true, video }), audioOnly: false };
  } catch (err) {
    if (err && (err.name === "NotAllowedError" || err.name === "SecurityError")) throw explain(err);
    try {
      return { stream: await navigator.mediaDevices.getUserMedia({ audio: true }), audioOnly: true };
    } catch (audioErr) {
      throw explain(audioErr);
    }
  }
}

/**
 * A camera track facing the other way (front/rear on phones) or, on computers with several
 * cameras, the next camera. Returns {track, facingMode} or null when there is no other camera.
 */
export async function otherCamera(currentTrack, currentFacing) {
  const facingMode = currentFacing === "user" ? "environment" : "user";
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { exact: facingMode } } });
    return { track: stream.getVideoTracks()[0], facingMode };
  } catch {
    const currentId = currentTrack ? currentTrack.getSettings().deviceId : undefined;
    const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
    const next = cameras.find((d) => d.deviceId && d.deviceId !== currentId);
    if (!next) return null;
    const stream = await navigator.mediaDevices.getUserMedia({ video: { deviceId: { exact: next.deviceId } } });
    return { track: stream.getVideoTracks()[0], facingMode: currentFacing };
  }
}

/** The screen (or a window) as a video track, or null when the person cancels. */
export async function screenTrack() {
  if (!navigator.mediaDevices.getDisplayMedia) return null;
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    return stream.getVideoTracks()[0];
  } catch {
    return null;
  }
}

/** Calls onLevel(0..1) about 10 times a second with the microphone's loudness; returns a stop(). */
export function watchLevel(stream, onLevel) {
  const AudioContextClass = window.AudioContext || window.webkitAudioContext;
  if (!AudioContextClass || stream.getAudioTracks().length === 0) return () => {};
  const context = new AudioContextClass();
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const samples = new Uint8Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getByteTimeDomainData(samples);
    let peak = 0;
    for (const s of samples) peak = Math.max(peak, Math.abs(s - 128) / 128);
    onLevel(Math.min(1, peak * 1.5));
  }, 100);
  return () => {
    clearInterval(timer);
    context.close();
  };
}

/** Play a short, gentle two-note chime through the speakers. */
export async function playTestSound() {
  const AudioContextClass = window.AudioContext || window.webkitAudioContext;
  const context = new AudioContextClass();
  const gain = context.createGain();
  gain.gain.value = 0.15;
  gain.connect(context.destination);
  for (const [i, frequency] of [523.25, 659.25].entries()) {
    const osc = context.createOscillator();
    osc.frequency.value = frequency;
    osc.connect(gain);
    osc.start(context.currentTime + i * 0.45);
    osc.stop(context.currentTime + i * 0.45 + 0.4);
  }
  await new Promise((r) => setTimeout(r, 1000));
  await context.close();
}
