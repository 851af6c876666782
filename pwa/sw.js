// The service worker: a versioned precache of the shell, and the outbox drain for Background
// Sync. The server prepends `self.__PRECACHE = {version, files}` (every file of the shell) when
// it serves this file, so the cache name changes whenever any shell file changes, and the
// browser sees a new worker and offers the update.
//
// It is a module worker: it drains the outbox with the very modules the page uses (one code
// path, serialised with the page by a Web Lock), so a phone in a pocket sends its inspection
// when the network returns even with the app closed.

import { drain, retryNow } from './js/outbox.js';

const PRECACHE = self.__PRECACHE || { version: 'dev', files: [], lazy: [] };
const LAZY = new Set(PRECACHE.lazy || []);
const PREFIX = 'muaina-shell-';
const CACHE = PREFIX + PRECACHE.version;

// Whether a response is a file of this worker's version (the server stamps each one): during a
// deploy, or behind a load balancer whose servers do not all have it yet, another version's file
// would mix into this shell. One not stamped (a server without the header) is taken as it is.
const ours = (response) => !response.headers.get('X-App-Version') || response.headers.get('X-App-Version') === PRECACHE.version;

self.addEventListener('install', (event) => {
  // No skipWaiting here: a new version waits until the user accepts it (update prompt). A file of
  // another version fails the install; the browser tries again at its next update check.
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await Promise.all(PRECACHE.files.map(async (f) => {
      const response = await fetch(new Request(f, { cache: 'reload' }));
      if (!response.ok || !ours(response)) throw new Error(`${f}: ${response.status}, not version ${PRECACHE.version}`);
      await cache.put(f, response);
    }));
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    // Only our own older shells go; anything else in Cache Storage is not ours to delete.
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  // The API always goes to the network: offline answers come from IndexedDB, not from a cache.
  if (url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  if (request.mode === 'navigate') {
    // Every page of the app is the same shell (routes live in the hash).
    event.respondWith(caches.match('/index.html', { cacheName: CACHE })
      .then((hit) => hit || caches.match('/', { cacheName: CACHE }))
      .then((hit) => hit || fetch(request)));
    return;
  }
  event.respondWith(caches.match(request, { cacheName: CACHE, ignoreSearch: true }).then((hit) => hit || fetchAndKeep(request, url)));
});

// Reviewer and admin screens are not precached (an inspector's phone never needs them); once used,
// they are kept in this version's cache, so they too open offline afterwards and go with the version.
// Asked of the server afresh (never a browser cache's older copy), and refused when the server has
// another version by now: the page then offers the update (app.js) instead of mixing the two.
async function fetchAndKeep(request, url) {
  if (!LAZY.has(url.pathname)) return fetch(request);
  const response = await fetch(new Request(request, { cache: 'no-cache' }));
  if (!response.ok) return response;
  if (!ours(response)) return new Response('', { status: 409, statusText: 'Another version' });
  const copy = response.clone();
  caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
  return response;
}

self.addEventListener('message', (event) => {
  if (event.data?.type === 'SKIP_WAITING') self.skipWaiting();
  if (event.data?.type === 'DRAIN') event.waitUntil(drain());
});

self.addEventListener('sync', (event) => {
  if (event.tag !== 'outbox') return;
  // The browser fires this when the network is back, as the page's `online` event: the backoff
  // earned offline is dropped and the outbox tried at once (the browser itself spaces its retries).
  event.waitUntil(retryNow().then((r) => {
    // Rejecting makes the browser schedule another attempt later.
    if (r?.transient) throw new Error('outbox not drained yet');
  }));
});
