// The browser side of the signaling protocol v1 (docs/signaling.md): hello with a ticket, stream
// sequence numbers and acknowledgements, and resume after a dropped connection so nothing is lost
// or duplicated. Events: "welcome", "resumed", "frame" (detail = server frame), "closed"
// (detail = {code, reason, final}), "reconnecting".

const FINAL_CLOSES = new Map([
  [1000, "left"],
  [4001, "replaced"],
  [4002, "unauthorized"],
  [4003, "denied"],
  [4004, "removed"],
  [4005, "ended"],
  [4007, "revoked"],
  [4009, "room_full"],
]);
const OUT_OF_STREAM = new Set(["welcome", "resumed", "ack", "error"]);

export class SignalingSession extends EventTarget {
  /**
   * @param {string} url  ws(s):// URL of the room
   * @param {() => Promise<string>} getTicket  fetches a fresh single-use ticket
   */
  constructor(url, getTicket) {
    super();
    this.url = url;
    this.getTicket = getTicket;
    this.ws = null;
    this.welcome = null;
    this.resumeId = null;
    this.resumeWindowMs = 30000;
    this.lastServerSeq = 0; // highest server seq processed
    this.nextSeq = 1; // next client seq
    this.unacked = []; // client frames the server has not acknowledged
    this.closedForGood = false;
    this.droppedAt = 0;
    this.ackTimer = null;
    this.resendTimer = null;
    this.resendExpected = null;
    this.ratePerSecond = 50; // the server's token bucket refill (welcome.limits)
  }

  /** Open the session with a fresh ticket. */
  async start() {
    const ticket = await this.getTicket();
    this.lastServerSeq = 0;
    this.nextSeq = 1;
    this.unacked = [];
    this.resumeId = null;
    await this.open({ v: 1, type: "hello", ticket });
  }

  open(firstFrame) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      let settled = false;
      ws.onopen = () => ws.send(JSON.stringify(firstFrame));
      ws.onmessage = (event) => {
        let frame;
        try {
          frame = JSON.parse(event.data);
        } catch {
          return;
        }
        if (frame.type === "welcome" || frame.type === "resumed") {
          settled = true;
          resolve(frame);
        }
        this.receive(frame);
      };
      ws.onclose = (event) => {
        if (this.ws !== ws) return; // an older socket
        if (!settled) {
          // A failed attempt is reported to whoever made it (start or the reconnect loop).
          settled = true;
          reject(Object.assign(new Error(event.reason || "connection refused"), { code: event.code }));
          return;
        }
        this.onClose(event.code, event.reason);
      };
    });
  }

  receive(frame) {
    if (frame.type === "welcome") {
      this.welcome = frame;
      this.resumeId = frame.resume_id;
      this.resumeWindowMs = (frame.resume_window || 30) * 1000;
      if (frame.limits && frame.limits.rate_per_second > 0) this.ratePerSecond = frame.limits.rate_per_second;
      this.dispatchEvent(new CustomEvent("welcome", { detail: frame }));
      return;
    }
    if (frame.type === "resumed") {
      this.dropAcked(frame.ack);
      // Frames the server never processed go again, in order, with their original seq.
      for (const pending of this.unacked) this.ws.send(JSON.stringify(pending));
      this.dispatchEvent(new CustomEvent("resumed", { detail: frame }));
      return;
    }
    if (frame.type === "ack") {
      this.dropAcked(frame.ack);
      return;
    }
    if (frame.type === "error" && frame.code === "seq_gap" && typeof frame.expected === "number") {
      // A frame before this one was dropped (rate_limited) and the server waits for it: send
      // again, in order, everything from the seq it expects. Later frames of the same burst get
      // the same answer; one resend, a moment later, covers them all.
      this.resendFrom(frame.expected);
      return;
    }
    if (frame.type === "error" && frame.code === "rate_limited") {
      // The dropped frame's seq is not known (no ref), and when the last frames of a burst are
      // all dropped no seq_gap follows: a moment later the newest frame goes again as a probe.
      this.resendFrom(null);
      return;
    }
    if (!OUT_OF_STREAM.has(frame.type) && typeof frame.seq === "number") {
      if (frame.seq <= this.lastServerSeq) return; // replayed twice: already handled
      this.lastServerSeq = frame.seq;
      this.scheduleAck();
    }
    this.dispatchEvent(new CustomEvent("frame", { detail: frame }));
  }

  resendFrom(expected) {
    // `expected` null: only a probe is due (after rate_limited). One timer for the whole burst.
    if (expected !== null) this.resendExpected = Math.min(this.resendExpected ?? expected, expected);
    if (this.resendTimer) return;
    this.resendTimer = setTimeout(() => {
      const from = this.resendExpected;
      this.resendTimer = null;
      this.resendExpected = null;
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return; // a resume replays them
      if (from === null) {
        // The server ignores it if processed, takes it if it is next, or answers seq_gap with
        // the seq it waits for; if it is dropped again, another probe follows.
        const newest = this.unacked[this.unacked.length - 1];
        if (newest) this.ws.send(JSON.stringify(newest));
        return;
      }
      // Frames the server refuses again (the bucket may still be low) bring another round.
      for (const pending of this.unacked) {
        if (pending.seq >= from) this.ws.send(JSON.stringify(pending));
      }
    }, this.resendDelayMs());
  }

  resendDelayMs() {
    // Long enough for the bucket to hold a few frames again: a resend into an empty bucket is
    // dropped whole, and a probe that always took the only token would starve the resend.
    return Math.max(300, 3000 / this.ratePerSecond);
  }

  dropAcked(ack) {
    if (typeof ack === "number") this.unacked = this.unacked.filter((f) => f.seq > ack);
  }

  scheduleAck() {
    // One ack for a burst of frames, soon enough that the server's replay buffer stays small.
    if (this.ackTimer) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      if (this.ws && this.ws.readyState === WebSocket.OPEN) {
        this.ws.send(JSON.stringify({ type: "ack", ack: this.lastServerSeq }));
      }
    }, 50);
  }

  /** Send a stream frame; it is kept until acknowledged and replayed after a resume. */
  send(type, fields = {}) {
    const frame = { type, seq: this.nextSeq++, ...fields };
    this.unacked.push(frame);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  /** Leave for good. */
  leave() {
    this.closedForGood = true;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "leave", seq: this.nextSeq++ }));
    }
  }

  async onClose(code, reason) {
    const final = FINAL_CLOSES.get(code);
    if (this.closedForGood || final) {
      this.closedForGood = true;
      this.dispatchEvent(new CustomEvent("closed", { detail: { code, reason: final || reason, final: true } }));
      return;
    }
    if (!this.droppedAt) this.droppedAt = Date.now();
    this.dispatchEvent(new CustomEvent("reconnecting", { detail: { code } }));
    let delay = 250;
    while (!this.closedForGood) {
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 4000);
      const withinWindow = this.resumeId && Date.now() - this.droppedAt < this.resumeWindowMs - 1000;
      try {
        if (withinWindow) {
          await this.open({ v: 1, type: "resume", resume_id: this.resumeId, last_seq: this.lastServerSeq });
        } else {
          await this.start(); // window passed: a new session with a new ticket
        }
        this.droppedAt = 0;
        return;
      } catch (err) {
        if (err.code === 4006) this.resumeId = null; // resume refused: next try is a fresh hello
        if (FINAL_CLOSES.has(err.code)) {
          this.closedForGood = true;
          this.dispatchEvent(
            new CustomEvent("closed", { detail: { code: err.code, reason: FINAL_CLOSES.get(err.code), final: true } }),
          );
          return;
        }
      }
    }
  }
}
