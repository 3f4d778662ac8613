// One patient for the care team (/app/patient/{id}): plan and status, an open escalation with
// its Acknowledge button, the report's charts, every weekly decision with its reasons, recent
// walks and flares, and the therapist's actions: baseline from tolerance walks, a plan change
// with a reason, outcome measures and the next visit; the patient's bands and imports, with an
// upload of an export for them; the message thread, clinician notes and the time log
// (web/care-team.js); the questionnaires the patient is asked to fill in (schedules and
// scores, each instrument charted against the first score with its MID band).
import * as S from '/common.js';
import * as T from '/staff.js';
import { setUpImports } from '/imports.js';
import { setUpCareTeam } from '/care-team.js';

const { el, byId } = T;

const id = T.idFromPath();
const base = '/api/v1/patients/' + id;

const CHARTS = [
  ['interval', 'Walking interval', 'Line chart of the prescribed walking interval week by week, with the weekly decisions.'],
  ['pain', 'Pain', 'Chart of pain before, during (the highest) and two hours after each walk, with the rules’ limits for pain during and two hours after drawn as labelled lines.'],
  ['steps', 'Daily steps', 'Bar chart of the daily steps recorded by the band.'],
  ['sleep', 'Sleep', 'Bar chart of nightly sleep recorded by the band.'],
];

const OUTCOME_NAMES = {
  oswestry: ['Oswestry Disability Index', '%'],
  ndi: ['Neck Disability Index', ''],
  six_minute_walk: ['Six-minute walk', 'm'],
  timed_up_and_go: ['Timed up-and-go', 's'],
};

const SOURCES = { review: 'Weekly review', override: 'Changed by hand', baseline: 'Baseline' };

let detail = null;
let planEditor = null;
let wired = false;
let imports = null;
let careTeam = null;

function score(value) {
  return value === null || value === undefined ? 'not given' : String(value);
}


/** The Monday of the last finished week before `today` ("YYYY-MM-DD"). */
function lastMonday(today) {
  const d = new Date(today + 'T00:00:00Z');
  const weekday = (d.getUTCDay() + 6) % 7; // Monday 0
  d.setUTCDate(d.getUTCDate() - weekday - 7);
  return d.toISOString().slice(0, 10);
}

function renderSummary(d, rulesVersion) {
  const p = d.patient;
  byId('page-title').textContent = p.display_name;
  document.title = p.display_name + ' · Stepwise';
  byId('plan-text').textContent =
    T.formatInterval(p.plan.interval_s) +
    ' a bout, ' +
    p.plan.bouts +
    ' bout' +
    (p.plan.bouts === 1 ? '' : 's') +
    ' with ' +
    T.formatInterval(p.plan.rest_s) +
    ' rest, ' +
    p.plan.sessions_per_week +
    ' sessions a week';
  byId('status-text').textContent = p.frozen
    ? 'Paused: an escalation waits for acknowledgement; weekly reviews do not change the plan.'
    : 'Active: weekly reviews adjust the plan.';
  byId('tz-text').textContent = p.timezone;
  byId('visit-text').textContent = p.next_visit ? T.formatDate(p.next_visit) : 'Not set';
  byId('rules-text').textContent = 'Version ' + rulesVersion;
  byId('rules-link').href = '/app/rules/' + p.id;
  byId('report-link').href = '/clinic/patients/' + p.id + '/report';
  byId('visit-date').value = p.next_visit || '';
}

function renderCharts() {
  // Made anew on every load (the plan may have changed); the API answers with no-store.
  const box = byId('charts');
  box.replaceChildren();
  for (const [name, title, alt] of CHARTS) {
    const figure = el('figure');
    // It may scroll sideways on a phone: reachable by keyboard.
    figure.tabIndex = 0;
    const img = document.createElement('img');
    img.dataset.src = base + '/report/charts/' + name + '.svg';
    img.src = img.dataset.src;
    img.alt = alt;
    img.width = 640;
    img.height = 260;
    img.addEventListener('error', () => {
      figure.append(el('p', 'This chart could not be loaded.', 'hint'));
    });
    figure.append(img, el('figcaption', title));
    box.append(figure);
  }
}

function renderReviews(reviews) {
  const list = byId('decision-list');
  list.replaceChildren();
  byId('decisions-empty').hidden = reviews.length > 0;
  let open = null;
  for (const r of reviews.slice().reverse()) {
    const item = el('li');
    item.dataset.reviewId = String(r.id);
    const title = el('p', null, 'history-title');
    title.append(el('strong', 'Week of ' + T.formatDate(r.week_start) + ': '));
    title.append(document.createTextNode(T.outcomeText(r.output)));
    item.append(title);
    const notes = [];
    notes.push('Rules version ' + r.rules_version);
    if (!r.applied) notes.push('not applied to the plan (it was paused)');
    if (r.output.decision === 'escalate') {
      notes.push(r.acknowledged_at ? 'acknowledged ' + S.formatDateTime(r.acknowledged_at) : 'waiting for acknowledgement');
    }
    item.append(el('p', notes.join(' · '), 'hint'));
    if (r.acknowledged_at && r.acknowledgement_note) {
      const note = el('p', null, 'acknowledgement');
      note.append(el('strong', 'Acknowledgement note: '), document.createTextNode(r.acknowledgement_note));
      item.append(note);
    }
    item.append(T.reasonsList(r.reason_texts));
    list.append(item);
    if (!open && r.output.decision === 'escalate' && !r.acknowledged_at) open = r;
  }
  const section = byId('escalation');
  section.hidden = !open;
  if (open) {
    section.dataset.reviewId = String(open.id);
    byId('escalation-text').textContent =
      'The weekly review of the week of ' +
      T.formatDate(open.week_start) +
      ' asked for a therapist. The plan stays as it is until you acknowledge. Reasons:';
    byId('escalation-reasons').replaceChildren(T.reasonsList(open.reason_texts));
  }
}

function renderTimeline(t) {
  const rows = byId('walk-rows');
  rows.replaceChildren();
  const sessions = (t.sessions || []).slice().sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)));
  byId('walks-empty').hidden = sessions.length > 0;
  byId('walk-table').hidden = sessions.length === 0;
  for (const s of sessions) {
    const tr = el('tr');
    const when = el('th');
    when.scope = 'row';
    const time = el('time', S.formatDateTime(s.started_at));
    time.dateTime = s.started_at;
    when.append(time);
    const cells = [
      ['Walked', T.formatInterval(s.walked_s) + (s.bouts > 1 ? ' in ' + s.bouts + ' bouts' : '')],
      ['Pain before', score(s.pain_before)],
      ['Pain during (highest)', score(s.pain_during_max)],
      ['Pain 2 h after', s.pain_after_2h === null || s.pain_after_2h === undefined ? 'not answered' : String(s.pain_after_2h)],
      ['Next morning', s.pain_next_morning === null || s.pain_next_morning === undefined ? 'not answered' : String(s.pain_next_morning)],
      ['Effort', score(s.effort)],
    ];
    tr.append(when);
    for (const [label, text] of cells) {
      const td = el('td', text);
      td.dataset.label = label;
      tr.append(td);
    }
    rows.append(tr);
  }
  const flares = byId('flare-list');
  flares.replaceChildren();
  for (const f of t.flares || []) {
    const r = f.reported || f;
    flares.append(el('li', S.formatDateTime(r.started_at) + ': pain ' + r.pain + (r.notes ? ' — ' + r.notes : '')));
  }
  if (!flares.children.length) flares.append(el('li', 'No flares reported in the last 28 days.'));
  renderWalkChanges(t.walk_changes || []);
}

/** What a walk's figures were and became, in words: "pain during 3 → 5, effort 4 → 6". */
const WALK_FIGURES = [
  ['walked_s', 'walked', (v) => T.formatInterval(v)],
  ['bouts', 'bouts', String],
  ['pain_before', 'pain before', String],
  ['pain_during_max', 'pain during', String],
  ['effort', 'effort', String],
  ['rest_type', 'rest', String],
  ['notes', 'notes', (v) => '“' + v + '”'],
];

function figure(value, format) {
  return value === null || value === undefined ? 'none' : format(value);
}

/** Every walk the patient corrected or withdrew in the timeline's range, newest first. */
function renderWalkChanges(changes) {
  const list = byId('walk-change-list');
  list.replaceChildren();
  for (const c of changes.slice().reverse()) {
    const who = c.by_user === id ? 'the patient' : 'a staff member';
    const walk = 'the walk of ' + S.formatDateTime(c.before.started_at);
    let what;
    if (c.action === 'withdrawn') {
      const was = WALK_FIGURES.filter(([key]) => c.before[key] !== null && c.before[key] !== undefined)
        .map(([key, label, format]) => label + ' ' + format(c.before[key]));
      what = 'withdrew ' + walk + (was.length ? ' (it had: ' + was.join(', ') + ')' : '');
    } else {
      const changed = WALK_FIGURES.filter(([key]) => (c.before[key] ?? null) !== ((c.after || {})[key] ?? null))
        .map(([key, label, format]) => label + ' ' + figure(c.before[key], format) + ' → ' + figure(c.after[key], format));
      what = 'corrected ' + walk + ': ' + changed.join(', ');
    }
    list.append(el('li', S.formatDateTime(c.at) + ': ' + who + ' ' + what + '.'));
  }
  if (!list.children.length) list.append(el('li', 'No walk was corrected or withdrawn in the last 28 days.'));
}

function renderPlanHistory(changes) {
  const list = byId('plan-history');
  list.replaceChildren();
  for (const c of changes.slice().reverse()) {
    const item = el('li');
    const title = el('p', null, 'history-title');
    title.append(el('strong', (SOURCES[c.source] || c.source) + ': '));
    title.append(
      document.createTextNode(T.formatInterval(c.from_interval_s) + ' → ' + T.formatInterval(c.to_interval_s) + ', ' + S.formatDateTime(c.at))
    );
    item.append(title, el('p', c.reason, 'hint'));
    list.append(item);
  }
  if (!list.children.length) list.append(el('li', 'No changes yet.'));
}

function renderOutcomes(outcomes) {
  const list = byId('outcome-list');
  list.replaceChildren();
  for (const o of outcomes.slice().reverse()) {
    const [name, unit] = OUTCOME_NAMES[o.kind] || [o.kind, ''];
    list.append(el('li', T.formatDate(o.measured_on) + ' — ' + name + ': ' + o.value + (unit ? ' ' + unit : '')));
  }
  if (!list.children.length) list.append(el('li', 'No outcome measures yet.'));
}

/** The patient's bands, each with a Remove button while it can upload. */
function renderBands(devices) {
  S.renderDevices(byId('band-list'), devices, (device, button) =>
    write(button, async () => {
      await S.api('DELETE', base + '/devices/' + encodeURIComponent(device.id));
      S.say((device.name || device.kind) + ' is removed: it can no longer upload.');
    })
  );
  byId('bands-empty').hidden = devices.length > 0;
}

const CHANGE_WORDS = { better: 'better than the first by at least the MID', worse: 'worse than the first by at least the MID', within_mid: 'within the MID of the first' };

/** The questionnaire schedules, each with a Stop button while active. */
function renderSchedules(schedules) {
  const list = byId('questionnaire-schedules');
  list.replaceChildren();
  for (const s of schedules) {
    const item = el('li', s.title + ', ' + s.words + ' — set by ' + s.set_by.name + ' on ' + T.formatDate(s.starts_on) + (s.active ? '' : ' (stopped)'));
    if (s.active) {
      const stop = el('button', 'Stop');
      stop.type = 'button';
      stop.className = 'secondary';
      stop.setAttribute('aria-label', 'Stop ' + s.title + ', ' + s.words);
      stop.addEventListener('click', () =>
        write(stop, async () => {
          await S.api('DELETE', base + '/questionnaire-schedules/' + s.id);
          S.say(s.title + ' ' + s.words + ' is stopped.');
        })
      );
      item.append(' ', stop);
    }
    list.append(item);
  }
  if (!list.children.length) list.append(el('li', 'No questionnaire scheduled.'));
}

/** Each instrument's scores: its chart (first score ± MID shaded) and the scores in words. */
function renderQuestionnaireScores(view) {
  const box = byId('questionnaire-scores');
  box.replaceChildren();
  for (const s of view.series) {
    box.append(el('h4', s.title));
    const figure = el('figure');
    figure.tabIndex = 0;
    const img = document.createElement('img');
    img.src = base + '/report/charts/questionnaire-' + s.instrument + '.svg';
    img.alt = s.mid === null
      ? 'Chart of ' + s.title + ' scores against the first; no MID band: this questionnaire has no verified minimal important difference.'
      : 'Chart of ' + s.title + ' scores against the first, with the first score ± the MID of ' + s.mid + ' shaded.';
    img.width = 640;
    img.height = 320;
    figure.append(img, el('figcaption', s.mid === null ? 'No MID band (no verified MID)' : 'Shaded: first score ± MID ' + s.mid));
    box.append(figure);
    const list = el('ul', null, 'reasons');
    for (const p of s.points.slice().reverse()) {
      const change = p.change ? ' — ' + CHANGE_WORDS[p.change] : '';
      list.append(el('li', T.formatDate(p.day) + ': ' + p.value + (p.raw !== null ? ' (raw ' + p.raw + ')' : '') + change));
    }
    box.append(list, el('p', s.notice, 'hint'));
  }
  const asked = view.requests.filter((r) => r.state === 'open');
  if (asked.length) box.append(el('p', 'Waiting for the patient: ' + asked.map((r) => r.title + ' (due ' + T.formatDate(r.due_on) + ')').join(', ') + '.'));
  if (!box.children.length) box.append(el('p', 'No answers yet.', 'hint'));
}

async function loadQuestionnaires() {
  const [schedules, view] = await Promise.all([
    S.api('GET', base + '/questionnaire-schedules'),
    S.api('GET', base + '/questionnaires'),
  ]);
  renderSchedules(schedules);
  renderQuestionnaireScores(view);
}

async function load() {
  const [d, reviews, timeline, outcomes, devices, imported] = await Promise.all([
    S.api('GET', base),
    S.api('GET', base + '/reviews'),
    S.api('GET', base + '/timeline'),
    S.api('GET', base + '/outcomes'),
    S.api('GET', base + '/devices'),
    S.api('GET', base + '/imports'),
  ]);
  detail = d;
  renderSummary(d, d.rules.version);
  renderReviews(reviews);
  renderTimeline(timeline);
  renderPlanHistory(d.plan_changes || []);
  renderOutcomes(outcomes);
  renderBands(devices);
  imports.render(imported);
  await careTeam.refresh(d.patient.timezone);
  renderCharts();
  await loadQuestionnaires();
  planEditor.set(d.patient.plan);
  planEditor.refreshRanges(d.rules.rules);
  const today = T.todayIn(d.patient.timezone);
  byId('outcome-date').max = today;
  if (!byId('outcome-date').value) byId('outcome-date').value = today;
  if (!byId('review-week').value) byId('review-week').value = lastMonday(today);
}

/** Runs a write; shows a field error next to its input (`fields`: server field → error id). */
async function write(button, fn, fields) {
  for (const errId of Object.values(fields || {})) byId(errId).textContent = '';
  if (button) button.disabled = true;
  try {
    await fn();
    await load();
    // The confirmation goes where the person is looking: the card they used, unless it
    // closed (an acknowledged escalation), then it stays in the message line above.
    const place = button && button.closest('section');
    const text = byId('message').textContent;
    if (place && !place.hidden && text) S.confirm(place, text);
  } catch (error) {
    const field = error.body && error.body.field;
    const key = field && Object.keys(fields || {}).find((k) => field === k || field.startsWith(k + '['));
    if (key) {
      byId(fields[key]).textContent = S.refusalText(error);
      S.fail('Not saved: see the message next to the field.');
    } else {
      T.handle(error, start);
    }
  } finally {
    if (button) button.disabled = false;
  }
}

function wire() {
  planEditor = T.numberEditor(byId('override-fields'), T.PLAN_FIELDS, 'plan');
  careTeam = setUpCareTeam(base);
  imports = setUpImports({
    base: base + '/imports',
    handle: (error) => T.handle(error, start),
    // The charts may now hold the imported steps and sleep: the whole page is loaded again.
    onFinished: () => load(),
  });

  byId('acknowledge-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const reviewId = byId('escalation').dataset.reviewId;
    const noteInput = byId('acknowledge-note');
    const noteError = byId('acknowledge-note-error');
    noteError.textContent = '';
    const note = noteInput.value.trim();
    if (!note) {
      noteError.textContent = 'Write what you did or decided: it is kept in the decision history.';
      noteInput.focus();
      return;
    }
    const button = event.submitter || byId('acknowledge');
    button.disabled = true;
    try {
      await S.api('POST', base + '/reviews/' + reviewId + '/acknowledge', { note });
      noteInput.value = '';
      await load();
      // The escalation card closes: the confirmation goes to the decision history, where the
      // acknowledgement and its note now show.
      S.confirm(byId('decisions-card'), 'Escalation acknowledged. Your note is in the decision history; weekly reviews adjust the plan again.');
    } catch (error) {
      if (error.body && error.body.field === 'note') {
        noteError.textContent = S.refusalText(error);
        noteInput.focus();
      } else {
        T.handle(error, start);
      }
    } finally {
      button.disabled = false;
    }
  });

  byId('review-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const week = byId('review-week').value;
    write(event.submitter, async () => {
      const r = await S.api('POST', base + '/reviews', week ? { week_start: week } : {});
      S.say('Week of ' + T.formatDate(r.week_start) + ': ' + T.outcomeText(r.output) + '.');
    }, { week_start: 'review-week-error' });
  });

  byId('baseline-form').addEventListener('submit', (event) => {
    event.preventDefault();
    // Minutes here, seconds in the API (as in the rules editor).
    const minutes = byId('baseline-walks').value.split(/[\s,;]+/).filter(Boolean);
    if (minutes.some((m) => !(Number(m) > 0))) {
      byId('baseline-walks-error').textContent = 'Enter each walk in minutes, a number above 0, for example 5.5.';
      S.fail('Not saved: see the message next to the field.');
      return;
    }
    const body = { tolerance_walks_s: minutes.map((m) => Math.round(Number(m) * 60)) };
    const share = byId('baseline-share').value.trim();
    if (share) body.share_pct = Number(share);
    write(event.submitter, async () => {
      const change = await S.api('POST', base + '/baseline', body);
      S.say('Baseline set: the walk is now ' + T.formatInterval(change.to_interval_s) + '. ' + change.reason + '.');
    }, { tolerance_walks_s: 'baseline-walks-error', share_pct: 'baseline-share-error' });
  });

  byId('override-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    planEditor.clearErrors();
    byId('override-reason-error').textContent = '';
    const reason = byId('override-reason').value.trim();
    if (!reason) {
      byId('override-reason-error').textContent = 'Give a reason: it is kept with the change.';
      byId('override-reason').focus();
      return;
    }
    const body = { reason };
    const values = planEditor.values();
    for (const f of T.PLAN_FIELDS) {
      if (!Number.isNaN(values[f.name]) && values[f.name] !== detail.patient.plan[f.name]) body[f.name] = values[f.name];
    }
    const button = event.submitter;
    button.disabled = true;
    try {
      const change = await S.api('POST', base + '/plan', body);
      byId('override-reason').value = '';
      await load();
      S.confirm(button.closest('section'), 'Plan changed: the walk is now ' + T.formatInterval(change.to_interval_s) + '.');
    } catch (error) {
      if (error.body && error.body.field === 'reason') {
        byId('override-reason-error').textContent = error.message;
      } else if (!T.showFieldError(error, { plan: planEditor })) {
        T.handle(error, start);
      } else {
        S.fail('Not saved: see the message next to the field.');
      }
    } finally {
      button.disabled = false;
    }
  });

  const timing = byId('questionnaire-timing');
  const showTimingFields = () => {
    byId('questionnaire-weeks-field').hidden = timing.value !== 'every_weeks';
    byId('questionnaire-days-field').hidden = timing.value !== 'before_visit';
  };
  timing.addEventListener('change', showTimingFields);
  showTimingFields();
  S.api('GET', '/api/v1/questionnaires')
    .then((definitions) => {
      byId('questionnaire-instrument').replaceChildren(
        ...definitions.map((d) => {
          const option = el('option', d.title + (d.mid === null ? ' (no MID)' : ' (MID ' + d.mid + ')'));
          option.value = d.instrument;
          return option;
        })
      );
    })
    .catch((error) => T.handle(error, start));
  byId('questionnaire-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const body = {
      client_id: 'schedule-' + Date.now().toString(36),
      instrument: byId('questionnaire-instrument').value,
      timing: timing.value,
    };
    if (timing.value === 'every_weeks') body.weeks = Number(byId('questionnaire-weeks').value);
    if (timing.value === 'before_visit') body.days = Number(byId('questionnaire-days').value);
    const title = byId('questionnaire-instrument').selectedOptions[0]?.textContent || body.instrument;
    write(event.submitter, async () => {
      await S.api('POST', base + '/questionnaire-schedules', body);
      S.say('Scheduled: ' + title + '. The patient gets a push when it is due.');
    }, {
      instrument: 'questionnaire-instrument-error',
      timing: 'questionnaire-timing-error',
      weeks: 'questionnaire-weeks-error',
      days: 'questionnaire-days-error',
    });
  });

  byId('outcome-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = byId('outcome-value').value.trim();
    if (value === '') {
      byId('outcome-value-error').textContent = 'Enter the value.';
      return;
    }
    const body = { kind: byId('outcome-kind').value, value: Number(value), measured_on: byId('outcome-date').value };
    write(event.submitter, async () => {
      await S.api('POST', base + '/outcomes', body);
      byId('outcome-value').value = '';
      S.say('Outcome measure added.');
    }, { value: 'outcome-value-error', measured_on: 'outcome-date-error' });
  });

  byId('reset-code-create').addEventListener('click', async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      const answer = await S.api('POST', base + '/password-reset');
      S.showHandover(byId('reset-code-result'), answer, 'Give this to the patient: they choose a new password with the link, the QR code or the code');
      S.say('Reset code created. Earlier reset codes of this patient no longer work.');
    } catch (error) {
      T.handle(error, start);
    } finally {
      button.disabled = false;
    }
  });

  byId('visit-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const date = byId('visit-date').value;
    write(event.submitter, async () => {
      await S.api('PUT', base + '/next-visit', { next_visit: date || null });
      S.say(date ? 'Next visit set to ' + T.formatDate(date) + '.' : 'Next visit cleared.');
    });
  });
}

async function start() {
  if (!id) {
    S.fail('No patient in this address: open a patient from the patient list.');
    return;
  }
  if (!wired) {
    await T.loadFields();
    wired = true;
    wire();
  }
  await load();
}

T.boot(start);
