// Live statuses on the agenda: polls the appointments API every 10 s while the page is visible
// and announces changes (a WebSocket may replace the polling later; the page works without it).

const POLL_MS = 10000;
const agenda = document.getElementById("agenda");
const status = document.getElementById("status");
const labels = new Map();

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
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
    const label = item.status.replace("_", " ");
    if (badge && badge.textContent !== label) {
      badge.textContent = label;
      badge.className = `badge badge-${item.status} changed`;
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
