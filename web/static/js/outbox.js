// The Today page's outbox: posts made while offline wait in IndexedDB and are sent again when the
// device is back online. A classic script, so the page and the service worker (importScripts)
// share it. Each entry keeps its form body, which carries the client id that lets the server
// store a replayed post once, and the CSRF token the server checks on replay as on any post.
(function (scope) {
  "use strict";
  const DB = "today-outbox";
  const STORE = "posts";

  function open() {
    return new Promise(function (resolve, reject) {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "key" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function run(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        const tx = db.transaction(STORE, mode);
        const result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(result && result.result); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }

  // One entry per client id: the same post queued twice (page and worker) is one entry.
  function add(url, body, token) {
    const key = new URLSearchParams(body).get("client_id") || String(Date.now());
    return run("readwrite", function (store) {
      return store.put({ key: key, url: url, body: body, token: token, at: Date.now() });
    });
  }

  function all() {
    return run("readonly", function (store) { return store.getAll(); });
  }

  function remove(key) {
    return run("readwrite", function (store) { return store.delete(key); });
  }

  function send(url, body, token) {
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "X-CSRF-Token": token,
        "X-Outbox": "replay",
      },
    });
  }

  // Send every waiting post; a network failure leaves it for next time, an answer (stored,
  // already stored, or refused) ends it. Returns how many were answered.
  let running = null;
  function replay() {
    if (running) return running;
    running = all().then(function (entries) {
      let answered = 0;
      return entries.reduce(function (chain, entry) {
        return chain.then(function () {
          return send(entry.url, entry.body, entry.token).then(function (response) {
            if (response.status >= 500) return;
            answered += 1;
            return remove(entry.key);
          }, function () { /* still offline */ });
        });
      }, Promise.resolve()).then(function () { return answered; });
    }).finally(function () { running = null; });
    return running;
  }

  scope.TodayOutbox = { add: add, all: all, replay: replay, send: send };
})(self);
