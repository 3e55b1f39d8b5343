// Live statuses on the agenda: polls the appointments API every 5 s while the page is visible,
// announces changes, and shows "Admit" the moment a patient enters a visit's waiting room
// (a WebSocket may replace the polling later; the page works without it).

const POLL_MS = 5000;
const agenda = document.getElementById("agenda");
const status = document.getElementById("status");
const labels = new Map();

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

async function refresh() {
  if (!agenda || document.visibilityState !== "visible") return;
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
  let unknown = false;
  for (const item of data.items) {
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
}

if (agenda) {
  setInterval(refresh, POLL_MS);
  document.addEventListener("visibilitychange", refresh);
}
