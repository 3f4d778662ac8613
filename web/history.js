// /app/history, "My progress": this week at a glance (walks done, checks answered, day by day),
// pain before each walk and two hours after over the last weeks, the walking interval over the
// weeks (SVG charts drawn here, each with a table of the same numbers) and every weekly
// review's decision with its reasons in the patient's words.
import * as S from '/common.js';

const byId = S.byId;
const SVG = 'http://www.w3.org/2000/svg';

const DECISIONS = {
  advance: 'Walk a little longer',
  hold: 'Keep the same walk',
  regress: 'Step back a little',
  escalate: 'Paused so your therapist can check in',
};
const SOURCES = {
  review: 'Weekly review',
  override: 'Your therapist',
  baseline: 'Starting plan',
};

function shortDate(value) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' }).format(date);
}

function minutesLabel(seconds) {
  const m = seconds / 60;
  return (Number.isInteger(m) ? m : m.toFixed(1)) + ' min';
}

/** The interval at each change, oldest first, ending with today. */
function points(history) {
  const changes = (history.plan_changes || []).slice().sort((a, b) => String(a.at).localeCompare(String(b.at)));
  const current = history.patient.plan.interval_s;
  const result = [];
  const start = history.patient.created_at;
  if (changes.length === 0) {
    result.push({ at: start, interval_s: current, why: 'Starting plan' });
  } else {
    if (String(start) < String(changes[0].at) && changes[0].source !== 'baseline') {
      result.push({ at: start, interval_s: changes[0].from_interval_s, why: 'Starting plan' });
    }
    for (const change of changes) {
      result.push({
        at: change.at,
        interval_s: change.to_interval_s,
        why: (SOURCES[change.source] || change.source) + (change.reason ? ': ' + change.reason : ''),
      });
    }
  }
  return result;
}

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawChart(list) {
  // Drawn at the width it is shown (so shown first), so its text stays readable on a phone.
  byId('chart-card').hidden = false;
  const W = Math.max(300, Math.min(720, byId('chart').clientWidth || 640));
  const H = 240;
  const pad = { left: 60, right: 16, top: 16, bottom: 40 };
  const now = Date.now();
  const times = list.map((p) => new Date(p.at).getTime());
  const t0 = Math.min(...times);
  const t1 = Math.max(now, t0 + 86_400_000);
  const values = list.map((p) => p.interval_s);
  const topMinutes = Math.max(1, Math.ceil((Math.max(...values) * 1.15) / 60));
  const vMax = topMinutes * 60;
  const x = (t) => pad.left + ((t - t0) / (t1 - t0)) * (W - pad.left - pad.right);
  const y = (v) => H - pad.bottom - (v / vMax) * (H - pad.top - pad.bottom);

  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-svg-title chart-svg-desc' });
  svg.append(el('title', { id: 'chart-svg-title' }, 'Walking interval over time'));
  const first = list[0];
  const last = list[list.length - 1];
  svg.append(
    el(
      'desc',
      { id: 'chart-svg-desc' },
      `From ${minutesLabel(first.interval_s)} on ${shortDate(first.at)} to ${minutesLabel(last.interval_s)} now, with ${list.length - 1} change${list.length === 2 ? '' : 's'}. The table below lists every change.`
    )
  );
  svg.append(el('line', { class: 'axis', x1: pad.left, y1: H - pad.bottom, x2: W - pad.right, y2: H - pad.bottom }));
  svg.append(el('line', { class: 'axis', x1: pad.left, y1: pad.top, x2: pad.left, y2: H - pad.bottom }));
  for (const m of new Set([0, Math.round(topMinutes / 2), topMinutes])) {
    svg.append(el('line', { class: 'axis grid', x1: pad.left, y1: y(m * 60), x2: W - pad.right, y2: y(m * 60) }));
    svg.append(el('text', { x: pad.left - 8, y: y(m * 60) + 5, 'text-anchor': 'end' }, m + ' min'));
  }
  svg.append(el('text', { x: pad.left, y: H - 12 }, shortDate(t0)));
  svg.append(el('text', { x: W - pad.right, y: H - 12, 'text-anchor': 'end' }, 'Today'));

  // A step line: the interval holds until the next change.
  let d = '';
  list.forEach((p, i) => {
    const px = x(times[i]);
    const py = y(p.interval_s);
    d += i === 0 ? `M${px},${py}` : `H${px}V${py}`;
  });
  d += `H${x(now)}`;
  svg.append(el('path', { class: 'line', d }));
  list.forEach((p, i) => svg.append(el('circle', { class: 'dot', cx: x(times[i]), cy: y(p.interval_s), r: 5 })));
  byId('chart').replaceChildren(svg);

  const body = byId('chart-table').tBodies[0];
  body.replaceChildren();
  for (const p of list) {
    const row = body.insertRow();
    row.insertCell().textContent = S.formatDateTime(p.at);
    row.insertCell().textContent = S.duration(p.interval_s);
    row.insertCell().textContent = p.why;
  }
  byId('chart-card').hidden = false;
}

function showReviews(reviews) {
  const list = byId('reviews-list');
  list.replaceChildren();
  const sorted = (reviews || []).slice().sort((a, b) => String(b.week_start).localeCompare(String(a.week_start)));
  for (const review of sorted) {
    const out = review.output || {};
    const item = document.createElement('li');
    const heading = document.createElement('h3');
    heading.textContent = 'Week of ' + shortDate(review.week_start + 'T12:00:00') + ': ' + (DECISIONS[out.decision] || out.decision);
    const change = document.createElement('p');
    change.textContent =
      out.previous_interval_s !== undefined && out.previous_interval_s !== out.interval_s
        ? 'Walk for ' + S.duration(out.interval_s) + ' (was ' + S.duration(out.previous_interval_s) + ').'
        : 'Walk for ' + S.duration(out.interval_s) + ', the same as before.';
    item.append(heading, change);
    const reasons = Array.isArray(review.reason_texts) ? review.reason_texts : [];
    if (reasons.length) {
      const why = document.createElement('ul');
      for (const reason of reasons) {
        const li = document.createElement('li');
        li.textContent = reason.text;
        why.append(li);
      }
      item.append(why);
    }
    list.append(item);
  }
  byId('reviews-empty').hidden = sorted.length > 0;
  byId('reviews').hidden = false;
}

/** How many weeks of walks the pain chart shows. */
const PAIN_WEEKS = 12;
const DAY_MS = 86_400_000;

/** The local calendar day (YYYY-MM-DD) of an instant in the patient's time zone. */
function localDay(instant, timeZone) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(instant));
  return parts.slice(0, 10);
}

function addDays(day, n) {
  return new Date(Date.parse(day + 'T12:00:00Z') + n * DAY_MS).toISOString().slice(0, 10);
}

function dayName(day) {
  return new Intl.DateTimeFormat(undefined, { weekday: 'long', timeZone: 'UTC' }).format(new Date(day + 'T12:00:00Z'));
}

function showWeek(today, sessions) {
  const done = today.sessions_this_week;
  const planned = today.sessions_per_week;
  byId('week-summary').textContent =
    done >= planned
      ? `You have done all ${planned} walks planned for this week. Well done.`
      : done > 0
        ? `You have done ${done} of the ${planned} walks planned for this week. Every walk counts.`
        : `No walks yet this week (${planned} planned). A short walk today is a good start.`;
  const days = byId('week-days');
  days.replaceChildren();
  const walkedOn = new Map();
  for (const s of sessions) {
    const day = localDay(s.started_at, today.timezone);
    walkedOn.set(day, (walkedOn.get(day) || 0) + 1);
  }
  for (let i = 0; i < 7; i += 1) {
    const day = addDays(today.week_start, i);
    const walks = walkedOn.get(day) || 0;
    const item = document.createElement('li');
    item.className = walks ? 'walked' : day > today.today ? 'ahead' : 'rest';
    const name = document.createElement('strong');
    name.textContent = dayName(day).slice(0, 3);
    const what = document.createElement('span');
    what.textContent = walks ? (walks === 1 ? 'walked' : `walked ×${walks}`) : day > today.today ? '' : day === today.today ? 'not yet' : 'no walk';
    item.append(name, what);
    item.setAttribute('aria-label', dayName(day) + ': ' + (walks ? `${walks} walk${walks === 1 ? '' : 's'}` : day > today.today ? 'still to come' : 'no walk'));
    days.append(item);
  }
  const now = Date.now();
  const thisWeek = sessions.filter((s) => localDay(s.started_at, today.timezone) >= today.week_start);
  const open = thisWeek.filter((s) => Date.parse(s.two_hour_check_opens_at) <= now);
  const answered = open.filter((s) => s.pain_after_2h !== null && s.pain_after_2h !== undefined).length;
  byId('week-checks').textContent =
    open.length === 0
      ? 'No two-hour pain check to answer yet this week.'
      : answered === open.length
        ? `You answered every two-hour pain check this week (${answered} of ${open.length}). Thank you — that is how your plan can grow safely.`
        : `You answered ${answered} of ${open.length} two-hour pain checks this week. Your walk only gets longer when we know how you felt afterwards.`;
  byId('week-card').hidden = false;
}

function mean(values) {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

function drawPain(sessions) {
  const walks = sessions.slice().sort((a, b) => String(a.started_at).localeCompare(String(b.started_at)));
  const body = byId('pain-table').tBodies[0];
  body.replaceChildren();
  const card = byId('pain-card');
  card.hidden = false;
  if (walks.length === 0) {
    byId('pain-summary').textContent = 'Your pain before each walk and two hours after will show here once you log walks.';
    byId('pain-chart').replaceChildren();
    return;
  }
  const known = (v) => v !== null && v !== undefined;
  const before = walks.map((w) => w.pain_before).filter(known);
  const after = walks.map((w) => w.pain_after_2h).filter(known);
  const said = (m) => (m === null ? 'not recorded' : (Math.round(m * 10) / 10).toString().replace(/\.0$/, '') + ' out of 10');
  byId('pain-summary').textContent =
    `Over your last ${walks.length} walk${walks.length === 1 ? '' : 's'}, pain before walking was on average ${said(mean(before))}, ` +
    `and two hours after ${said(mean(after))}.`;

  const W = Math.max(300, Math.min(720, byId('pain-chart').clientWidth || 640));
  const H = 220;
  const pad = { left: 44, right: 16, top: 16, bottom: 40 };
  const x = (i) => pad.left + (walks.length === 1 ? 0.5 : i / (walks.length - 1)) * (W - pad.left - pad.right);
  const y = (v) => H - pad.bottom - (v / 10) * (H - pad.top - pad.bottom);
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': 'pain-svg-title pain-svg-desc' });
  svg.append(el('title', { id: 'pain-svg-title' }, 'Pain before each walk and two hours after, out of 10'));
  svg.append(el('desc', { id: 'pain-svg-desc' }, byId('pain-summary').textContent + ' The table below lists every walk.'));
  svg.append(el('line', { class: 'axis', x1: pad.left, y1: H - pad.bottom, x2: W - pad.right, y2: H - pad.bottom }));
  for (const v of [0, 5, 10]) {
    svg.append(el('line', { class: 'axis grid', x1: pad.left, y1: y(v), x2: W - pad.right, y2: y(v) }));
    svg.append(el('text', { x: pad.left - 8, y: y(v) + 5, 'text-anchor': 'end' }, String(v)));
  }
  svg.append(el('text', { x: pad.left, y: H - 12 }, shortDate(walks[0].started_at)));
  svg.append(el('text', { x: W - pad.right, y: H - 12, 'text-anchor': 'end' }, shortDate(walks[walks.length - 1].started_at)));
  for (const [key, cls] of [['pain_before', 'line line-before'], ['pain_after_2h', 'line']]) {
    let d = '';
    let joined = false;
    walks.forEach((w, i) => {
      if (!known(w[key])) {
        joined = false;
        return;
      }
      d += (joined ? 'L' : 'M') + x(i) + ',' + y(w[key]);
      joined = true;
      svg.append(el('circle', { class: key === 'pain_before' ? 'dot dot-before' : 'dot', cx: x(i), cy: y(w[key]), r: 4 }));
    });
    if (d) svg.append(el('path', { class: cls, d }));
  }
  const legend = document.createElement('p');
  legend.className = 'chart-legend';
  legend.textContent = 'Dashed line: pain before the walk. Solid line: pain two hours after.';
  byId('pain-chart').replaceChildren(svg, legend);
  for (const w of walks) {
    const row = body.insertRow();
    row.insertCell().textContent = S.formatDateTime(w.started_at);
    row.insertCell().textContent = known(w.pain_before) ? w.pain_before + ' / 10' : '–';
    row.insertCell().textContent = known(w.pain_after_2h) ? w.pain_after_2h + ' / 10' : 'not answered';
  }
}

async function start() {
  await S.startPage(
    async () => {
      let history;
      try {
        history = await S.api('GET', '/api/v1/me/history');
      } catch (error) {
        S.fail('Could not load your history: ' + error.message);
        return;
      }
      let today;
      let sessions;
      try {
        today = await S.api('GET', '/api/v1/me/today');
        const from = addDays(today.today, -(PAIN_WEEKS * 7 - 1));
        sessions = await S.api('GET', `/api/v1/me/sessions?from=${from}&to=${today.today}`);
      } catch (error) {
        S.fail('Could not load your walks: ' + error.message);
        return;
      }
      showWeek(
        today,
        sessions.filter((w) => localDay(w.started_at, today.timezone) >= today.week_start)
      );
      drawPain(sessions);
      drawChart(points(history));
      showReviews(history.reviews);
    },
    { patientOnly: true }
  );
}

start();
