// The reminders page (/app/reminders): turn Web Push reminders on or off for this browser, and
// (for patients) list the reminders that are coming up.
import * as S from '/common.js';
import * as Push from '/push.js';
import * as ReminderSettings from '/reminder-settings.js';

/** Names of reminder kinds, for reminders that come without a title. */
const KIND_NAMES = {
  two_hour_check: 'Two-hour pain check',
  two_hour_follow_up: 'Two-hour pain check (second reminder)',
  session: 'Time for your walk',
  medication: 'Medication',
  plan_change: 'Your plan has changed',
  escalation: 'A patient needs attention',
  band_nudge: 'Wear your band',
  message: 'A new message',
  next_morning_check: 'Next-morning pain check',
};

/** What each reminder state means to the person reading the list. */
const STATE_NAMES = {
  pending: 'Planned',
  sending: 'Being sent',
  sent: 'Sent',
  cancelled: 'Cancelled',
  expired: 'Expired',
  failed: 'Could not be sent',
  undeliverable: 'No device to send it to',
};

const SIGN_IN_AGAIN = 'Sign in again to change settings.';

function byId(id) {
  return document.getElementById(id);
}

/** The label suggested for this device. */
function defaultLabel() {
  const platform = navigator.userAgentData && navigator.userAgentData.platform;
  return platform || 'This browser';
}

/** True for a path on this site ("/app/checks/3"), which is safe to link to. */
function isLocalPath(url) {
  return typeof url === 'string' && url.startsWith('/') && !url.startsWith('//') && !url.includes('\\');
}

let busy = false;

/** Shows whether this browser gets reminders, and the matching button. */
async function showDevice() {
  byId('device').hidden = false;
  const state = byId('push-state');
  const help = byId('push-help');
  const controls = byId('push-controls');
  const button = byId('push-toggle');

  let status;
  try {
    status = await Push.status();
  } catch {
    status = { supported: false, permission: 'unsupported', subscribed: false };
  }

  help.hidden = true;
  help.textContent = '';
  if (!status.supported) {
    state.textContent = 'Not available';
    help.textContent =
      'This browser cannot receive reminders. On an iPhone or iPad, add Stepwise to your Home Screen and open it from there.';
    help.hidden = false;
    controls.hidden = true;
    return;
  }
  controls.hidden = false;

  if (status.subscribed) {
    state.textContent = 'On — this device receives reminders.';
    button.textContent = 'Turn off reminders';
    byId('label-field').hidden = true;
  } else {
    state.textContent =
      status.permission === 'denied'
        ? 'Off — notifications are blocked in this browser’s settings.'
        : 'Off — this device receives no reminders.';
    if (status.permission === 'denied') {
      help.textContent =
        'To get reminders here, allow notifications for this site in the browser’s settings, then choose “Turn on reminders”.';
      help.hidden = false;
    }
    button.textContent = 'Turn on reminders';
    byId('label-field').hidden = false;
  }

  // Changing settings is a write, which needs the CSRF token from a sign-in in this tab.
  const canChange = Boolean(S.csrf.get());
  button.disabled = busy || !canChange;
  if (!canChange) {
    help.textContent = SIGN_IN_AGAIN;
    help.hidden = false;
  }
}

/** Turns reminders on or off, whichever they are not. */
async function toggle() {
  if (busy) {
    return;
  }
  busy = true;
  const button = byId('push-toggle');
  button.disabled = true;
  const token = S.csrf.get();
  try {
    const status = await Push.status();
    if (status.subscribed) {
      S.say('Turning reminders off…');
      await Push.disable(token);
      S.say('Reminders are off on this device.');
    } else {
      const input = byId('device-label');
      const label = input.value.trim() || defaultLabel();
      S.say('Turning reminders on…');
      const stored = await Push.enable(token, label);
      S.say('Reminders are on for “' + ((stored && stored.label) || label) + '”.');
    }
  } catch (error) {
    if (S.isCsrfError(error)) {
      S.csrf.clear();
      S.showLogin(SIGN_IN_AGAIN, start);
      S.fail(SIGN_IN_AGAIN);
    } else if (error.status === 401) {
      S.csrf.clear();
      S.showLogin('', start);
      S.fail('Your sign-in has ended. Please sign in again.');
    } else {
      S.fail(error.message);
    }
  } finally {
    busy = false;
    await showDevice();
  }
}

/** Lists the patient's upcoming reminders: those still to come, soonest first. */
async function showUpcoming() {
  const section = byId('upcoming');
  const list = byId('upcoming-list');
  const empty = byId('upcoming-empty');
  section.hidden = false;

  let reminders;
  try {
    reminders = await S.api('GET', '/api/v1/me/reminders');
  } catch (error) {
    S.fail('Could not load your reminders: ' + error.message);
    return;
  }
  // Only what will still come: planned (or being sent) and not yet due. Sent, cancelled,
  // expired and failed ones are history, not upcoming.
  const now = Date.now();
  reminders = (Array.isArray(reminders) ? reminders : []).filter(
    (r) => (r.state === 'pending' || r.state === 'sending') && new Date(r.due_at).getTime() > now
  );
  reminders.sort((a, b) => String(a.due_at).localeCompare(String(b.due_at)));

  list.replaceChildren();
  empty.hidden = reminders.length > 0;
  for (const reminder of reminders) {
    const item = document.createElement('li');

    const when = document.createElement('time');
    when.className = 'when';
    when.dateTime = reminder.due_at;
    when.textContent = S.formatDateTime(reminder.due_at);

    // The API nests what a reminder says: {message: {title, body, url}}.
    const message = reminder.message && typeof reminder.message === 'object' ? reminder.message : {};
    const title = document.createElement(isLocalPath(message.url) ? 'a' : 'span');
    title.className = 'title';
    title.textContent =
      (typeof message.title === 'string' && message.title) || KIND_NAMES[reminder.kind] || 'Reminder';
    if (title.tagName === 'A') {
      title.href = message.url;
    }

    const state = document.createElement('span');
    state.className = 'state';
    state.textContent = 'Status: ' + (STATE_NAMES[reminder.state] || reminder.state);

    item.append(when, title, state);
    list.append(item);
  }
}

/** Loads who is signed in and fills the page; runs again after each sign-in. */
function start() {
  return S.startPage(show, {
    signInAgain: SIGN_IN_AGAIN,
    signedOut: () => {
      for (const id of ['who', 'device', 'staff-note', 'upcoming', 'settings']) {
        byId(id).hidden = true;
      }
    },
  });
}

/** Fills the page for the person signed in. */
async function show(me) {
  const who = byId('who');
  who.textContent = 'Signed in as ' + me.user.display_name + '.';
  who.hidden = false;

  const input = byId('device-label');
  if (!input.value) {
    input.value = defaultLabel();
  }
  await showDevice();

  if (me.user.role === 'patient') {
    byId('staff-note').hidden = true;
    await ReminderSettings.show();
    await showUpcoming();
  } else {
    // Therapists and clinic admins get escalation reminders only.
    byId('upcoming').hidden = true;
    byId('staff-note').hidden = false;
  }
}

byId('push-toggle').addEventListener('click', toggle);
start();
