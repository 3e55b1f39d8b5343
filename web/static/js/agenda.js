// Live statuses on the agenda. The server pushes "changed" over /agenda/changes (Server-Sent
// Events) whenever this calendar changes, and the page then reads the statuses from the API: at
// once, in a background tab too, where browsers slow timers to once a minute. A patient entering
// a video visit's waiting room plays a chime, counts in the tab's title and (if the therapist
// asked) shows a desktop notification. Without the stream (an old browser, a proxy that cuts
// it) the page polls every 5 s while it is visible, as it always did.

import { mountArrivalNotice } from "./arrival-notice.js";
import { playTestSound } from "./media.js";

const POLL_MS = 5000;
const agenda = document.getElementById("agenda");
const status = document.getElementById("status");
const labels = new Map();
const pageTitle = document.title;
const waiting = new Set();
const notifyButton = document.getElementById("notify-arrivals");
const notifyArrival = notifyButton
  ? mountArrivalNotice(notifyButton, document.getElementById("notify-said"))
  : () => {};
let stream = null;

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// The same words as the server's agenda_label().
function labelFor(status, virtual) {
  if (virtual && status === "checked_in") return "waiting in the visit room";
  if (status === "in_progress") return "in the visit";
  return status.replace("_", " ");
}

function renderActions(row, item) {
  const actions = row.querySelector("[data-actions]");
  if (!actions || actions.dataset.virtual !== "true") return;
  actions.replaceChildren();
  const link = document.createElement("a");
  link.className = "button join";
  if (item.status === "checked_in") {
    link.className = "button button-primary join";
    link.href = `/visits/${item.id}?admit=1`;
    link.textContent = `Admit ${actions.dataset.patient}`;
  } else if (item.status === "booked" || item.status === "in_progress") {
    link.href = `/visits/${item.id}`;
    link.textContent = item.status === "in_progress" ? "Return to visit" : "Open visit room";
  } else {
    return;
  }
  actions.append(link);
}

function announce(message) {
  if (status) status.textContent = message;
}

function signalArrivals(arrived) {
  document.title = waiting.size ? `(${waiting.size}) waiting · ${pageTitle}` : pageTitle;
  if (!arrived.length) return;
  playTestSound().catch(() => {}); // a browser may refuse sound before the page was touched
  notifyArrival(arrived.map((item) => ({ display_name: item.patient.name })));
}

async function refresh(pushed = false) {
  if (!agenda || (!pushed && document.visibilityState !== "visible")) return;
  const params = new URLSearchParams({ start: agenda.dataset.start, end: agenda.dataset.end });
  if (agenda.dataset.therapist) params.set("therapist_id", agenda.dataset.therapist);
  let data;
  try {
    const response = await fetch(`/api/v1/appointments?${params}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrfToken() },
    });
    if (!response.ok) return;
    data = await response.json();
  } catch {
    return; // offline for a moment: the next poll tries again
  }
  const changes = [];
  const arrived = [];
  let unknown = false;
  for (const item of data.items) {
    const virtual = agenda.querySelector(`[data-appointment="${item.id}"] [data-virtual="true"]`);
    if (virtual && item.status === "checked_in") {
      if (!waiting.has(item.id)) arrived.push(item);
      waiting.add(item.id);
    } else {
      waiting.delete(item.id);
    }
    const row = agenda.querySelector(`[data-appointment="${item.id}"]`);
    if (!row) {
      unknown = true;
      continue;
    }
    const badge = row.querySelector("[data-status]");
    const actions = row.querySelector("[data-actions]");
    const label = labelFor(item.status, actions && actions.dataset.virtual === "true");
    if (badge && badge.textContent.trim() !== label) {
      badge.textContent = label;
      badge.className = `badge badge-${item.status} changed`;
      renderActions(row, item);
      changes.push(`${item.patient.name}: ${label}`);
    }
    labels.set(item.id, label);
  }
  if (changes.length) announce(`Updated: ${changes.join("; ")}`);
  else if (unknown) announce("New appointments were booked; reload to see them.");
  signalArrivals(arrived);
}

function listen() {
  if (!("EventSource" in window)) return;
  const params = new URLSearchParams();
  if (agenda.dataset.therapist) params.set("therapist_id", agenda.dataset.therapist);
  stream = new EventSource(`/agenda/changes?${params}`);
  stream.addEventListener("changed", () => refresh(true));
  // Reconnecting (the browser does it by itself) may have missed a change: look once.
  stream.addEventListener("open", () => refresh(true));
}

if (agenda) {
  // Patients already waiting when the page opened count, without a chime.
  for (const row of agenda.querySelectorAll("[data-appointment]")) {
    const badge = row.querySelector("[data-status]");
    if (row.querySelector('[data-virtual="true"]') && badge && badge.classList.contains("badge-checked_in")) {
      waiting.add(row.dataset.appointment);
    }
  }
  signalArrivals([]);
  listen();
  setInterval(() => {
    if (!stream || stream.readyState !== EventSource.OPEN) refresh();
  }, POLL_MS);
  document.addEventListener("visibilitychange", () => refresh());
}
