// Today (/app/today): the walk to do, this week's progress, open two-hour checks, the walk timer
// and the walk log. Works offline: the last plan is kept on this phone, walks logged offline wait
// in the outbox (walklog.js) and are sent when the connection is back.
import * as S from '/common.js';
import * as Outbox from '/walklog.js';

const byId = S.byId;
const PLAN_KEY = 'stepwise.plan';
const WALKS = '/api/v1/me/sessions';
/** The default plan when this phone has never seen one (the server's starting plan). */
const FALLBACK_PLAN = { interval_s: 300, bouts: 3, rest_s: 120, sessions_per_week: 5 };

let plan = null;

function keepPlan(p) {
  try {
    localStorage.setItem(PLAN_KEY, JSON.stringify(p));
  } catch {
    // storage full or disabled: the timer then uses the default plan offline
  }
}

function keptPlan() {
  try {
    return JSON.parse(localStorage.getItem(PLAN_KEY) || 'null');
  } catch {
    return null;
  }
}

function showPlan(p, offline) {
  plan = p;
  byId('plan-interval').textContent = S.shortDuration(p.interval_s);
  byId('plan-interval').title = S.duration(p.interval_s);
  byId('plan-bouts').textContent = p.bouts === 1 ? 'once' : p.bouts + ' times';
  byId('plan-rest').textContent = S.shortDuration(p.rest_s);
  byId('plan-rest').title = S.duration(p.rest_s);
  byId('plan-offline').hidden = !offline;
  byId('plan').hidden = false;
  byId('timer').hidden = false;
}

function showWeek(done, wanted) {
  byId('week-progress').textContent =
    'This week: ' + done + ' of ' + wanted + (wanted === 1 ? ' walk' : ' walks') + ' done.' +
    (done >= wanted ? ' Well done.' : '');
  const bar = byId('week-bar');
  bar.max = Math.max(1, wanted);
  bar.value = Math.min(done, wanted);
}

/** Lists the walks whose check is open: `section` is 'checks' (two hours after) or
 *  'morning-checks' (the next morning, `?check=morning`). */
function showChecks(section, walks, query) {
  const list = byId(section + '-list');
  list.replaceChildren();
  for (const walk of walks) {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = '/app/checks/' + encodeURIComponent(walk.id) + query;
    link.textContent = 'Your walk of ' + S.formatDateTime(walk.started_at);
    item.append(link);
    list.append(item);
  }
  byId(section).hidden = walks.length === 0;
}

// ---------------------------------------------------------------------------------------
// The outbox

function showQueue(extra) {
  const waiting = Outbox.list(WALKS).length;
  const note = byId('queue-note');
  if (waiting === 0 && !extra) {
    note.hidden = true;
    note.textContent = '';
    return;
  }
  note.textContent =
    (waiting === 1
      ? '1 walk is saved on this phone and will be sent when you are online.'
      : waiting > 1
        ? waiting + ' walks are saved on this phone and will be sent when you are online.'
        : '') + (extra ? ' ' + extra : '');
  note.hidden = false;
}

async function sendQueued() {
  if (Outbox.list().length === 0) {
    showQueue();
    return;
  }
  const result = await Outbox.flush();
  if (result.rejected.length) {
    S.fail('A walk saved on this phone was not accepted: ' + result.rejected.join(' '));
  }
  if (result.needSignIn) {
    showQueue('Sign in to send it.');
    return;
  }
  showQueue();
  if (result.sent > 0) {
    S.say(result.sent === 1 ? 'Your saved walk has been sent.' : 'Your ' + result.sent + ' saved walks have been sent.');
    refresh();
  }
}

// ---------------------------------------------------------------------------------------
// The walk timer

const timer = {
  running: false,
  startedAt: null,
  bout: 0, // 1-based bout being walked or rested after
  phase: 'walk', // 'walk' | 'rest'
  phaseStart: 0, // ms
  walkedMs: 0, // finished bouts
  boutsDone: 0,
  prompted: false,
  tick: null,
};

function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
}

function buzz(pattern) {
  if (navigator.vibrate) {
    try {
      navigator.vibrate(pattern);
    } catch {
      // not allowed here
    }
  }
}

function announce(text) {
  byId('timer-live').textContent = text;
}

/** Starts a walk or a rest at `at` (ms; now by default, or when the previous one ended). */
function beginPhase(phase, at) {
  timer.phase = phase;
  timer.phaseStart = at || Date.now();
  timer.prompted = false;
  byId('timer-prompt').hidden = true;
  byId('timer-skip').hidden = phase !== 'rest';
  const text =
    phase === 'walk'
      ? 'Walk ' + timer.bout + ' of ' + plan.bouts + ': walking'
      : 'Rest after walk ' + timer.bout + ' of ' + plan.bouts;
  byId('timer-phase').textContent = text;
  announce(text + (phase === 'walk' ? ' for ' + S.duration(plan.interval_s) : ' for ' + S.duration(plan.rest_s)));
  buzz(phase === 'walk' ? [200] : [100, 100, 100]);
  render();
}

function render() {
  const elapsed = Date.now() - timer.phaseStart;
  const length = (timer.phase === 'walk' ? plan.interval_s : plan.rest_s) * 1000;
  byId('timer-clock').textContent = clock(length - elapsed);
  byId('timer-count').textContent =
    (timer.phase === 'walk' ? 'Time left in this walk: ' : 'Rest time left: ') + clock(length - elapsed) +
    ' · Walks finished: ' + timer.boutsDone + ' of ' + plan.bouts;
  if (timer.phase === 'walk' && !timer.prompted && elapsed >= 0.8 * length) {
    timer.prompted = true;
    byId('timer-prompt').hidden = false;
    buzz([100, 80, 100]);
  }
  if (elapsed >= length) {
    // The next phase starts when this one ended (the page may have slept in a pocket).
    const next = timer.phaseStart + length;
    if (timer.phase === 'walk') {
      timer.walkedMs += length;
      timer.boutsDone += 1;
      if (timer.bout >= plan.bouts) {
        finish(next);
        return;
      }
      if (plan.rest_s > 0) {
        beginPhase('rest', next);
      } else {
        timer.bout += 1;
        beginPhase('walk', next);
      }
    } else {
      timer.bout += 1;
      beginPhase('walk', next);
    }
  }
}

function startTimer() {
  S.clearMessages();
  timer.running = true;
  timer.startedAt = new Date();
  timer.bout = 1;
  timer.walkedMs = 0;
  timer.boutsDone = 0;
  byId('timer-idle').hidden = true;
  byId('timer-running').hidden = false;
  byId('log').hidden = true;
  beginPhase('walk');
  timer.tick = setInterval(render, 250);
  keepAwake(true);
  byId('timer-stop').focus();
}

function skipRest() {
  if (timer.running && timer.phase === 'rest') {
    timer.bout += 1;
    beginPhase('walk');
  }
}

/** Keeps the screen on while the timer runs, where the browser allows it. */
let wakeLock = null;
async function keepAwake(on) {
  try {
    if (on && wakeLock && !wakeLock.released) {
      return;
    }
    if (on && 'wakeLock' in navigator) {
      wakeLock = await navigator.wakeLock.request('screen');
    } else if (!on && wakeLock) {
      await wakeLock.release();
      wakeLock = null;
    }
  } catch {
    wakeLock = null; // not allowed (battery saver, hidden page): the timer still works
  }
}

/** Ends the timer (finished, at `endedAt` ms, or stopped now) and opens the log form filled in. */
function finish(endedAt) {
  if (!timer.running) return;
  clearInterval(timer.tick);
  timer.running = false;
  keepAwake(false);
  let walkedMs = timer.walkedMs;
  let bouts = timer.boutsDone;
  if (timer.phase === 'walk' && bouts < timer.bout) {
    const part = Math.min(Date.now() - timer.phaseStart, plan.interval_s * 1000);
    if (part >= 1000) {
      walkedMs += part;
      bouts += 1;
    }
  }
  const ended = new Date(typeof endedAt === 'number' ? Math.min(endedAt, Date.now()) : Date.now());
  byId('timer-running').hidden = true;
  byId('timer-idle').hidden = false;
  announce('');
  openLog({
    started_at: timer.startedAt,
    ended_at: ended,
    walked_s: Math.min(Math.round(walkedMs / 1000), Math.floor((ended - timer.startedAt) / 1000)),
    bouts,
  });
  S.say(bouts >= plan.bouts ? 'All walks done. Well done! Now tell us how it went.' : 'Timer stopped. Tell us how it went.');
}

// ---------------------------------------------------------------------------------------
// The log form

/** The exact values the timer measured, used while the person leaves the fields as they were. */
let measured = null;

/** The walk being corrected (its id), or null while logging a new one. */
let correcting = null;

/** The form for a new walk, or — with `correct`, a stored walk — for correcting that one. */
function openLog(values, correct) {
  const form = byId('log-form');
  form.reset();
  correcting = correct ? correct.id : null;
  byId('log-title').textContent = correct ? 'Correct your walk' : 'Log your walk';
  byId('log-submit').textContent = correct ? 'Save the correction' : 'Save my walk';
  byId('log-correcting').hidden = !correct;
  byId('log-start').disabled = Boolean(correct);
  byId('log-end').disabled = Boolean(correct);
  measured = values;
  byId('log-start').value = S.toLocalInput(values.started_at);
  byId('log-end').value = S.toLocalInput(values.ended_at);
  byId('log-minutes').value = String(Math.round((values.walked_s / 60) * 10) / 10);
  byId('log-bouts').value = String(values.bouts);
  measured.inputs = {
    start: byId('log-start').value,
    end: byId('log-end').value,
    minutes: byId('log-minutes').value,
  };
  // One id per walk, made once: sending it again (offline, retries) never makes two.
  form.dataset.clientId = correct ? correct.client_id : Outbox.newClientId();
  if (correct) {
    measured = null; // the stored figures are in the fields
    for (const name of ['pain_before', 'pain_during_max', 'effort', 'rest_type']) {
      const input = form.querySelector(`input[name="${name}"][value="${correct[name]}"]`);
      if (input) input.checked = true;
    }
    byId('log-notes').value = correct.notes || '';
  }
  byId('log').hidden = false;
  // The form, not the timer's "Start walking", is what the person sees next.
  byId('log').scrollIntoView({ block: 'start' });
  byId('log-title').focus({ preventScroll: true });
}

function openDirect() {
  const p = plan || FALLBACK_PLAN;
  const ended = new Date();
  const walked = p.interval_s * p.bouts;
  const started = new Date(ended.getTime() - (walked + p.rest_s * Math.max(0, p.bouts - 1)) * 1000);
  openLog({ started_at: started, ended_at: ended, walked_s: walked, bouts: p.bouts });
  measured = null; // typed in by hand: the fields are the truth
  S.clearMessages();
}

function readForm() {
  const form = byId('log-form');
  const startText = byId('log-start').value;
  const endText = byId('log-end').value;
  const minutesText = byId('log-minutes').value;
  const useMeasured =
    measured && measured.inputs.start === startText && measured.inputs.end === endText && measured.inputs.minutes === minutesText;
  const started = useMeasured ? measured.started_at : new Date(startText);
  const ended = useMeasured ? measured.ended_at : new Date(endText);
  if (Number.isNaN(started.getTime()) || Number.isNaN(ended.getTime())) {
    return { error: 'Please fill in when you started and finished.' };
  }
  if (ended <= started) {
    return { error: 'The finish time needs to be after the start time.' };
  }
  const walked = useMeasured ? measured.walked_s : Math.round(Number(minutesText) * 60);
  if (!Number.isFinite(walked) || walked < 0) {
    return { error: 'Please fill in how many minutes you walked.' };
  }
  if (walked > (ended - started) / 1000 + 59) {
    return { error: 'The minutes walked are more than the time from start to finish.' };
  }
  const bouts = Number(byId('log-bouts').value);
  if (!Number.isInteger(bouts) || bouts < 0 || bouts > 50) {
    return { error: 'Please fill in how many walks (bouts) you did, 0 to 50.' };
  }
  // The walk's pain is what the weekly review weighs: it is asked for, 0 being "no pain".
  if (S.chosenNumber(form, 'pain_during_max') === null) {
    return {
      error: 'Please choose your highest pain while walking (0 if there was no pain).',
      focus: form.querySelector('input[name="pain_during_max"]'),
    };
  }
  const rest = form.querySelector('input[name="rest_type"]:checked');
  const notes = byId('log-notes').value.trim();
  const body = {
    client_id: form.dataset.clientId,
    started_at: started.toISOString(),
    ended_at: ended.toISOString(),
    walked_s: Math.min(walked, Math.floor((ended - started) / 1000)),
    bouts,
    pain_before: S.chosenNumber(form, 'pain_before'),
    pain_during_max: S.chosenNumber(form, 'pain_during_max'),
    effort: S.chosenNumber(form, 'effort'),
    rest_type: rest ? rest.value : null,
  };
  if (notes) body.notes = notes;
  return { body };
}

async function submitLog(event) {
  event.preventDefault();
  const { body, error, focus } = readForm();
  if (error) {
    S.fail(error);
    if (focus) focus.focus();
    return;
  }
  const button = byId('log-submit');
  button.disabled = true;
  S.say('Saving…');
  if (correcting !== null) {
    await submitCorrection(body, button);
    return;
  }
  try {
    const result = await Outbox.send('/api/v1/me/sessions', body);
    byId('log').hidden = true;
    measured = null;
    if (result.queued) {
      S.say('Saved on this phone, will send when online.');
      showQueue();
    } else if (S.showSafety(result.stored.safety)) {
      S.say('Your walk is saved, and your care team has been told about your pain.');
      refresh();
    } else {
      // The page settles first (the last walk's card appears above), then the confirmation
      // goes where the person looks once the form closes: the timer card they started from.
      await refresh();
      S.confirm(byId('timer'), 'Your walk is saved. Thank you!');
    }
  } catch (err) {
    if (S.isCsrfError(err) || err.status === 401) {
      S.csrf.clear();
      Outbox.add('/api/v1/me/sessions', body);
      byId('log').hidden = true;
      showQueue('Sign in to send it.');
      S.showLogin('Please sign in again to send your walk.', start);
    } else {
      S.fail(err.message);
    }
  } finally {
    button.disabled = false;
  }
}

/** Sends a correction of the walk being corrected (online only: it changes a stored walk). */
async function submitCorrection(body, button) {
  const figures = { ...body };
  delete figures.client_id;
  delete figures.started_at;
  delete figures.ended_at;
  try {
    const saved = await S.api('PUT', '/api/v1/me/sessions/' + correcting, figures);
    byId('log').hidden = true;
    correcting = null;
    await refresh();
    if (S.showSafety(saved.safety)) {
      S.say('Your walk is corrected, and your care team has been told about your pain.');
    } else {
      S.clearMessages();
      S.confirm(byId('last-walk'), 'Your walk is corrected. The change is kept in your record.');
    }
  } catch (err) {
    S.fail(S.refusalText(err));
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------
// The last walk: corrected or withdrawn for a few hours after it was logged

let lastWalk = null;

function showLastWalk(walk) {
  lastWalk = walk || null;
  byId('last-walk').hidden = !walk;
  byId('withdraw-confirm').hidden = true;
  // A confirmation about the walk shown before is not about this one.
  for (const old of byId('last-walk').querySelectorAll('.confirmation')) old.remove();
  if (!walk) return;
  const pains = [];
  if (walk.pain_before !== null && walk.pain_before !== undefined) pains.push(`pain before ${walk.pain_before} out of 10`);
  if (walk.pain_during_max !== null && walk.pain_during_max !== undefined) pains.push(`highest pain while walking ${walk.pain_during_max}`);
  byId('last-walk-text').textContent =
    `Started at ${S.formatTime(walk.started_at)}: ${S.duration(walk.walked_s)} walked` + (pains.length ? ', ' + pains.join(', ') : '') + '.';
  byId('last-walk-until').textContent = `Something wrong? You can correct or withdraw it until ${S.formatTime(walk.correctable_until)}.`;
}

function correctLastWalk() {
  if (!lastWalk) return;
  openLog(
    { started_at: new Date(lastWalk.started_at), ended_at: new Date(lastWalk.ended_at), walked_s: lastWalk.walked_s, bouts: lastWalk.bouts },
    lastWalk
  );
}

async function withdrawLastWalk() {
  if (!lastWalk) return;
  const button = byId('withdraw-yes');
  button.disabled = true;
  try {
    await S.api('POST', '/api/v1/me/sessions/' + lastWalk.id + '/withdraw', {});
    await refresh();
    // The card now shows the walk before it, if that one can still be changed.
    const place = byId('last-walk').hidden ? byId('timer') : byId('last-walk');
    S.confirm(place, 'Your walk is withdrawn. It no longer counts.');
  } catch (err) {
    S.fail(S.refusalText(err));
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------

async function refresh() {
  let today;
  try {
    today = await S.api('GET', '/api/v1/me/today');
  } catch (error) {
    if (error.status === 0) {
      showOffline();
    } else {
      S.fail('Could not load today’s plan: ' + error.message);
    }
    return;
  }
  keepPlan(today.plan);
  showPlan(today.plan, false);
  showWeek(today.sessions_this_week, today.sessions_per_week);
  showChecks('checks', Array.isArray(today.checks_due) ? today.checks_due : [], '');
  showChecks('morning-checks', Array.isArray(today.morning_checks_due) ? today.morning_checks_due : [], '?check=morning');
  byId('frozen').hidden = !today.frozen;
  showLastWalk(today.last_walk);
  const unread = today.unread_messages || 0;
  byId('new-messages').hidden = unread === 0;
  byId('new-messages-link').textContent = unread === 1 ? 'Read the new message' : 'Read the ' + unread + ' new messages';
  await showQuestionnaires();
}

/** Links to the questionnaires the therapist asked for, while any is open. */
async function showQuestionnaires() {
  let mine;
  try {
    mine = await S.api('GET', '/api/v1/me/questionnaires');
  } catch {
    return;
  }
  const list = byId('questionnaires-list');
  list.replaceChildren();
  for (const request of mine.open) {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = '/app/questionnaires#request-' + encodeURIComponent(request.id);
    link.textContent = request.title;
    item.append(link);
    list.append(item);
  }
  byId('questionnaires').hidden = mine.open.length === 0;
}

let offlineMode = false;

function showOffline() {
  offlineMode = true;
  if (S.lastUserId() === null) {
    // Nobody signed in on this phone: walks could not be told apart, so none are taken.
    S.fail('You are offline. Connect to the internet to sign in.');
    return;
  }
  S.renderNav({ role: 'patient' });
  showPlan(keptPlan() || FALLBACK_PLAN, true);
  byId('week-progress').textContent = 'This week’s progress shows when you are back online.';
  byId('week-bar').hidden = true;
  showQueue();
}

async function start() {
  await S.startPage(
    async () => {
      byId('week-bar').hidden = false;
      await refresh();
      await sendQueued();
    },
    { patientOnly: true, offline: showOffline }
  );
}

for (const fieldset of document.querySelectorAll('fieldset[data-scale]')) {
  S.fillScale(fieldset);
}
byId('timer-start').addEventListener('click', startTimer);
byId('timer-stop').addEventListener('click', () => finish());
byId('timer-skip').addEventListener('click', skipRest);
document.addEventListener('visibilitychange', () => {
  // The browser lets the screen lock go when the page is hidden; take it again on return.
  if (document.visibilityState === 'visible' && timer.running) {
    keepAwake(true);
    render();
  }
});
byId('log-direct').addEventListener('click', openDirect);
byId('log-form').addEventListener('submit', submitLog);
byId('log-cancel').addEventListener('click', () => {
  byId('log').hidden = true;
  measured = null;
  (correcting !== null ? byId('last-walk-correct') : byId('timer-start')).focus();
  correcting = null;
});
byId('last-walk-correct').addEventListener('click', correctLastWalk);
byId('last-walk-withdraw').addEventListener('click', () => {
  byId('withdraw-confirm').hidden = false;
  byId('withdraw-question').focus();
});
byId('withdraw-no').addEventListener('click', () => {
  byId('withdraw-confirm').hidden = true;
  byId('last-walk-withdraw').focus();
});
byId('withdraw-yes').addEventListener('click', withdrawLastWalk);
window.addEventListener('online', () => {
  if (offlineMode) {
    offlineMode = false;
    byId('plan-offline').hidden = true;
    start(); // loads the week and sends what waits
  } else {
    sendQueued();
  }
});
showQueue();
start();
