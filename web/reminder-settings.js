// The reminder settings form on /app/reminders (patients): session reminders on or off, up to six
// times a day, the days, and quiet hours. reminders.js calls show() once it knows a patient is
// signed in.
import * as S from '/common.js';

const byId = S.byId;
const MAX_TIMES = 6;
const DAYS = [
  ['Mon', 'Monday'],
  ['Tue', 'Tuesday'],
  ['Wed', 'Wednesday'],
  ['Thu', 'Thursday'],
  ['Fri', 'Friday'],
  ['Sat', 'Saturday'],
  ['Sun', 'Sunday'],
];

let wired = false;

function timeRows() {
  return Array.from(byId('set-times').querySelectorAll('input[type="time"]'));
}

function renumber() {
  timeRows().forEach((input, i) => {
    const label = input.parentElement.querySelector('label');
    label.textContent = 'Time ' + (i + 1);
    input.parentElement.querySelector('button').setAttribute('aria-label', 'Remove time ' + (i + 1));
  });
  byId('set-add-time').disabled = timeRows().length >= MAX_TIMES;
}

function addTime(value) {
  if (timeRows().length >= MAX_TIMES) return null;
  const item = document.createElement('li');
  item.className = 'time-row';
  const id = 'set-time-' + Math.random().toString(36).slice(2, 9);
  const label = document.createElement('label');
  label.htmlFor = id;
  const input = document.createElement('input');
  input.type = 'time';
  input.id = id;
  input.value = value || '';
  input.required = true;
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'secondary';
  remove.textContent = 'Remove';
  remove.addEventListener('click', () => {
    item.remove();
    renumber();
    byId('set-add-time').focus();
  });
  item.append(label, input, remove);
  byId('set-times').append(item);
  renumber();
  return input;
}

function showQuiet() {
  byId('set-quiet-times').hidden = !byId('set-quiet').checked;
}

function fill(settings) {
  byId('set-on').checked = Boolean(settings.session_reminders);
  byId('set-times').replaceChildren();
  for (const time of settings.session_times || []) addTime(time);
  renumber();
  const days = new Set(settings.session_days || []);
  for (const [short] of DAYS) {
    byId('set-day-' + short).checked = days.has(short);
  }
  byId('set-morning').checked = settings.next_morning_checks !== false;
  byId('set-quiet').checked = Boolean(settings.quiet_hours);
  if (settings.quiet_hours) {
    byId('set-quiet-start').value = settings.quiet_hours.start;
    byId('set-quiet-end').value = settings.quiet_hours.end;
  }
  showQuiet();
}

async function save(event) {
  event.preventDefault();
  const times = timeRows().map((i) => i.value).filter(Boolean);
  const on = byId('set-on').checked;
  if (on && times.length === 0) {
    S.fail('Add at least one time of day, or turn walk reminders off.');
    byId('set-add-time').focus();
    return;
  }
  const quiet = byId('set-quiet').checked;
  if (quiet && (!byId('set-quiet-start').value || !byId('set-quiet-end').value)) {
    S.fail('Fill in when quiet hours start and end, or untick “Use quiet hours”.');
    return;
  }
  const body = {
    session_reminders: on,
    session_times: times,
    session_days: DAYS.map(([short]) => short).filter((d) => byId('set-day-' + d).checked),
    quiet_hours: quiet ? { start: byId('set-quiet-start').value, end: byId('set-quiet-end').value } : null,
    next_morning_checks: byId('set-morning').checked,
  };
  const button = byId('set-save');
  button.disabled = true;
  S.say('Saving your reminder times…');
  try {
    fill(await S.api('PUT', '/api/v1/me/reminder-settings', body));
    S.say('Your reminder times are saved.');
  } catch (error) {
    if (S.isCsrfError(error) || error.status === 401) {
      S.csrf.clear();
      S.fail('Please sign in again to save your reminder times.');
      S.showLogin('Sign in again to change settings.', () => location.reload());
    } else {
      S.fail(error.message);
    }
  } finally {
    button.disabled = false;
  }
}

function wire() {
  if (wired) return;
  wired = true;
  const days = byId('set-days');
  for (const [short, long] of DAYS) {
    const label = document.createElement('label');
    label.className = 'choice';
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.id = 'set-day-' + short;
    input.value = short;
    const text = document.createElement('span');
    text.textContent = short;
    text.title = long;
    const full = document.createElement('span');
    full.className = 'visually-hidden';
    full.textContent = long.slice(3);
    label.append(input, text, full);
    days.append(label);
  }
  byId('set-add-time').addEventListener('click', () => {
    const input = addTime('');
    if (input) input.focus();
  });
  byId('set-quiet').addEventListener('change', showQuiet);
  byId('settings-form').addEventListener('submit', save);
}

async function show() {
  wire();
  let settings;
  try {
    settings = await S.api('GET', '/api/v1/me/reminder-settings');
  } catch (error) {
    S.fail('Could not load your reminder times: ' + error.message);
    return;
  }
  fill(settings);
  byId('settings').hidden = false;
}

export {
  show,
};
