// The offline verifier's service worker: its own page and code from the cache (kept at
// install), the key and status lists from the network when it answers, else the copy
// kept at the last answer.
"use strict";
const CACHE = "zc-offline-v1";
const SHELL = ["/verify/offline", "/static/offline.js", "/static/jsQR.js", "/static/verify.css",
  "/verify/offline/manifest.webmanifest"];
const LISTS = ["/.well-known/zc/keys", "/.well-known/zc/status"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll([...SHELL, ...LISTS])).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (event) => { event.waitUntil(self.clients.claim()); });
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (LISTS.includes(url.pathname)) {
    event.respondWith(fetch(event.request).then((response) => {
      if (response.ok) { const copy = response.clone(); caches.open(CACHE).then((cache) => cache.put(url.pathname, copy)); }
      return response;
    }).catch(() => caches.match(url.pathname)));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname).then((hit) => hit || fetch(event.request)));
  }
});
