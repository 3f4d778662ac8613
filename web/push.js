// Stepwise Web Push: subscribe this browser to reminders, or stop them.
//
// A module (no build step) using common.js's API client; it exports:
//   supported()                 -> bool
//   await enable(csrf, label)   -> the subscription as the server stored it ({id, endpoint, label, ...})
//   await disable(csrf)         -> undefined
//   await status()              -> {supported, permission, subscribed}
// Failures throw an Error whose message can be shown to the person as is.
import * as S from '/common.js';

const SW_URL = '/sw.js';
const SW_SCOPE = '/';

/** True when this browser can receive Web Push notifications at all. */
function supported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

/** Decodes base64url (padding optional) into bytes, as `applicationServerKey` wants them. */
function base64UrlToBytes(text) {
  const padded = text + '='.repeat((4 - (text.length % 4)) % 4);
  const binary = atob(padded.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) {
    bytes[i] = binary.charCodeAt(i);
  }
  return bytes;
}

/** True when the ArrayBuffer `buffer` holds exactly `bytes`. */
function sameBytes(buffer, bytes) {
  if (!buffer) {
    return false;
  }
  const other = new Uint8Array(buffer);
  return other.length === bytes.length && other.every((b, i) => b === bytes[i]);
}

/** Calls the Stepwise API (common.js) with the CSRF token the caller holds. */
function request(method, path, csrfToken, body) {
  return S.api(method, path, body, csrfToken);
}

/** This page's service worker registration, or null when there is none. */
async function currentRegistration() {
  if (!supported()) {
    return null;
  }
  return (await navigator.serviceWorker.getRegistration(SW_SCOPE)) || null;
}

/** This browser's push subscription, or null. */
async function currentSubscription() {
  const registration = await currentRegistration();
  return registration ? registration.pushManager.getSubscription() : null;
}

/** Subscribes this browser and tells the server where to send reminders. */
async function enable(csrfToken, label) {
  if (!supported()) {
    throw new Error('This browser cannot receive reminders.');
  }
  // Ask first, while the click that called us still counts as a user gesture (Safari and
  // Firefox only show the prompt then).
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') {
    throw new Error(
      permission === 'denied'
        ? 'Notifications are blocked for Stepwise in this browser. Allow them in the browser’s site settings, then try again.'
        : 'Reminders need permission to show notifications. Please try again and choose “Allow”.'
    );
  }

  await navigator.serviceWorker.register(SW_URL, { scope: SW_SCOPE });
  const registration = await navigator.serviceWorker.ready;

  const key = await request('GET', '/api/v1/push/key');
  if (!key || typeof key.public_key !== 'string' || !key.public_key) {
    throw new Error('The server did not send its push key.');
  }
  const applicationServerKey = base64UrlToBytes(key.public_key);

  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameBytes(subscription.options.applicationServerKey, applicationServerKey)) {
    // Made with another server key (the key was replaced): it cannot be reused.
    await subscription.unsubscribe();
    subscription = null;
  }
  if (!subscription) {
    subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey,
    });
  }

  const keys = subscription.toJSON().keys || {};
  return request('POST', '/api/v1/push/subscriptions', csrfToken, {
    endpoint: subscription.endpoint,
    keys: { p256dh: keys.p256dh, auth: keys.auth },
    label,
  });
}

/** Stops reminders to this browser: forgets it on the server, then unsubscribes. */
async function disable(csrfToken) {
  const subscription = await currentSubscription();
  if (!subscription) {
    return;
  }
  const stored = await request('GET', '/api/v1/push/subscriptions');
  for (const item of Array.isArray(stored) ? stored : []) {
    if (item.endpoint === subscription.endpoint) {
      await request('DELETE', '/api/v1/push/subscriptions/' + encodeURIComponent(item.id), csrfToken);
    }
  }
  // Only after the server has forgotten it, so a failure above leaves both sides agreeing.
  await subscription.unsubscribe();
}

/** Whether this browser can, may and does receive reminders. */
async function status() {
  const isSupported = supported();
  return {
    supported: isSupported,
    permission: isSupported ? Notification.permission : 'unsupported',
    subscribed: isSupported ? (await currentSubscription()) !== null : false,
  };
}

export {
  supported,
  enable,
  disable,
  status,
};
