// The care team's pages in a real browser, against the real server:
//
//   (a) A therapist with two patients. Pat walks in the week before last (three walks, pain two
//       hours after 4) and that week is reviewed (advance). The therapist opens /app/rules/{id}:
//       the preview shows the reviewed week as it was; a rule typed out of range gets the
//       server's refusal next to the field; lowering "Highest pain two hours after" to 3 changes
//       the week's replayed decision (marked "Changed", not by colour alone); saving makes
//       version 2 and the history shows the change. Pat then walks last week and its review is
//       stored with rules version 2. Sam's week has red-flag pain: the patient list shows Sam
//       first with "Escalation open", and the therapist acknowledges it on Sam's page, with a
//       note.
//   (b) The clinic admin opens the pre-visit list (/app/visits), follows a patient's printable
//       report (/clinic/patients/{id}/report: four inline SVG charts), and on the patient page
//       the four chart images load (naturalWidth > 0). The clinic page's defaults editor shows
//       the server's refusal of an out-of-range value and saves a valid one.
//   (c) Screenshots of every staff page at phone (390×844) and desktop (1280×800) widths:
//       staff-<page>-phone.png / staff-<page>-desktop.png.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { run, step, sleep, login, signIn, signUpTherapist, signUpPatient, screenshot, waitFor } from './harness.mjs';

const DAY = 24 * 3600 * 1000;
const MINUTE = 60 * 1000;

/** 00:00 UTC of this week's Monday. */
function thisMonday(now) {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const weekday = (d.getUTCDay() + 6) % 7;
  return new Date(d.getTime() - weekday * DAY);
}

const isoDate = (d) => d.toISOString().slice(0, 10);

/**
 * Logs `pains.length` walks spread over [from, to) as the patient, each answered two hours
 * later: pains = [{before, during, after}].
 */
async function logWalks(patApi, from, to, pains) {
  const slot = (to - from) / pains.length;
  const length = Math.min(20 * MINUTE, Math.floor(slot * 0.5));
  for (let i = 0; i < pains.length; i++) {
    const start = new Date(from + i * slot + Math.floor(slot * 0.25));
    const end = new Date(start.getTime() + length);
    const walk = await patApi.post('/me/sessions', {
      client_id: randomUUID(),
      started_at: start.toISOString(),
      ended_at: end.toISOString(),
      walked_s: Math.floor(length / 1000),
      pain_before: pains[i].before,
      pain_during_max: pains[i].during,
      effort: 4,
    });
    await patApi.post(`/me/sessions/${walk.id}/two-hour-check`, { pain_after_2h: pains[i].after });
  }
}

/** Screenshots of `url` at desktop width on `desk` and phone width on `phone`. */
async function shoot(desk, phone, url, name, ready) {
  for (const [page, size] of [
    [desk, 'desktop'],
    [phone, 'phone'],
  ]) {
    await page.goto(url);
    await page.locator('#content').waitFor({ state: 'visible' });
    if (ready) await ready(page);
    await screenshot(page, `${name}-${size}`);
  }
}

await run('staff', async ({ base, admin, newPage }) => {
  // Walks may be logged up to 14 days late, so the week before last is reachable except in the
  // last minutes of a Sunday (UTC); then wait for Monday, which also keeps the run in one week.
  const untilMonday = thisMonday(new Date()).getTime() + 7 * DAY - Date.now();
  if (untilMonday < 6 * MINUTE) {
    step(`waiting ${Math.ceil(untilMonday / 1000) + 5} s for the week to turn`);
    await sleep(untilMonday + 5_000);
  }
  const now = new Date();
  const monday = thisMonday(now).getTime();
  const lastWeek = monday - 7 * DAY; // the last complete week
  const weekBefore = monday - 14 * DAY; // partly within the 14 days a walk may be logged late
  step(`weeks: ${isoDate(new Date(weekBefore))} and ${isoDate(new Date(lastWeek))}`);

  // --- people and history through the API ----------------------------------------------------
  const adminApi = await login(base, admin.email, admin.password);
  const tess = await signUpTherapist(adminApi, 'tess@riverside.example', 'Tess Therapist');
  const tessApi = await login(base, tess.email, tess.password);
  const pat = await signUpPatient(tessApi, tess.id, 'UTC', 'pat@example.org', 'Pat Patient');
  const sam = await signUpPatient(tessApi, tess.id, 'UTC', 'sam@example.org', 'Sam Sample');
  const patApi = await login(base, pat.email, pat.password);
  const samApi = await login(base, sam.email, sam.password);

  const from = Math.max(weekBefore, now.getTime() - 14 * DAY + 2 * MINUTE);
  const calm = { before: 3, during: 3, after: 4 };
  await logWalks(patApi, from, lastWeek, [calm, calm, calm]);
  const first = await tessApi.post(`/patients/${pat.id}/reviews`, { week_start: isoDate(new Date(weekBefore)) });
  assert.equal(first.rules_version, 1);
  step(`Pat's week of ${first.week_start}: ${first.output.decision} (${first.output.interval_s} s)`);
  assert.equal(first.output.decision, 'advance', 'three calm walks advance under the default rules');

  await logWalks(samApi, lastWeek, monday, [
    { before: 4, during: 9, after: 7 },
    { before: 4, during: 5, after: 5 },
  ]);
  const samReview = await tessApi.post(`/patients/${sam.id}/reviews`, { week_start: isoDate(new Date(lastWeek)) });
  assert.equal(samReview.output.decision, 'escalate', "Sam's red-flag pain escalates");
  const soon = isoDate(new Date(now.getTime() + 3 * DAY));
  await tessApi.put(`/patients/${pat.id}/next-visit`, { next_visit: soon });
  await tessApi.put(`/patients/${sam.id}/next-visit`, { next_visit: isoDate(new Date(now.getTime() + 5 * DAY)) });
  await tessApi.post(`/patients/${pat.id}/outcomes`, { kind: 'oswestry', value: 38, measured_on: isoDate(now) });

  // --- (a) the therapist: patient list, rules editor with preview, save ----------------------
  const desk = await newPage({ viewport: 'desktop' });
  await signIn(desk, `${base}/app/patients`, tess);
  const firstRow = desk.locator('#patient-rows tr').first();
  await firstRow.waitFor();
  assert.match(await firstRow.innerText(), /Sam Sample[\s\S]*Escalation open/, 'the escalated patient comes first, in words');
  await desk.getByRole('button', { name: 'Create invite code' }).click();
  await desk.locator('#invite-result').waitFor({ state: 'visible' });
  assert.ok((await desk.locator('#invite-result output.code').innerText()).trim().length >= 6, 'the invite code is shown');
  await screenshot(desk, 'patients-invited-desktop');

  await desk.goto(`${base}/app/rules/${pat.id}`);
  const week = desk.locator(`#preview-rows tr[data-week-start="${first.week_start}"]`);
  await week.waitFor();
  assert.equal(await week.getAttribute('data-changed'), 'no', 'under the rules in force the week is as it was');

  // The form is built from the engine's field table (GET /api/v1/rules/schema): labels, ranges
  // and the yes/no rules' labels all come from it.
  assert.match(await desk.locator('#rule-increase_pct-range').innerText(), /^Allowed: 10 to 20 %\. How much longer the walk gets/);
  assert.equal(await desk.getByLabel('Only band-verified walks count toward the sessions needed').isChecked(), false);

  // Out of range: refused in words next to the field (the allowed range, not raw server text).
  await desk.getByLabel('Weekly increase (%)').fill('25');
  await waitFor('the refusal next to the weekly increase', async () =>
    (await desk.locator('#rule-increase_pct-error').innerText()) === 'Enter a whole number from 10 to 20 %.'
  );
  step(`refusal shown: ${await desk.locator('#rule-increase_pct-error').innerText()}`);
  await desk.getByLabel('Weekly increase (%)').fill('15');

  // Lower the two-hour maximum below the walks' pain: the week would step back.
  await desk.getByLabel('Highest pain two hours after (/10)').fill('3');
  await waitFor('the preview to replay the week as a step back', async () =>
    (await week.getAttribute('data-changed')) === 'yes' && /Step back/.test(await week.innerText())
  );
  const rowText = await week.innerText();
  assert.match(rowText, /Changed/, 'the changed week says so in words');
  assert.match(rowText, /Advance[\s\S]*Step back/, 'was advance, would be a step back');
  assert.match(await desk.locator('#preview-state').innerText(), /1 of 1 week would have been decided differently/);
  await screenshot(desk, 'rules-preview-desktop');

  await desk.getByRole('button', { name: 'Save as a new version' }).click();
  await desk.getByText('Saved as version 2.', { exact: false }).waitFor();
  const v2 = desk.locator('#history-list li[data-version="2"]');
  assert.match(await v2.innerText(), /Highest pain two hours after: 5 → 3/);
  assert.match(await v2.innerText(), /Weekly increase: 10 → 15/);
  const rules = await tessApi.get(`/patients/${pat.id}/rules`);
  assert.equal(rules.current.version, 2);
  assert.equal(rules.current.rules.pain_after_2h_max, 3);
  assert.equal(rules.current.rules.increase_pct, 15);
  desk.assertClean(['401 GET /api/v1/me', `422 POST /api/v1/patients/${pat.id}/rules/preview`]);

  // Another week of walks, reviewed after the save: it used version 2.
  await logWalks(patApi, lastWeek, monday, [
    { before: 2, during: 2, after: 2 },
    { before: 2, during: 3, after: 2 },
    { before: 2, during: 2, after: 3 },
  ]);
  await tessApi.post(`/patients/${pat.id}/reviews`, { week_start: isoDate(new Date(lastWeek)) });
  const reviews = await tessApi.get(`/patients/${pat.id}/reviews`);
  const last = reviews[reviews.length - 1];
  assert.equal(last.week_start, isoDate(new Date(lastWeek)));
  assert.equal(last.rules_version, rules.current.version, 'the next review used the saved rules version');
  assert.equal(last.rules.pain_after_2h_max, 3);
  step(`Pat's week of ${last.week_start}: ${last.output.decision} under rules version ${last.rules_version}`);

  // The patient page shows both decisions with their reasons; Sam's escalation is acknowledged
  // with a note.
  // Pat corrects today's walk from the phone (as Today's "Correct it" does): the care team
  // sees what changed, when and by whom.
  const justNow = Date.now();
  const today = await patApi.post('/me/sessions', {
    client_id: randomUUID(),
    started_at: new Date(justNow - 40 * MINUTE).toISOString(),
    ended_at: new Date(justNow - 20 * MINUTE).toISOString(),
    walked_s: 900,
    pain_before: 2,
    pain_during_max: 3,
    effort: 4,
  });
  await patApi.put(`/me/sessions/${today.id}`, { walked_s: 900, pain_before: 2, pain_during_max: 5, effort: 4 });
  await desk.goto(`${base}/app/patient/${pat.id}`);
  await desk.locator('#decision-list li').nth(1).waitFor();
  assert.match(await desk.locator('#decision-list').innerText(), /Rules version 2[\s\S]*Rules version 1/);
  const changeText = await desk.locator('#walk-change-list li').first().innerText();
  assert.match(changeText, /: the patient corrected the walk of .*: pain during 3 → 5\.$/);
  step(`the care team sees the correction: "${changeText}"`);

  // Pat's band, paired from the phone, is on the patient page; the therapist removes it (lost)
  // and its token is refused at once.
  const { code } = await patApi.post('/me/pairing-codes', {});
  const pairing = await fetch(`${base}/api/v1/devices/pair`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code, device: { kind: 'infinitime', address: 'D1:2E:00:00:00:07', name: 'PineTime' } }),
  });
  assert.equal(pairing.status, 201);
  const bandToken = (await pairing.json()).token;
  await desk.reload();
  const band = desk.locator('#band-list li', { hasText: 'PineTime' });
  await band.getByText(/not synced yet/).waitFor();
  desk.once('dialog', (dialog) => dialog.accept());
  await desk.getByRole('button', { name: 'Remove PineTime' }).click();
  await band.getByText(/removed .*: it can no longer upload/).waitFor();
  const upload = await fetch(`${base}/api/v1/samples`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${bandToken}` },
    body: JSON.stringify({ steps: [{ minute: new Date(Math.floor((justNow - 3600e3) / 60e3) * 60e3).toISOString(), steps: 80 }] }),
  });
  assert.equal(upload.status, 401);
  const devices = await tessApi.get(`/patients/${pat.id}/devices`);
  assert.ok(devices[0].revoked_at, 'the band is removed on the server');
  step('the therapist removes Pat\'s band from the patient page; its token is refused');
  await desk.goto(`${base}/app/patient/${sam.id}`);
  await desk.getByLabel('What did you do or decide?').fill('Phoned Sam: pain settled overnight.');
  await desk.getByRole('button', { name: 'Acknowledge escalation' }).click();
  await desk.getByText('Escalation acknowledged.', { exact: false }).waitFor();
  await desk.locator('#escalation').waitFor({ state: 'hidden' });
  const samAfter = await tessApi.get(`/patients/${sam.id}/reviews`);
  assert.ok(samAfter[samAfter.length - 1].acknowledged_at, 'the escalation is acknowledged on the server');
  assert.equal(samAfter[samAfter.length - 1].acknowledgement_note, 'Phoned Sam: pain settled overnight.');

  // --- (b) the clinic admin: visit list, report charts, patient charts, clinic defaults -------
  const adminDesk = await newPage({ viewport: 'desktop' });
  await signIn(adminDesk, `${base}/app/visits`, admin);
  const visitRow = adminDesk.locator(`#visit-rows tr[data-patient-id="${pat.id}"]`);
  await visitRow.waitFor();
  assert.match(await visitRow.innerText(), /Pat Patient/);
  const reportHref = await visitRow.getByRole('link', { name: 'Printable report' }).getAttribute('href');
  assert.equal(reportHref, `/clinic/patients/${pat.id}/report`);
  await screenshot(adminDesk, 'visits-list-desktop');
  // The server-rendered report is opened in a page of its own in the same browser context (the
  // admin's session); its styles come from /report.css (the CSP refuses inline ones) and its
  // charts are inline SVG.
  const report = await adminDesk.context().newPage();
  const cspRefusals = [];
  report.on('console', (m) => /Content Security Policy/.test(m.text()) && cspRefusals.push(m.text()));
  const answer = await report.goto(`${base}${reportHref}`);
  assert.equal(answer.status(), 200);
  await waitFor('four inline SVG charts in the report', async () => (await report.locator('figure svg').count()) >= 4);
  const boxes = await report.locator('figure svg').evaluateAll((svgs) => svgs.map((s) => Math.round(s.getBoundingClientRect().width)));
  assert.ok(boxes.every((w) => w > 0), `every report chart is drawn with a width (${boxes.join(', ')})`);
  assert.deepEqual(cspRefusals, [], 'the report page breaks none of the CSP');
  step(`report: ${boxes.length} inline SVG charts drawn, no CSP refusals`);
  await screenshot(report, 'report-desktop');
  await report.close();

  await adminDesk.goto(`${base}/app/patient/${pat.id}`);
  await adminDesk.locator('#charts img').nth(3).waitFor();
  const widths = await waitFor('the four chart images to load', async () => {
    const w = await adminDesk.locator('#charts img').evaluateAll((imgs) => imgs.map((i) => (i.complete ? i.naturalWidth : 0)));
    return w.length === 4 && w.every((x) => x > 0) ? w : false;
  });
  step(`chart images loaded: natural widths ${widths.join(', ')}`);

  await adminDesk.goto(`${base}/app/clinic`);
  await adminDesk.locator('#therapist-list li').first().waitFor();
  assert.match(await adminDesk.locator('#therapist-list').innerText(), /Tess Therapist/);
  // A therapist who forgot their password: the admin hands over a reset code.
  await adminDesk.getByRole('button', { name: 'Password reset code for Tess Therapist' }).click();
  const resetBox = adminDesk.locator('#therapist-reset-result');
  await resetBox.waitFor({ state: 'visible' });
  assert.match(await resetBox.locator('.handover-link a').getAttribute('href'), /\/app\/reset#code=[A-Z0-9-]+$/);
  assert.equal(await resetBox.locator('.qr svg').count(), 1);
  // One rest range for every plan (the engine's table), here and in a therapist's override.
  assert.match(await adminDesk.locator('#default-plan-rest_s-range').innerText(), /^Allowed: 0 minutes to 60 minutes\./);
  await adminDesk.locator('#default-rule-escalate_pain').fill('11');
  await adminDesk.getByRole('button', { name: 'Save clinic defaults' }).click();
  await waitFor('the server refusal next to red-flag pain, in words', async () =>
    (await adminDesk.locator('#default-rule-escalate_pain-error').innerText()) === 'Enter a whole number from 1 to 10.'
  );
  await adminDesk.locator('#default-rule-escalate_pain').fill('7');
  await adminDesk.getByRole('button', { name: 'Save clinic defaults' }).click();
  await adminDesk.locator('#defaults-form > .confirmation', { hasText: 'Clinic defaults saved.' }).waitFor();
  assert.equal(await adminDesk.evaluate(() => document.activeElement.className), 'confirmation', 'the confirmation next to the save button takes focus');
  assert.equal((await adminApi.get('/clinic')).default_rules.escalate_pain, 7);
  adminDesk.assertClean(['401 GET /api/v1/me', '422 PUT /api/v1/clinic/defaults']);

  // --- (c) every staff page at both widths ------------------------------------------------------
  const tessPhone = await newPage({ viewport: 'phone' });
  await signIn(tessPhone, `${base}/app/patients`, tess);
  const adminPhone = await newPage({ viewport: 'phone' });
  await signIn(adminPhone, `${base}/app/clinic`, admin);
  const rowsReady = (p) => p.locator('#patient-rows tr').first().waitFor();
  await shoot(desk, tessPhone, `${base}/app/patients`, 'patients', rowsReady);
  await shoot(desk, tessPhone, `${base}/app/patient/${pat.id}`, 'patient', (p) =>
    p.locator('#decision-list li').first().waitFor()
  );
  await shoot(desk, tessPhone, `${base}/app/rules/${pat.id}`, 'rules', (p) => p.locator('#preview-rows tr').first().waitFor());
  await shoot(adminDesk, adminPhone, `${base}/app/clinic`, 'clinic', rowsReady);
  await shoot(adminDesk, adminPhone, `${base}/app/visits`, 'visits', (p) => p.locator('#visit-rows tr').first().waitFor());

  // --- (d) the baseline from tolerance walks, in minutes -----------------------------------------
  await desk.goto(`${base}/app/patient/${sam.id}`);
  await desk.locator('#content').waitFor({ state: 'visible' });
  const walksField = desk.getByLabel('Tolerance walks, in minutes');
  await walksField.fill('5, six, 5.5');
  await desk.getByRole('button', { name: 'Set baseline' }).click();
  await desk.getByText('Enter each walk in minutes, a number above 0, for example 5.5.').waitFor();
  await walksField.fill('5, 6, 5.5');
  await desk.getByRole('button', { name: 'Set baseline' }).click();
  const baselineSet = desk.locator('section > .confirmation', { hasText: 'Baseline set: the walk is now' });
  await baselineSet.waitFor();
  // 300, 360 and 330 s: the mean 330 s at the default 80% is 264 s.
  assert.equal((await tessApi.get(`/patients/${sam.id}`)).patient.plan.interval_s, 264);
  step(`baseline from walks of 5, 6 and 5½ minutes: "${(await baselineSet.innerText()).trim()}"`);

  for (const page of [desk, tessPhone, adminDesk, adminPhone]) {
    page.assertClean([
      '401 GET /api/v1/me',
      `422 POST /api/v1/patients/${pat.id}/rules/preview`,
      '422 PUT /api/v1/clinic/defaults',
    ]);
  }
}, { timeoutMs: 600_000 });
