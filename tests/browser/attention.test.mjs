// The care team's attention ranking, acknowledgement notes, the rules editor in minutes and
// staff confirmations, in a real browser against the real server:
//
//   (a) A therapist with four patients whose data is made through the API as their phones would:
//       Ella walked with red-flag pain (open escalation), Finn reported a flare, Mia's two-hour
//       check went unanswered for two days, Cal walked calmly and answered. The patient list
//       and the pre-visit list rank them the same, most urgent first — Ella, Finn, Mia, Cal —
//       each item with its reason in words (Mia's row says the check was missed, not "Nothing
//       open").
//   (b) On Ella's page the therapist acknowledges the escalation: without a note the form says
//       what is missing, next to the field; with a note the confirmation lands in the decision
//       history, focused, and the note shows there. Back on the list Ella drops below Finn (her
//       acknowledged escalation is still listed, marked acknowledged).
//   (c) The rules editor works in minutes: labels and allowed ranges in minutes, a value out of
//       range refused in words (not the server's raw text), a saved 45.5 minutes is 2730 s in
//       the API and "45 min 30 s" in the version history; the confirmation is next to the save
//       button and focused. Rae has two reviewed weeks (calm, then pain 4 two hours after):
//       lowering the two-hour limit to 3 changes the later week, which the preview lists first;
//       the unchanged week waits below in a closed <details>.
//   (d) The clinic admin saves the safety contact: the confirmation is in that form, focused.
//   axe (WCAG 2.1 A/AA) finds no serious or critical violation on any of these pages.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { run, step, login, signIn, signUpTherapist, signUpPatient, screenshot, checkAccessibility, waitFor } from './harness.mjs';

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const isoDate = (d) => d.toISOString().slice(0, 10);

/** 00:00 UTC of this week's Monday. */
function thisMonday(now) {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  return new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * DAY);
}

/** Logs walks spread over [from, to), each answered: `after` is the pain two hours after. */
async function weekOfWalks(api, from, to, count, after) {
  const slot = (to - from) / count;
  for (let i = 0; i < count; i++) {
    const start = new Date(from + i * slot + Math.floor(slot * 0.25));
    const end = new Date(start.getTime() + Math.min(20 * MINUTE, Math.floor(slot * 0.5)));
    const session = await api.post('/me/sessions', {
      client_id: randomUUID(),
      started_at: start.toISOString(),
      ended_at: end.toISOString(),
      walked_s: Math.floor((end - start) / 1000),
      pain_before: 3,
      pain_during_max: 3,
      effort: 4,
    });
    await api.post(`/me/sessions/${session.id}/two-hour-check`, { pain_after_2h: after });
  }
}

/** Logs one walk that ended `endedAgo` ms ago; answers its two-hour check when `after` is set. */
async function walk(api, endedAgo, { before = 2, during = 3, after = null } = {}) {
  const end = new Date(Date.now() - endedAgo);
  const start = new Date(end.getTime() - 20 * MINUTE);
  const session = await api.post('/me/sessions', {
    client_id: randomUUID(),
    started_at: start.toISOString(),
    ended_at: end.toISOString(),
    walked_s: 20 * 60,
    pain_before: before,
    pain_during_max: during,
    effort: 4,
  });
  if (after !== null) await api.post(`/me/sessions/${session.id}/two-hour-check`, { pain_after_2h: after });
  return session;
}

/** The patients' names in the order a list shows them, and each row's text. */
async function rowsOf(page, selector) {
  const rows = page.locator(selector);
  await rows.first().waitFor();
  return rows.evaluateAll((trs) => trs.map((tr) => tr.innerText));
}

/** The element that has focus: its id, class and text. */
function focused(page) {
  return page.evaluate(() => {
    const a = document.activeElement;
    return { id: a.id, className: a.className, text: a.textContent, inside: a.parentElement && a.parentElement.id };
  });
}

await run('attention', async ({ base, admin, newPage }) => {
  // Walks may be logged up to 14 days late: past the last minutes of a Sunday (UTC) the week
  // before last is out of reach; then wait for Monday, which also keeps the run in one week.
  const untilMonday = thisMonday(new Date()).getTime() + 7 * DAY - Date.now();
  if (untilMonday < 6 * MINUTE) {
    step(`waiting ${Math.ceil(untilMonday / 1000) + 5} s for the week to turn`);
    await new Promise((resolve) => setTimeout(resolve, untilMonday + 5_000));
  }
  const adminApi = await login(base, admin.email, admin.password);
  const tess = await signUpTherapist(adminApi, 'tess@riverside.example', 'Tess Therapist');
  const tessApi = await login(base, tess.email, tess.password);
  const people = {};
  for (const [key, name] of [
    ['cal', 'Cal Calm'],
    ['ella', 'Ella Escalated'],
    ['finn', 'Finn Flare'],
    ['mia', 'Mia Missed'],
    ['rae', 'Rae Review'],
  ]) {
    const p = await signUpPatient(tessApi, tess.id, 'UTC', `${key}@example.org`, name);
    people[key] = { ...p, api: await login(base, p.email, p.password) };
  }
  // Cal: a calm walk three hours ago, its check answered.
  await walk(people.cal.api, 3 * HOUR, { after: 2 });
  // Ella: red-flag pain during a walk three hours ago: the week escalates at once.
  await walk(people.ella.api, 3 * HOUR, { during: 9, after: 4 });
  // Finn: a flare this morning.
  await people.finn.api.post('/me/flares', { client_id: randomUUID(), started_at: new Date(Date.now() - 2 * HOUR).toISOString(), pain: 6 });
  // Mia: a walk two days ago whose check was never answered.
  await walk(people.mia.api, 2 * DAY);
  const soon = (days) => isoDate(new Date(Date.now() + days * DAY));
  for (const [key, days] of [['cal', 2], ['ella', 9], ['finn', 5], ['mia', 3]]) {
    await tessApi.put(`/patients/${people[key].id}/next-visit`, { next_visit: soon(days) });
  }
  // Rae: two reviewed weeks, the week before last calm, last week pain 4 two hours after
  // (within the default limit of 5); five walks each: only a note, pain rising.
  const monday = thisMonday(new Date()).getTime();
  const [lastWeek, weekBefore] = [monday - 7 * DAY, monday - 14 * DAY];
  await weekOfWalks(people.rae.api, Math.max(weekBefore, Date.now() - 14 * DAY + 2 * MINUTE), lastWeek, 5, 2);
  await weekOfWalks(people.rae.api, lastWeek, monday, 5, 4);
  for (const week of [weekBefore, lastWeek]) {
    await tessApi.post(`/patients/${people.rae.id}/reviews`, { week_start: isoDate(new Date(week)) });
  }
  const expected = ['Ella Escalated', 'Finn Flare', 'Mia Missed', 'Rae Review', 'Cal Calm'];

  // --- (a) one ranking, in words, on both lists ----------------------------------------------
  const desk = await newPage({ viewport: 'desktop' });
  await signIn(desk, `${base}/app/patients`, tess);
  const listRows = await rowsOf(desk, '#patient-rows tr');
  const order = (rows) => rows.map((r) => expected.find((name) => r.includes(name)));
  assert.deepEqual(order(listRows), expected, `the patient list ranks the most urgent first:\n${listRows.join('\n---\n')}`);
  assert.match(listRows[0], /Escalation open[\s\S]*Escalation waiting for acknowledgement/);
  assert.match(listRows[1], /Flare[\s\S]*1 flare reported, the latest/);
  assert.match(listRows[2], /Missed checks[\s\S]*1 of 1 two-hour pain checks was not answered/);
  assert.doesNotMatch(listRows[2], /Nothing/, 'a missed check is not "nothing"');
  assert.match(listRows[3], /Pain rising[\s\S]*Pain two hours after walks rose from 2\.0 to 4\.0/);
  assert.doesNotMatch(listRows[3], /Adherence fell/, 'more walks than prescribed, then enough, is no fall');
  assert.match(listRows[4], /Nothing needs attention/);
  step(`patient list: ${order(listRows).join(' > ')}`);
  await checkAccessibility(desk, 'patients (ranked)');
  await screenshot(desk, 'patients-ranked-desktop');

  await desk.goto(`${base}/app/visits`);
  const visitRows = await rowsOf(desk, '#visit-rows tr');
  // Rae has no visit set: not on the pre-visit list.
  assert.deepEqual(order(visitRows), ['Ella Escalated', 'Finn Flare', 'Mia Missed', 'Cal Calm'], `the pre-visit list ranks as the patient list does:\n${visitRows.join('\n---\n')}`);
  assert.match(visitRows[2], /1 of 1 two-hour pain checks was not answered/);
  // Cal's check was answered: nothing is counted missed that was not.
  assert.doesNotMatch(visitRows[3], /not answered/);
  step(`pre-visit list: ${order(visitRows).join(' > ')}`);
  await checkAccessibility(desk, 'visits (ranked)');

  // --- (b) acknowledging with a note ----------------------------------------------------------
  await desk.goto(`${base}/app/patient/${people.ella.id}`);
  await desk.locator('#escalation').waitFor({ state: 'visible' });
  await checkAccessibility(desk, 'patient with an open escalation');
  await desk.getByRole('button', { name: 'Acknowledge escalation' }).click();
  await waitFor('the missing note said next to the field', async () =>
    /Write what you did or decided/.test(await desk.locator('#acknowledge-note-error').innerText())
  );
  assert.equal((await focused(desk)).id, 'acknowledge-note', 'the note field takes focus');
  const note = 'Phoned Ella: a stumble on the stairs, settled with rest. Keep the walk as it is.';
  await desk.getByLabel('What did you do or decide?').fill(note);
  await desk.getByRole('button', { name: 'Acknowledge escalation' }).click();
  const confirmation = desk.locator('#decisions-card > .confirmation');
  await confirmation.waitFor();
  assert.match(await confirmation.innerText(), /Escalation acknowledged/);
  const now = await focused(desk);
  assert.equal(now.inside, 'decisions-card', 'the confirmation next to the history takes focus');
  assert.match(now.className, /confirmation/);
  assert.equal(await confirmation.getAttribute('role'), 'status', 'and is announced');
  const inView = await confirmation.evaluate((n) => {
    const r = n.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight;
  });
  assert.ok(inView, 'the confirmation is in view');
  await desk.locator('#escalation').waitFor({ state: 'hidden' });
  const history = await desk.locator('#decision-list').innerText();
  assert.ok(history.includes(`Acknowledgement note: ${note}`), `the note is in the decision history:\n${history}`);
  const reviews = await tessApi.get(`/patients/${people.ella.id}/reviews`);
  assert.equal(reviews[reviews.length - 1].acknowledgement_note, note);
  step('acknowledged with a note: in the history, confirmation focused and in view');
  await checkAccessibility(desk, 'patient after acknowledging');
  await screenshot(desk, 'patient-acknowledged-desktop');

  await desk.goto(`${base}/app/patients`);
  const after = await rowsOf(desk, '#patient-rows tr');
  assert.deepEqual(order(after), ['Finn Flare', 'Ella Escalated', 'Mia Missed', 'Rae Review', 'Cal Calm'], after.join('\n---\n'));
  assert.match(after[1], /Over the pain limits[\s\S]*Escalation acknowledged[\s\S]*acknowledged/);
  assert.ok(after[1].includes(note), 'the acknowledged escalation stays listed with its note');
  step(`after the acknowledgement: ${order(after).join(' > ')}`);

  // --- (c) the rules editor in minutes --------------------------------------------------------
  await desk.goto(`${base}/app/rules/${people.rae.id}`);
  const longest = desk.getByLabel('Longest walk (minutes)');
  await waitFor('the rules filled in', async () => (await longest.inputValue()) !== '');
  assert.equal(await longest.inputValue(), '60', '3600 s shows as 60 minutes');
  assert.equal(await desk.getByLabel('Shortest walk (minutes)').inputValue(), '1');
  assert.match(await desk.locator('#rule-max_interval_s-range').innerText(), /^Allowed: 1 minute to 240 minutes\./);

  // The preview: with no edits both weeks are as they were, listed in the table.
  const [before, last] = [isoDate(new Date(weekBefore)), isoDate(new Date(lastWeek))];
  await desk.locator(`#preview-rows tr[data-week-start="${last}"]`).waitFor();
  assert.equal(await desk.locator('#preview-rows tr').count(), 2);
  assert.ok(await desk.locator('#preview-same').isHidden(), 'nothing folded while nothing changed');
  // A stricter two-hour limit changes last week only: it comes first, the calm week is folded.
  const twoHours = desk.getByLabel('Highest pain two hours after (/10)');
  await twoHours.fill('3');
  await waitFor('the changed week first, the unchanged one folded', async () =>
    (await desk.locator('#preview-rows tr').count()) === 1 &&
    (await desk.locator('#preview-rows tr').getAttribute('data-changed')) === 'yes' &&
    (await desk.locator(`#preview-same-rows tr[data-week-start="${before}"]`).count()) === 1
  );
  assert.equal(await desk.locator('#preview-rows tr').getAttribute('data-week-start'), last);
  assert.equal(await desk.locator('#preview-same').getAttribute('open'), null, 'the unchanged weeks are folded');
  assert.equal(await desk.locator('#preview-same-summary').innerText(), '1 week decided the same (show)');
  await screenshot(desk, 'rules-changed-first-desktop');
  await desk.locator('#preview-same-summary').click();
  await desk.locator(`#preview-same-rows tr[data-week-start="${before}"]`).waitFor();
  assert.match(await desk.locator(`#preview-same-rows tr[data-week-start="${before}"]`).innerText(), /Same/);
  step('rules preview: the changed week first, the unchanged one folded below');
  await twoHours.fill('5');
  await longest.fill('300');
  await waitFor('the out-of-range value refused in words', async () =>
    (await desk.locator('#rule-max_interval_s-error').innerText()) === 'Enter a number of minutes from 1 minute to 240 minutes.'
  );
  await desk.getByLabel('Weekly increase (%)').fill('25');
  await waitFor('a whole-number rule refused in words', async () =>
    (await desk.locator('#rule-increase_pct-error').innerText()) === 'Enter a whole number from 10 to 20 %.'
  );
  await desk.getByLabel('Weekly increase (%)').fill('10');
  await longest.fill('45.5');
  await desk.getByRole('button', { name: 'Save as a new version' }).click();
  const saved = desk.locator('#rules-form > .confirmation');
  await saved.waitFor();
  assert.match(await saved.innerText(), /Saved as version 2\./);
  assert.match((await focused(desk)).className, /confirmation/, 'the save confirmation takes focus');
  const rules = await tessApi.get(`/patients/${people.rae.id}/rules`);
  assert.equal(rules.current.rules.max_interval_s, 2730, '45.5 minutes is 2730 s in the API');
  assert.match(await desk.locator('#history-list li[data-version="2"]').innerText(), /Longest walk: 1 h → 45 min 30 s/);
  assert.equal(await longest.inputValue(), '45.5');
  step('rules editor: minutes in, seconds in the API, refusals in words, confirmation focused');
  await checkAccessibility(desk, 'rules editor in minutes');
  await screenshot(desk, 'rules-minutes-desktop');
  desk.assertClean(['401 GET /api/v1/me', `422 POST /api/v1/patients/${people.rae.id}/rules/preview`]);

  // --- (d) a clinic page write, confirmed where it was made ---------------------------------
  const adminPage = await newPage({ viewport: 'phone' });
  await signIn(adminPage, `${base}/app/clinic`, admin);
  await adminPage.locator('#therapist-list li').first().waitFor();
  await adminPage.locator('#safety-contact-phone').fill('+44 20 7946 0000');
  await adminPage.locator('#safety-contact-submit').click();
  const contactSaved = adminPage.locator('#safety-contact-form > .confirmation');
  await contactSaved.waitFor();
  assert.match(await contactSaved.innerText(), /Safety contact saved/);
  assert.match((await focused(adminPage)).className, /confirmation/, 'the clinic confirmation takes focus');
  await checkAccessibility(adminPage, 'clinic after saving (phone)');
  await screenshot(adminPage, 'clinic-saved-phone');
  adminPage.assertClean(['401 GET /api/v1/me']);
  step('clinic: safety contact saved, confirmation in the form, focused');
}, { timeoutMs: 300_000 });
