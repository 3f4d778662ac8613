// A message thread between a patient and their care team, for both sides: the patient's
// /app/messages (base '/api/v1/me/messages') and the Messages card of the care team's patient
// page (base '/api/v1/patients/{id}/messages'). Each page supplies the elements by id prefix:
//   PREFIX-list (ol), PREFIX-empty (p), PREFIX-unread (p, role=status), PREFIX-form (form),
//   PREFIX-body (textarea), PREFIX-body-error (p), PREFIX-send (button).
// It shows the latest messages oldest first, marks the thread read once shown, and posts a
// new message with a client id (a retried send is the same message on the server).
import * as S from '/common.js';

/** A client id for a message: unique per device and moment, 1–64 of [A-Za-z0-9_-]. */
function newClientId() {
  const random = Math.random().toString(36).slice(2, 10);
  return 'msg-' + Date.now().toString(36) + '-' + random;
}

/** One message as a list item: who and when, then the text. */
function item(message) {
  const li = document.createElement('li');
  li.className = 'msg' + (message.mine ? ' mine' : '');
  li.dataset.messageId = String(message.id);
  const who = document.createElement('p');
  who.className = 'msg-meta';
  who.textContent = (message.mine ? 'You' : message.author.name) + ' · ' + S.formatDateTime(message.created_at);
  const body = document.createElement('p');
  body.className = 'msg-body';
  body.textContent = message.body;
  li.append(who, body);
  return li;
}

/**
 * Wires a thread. `handle(error, retry)` deals with failures the page knows best (sign-in
 * again, not found). Returns { refresh } to load (or reload) the thread.
 */
function setUpThread({ base, prefix, handle }) {
  const byId = (name) => S.byId(prefix + '-' + name);
  let pendingId = null;

  async function refresh() {
    const thread = await S.api('GET', base);
    const list = byId('list');
    list.replaceChildren(...thread.messages.map(item));
    byId('empty').hidden = thread.messages.length > 0;
    const unread = thread.unread;
    byId('unread').textContent = unread === 0 ? '' : unread === 1 ? '1 new message.' : unread + ' new messages.';
    const last = thread.messages.length ? thread.messages[thread.messages.length - 1].id : 0;
    if (unread > 0 && last > 0) {
      try {
        await S.api('PUT', base + '/read', { up_to: last });
      } catch (error) {
        // Reading still worked; the count stays until the next visit.
        if (!S.isCsrfError(error)) throw error;
      }
    }
    return thread;
  }

  byId('form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = byId('body').value.trim();
    byId('body-error').textContent = '';
    if (!text) {
      byId('body-error').textContent = 'Write a message first.';
      byId('body').focus();
      return;
    }
    // The same id until the send succeeds: a send retried after a lost answer is not doubled.
    pendingId = pendingId || newClientId();
    byId('send').disabled = true;
    try {
      await S.api('POST', base, { client_id: pendingId, body: text });
      pendingId = null;
      byId('body').value = '';
      S.say('Message sent.');
      await refresh();
    } catch (error) {
      if (error.body && error.body.field === 'body') {
        byId('body-error').textContent = S.refusalText(error);
        byId('body').focus();
      } else {
        handle(error, () => byId('form').requestSubmit());
      }
    } finally {
      byId('send').disabled = false;
    }
  });

  return { refresh };
}

export { setUpThread };
