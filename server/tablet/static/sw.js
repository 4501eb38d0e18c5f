/* Service worker of the 枫桥 tablet app.
 *
 * Precaches the app shell (HTML, our modules, CSS, vendor PouchDB + Leaflet, labels) on
 * install, so after one online visit the app starts and reloads with no network at all.
 * The server fills in __VERSION__ (a hash of the shell files) and __SHELL__ (the URL list):
 * a changed file means a new worker, a new cache, and the old cache deleted on activate.
 *
 * Only GET requests under /tablet/ are answered from the cache. Replication (/sync/…) is
 * never touched here: PouchDB must see the real network state to know what is synced.
 */
const VERSION = '__VERSION__';
const SHELL = __SHELL__;
const CACHE = 'fq-tablet-' + VERSION;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // cache: 'reload' bypasses the HTTP cache so a new version never precaches old files.
    await cache.addAll(SHELL.map((url) => new Request(url, { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('fq-tablet-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith('/tablet/') || url.pathname === '/tablet/sw.js') return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // Navigations (any /tablet/ page, with or without a hash) get the shell.
    const key = req.mode === 'navigate' ? '/tablet/' : url.pathname;
    const hit = await cache.match(key, { ignoreSearch: true });
    if (hit) return hit;
    try {
      return await fetch(req);
    } catch (err) {
      return new Response('离线且未缓存 / offline and not cached', {
        status: 503, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
    }
  })());
});
