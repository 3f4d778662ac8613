// The check page (/app/checks/{session_id}), opened from a reminder: asks "How is your pain
// now?" two hours after one walk, or with ?check=morning "How is your pain this morning?" the
// morning after, and records the answer.
import * as S from '/common.js';

function byId(id) {
  return document.getElementById(id);
}

/** The walk's id from the address, or null when the address holds none. */
function sessionIdFromPath() {
  const match = /^\/app\/checks\/(\d{1,15})\/?$/.exec(location.pathname);
  return match ? Number(match[1]) : null;
}

const sessionId = sessionIdFromPath();
const form = byId('check-form');

/** The two checks of a walk: what the page asks, and where the answer goes. */
const CHECKS = {
  two_hour: {
    title: 'Two-hour check',
    question: 'How is your pain now?',
    field: 'pain_after_2h',
    answeredAt: 'answered_at',
    opensAt: 'two_hour_check_opens_at',
    path: 'two-hour-check',
    yourPain: 'Your pain now: ',
  },
  morning: {
    title: 'Next-morning check',
    question: 'How is your pain this morning?',
    field: 'pain_next_morning',
    answeredAt: 'next_morning_answered_at',
    opensAt: 'next_morning_check_opens_at',
    path: 'next-morning-check',
    yourPain: 'Your pain this morning: ',
  },
};
const check = new URLSearchParams(location.search).get('check') === 'morning' ? CHECKS.morning : CHECKS.two_hour;
byId('check-title').textContent = check.title;
byId('check-question').textContent = check.question;
document.title = check.title + ' · Stepwise';

/** "at 14:35" today, else "on Tuesday 4 March at 14:35", in this device's time zone. */
function whenItOpens(opens) {
  const time = 'at ' + S.formatTime(opens);
  if (opens.toDateString() === new Date().toDateString()) return time;
  const day = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long' }).format(opens);
  return 'on ' + day + ' ' + time;
}

let reopen = null;

/**
 * When the check is not open yet: says when it opens instead of offering the question, and
 * offers it by itself at that moment. Returns true when it is not open.
 */
function notOpenYet(walk) {
  const opens = new Date(walk[check.opensAt]);
  const wait = opens.getTime() - Date.now();
  const notYet = byId('not-yet');
  if (Number.isNaN(wait) || wait <= 0) {
    notYet.hidden = true;
    return false;
  }
  form.hidden = true;
  notYet.textContent =
    'This check opens ' + whenItOpens(opens) + '. Come back then — or keep this page open: the question appears by itself.';
  notYet.hidden = false;
  clearTimeout(reopen);
  // (Timers longer than about 24 days overflow: the page is reloaded long before.)
  reopen = setTimeout(start, Math.min(wait + 500, 2 ** 31 - 1));
  return true;
}

/** Shows the stored answer in place of the form; `fresh` when it was just given. */
function showAnswered(pain, answeredAt, fresh) {
  form.hidden = true;
  byId('answered').hidden = false;
  byId('answered-thanks').hidden = !fresh;
  const text = byId('answered-text');
  text.textContent =
    (fresh ? check.yourPain : 'You already answered: ') +
    pain +
    ' out of 10' +
    (answeredAt ? ' (recorded ' + S.formatDateTime(answeredAt) + ').' : '.');
  if (fresh) {
    // The answer box says thank you; moving focus there reads it out.
    text.focus();
  }
}

/** Loads the walk and shows the question or the answer already given; runs again after sign-in. */
async function start() {
  if (sessionId === null) {
    S.fail('This link does not point to a walk. Open the check from its reminder again.');
    return;
  }

  await S.startPage(showWalk, {
    patientOnly: true,
    reason: 'Please sign in to answer the check.',
    signedOut: () => {
      byId('walk').hidden = true;
    },
  });
}

/** The walk this check is about, and its question, its answer or when it opens. */
async function showWalk() {
  let walks;
  try {
    // The default range: the patient's last 28 days.
    walks = await S.api('GET', '/api/v1/me/sessions');
  } catch (error) {
    S.fail('Could not load your walks: ' + error.message);
    return;
  }
  const walk = (Array.isArray(walks) ? walks : []).find((w) => w.id === sessionId);
  byId('walk').hidden = false;
  if (!walk) {
    form.hidden = true;
    byId('walk-when').textContent =
      'This walk is older than 28 days (or is not one of yours), so it cannot be answered here.';
    return;
  }
  byId('walk-when').textContent =
    'You started this walk on ' +
    S.formatDateTime(walk.started_at) +
    ' and walked for ' +
    S.duration(walk.walked_s) +
    '.';

  const given = walk[check.field];
  if (given !== null && given !== undefined) {
    S.hideLogin();
    showAnswered(given, walk[check.answeredAt], false);
    return;
  }

  if (notOpenYet(walk)) {
    S.hideLogin();
    return;
  }
  if (S.csrf.get()) {
    S.hideLogin();
    form.hidden = false;
  } else {
    // The cookie still works but this tab never saw the sign-in answer, which saving needs.
    form.hidden = true;
    S.showLogin('Sign in again to record your answer.', start);
  }
}

async function submit(event) {
  event.preventDefault();
  const chosen = form.querySelector('input[name="pain"]:checked');
  if (!chosen) {
    S.fail('Choose a number from 0 (no pain) to 10 (worst imaginable).');
    form.querySelector('input[name="pain"]').focus();
    return;
  }
  const button = byId('check-submit');
  button.disabled = true;
  S.say('Saving…');
  try {
    const record = await S.api('POST', '/api/v1/me/sessions/' + sessionId + '/' + check.path, {
      [check.field]: Number(chosen.value),
    });
    S.clearMessages();
    showAnswered(record[check.field], record[check.answeredAt], true);
    S.showSafety(record.safety);
  } catch (error) {
    if (S.isCsrfError(error)) {
      S.csrf.clear();
      form.hidden = true;
      S.showLogin('Sign in again to record your answer.', start);
      S.fail('Sign in again to record your answer.');
    } else if (error.status === 401) {
      S.csrf.clear();
      form.hidden = true;
      S.showLogin('', start);
      S.fail('Your sign-in has ended. Please sign in again.');
    } else if (error.status === 409) {
      // Not open yet after all: this device's clock runs ahead of the server's.
      S.fail('This check is not open yet. Please try again in a few minutes.');
    } else {
      S.fail(error.message);
    }
  } finally {
    button.disabled = false;
  }
}

form.addEventListener('submit', submit);
start();
