// Shequ's service worker (served at /sw.js by core/views_app.py, which fills in CONFIG).
// - The shell and static files: answered from the cache, refreshed in the background.
// - Pages that work offline (CONFIG.pages): from the network, else the copy kept at the last visit.
// - Any other page without a network: the offline page.
// - A form posted from an offline page without a network is kept here (IndexedDB "outbox") and
//   sent once the network is back; the form's client key makes the server take it only once.
"use strict";
const CONFIG = {{ config|safe }};
const STATIC_CACHE = "shequ-static-" + CONFIG.version;
const PAGE_CACHE = "shequ-pages";
const DB_NAME = "shequ";
const OUTBOX = "outbox";

function openDb() {
  return new Promise(function (resolve, reject) {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = function () { request.result.createObjectStore(OUTBOX, {keyPath: "id", autoIncrement: true}); };
    request.onsuccess = function () { resolve(request.result); };
    request.onerror = function () { reject(request.error); };
  });
}

function withStore(mode, work) {
  return openDb().then(function (db) {
    return new Promise(function (resolve, reject) {
      const tx = db.transaction(OUTBOX, mode);
      const result = work(tx.objectStore(OUTBOX));
      tx.oncomplete = function () { db.close(); resolve(result && "result" in result ? result.result : undefined); };
      tx.onerror = function () { db.close(); reject(tx.error); };
    });
  });
}

function pageCopy() {
  return fetch(CONFIG.offline, {credentials: "same-origin"}).then(function (response) {
    if (response.ok && !response.redirected) {
      return caches.open(PAGE_CACHE).then(function (cache) { return cache.put(CONFIG.offline, response); });
    }
  }).catch(function () {});
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(STATIC_CACHE)
      .then(function (cache) { return cache.addAll(CONFIG.shell); })
      .then(pageCopy)
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("shequ-static-") === 0 && name !== STATIC_CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function fromCacheThenRefresh(request) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(request).then(function (cached) {
      const fresh = fetch(request).then(function (response) {
        if (response.ok) { cache.put(request, response.clone()); }
        return response;
      });
      if (cached) {
        fresh.catch(function () {});
        return cached;
      }
      return fresh;
    });
  });
}

function offlinePage() {
  return caches.match(CONFIG.offline, {cacheName: PAGE_CACHE}).then(function (page) {
    return page || new Response("<!DOCTYPE html><meta charset=utf-8><title>离线</title><p>没有网络连接。", {
      status: 503, headers: {"Content-Type": "text/html; charset=utf-8"}
    });
  });
}

function page(request, path) {
  const keep = CONFIG.pages.indexOf(path) !== -1;
  return fetch(request).then(function (response) {
    if (keep && response.ok && !response.redirected) {
      const copy = response.clone();
      caches.open(PAGE_CACHE).then(function (cache) { cache.put(path, copy); });
    }
    return response;
  }).catch(function () {
    if (!keep) { return offlinePage(); }
    return caches.match(path, {cacheName: PAGE_CACHE}).then(function (copy) { return copy || offlinePage(); });
  });
}

function keep(request, path) {
  return request.formData().then(function (form) {
    const fields = [];
    form.forEach(function (value, name) { fields.push([name, value]); });
    return withStore("readwrite", function (store) {
      return store.add({url: request.url, path: path, fields: fields, at: Date.now(), refused: false});
    });
  }).then(function () {
    if (self.registration.sync) { return self.registration.sync.register("shequ-outbox").catch(function () {}); }
  }).then(function () {
    return Response.redirect(CONFIG.offline + "?kept=1", 303);
  });
}

function postOrKeep(request, path) {
  const copy = request.clone();
  return fetch(request).catch(function () { return keep(copy, path); });
}

function tell(message) {
  return self.clients.matchAll({includeUncontrolled: true}).then(function (clients) {
    clients.forEach(function (client) { client.postMessage(message); });
  });
}

function sendOne(item) {
  const body = new FormData();
  item.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
  return fetch(item.url, {method: "POST", body: body, credentials: "same-origin"}).then(function (response) {
    const landed = new URL(response.url).pathname;
    if (landed.indexOf(CONFIG.login) === 0) { return "signin"; }
    if (response.ok && response.redirected && landed !== item.path) {
      return withStore("readwrite", function (store) { return store.delete(item.id); }).then(function () {
        return tell({type: "sent", url: response.url});
      }).then(function () { return "sent"; });
    }
    // Refused (a field the server will not take, or the form expired): the page gives it back to
    // the user to check, instead of sending it again and again.
    item.refused = true;
    return withStore("readwrite", function (store) { return store.put(item); }).then(function () {
      return tell({type: "refused", path: item.path});
    }).then(function () { return "refused"; });
  });
}

let flushing = null;

function flush() {
  if (flushing) { return flushing; }
  flushing = withStore("readonly", function (store) { return store.getAll(); }).then(function (items) {
    const waiting = (items || []).filter(function (item) { return !item.refused; });
    let chain = Promise.resolve("");
    waiting.forEach(function (item) {
      chain = chain.then(function (previous) { return previous === "signin" ? previous : sendOne(item); });
    });
    return chain.then(function (last) { if (last === "signin") { return tell({type: "signin"}); } });
  }).catch(function () {
    // Still no network: the items stay for the next try.
  }).then(function () { flushing = null; });
  return flushing;
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method === "POST" && CONFIG.pages.indexOf(url.pathname) !== -1) {
    event.respondWith(postOrKeep(request, url.pathname));
    return;
  }
  if (request.method !== "GET") { return; }
  if (url.pathname.indexOf(CONFIG.static) === 0) {
    event.respondWith(fromCacheThenRefresh(request));
  } else if (request.mode === "navigate") {
    event.respondWith(page(request, url.pathname));
  }
});

self.addEventListener("sync", function (event) {
  if (event.tag === "shequ-outbox") { event.waitUntil(flush()); }
});

self.addEventListener("message", function (event) {
  const data = event.data || {};
  if (data.type === "flush") { event.waitUntil(flush()); }
  if (data.type === "signout") {
    // A shared phone keeps nothing of the person who signed out.
    event.waitUntil(caches.delete(PAGE_CACHE).then(function () {
      return withStore("readwrite", function (store) { return store.clear(); });
    }));
  }
});
