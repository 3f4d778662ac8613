// The outbox of the patient pages: walks and flares that could not be sent yet (offline) wait in
// localStorage and are sent again later. Each entry carries the client_id made once for it, and
// the server stores a client_id only once (201 new, 200 already stored), so sending twice never
// makes two. Each entry also carries the id of the person signed in when it was made (common.js
// keeps the last one seen), and is only ever sent while that same person is signed in: on a
// shared phone one person's walks never land in another's account.
// It exports:
//   add(path, body)     keep a write for later
//   list(path?)         what waits for the person signed in (optionally one kind)
//   await flush()       send what waits -> {sent, left, needSignIn}
//   send(path, body)    try now; queue when offline -> {stored: record} or {queued: true}
import * as S from '/common.js';

const KEY = 'stepwise.outbox';

/** Everything waiting, whoever made it. */
function all() {
  try {
    const items = JSON.parse(localStorage.getItem(KEY) || '[]');
    return Array.isArray(items) ? items : [];
  } catch {
    return [];
  }
}

/** What waits for the person signed in last (and of `path`, when given). */
function list(path) {
  const user = S.lastUserId();
  return all().filter((i) => user !== null && i.user === user && (!path || i.path === path));
}

function save(items) {
  localStorage.setItem(KEY, JSON.stringify(items));
}

function add(path, body) {
  const items = all();
  if (!items.some((i) => i.body.client_id === body.client_id)) {
    items.push({ path, body, user: S.lastUserId(), queued_at: new Date().toISOString() });
    save(items);
  }
}

function remove(clientId) {
  save(all().filter((i) => i.body.client_id !== clientId));
}

let flushing = null;

/** Sends every waiting write, oldest first; stops at the first network failure. */
function flush() {
  if (!flushing) {
    flushing = flushOnce().finally(() => {
      flushing = null;
    });
  }
  return flushing;
}

async function flushOnce() {
  const result = { sent: 0, left: 0, needSignIn: false, rejected: [] };
  if (list().length === 0) {
    return result;
  }
  const token = await S.ensureCsrf();
  for (const item of list()) {
    try {
      const stored = await S.api('POST', item.path, item.body, token || undefined);
      remove(item.body.client_id); // 201 or 200: stored on the server
      result.sent += 1;
      S.showSafety(stored && stored.safety);
    } catch (error) {
      if (error.status === 0 || error.status >= 500 || error.status === 429) {
        break; // offline or the server is unwell: try again later
      }
      if (error.status === 401 || S.isCsrfError(error)) {
        result.needSignIn = true;
        break;
      }
      // Refused as it is (e.g. too old): it would never be accepted, so say so and drop it.
      remove(item.body.client_id);
      result.rejected.push(error.message);
    }
  }
  result.left = list().length;
  return result;
}

/** Sends now when online; keeps it for later when offline or the network fails. */
async function send(path, body) {
  if (navigator.onLine === false) {
    add(path, body);
    return { queued: true };
  }
  try {
    return { stored: await S.api('POST', path, body) };
  } catch (error) {
    if (error.status === 0) {
      add(path, body);
      return { queued: true };
    }
    throw error;
  }
}

/** A new id for one walk or flare. */
function newClientId() {
  if (window.crypto && typeof crypto.randomUUID === 'function') {
    return crypto.randomUUID();
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export {
  add,
  list,
  flush,
  send,
  newClientId,
};
