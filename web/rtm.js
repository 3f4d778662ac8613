// Remote therapeutic monitoring evidence (/app/rtm): for a calendar month, every patient the
// caller may see (GET /api/v1/clinic/rtm), with the thresholds met and why, the device periods
// and the time log; the same as CSV. Evidence, not billing advice (docs/rtm.md).
import * as S from '/common.js';
import * as T from '/staff.js';

const { el, byId, LIVE_WORDS } = T;

function thisMonth() {
  const now = new Date();
  return now.getFullYear() + '-' + String(now.getMonth() + 1).padStart(2, '0');
}

function cell(label) {
  const td = el('td');
  td.dataset.label = label;
  return td;
}

function render(month) {
  byId('rtm-notice').textContent = month.notice;
  byId('rtm-caption').textContent = 'Evidence per patient, ' + month.month;
  const body = byId('rtm-rows');
  body.replaceChildren();
  byId('rtm-empty').hidden = month.patients.length > 0;
  byId('rtm-table').hidden = month.patients.length === 0;
  for (const p of month.patients) {
    const { tr, name } = T.patientRow(p.patient_id, p.display_name, []);
    const met = cell('Thresholds met');
    met.append(el('p', p.codes_met.length ? p.codes_met.join(', ') : 'None'));
    const periods = cell('Device periods');
    const minutes = cell('Minutes and conversations');
    const e = p.evidence;
    if (!e) {
      periods.append(el('p', p.not_started));
    } else {
      periods.append(el('p', 'Monitoring since ' + T.formatDate(e.monitoring_start), 'hint'));
      const list = el('ul', null, 'reasons');
      for (const period of e.periods) {
        const li = el('li', T.formatDate(period.first_day) + ' to ' + T.formatDate(period.last_day) + ': ' + period.why);
        if (period.data_days.length) {
          const days = el('details');
          days.append(el('summary', 'The ' + period.data_days.length + ' days with data'));
          days.append(el('p', period.data_days.map((d) => T.formatDate(d)).join('; ')));
          li.append(days);
        }
        list.append(li);
      }
      periods.append(list);
      const m = e.management;
      minutes.append(el('p', m.total_minutes + ' minutes this month'));
      const codes = el('ul', null, 'reasons');
      for (const code of m.codes) codes.append(el('li', code.code + ': ' + code.why));
      minutes.append(codes);
      const entries = el('ul', null, 'reasons');
      for (const c of m.clinicians) {
        for (const entry of c.entries) {
          const live = entry.live ? ' (' + LIVE_WORDS[entry.live] + ')' : '';
          entries.append(el('li', T.formatDate(entry.date) + ': ' + entry.minutes + ' min, ' + entry.clinician_name + live + ' — ' + entry.activity));
        }
      }
      if (entries.childElementCount) {
        minutes.append(el('p', 'Time log', 'hint'));
        minutes.append(entries);
      }
    }
    tr.append(name, met, periods, minutes);
    body.append(tr);
  }
  const rules = byId('rtm-rules');
  rules.replaceChildren(
    ...month.rules.map((rule) => {
      const li = el('li', rule.code + ': ' + rule.label + (rule.needs_live_conversation ? ' (needs a live conversation in the month)' : '') + '. Sources: ');
      rule.sources.forEach((source, i) => {
        const a = el('a', source.title);
        a.href = source.url;
        a.rel = 'noopener';
        if (i > 0) li.append('; ');
        li.append(a);
      });
      return li;
    })
  );
}

async function load() {
  const month = byId('rtm-month').value || thisMonth();
  byId('rtm-csv').href = '/api/v1/clinic/rtm.csv?month=' + encodeURIComponent(month);
  render(await S.api('GET', '/api/v1/clinic/rtm?month=' + encodeURIComponent(month)));
}

let wired = false;
async function start() {
  if (!wired) {
    wired = true;
    if (!byId('rtm-month').value) byId('rtm-month').value = thisMonth();
    byId('month-form').addEventListener('submit', (event) => {
      event.preventDefault();
      load().catch((error) => T.handle(error, start));
    });
  }
  await load();
}

T.boot(start);
