// The pre-visit clinic view (/app/visits): patients with a visit coming up
// (GET /api/v1/clinic/visits), ranked by the server as the patient list is (the most urgent
// attention first, each item with its reason in words), with the report's headline figures and
// links to each printable report and patient page.
import * as S from '/common.js';
import * as T from '/staff.js';

const { el, byId } = T;

function percent(share) {
  return typeof share === 'number' ? Math.round(share * 100) + ' %' : 'no data';
}

function render(rows, therapists) {
  const body = byId('visit-rows');
  body.replaceChildren();
  byId('visits-empty').hidden = rows.length > 0;
  byId('visit-table').hidden = rows.length === 0;
  for (const v of rows) {
    const { tr, name } = T.patientRow(v.patient_id, v.display_name, v.attention);
    if (therapists[v.therapist_id]) name.append(el('span', 'Therapist: ' + therapists[v.therapist_id], 'hint block'));

    const visit = el('td', T.formatDate(v.next_visit));
    visit.dataset.label = 'Visit';

    const att = el('td');
    att.dataset.label = 'Needs attention';
    att.append(T.attentionList(v.attention, 'Nothing flagged'));

    const figures = el('td');
    figures.dataset.label = 'In the report period';
    const facts = el('ul', null, 'reasons');
    facts.append(el('li', 'Report period ' + T.formatDate(v.from) + ' to ' + T.formatDate(v.to)));
    facts.append(el('li', 'Sessions: ' + v.sessions_done + ' of ' + v.sessions_prescribed + ' (' + percent(v.adherence_share) + ')'));
    facts.append(el('li', 'Two-hour checks answered: ' + percent(v.checks_answered_share)));
    facts.append(el('li', 'Walk: ' + T.formatInterval(v.interval_start_s) + ' → ' + T.formatInterval(v.interval_end_s)));
    facts.append(el('li', 'Days with band data: ' + v.band_data_days));
    figures.append(facts);
    if (v.summary) figures.append(el('p', v.summary, 'hint'));

    const links = el('td');
    links.dataset.label = 'Links';
    const report = el('a', 'Printable report');
    report.href = '/clinic/patients/' + v.patient_id + '/report';
    report.className = 'block report-link';
    const page = el('a', 'Patient page');
    page.href = '/app/patient/' + v.patient_id;
    page.className = 'block';
    links.append(report, page);

    tr.append(name, visit, att, figures, links);
    body.append(tr);
  }
}

async function load() {
  const days = Number(byId('within-days').value) || 14;
  byId('visits-title').textContent = 'Visits in the next ' + days + ' days';
  const [rows, therapistList] = await Promise.all([
    S.api('GET', '/api/v1/clinic/visits?within_days=' + encodeURIComponent(days)),
    S.api('GET', '/api/v1/clinic/therapists').catch(() => []),
  ]);
  const therapists = {};
  for (const t of therapistList) therapists[t.id] = t.display_name;
  render(rows, therapists);
}

let wired = false;
async function start() {
  if (!wired) {
    wired = true;
    byId('within-form').addEventListener('submit', (event) => {
      event.preventDefault();
      load().catch((error) => T.handle(error, start));
    });
  }
  await load();
}

T.boot(start);
