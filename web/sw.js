// Stepwise service worker (served at /sw.js, scope /).
//
// Shows the reminders the server sends through Web Push and, when one is tapped, opens the page
// it points to. No caching yet: every request still goes to the network.
'use strict';

/** Where a tapped notification goes when its payload carries no usable address. */
const FALLBACK_URL = '/app/reminders';

/** Reminder kinds about a walk's two-hour pain check: these stay on screen until dealt with. */
const TWO_HOUR_KINDS = new Set(['two_hour_check', 'two_hour_follow_up']);

self.addEventListener('install', () => {
  // A new version takes over at once instead of waiting for every tab to close.
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
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
    requireInteraction: TWO_HOUR_KINDS.has(kind),
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
