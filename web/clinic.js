// The clinic admin's home (/app/clinic): the clinic's therapists and patients, invites for a
// therapist or a patient (the link, QR code and code shown once; e-mailed when asked and the
// server sends e-mail), and the clinic defaults editor —
// the rules and starting plan new patients get (PUT /api/v1/clinic/defaults), each field with
// its allowed range and the server's refusal shown next to it.
import * as S from '/common.js';
import * as T from '/staff.js';

const { el, byId } = T;

let rulesEditor = null;
let planEditor = null;
let clinic = null;
let wired = false;

function role() {
  return byId('invite-role-patient').checked ? 'patient' : 'therapist';
}

function showRoleFields() {
  const patient = role() === 'patient';
  byId('patient-fields').hidden = !patient;
  byId('invite-timezone').required = patient;
  byId('invite-therapist').required = patient;
}

async function invite(event) {
  event.preventDefault();
  byId('invite-timezone-error').textContent = '';
  byId('invite-therapist-error').textContent = '';
  byId('invite-email-error').textContent = '';
  if (!byId('invite-form').reportValidity()) return;
  const body = { role: role() };
  const email = byId('invite-email').value.trim();
  if (email) body.email = email;
  if (body.role === 'patient') {
    body.therapist_id = Number(byId('invite-therapist').value);
    body.timezone = byId('invite-timezone').value.trim();
  }
  const button = byId('invite-submit');
  button.disabled = true;
  try {
    const answer = await S.api('POST', '/api/v1/invites', body);
    const who = body.role === 'patient' ? 'patient' : 'therapist';
    S.showHandover(byId('invite-result'), answer, 'Give this to the new ' + who + ': they join with the link, the QR code or the code');
    S.sayInvited(answer, byId('invite-email'));
  } catch (error) {
    const field = error.body && error.body.field;
    if (field === 'email') {
      S.fieldError(error, 'invite-');
      byId('invite-email').focus();
    } else if (field === 'timezone' || field === 'therapist_id') {
      const id = field === 'timezone' ? 'invite-timezone-error' : 'invite-therapist-error';
      byId(id).textContent = S.refusalText(error);
    } else {
      T.handle(error, start);
    }
  } finally {
    button.disabled = false;
  }
}

/** Makes a one-time reset code for therapist `t` and shows it to hand over. */
async function resetCode(t, button) {
  button.disabled = true;
  try {
    const answer = await S.api('POST', '/api/v1/clinic/therapists/' + t.id + '/password-reset');
    S.showHandover(byId('therapist-reset-result'), answer, 'Give this to ' + t.display_name + ': they choose a new password with the link, the QR code or the code');
    S.say('Reset code created for ' + t.display_name + '. Earlier reset codes of theirs no longer work.');
  } catch (error) {
    T.handle(error, start);
  } finally {
    button.disabled = false;
  }
}

function renderTherapists(therapists) {
  const list = byId('therapist-list');
  list.replaceChildren();
  for (const t of therapists) {
    const item = el('li', t.display_name + ' — ' + t.email + ' ');
    const reset = el('button', 'Password reset code', 'secondary');
    reset.type = 'button';
    reset.setAttribute('aria-label', 'Password reset code for ' + t.display_name);
    reset.addEventListener('click', () => resetCode(t, reset));
    item.append(reset);
    list.append(item);
  }
  if (!list.children.length) list.append(el('li', 'No therapists yet: invite one.'));
  const select = byId('invite-therapist');
  const chosen = select.value;
  select.replaceChildren(...therapists.map((t) => new Option(t.display_name, String(t.id))));
  if (chosen) select.value = chosen;
}

function renderPatients(rows, names) {
  const body = byId('patient-rows');
  body.replaceChildren();
  byId('patients-empty').hidden = rows.length > 0;
  byId('patient-table').hidden = rows.length === 0;
  for (const row of rows) {
    const p = row.patient;
    const { tr, name } = T.patientRow(p.id, p.display_name, row.attention);
    const cells = [
      ['Therapist', names[p.therapist_id] || 'Therapist ' + p.therapist_id],
      ['Attention', null],
      ['Current walk', T.formatInterval(p.plan.interval_s) + ', ' + p.plan.sessions_per_week + ' sessions a week'],
      ['Next visit', p.next_visit ? T.formatDate(p.next_visit) : 'Not set'],
    ];
    tr.append(name);
    for (const [label, text] of cells) {
      const td = el('td', text);
      td.dataset.label = label;
      if (label === 'Attention') td.append(T.attentionList(row.attention, 'Nothing needs attention'));
      tr.append(td);
    }
    const report = el('td');
    report.dataset.label = 'Report';
    const a = el('a', 'Printable report');
    a.href = '/clinic/patients/' + p.id + '/report';
    report.append(a);
    tr.append(report);
    body.append(tr);
  }
}

function fillDefaults(c) {
  rulesEditor.set(c.default_rules);
  byId('default-require_verified').checked = Boolean(c.default_rules.require_verified);
  planEditor.set(c.default_plan);
  planEditor.refreshRanges(rulesEditor.values());
}

async function saveDefaults(event) {
  event.preventDefault();
  rulesEditor.clearErrors();
  planEditor.clearErrors();
  const rules = rulesEditor.values();
  let bad = rulesEditor.firstInvalid();
  let editor = rulesEditor;
  if (!bad) {
    bad = planEditor.firstInvalid(rules);
    editor = planEditor;
  }
  if (bad) {
    editor.setError(bad[0], bad[1]);
    editor.focus(bad[0]);
    S.fail('Not saved: a field needs a value within its allowed range; see the message next to the field.');
    return;
  }
  rules.require_verified = byId('default-require_verified').checked;
  const button = byId('defaults-submit');
  button.disabled = true;
  try {
    clinic = await S.api('PUT', '/api/v1/clinic/defaults', { rules, plan: planEditor.values() });
    fillDefaults(clinic);
    S.confirm(byId('defaults-form'), 'Clinic defaults saved. New patients start with them.');
  } catch (error) {
    if (T.showFieldError(error, { rules: rulesEditor, plan: planEditor })) {
      S.fail('Not saved: see the message next to the field.');
    } else {
      T.handle(error, start);
    }
  } finally {
    button.disabled = false;
  }
}

function fillSafetyContact(c) {
  byId('safety-contact-phone').value = c.safety_contact.phone || '';
  byId('safety-contact-text').value = c.safety_contact.text || '';
}

async function saveSafetyContact(event) {
  event.preventDefault();
  for (const name of ['phone', 'text']) byId('safety-contact-' + name + '-error').textContent = '';
  const button = byId('safety-contact-submit');
  button.disabled = true;
  try {
    clinic = await S.api('PUT', '/api/v1/clinic/safety-contact', {
      phone: byId('safety-contact-phone').value,
      text: byId('safety-contact-text').value,
    });
    fillSafetyContact(clinic);
    S.confirm(byId('safety-contact-form'), 'Safety contact saved. Patients see it at once when they report red-flag pain.');
  } catch (error) {
    const field = error.body && error.body.field;
    if (error.status === 422 && (field === 'phone' || field === 'text')) {
      byId('safety-contact-' + field + '-error').textContent = error.message;
      byId('safety-contact-' + field).focus();
      S.fail('Not saved: ' + error.message);
    } else {
      T.handle(error, start);
    }
  } finally {
    button.disabled = false;
  }
}

async function start() {
  if (!wired) {
    wired = true;
    T.fillZones(byId('timezones'), byId('invite-timezone'));
    for (const radio of document.querySelectorAll('input[name="role"]')) radio.addEventListener('change', showRoleFields);
    showRoleFields();
    byId('invite-form').addEventListener('submit', invite);
    byId('defaults-form').addEventListener('submit', saveDefaults);
    byId('safety-contact-form').addEventListener('submit', saveSafetyContact);
  }
  // The field table arrives with the clinic's data, not before it: the forms above work at once.
  const [c, therapists, rows, recovery] = await Promise.all([
    S.api('GET', '/api/v1/clinic'),
    S.api('GET', '/api/v1/clinic/therapists'),
    S.api('GET', '/api/v1/patients'),
    S.api('GET', '/api/v1/auth/recovery'),
    T.loadFields(),
  ]);
  if (!rulesEditor) {
    T.labelSwitches('default');
    rulesEditor = T.numberEditor(byId('default-rule-fields'), T.RULE_FIELDS, 'default-rule', () =>
      planEditor.refreshRanges(rulesEditor.values())
    );
    planEditor = T.numberEditor(byId('default-plan-fields'), T.PLAN_FIELDS, 'default-plan');
  }
  // Invites can be e-mailed when this server sends e-mail.
  byId('invite-email-field').hidden = !recovery.by_email;
  clinic = c;
  byId('page-title').textContent = c.name;
  document.title = c.name + ' · Stepwise';
  byId('clinic-name').textContent = 'Clinic administration';
  const names = {};
  for (const t of therapists) names[t.id] = t.display_name;
  renderTherapists(therapists);
  renderPatients(rows, names);
  fillDefaults(c);
  fillSafetyContact(c);
  byId('safety-contact-fields').disabled = false;
}

T.boot(start, ['clinic_admin']);
