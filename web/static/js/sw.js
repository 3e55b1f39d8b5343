// The Today page's service worker (served at /my/today-sw.js, scope /my/today): keeps the page
// and what it shows usable offline, and queues Done and session-log posts made offline in the
// shared outbox (IndexedDB), sending them again when the device is back online. The server
// stores a resent post once (its client id) and checks its CSRF token like any other post.
importScripts("/static/js/outbox.js");

const CACHE = "today-v1";
const PAGE = "/my/today";

self.addEventListener("install", (event) => {
  event.waitUntil(self.skipWaiting());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(key || request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(key || request);
    if (cached) return cached;
    throw error;
  }
}

async function queueOffline(request) {
  const copy = request.clone();
  try {
    return await fetch(request);
  } catch {
    await self.TodayOutbox.add(copy.url, await copy.text(), copy.headers.get("X-CSRF-Token") || "");
    return new Response(JSON.stringify({ queued: true }), {
      status: 202,
      headers: { "Content-Type": "application/json" },
    });
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST") {
    // The outbox's own resends go straight to the network: a failure stays queued.
    if (request.headers.get("X-Outbox") === "replay") return;
    if (url.pathname === "/my/today/done" || url.pathname === "/my/today/log") {
      event.respondWith(queueOffline(request));
    }
    return;
  }
  if (request.method !== "GET") return;
  if (url.pathname === PAGE) {
    // Always the page itself, whatever its query: it is what the patient opened last.
    event.respondWith(networkFirst(request, PAGE));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(networkFirst(request));
  }
});

async function replayAll() {
  const answered = await self.TodayOutbox.replay();
  if (answered > 0) {
    for (const client of await self.clients.matchAll()) client.postMessage("sent");
  }
}

self.addEventListener("message", (event) => {
  if (event.data === "replay") event.waitUntil(replayAll());
});

self.addEventListener("sync", (event) => {
  if (event.tag === "today-outbox") event.waitUntil(replayAll());
});
