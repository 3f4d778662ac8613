// The therapist's home (/app/patients): the patient list (ranked by the server: the most urgent
// attention first, each item with its reason in words; then the current walk, last weekly
// decision and next visit) and the patient
// invite form that shows the one-time code. Clinic admins see every patient of the clinic and
// choose the therapist. Imports common.js and staff.js.
import * as S from '/common.js';
import * as T from '/staff.js';
import { setUpStaffPush } from '/staff-push.js';

const { el, byId } = T;

let me = null;

function renderList(rows, therapists) {
  // The server ranks the rows: the most urgent attention first (see docs/web.md).
  const body = byId('patient-rows');
  body.replaceChildren();
  byId('list-empty').hidden = rows.length > 0;
  byId('patient-table').hidden = rows.length === 0;
  for (const row of rows) {
    const p = row.patient;
    const { tr, name } = T.patientRow(p.id, p.display_name, row.attention);
    if (row.unread_messages > 0) {
      const unread = el('a', row.unread_messages === 1 ? '1 unread message' : row.unread_messages + ' unread messages', 'block unread');
      unread.href = '/app/patient/' + p.id + '#messages';
      name.append(unread);
    }
    if (me.user.role === 'clinic_admin' && therapists[p.therapist_id]) {
      name.append(el('span', 'Therapist: ' + therapists[p.therapist_id], 'hint block'));
    }

    const att = el('td');
    att.dataset.label = 'Attention';
    att.append(T.attentionList(row.attention, 'Nothing needs attention'));

    const walk = el('td', T.formatInterval(p.plan.interval_s) + ' × ' + p.plan.bouts + ', ' + p.plan.sessions_per_week + ' sessions a week');
    walk.dataset.label = 'Current walk';

    const decision = el('td');
    decision.dataset.label = 'Last weekly decision';
    if (row.last_review) {
      decision.append(el('span', T.decisionText(row.last_review.output.decision)));
      decision.append(el('span', 'Week of ' + T.formatDate(row.last_review.week_start), 'hint block'));
    } else {
      decision.textContent = 'No review yet';
    }

    const visit = el('td', p.next_visit ? T.formatDate(p.next_visit) : 'Not set');
    visit.dataset.label = 'Next visit';

    tr.append(name, att, walk, decision, visit);
    body.append(tr);
  }
}

async function invite(event) {
  event.preventDefault();
  const form = byId('invite-form');
  const zoneError = byId('invite-timezone-error');
  zoneError.textContent = '';
  if (!form.reportValidity()) return;
  const body = { role: 'patient', timezone: byId('invite-timezone').value.trim() };
  const email = byId('invite-email').value.trim();
  byId('invite-email-error').textContent = '';
  if (email) body.email = email;
  if (me.user.role === 'clinic_admin') {
    body.therapist_id = Number(byId('invite-therapist').value);
  }
  const button = byId('invite-submit');
  button.disabled = true;
  try {
    const answer = await S.api('POST', '/api/v1/invites', body);
    S.showHandover(byId('invite-result'), answer, 'Give this to the patient: they join with the link, the QR code or the code');
    S.sayInvited(answer, byId('invite-email'));
  } catch (error) {
    const field = error.body && error.body.field;
    if (field === 'email') {
      S.fieldError(error, 'invite-');
      byId('invite-email').focus();
    } else if (field === 'timezone') {
      zoneError.textContent = S.refusalText(error);
      byId('invite-timezone').focus();
    } else {
      T.handle(error, start);
    }
  } finally {
    button.disabled = false;
  }
}

let wired = false;

async function start(who) {
  me = who;
  if (!wired) {
    wired = true;
    T.fillZones(byId('timezones'), byId('invite-timezone'));
    byId('invite-form').addEventListener('submit', invite);
  }
  const [rows, therapistList, recovery] = await Promise.all([
    S.api('GET', '/api/v1/patients'),
    me.user.role === 'clinic_admin' ? S.api('GET', '/api/v1/clinic/therapists') : Promise.resolve([]),
    S.api('GET', '/api/v1/auth/recovery'),
  ]);
  // Invites can be e-mailed when this server sends e-mail.
  byId('invite-email-field').hidden = !recovery.by_email;
  const therapists = {};
  for (const t of therapistList) therapists[t.id] = t.display_name;
  if (me.user.role === 'clinic_admin') {
    byId('list-title').textContent = 'Patients of the clinic';
    byId('therapist-field').hidden = false;
    const select = byId('invite-therapist');
    select.replaceChildren(...therapistList.map((t) => new Option(t.display_name, String(t.id))));
    select.required = true;
  }
  renderList(rows, therapists);
  await setUpStaffPush();
}

T.boot(start);
