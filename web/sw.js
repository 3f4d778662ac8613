// Stepwise service worker (served at /sw.js, scope /).
//
// Shows the reminders the server sends through Web Push and, when one is tapped, opens the page
// it points to; and keeps the patient app shell (today and flare pages, their scripts, styles,
// manifest and icons) so those pages open offline. Shell files are answered from the cache and
// refreshed from the network in the background; everything else, the API above all, goes to the
// network untouched — API answers (patient data) are never cached.
'use strict';

/**
 * The server writes a fingerprint of every web file into `{{build}}` when it serves this file,
 * so any change to the app makes a new worker with a new cache (old ones are deleted when it
 * takes over): a deploy never leaves an old shell behind.
 */
const SHELL_CACHE = 'stepwise-shell-{{build}}';

/** The app shell: pages and files without personal data. */
const SHELL = [
  '/app',
  '/app/today',
  '/app/flare',
  '/app/offline',
  '/app.css',
  '/common.js',
  '/walklog.js',
  '/index.js',
  '/today.js',
  '/flare.js',
  '/manifest.webmanifest',
  '/icons/icon.svg',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
];
const SHELL_PATHS = new Set(SHELL);

async function keepShell() {
  const cache = await caches.open(SHELL_CACHE);
  // One by one, so a file missing on this server does not stop the others (nor the worker).
  await Promise.all(SHELL.map((path) => cache.add(new Request(path, { cache: 'reload' })).catch(() => undefined)));
}

async function dropOldCaches() {
  const names = await caches.keys();
  await Promise.all(names.filter((n) => n.startsWith('stepwise-') && n !== SHELL_CACHE).map((n) => caches.delete(n)));
}

/** Refreshes a shell file from the network; the cached copy only changes on a 200. */
async function refresh(cache, path) {
  const response = await fetch(path, { cache: 'no-cache', credentials: 'same-origin' });
  if (response.ok && response.type === 'basic') {
    await cache.put(path, response.clone());
  }
  return response;
}

/** Cache first, then the network (which also updates the cache for next time). */
async function fromShell(event, path) {
  const cache = await caches.open(SHELL_CACHE);
  const cached = await cache.match(path);
  const update = refresh(cache, path);
  if (cached) {
    event.waitUntil(update.catch(() => undefined));
    return cached;
  }
  return update;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith('/api/')) {
    return; // the network, untouched and uncached
  }
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  if (SHELL_PATHS.has(path)) {
    event.respondWith(fromShell(event, path));
  } else if (request.mode === 'navigate' && path.startsWith('/app')) {
    // Any other page: the network; offline, a page that says what still works (never the
    // browser's own error page).
    event.respondWith(
      fetch(request).catch(async () => (await caches.match('/app/offline')) || Response.error())
    );
  }
});

/** Where a tapped notification goes when its payload carries no usable address. */
const FALLBACK_URL = '/app/reminders';

/** Reminder kinds about a walk's pain checks: these stay on screen until dealt with. */
const CHECK_KINDS = new Set(['two_hour_check', 'two_hour_follow_up', 'next_morning_check']);

self.addEventListener('install', (event) => {
  // A new version takes over at once instead of waiting for every tab to close.
  self.skipWaiting();
  event.waitUntil(keepShell());
});

self.addEventListener('activate', (event) => {
  event.waitUntil(dropOldCaches().then(() => self.clients.claim()));
});

/**
 * Returns `raw` as a path on this origin ("/app/checks/34"), or FALLBACK_URL when it is
 * anything else (absolute URLs, "//host", "javascript:", backslash tricks, non-strings).
 */
function safePath(raw) {
  if (typeof raw !== 'string' || !raw.startsWith('/')) {
    return FALLBACK_URL;
  }
  try {
    // The URL parser folds "/\host" and tabs into "//host"; comparing origins catches all of it.
    const url = new URL(raw, self.location.origin);
    if (url.origin !== self.location.origin) {
      return FALLBACK_URL;
    }
    return url.pathname + url.search + url.hash;
  } catch {
    return FALLBACK_URL;
  }
}

/** The payload as an object, or null when there is none or it is not a JSON object. */
function parsePayload(data) {
  if (!data) {
    return null;
  }
  try {
    const payload = data.json();
    return payload !== null && typeof payload === 'object' && !Array.isArray(payload)
      ? payload
      : null;
  } catch {
    return null;
  }
}

/** The notification tag: a walk's check and its follow-up share one, so the second replaces the first. */
function tagFor(payload) {
  if (payload.session_id !== undefined && payload.session_id !== null) {
    return 'stepwise-check-' + payload.session_id;
  }
  if (payload.reminder_id !== undefined && payload.reminder_id !== null) {
    return 'stepwise-reminder-' + payload.reminder_id;
  }
  return 'stepwise-reminder';
}

/** Shows the notification for one push message. */
function showReminder(data) {
  const payload = parsePayload(data);
  if (!payload) {
    // Not JSON (or empty): still show something, since every push must be user-visible.
    let text = '';
    try {
      text = data ? data.text() : '';
    } catch {
      text = '';
    }
    return self.registration.showNotification('Stepwise', {
      body: text || 'You have a new reminder.',
      tag: 'stepwise-message',
      data: { url: FALLBACK_URL, reminder_id: null, kind: null },
    });
  }
  const title = typeof payload.title === 'string' && payload.title ? payload.title : 'Stepwise';
  const body = typeof payload.body === 'string' ? payload.body : '';
  const kind = typeof payload.kind === 'string' ? payload.kind : null;
  return self.registration.showNotification(title, {
    body,
    tag: tagFor(payload),
    // Alert again when a follow-up replaces an earlier notification with the same tag.
    renotify: true,
    requireInteraction: CHECK_KINDS.has(kind),
    data: {
      url: safePath(payload.url),
      reminder_id: payload.reminder_id ?? null,
      kind,
    },
  });
}

self.addEventListener('push', (event) => {
  event.waitUntil(showReminder(event.data));
});

/** Focuses a window of ours already showing `path`, else opens one. */
async function focusOrOpen(path) {
  const target = new URL(path, self.location.origin).href;
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const client of windows) {
    if (client.url === target && 'focus' in client) {
      return client.focus();
    }
  }
  return self.clients.openWindow(target);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  event.waitUntil(focusOrOpen(safePath(data.url)));
});
