// Today: hold timers, Done and the session log sent without a reload, and the offline worker.
// Without this script the page still works: the forms post and the page comes back.
const outbox = self.TodayOutbox;
const offlineNote = document.getElementById("offline-note");

function say(text) {
  if (!offlineNote) return;
  offlineNote.textContent = text;
  offlineNote.hidden = !text;
}

// Send a form with fetch; offline, keep it in the outbox (the worker does the same when it
// is in control, answering 202 with queued: true). Resolves to "stored" | "queued" | an error.
async function post(form) {
  const body = new URLSearchParams(new FormData(form)).toString();
  const token = form.elements.csrf_token.value;
  let response;
  try {
    response = await fetch(form.action, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "X-CSRF-Token": token,
      },
    });
  } catch {
    await outbox.add(form.action, body, token);
    return { state: "queued" };
  }
  if (response.status === 202) return { state: "queued" };
  let data = {};
  try { data = await response.json(); } catch { /* an HTML error page */ }
  if (!response.ok) {
    const message = (data.error && data.error.message) || "That could not be saved. Please try again.";
    return { state: "error", message };
  }
  return { state: "stored", data };
}

function queuedWords() {
  say("You are offline. Your ticks and notes are saved on this device and will be sent when you are back online.");
}

for (const form of document.querySelectorAll(".done-form")) {
  const button = form.querySelector("button[type=submit]");
  if (!button) continue;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    const result = await post(form);
    const mark = form.querySelector(".done-mark");
    if (result.state === "error") {
      button.disabled = false;
      mark.textContent = result.message;
      mark.hidden = false;
      return;
    }
    button.hidden = true;
    mark.textContent = result.state === "queued" ? "Done today ✓ (will be sent when online)" : "Done today ✓";
    mark.hidden = false;
    form.closest(".today-item").classList.add("is-done");
    if (result.state === "queued") queuedWords();
  });
}

const log = document.getElementById("log-form");
if (log) {
  const status = log.querySelector(".log-status");
  log.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = await post(log);
    status.hidden = false;
    if (result.state === "error") {
      status.textContent = result.message;
      return;
    }
    status.textContent = result.state === "queued"
      ? "Saved on this device; it will be sent to your therapist when you are online."
      : "Thank you. Your therapist will see this.";
    if (result.state === "queued") queuedWords();
    // The next log is a new one: a fresh id, the choices cleared.
    log.elements.client_id.value = crypto.randomUUID();
    log.reset();
  });
}

// The hold timer: counts the seconds down out loud (a live region), then says to relax.
for (const timer of document.querySelectorAll(".hold-timer")) {
  const seconds = Number(timer.dataset.seconds);
  const button = timer.querySelector("button");
  // Only the visible words change: the hidden rest of the name ("for Bridge") stays, so each
  // timer's button keeps a name of its own for screen readers.
  const label = button.querySelector(".hold-label");
  const output = timer.querySelector(".timer-output");
  let handle = null;
  timer.hidden = false;
  button.addEventListener("click", () => {
    if (handle !== null) clearInterval(handle);
    let left = seconds;
    output.textContent = `Hold… ${left}`;
    label.textContent = "Restart the hold";
    handle = setInterval(() => {
      left -= 1;
      if (left > 0) {
        output.textContent = `Hold… ${left}`;
        return;
      }
      clearInterval(handle);
      handle = null;
      output.textContent = "Hold done. Relax.";
      label.textContent = `Start the ${seconds}-second hold`;
    }, 1000);
  });
}

async function replay() {
  const answered = await outbox.replay();
  const waiting = (await outbox.all()).length;
  if (waiting === 0 && answered > 0) say("Back online: everything you saved has been sent.");
  else if (waiting === 0) say("");
}

window.addEventListener("online", () => {
  const worker = navigator.serviceWorker && navigator.serviceWorker.controller;
  if (worker) worker.postMessage("replay");
  replay();
});
if (navigator.onLine) replay();

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/my/today-sw.js", { scope: "/my/today" }).catch(() => {
    /* the page works without it, only not offline */
  });
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data === "sent") say("Back online: everything you saved has been sent.");
  });
}
