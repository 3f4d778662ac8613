// /app/history: the walking interval over the weeks (an SVG chart drawn here, with a table of the
// same numbers) and every weekly review's decision with its reasons in plain words.
(function () {
  'use strict';

  const S = window.Stepwise;
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
    // Drawn at the width it is shown, so its text stays readable on a phone.
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
      const reasons = Array.isArray(out.reasons) ? out.reasons : [];
      if (reasons.length) {
        const why = document.createElement('ul');
        for (const reason of reasons) {
          const li = document.createElement('li');
          li.textContent = reason.message || reason.code;
          why.append(li);
        }
        item.append(why);
      }
      list.append(item);
    }
    byId('reviews-empty').hidden = sorted.length > 0;
    byId('reviews').hidden = false;
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
        drawChart(points(history));
        showReviews(history.reviews);
      },
      { patientOnly: true }
    );
  }

  start();
})();
