// The care team's work on the patient page (/app/patient/{id}): the message thread with the
// patient (web/thread.js), clinician notes, and the time log with its timer. The page calls
// setUpCareTeam once and refresh() whenever it reloads the patient.
import * as S from '/common.js';
import * as T from '/staff.js';
import { setUpThread } from '/thread.js';

const { el, byId, todayIn, LIVE_WORDS } = T;

/** A client id for a write: unique per device and moment, 1–64 of [A-Za-z0-9_-]. */
function newClientId(kind) {
  return kind + '-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10);
}

/** Shows a refusal beside its field (`PREFIX-FIELD-error`), or on the page. */
function refuse(error, prefix, retry) {
  const field = error.body && error.body.field;
  const slot = field ? byId(prefix + field.replace(/_/g, '-') + '-error') : null;
  if (slot) {
    slot.textContent = S.refusalText(error);
    const input = byId(prefix + field.replace(/_/g, '-'));
    if (input) input.focus();
  } else {
    T.handle(error, retry);
  }
}

function setUpCareTeam(base) {
  let zone = 'UTC';
  let running = null;
  const thread = setUpThread({ base: base + '/messages', prefix: 'thread', handle: T.handle });

  // --- notes ---
  let noteId = null;
  async function loadNotes() {
    const notes = await S.api('GET', base + '/notes');
    byId('note-list').replaceChildren(
      ...notes.map((note) => {
        const li = el('li');
        li.append(el('span', note.author.name + ' · ' + S.formatDateTime(note.created_at), 'when'));
        li.append(el('span', note.body, 'note-body'));
        return li;
      })
    );
  }
  byId('note-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    byId('note-body-error').textContent = '';
    noteId = noteId || newClientId('note');
    try {
      await S.api('POST', base + '/notes', { client_id: noteId, body: byId('note-body').value });
      noteId = null;
      byId('note-body').value = '';
      S.say('Note added.');
      await loadNotes();
    } catch (error) {
      refuse(error, 'note-', () => byId('note-form').requestSubmit());
    }
  });

  // --- time log ---
  let entryId = null;
  function entryText(entry) {
    const live = entry.live ? ', with a ' + LIVE_WORDS[entry.live] : '';
    return entry.performed_on + ' · ' + entry.minutes + ' min · ' + entry.clinician_name + live + ' — ' + entry.activity;
  }
  async function loadTime() {
    const month = todayIn(zone).slice(0, 7);
    const entries = await S.api('GET', base + '/time?month=' + month);
    const me = entries.filter((e) => e.running);
    running = me.length ? me[0] : null;
    const done = entries.filter((e) => !e.running);
    const total = done.reduce((sum, e) => sum + e.minutes, 0);
    const live = done.filter((e) => e.live).length;
    byId('time-total').textContent =
      'This month: ' + total + ' minutes, ' + (live === 1 ? '1 live conversation.' : live + ' live conversations.');
    byId('time-list').replaceChildren(...done.slice().reverse().map((e) => el('li', entryText(e))));
    byId('timer-start').hidden = Boolean(running);
    byId('timer-cancel').hidden = !running;
    byId('time-date-field').hidden = Boolean(running);
    byId('timer-running').hidden = !running;
    byId('time-submit').textContent = running ? 'Stop the timer and record' : 'Record the time';
    if (running) {
      byId('timer-running').textContent = 'Timer running since ' + S.formatTime(running.started_at) + '. Stop it by recording what was done below.';
    }
  }
  byId('timer-start').addEventListener('click', async () => {
    try {
      await S.api('POST', base + '/time/timer');
      S.say('Timer started.');
      await loadTime();
      byId('time-activity').focus();
    } catch (error) {
      T.handle(error, () => byId('timer-start').click());
    }
  });
  byId('timer-cancel').addEventListener('click', async () => {
    try {
      await S.api('DELETE', base + '/time/timer');
      S.say('Timer dropped; nothing recorded.');
      await loadTime();
    } catch (error) {
      T.handle(error, () => byId('timer-cancel').click());
    }
  });
  byId('time-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const name of ['date', 'minutes', 'activity']) byId('time-' + name + '-error').textContent = '';
    const form = byId('time-form');
    const live = form.elements.live.value || null;
    const minutesText = byId('time-minutes').value.trim();
    const minutes = minutesText === '' ? null : Number(minutesText);
    const activity = byId('time-activity').value;
    try {
      if (running) {
        const body = { activity, live };
        if (minutes !== null) body.minutes = minutes;
        await S.api('POST', base + '/time/timer/stop', body);
      } else {
        entryId = entryId || newClientId('time');
        await S.api('POST', base + '/time', {
          client_id: entryId,
          performed_on: byId('time-date').value || todayIn(zone),
          minutes: minutes === null ? 0 : minutes,
          activity,
          live,
        });
        entryId = null;
      }
      form.reset();
      byId('time-date').value = todayIn(zone);
      S.say('Time recorded.');
      await loadTime();
    } catch (error) {
      const field = error.body && error.body.field;
      const prefix = field === 'performed_on' ? null : 'time-';
      if (field === 'performed_on') {
        byId('time-date-error').textContent = S.refusalText(error);
        byId('time-date').focus();
      } else {
        refuse(error, prefix, () => form.requestSubmit());
      }
    }
  });

  return {
    /** Loads the thread, notes and time log of the patient in `timezone`. */
    async refresh(timezone) {
      zone = timezone || 'UTC';
      if (!byId('time-date').value) byId('time-date').value = todayIn(zone);
      byId('time-date').max = todayIn(zone);
      await Promise.all([thread.refresh(), loadNotes(), loadTime()]);
    },
  };
}

export { setUpCareTeam };
