#!/usr/bin/env node
// A red flag is answered at once, in a real browser (headless Chromium against the real
// `stepwise serve`; tests/browser/harness.mjs starts them):
//
//   1. The clinic admin writes the clinic's safety contact on /app/clinic (phone and text).
//   2. The patient, on /app/today, logs a walk without the timer with 9/10 pain during it (the
//      alert level is 8). The page shows the safety advice at once, first and focused: stop and
//      rest, when to call the emergency number, the clinic's words and a button to call its
//      phone; the walk is saved.
//      The same walk's next-morning page (/app/checks/{id}?check=morning) asks "How is your pain
//      this morning?" and, answered tonight, says it opens tomorrow at 04:00.
//   3. The therapist's list (/app/patients) shows Pat's escalation at once, without waiting
//      for the weekly review; the week's review is an escalation and the plan is frozen.
//   (a) axe-core finds no serious or critical violation on the page with the advice showing.
// Screenshots: safety-advice-phone.png, safety-patients-desktop.png in target/screenshots.

import assert from 'node:assert/strict';

import { checkAccessibility, login, run, screenshot, signIn, signUpPatient, signUpTherapist, step } from './harness.mjs';

const PHONE_NUMBER = '+44 20 7946 0000';

await run('safety', async ({ base, admin, newPage }) => {
  const adminApi = await login(base, admin.email, admin.password);
  const tess = await signUpTherapist(adminApi, 'tess@riverside.example', 'Tess Therapist');
  const pat = await signUpPatient(adminApi, tess.id, 'Europe/Berlin', 'pat@example.org', 'Pat Patient');
  const tessApi = await login(base, tess.email, tess.password);

  // --- 1. the admin writes the safety contact ---------------------------------------------------
  const desk = await newPage({ viewport: 'desktop' });
  await signIn(desk, `${base}/app/clinic`, admin);
  await desk.getByLabel('Phone number patients may call').fill(PHONE_NUMBER);
  await desk.getByLabel('What patients should do', { exact: false }).fill('Call us 8:00–18:00 on weekdays; out of hours call 111.');
  await desk.getByRole('button', { name: 'Save the safety contact' }).click();
  await desk.getByText('Safety contact saved.', { exact: false }).waitFor();
  assert.equal((await adminApi.get('/clinic')).safety_contact.phone, PHONE_NUMBER);
  desk.assertClean(['401 GET /api/v1/me']);
  step(`the admin saved the safety contact ${PHONE_NUMBER} on /app/clinic`);

  // --- 2. the patient logs a 9/10 walk ----------------------------------------------------------
  const page = await newPage({ viewport: 'phone' });
  await page.goto(`${base}/app`);
  await page.getByLabel('E-mail address').fill(pat.email);
  await page.getByLabel('Password').fill(pat.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/app/today`);
  await page.getByRole('button', { name: 'Log a walk without the timer' }).click();
  await page.getByRole('heading', { name: 'Log your walk' }).waitFor();
  const form = page.locator('#log-form');
  await form.getByRole('group', { name: 'Pain before you started' }).getByLabel('3', { exact: true }).check();
  await form.getByRole('group', { name: 'Highest pain while walking' }).getByLabel('9', { exact: true }).check();
  await form.getByRole('group', { name: 'How hard did it feel?' }).getByLabel('6', { exact: true }).check();
  await form.getByLabel('Sat down').check();
  await page.getByRole('button', { name: 'Save my walk' }).click();
  const advice = page.getByRole('alert').filter({ has: page.getByRole('heading', { name: 'Your pain is 9/10: please stop and rest' }) });
  await advice.waitFor();
  const text = await advice.innerText();
  assert.match(text, /Stop walking and rest/);
  assert.match(text, /local emergency number/);
  assert.match(text, /Call us 8:00–18:00 on weekdays/);
  assert.match(text, /Your therapist at Riverside Physio has been told/);
  const call = advice.getByRole('link', { name: `Call your clinic: ${PHONE_NUMBER}` });
  assert.equal(await call.getAttribute('href'), 'tel:+442079460000');
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'safety', 'the advice takes focus');
  await page.getByText('Your walk is saved, and your care team has been told about your pain.').waitFor();
  await screenshot(page, 'advice-phone');
  await checkAccessibility(page, 'today with the safety advice (phone)');
  step('the patient logged 9/10 pain and read the safety advice at once, with the clinic phone');

  // --- the same walk's next-morning check: its page asks, and it opens tomorrow at 04:00 ----------
  const walk = (await login(base, pat.email, pat.password).then((api) => api.get('/me/sessions')))[0];
  await page.goto(`${base}/app/checks/${walk.id}?check=morning`);
  await page.getByRole('heading', { name: 'Next-morning check' }).waitFor();
  // Not open yet: the page says when (tomorrow, 04:00 local) instead of asking.
  await page.getByText(/^This check opens on \w+ \d{1,2} \w+ at 0?4:00\./).waitFor();
  assert.equal(await page.locator('#check-form').isHidden(), true, 'no question before it opens');
  step('the next-morning check page says when it opens instead of asking too early');
  page.assertClean(['401 GET /api/v1/me']);

  // --- 3. the therapist sees the escalation at once ---------------------------------------------
  const reviews = await tessApi.get(`/patients/${pat.id}/reviews`);
  assert.equal(reviews.length, 1);
  assert.equal(reviews[0].output.decision, 'escalate');
  assert.equal(reviews[0].acknowledged_at, null);
  const tessDesk = await newPage({ viewport: 'desktop' });
  await signIn(tessDesk, `${base}/app/patients`, tess);
  const row = tessDesk.locator('tr', { hasText: 'Pat Patient' });
  await row.getByText('Escalation open').waitFor();
  await screenshot(tessDesk, 'patients-desktop');
  tessDesk.assertClean(['401 GET /api/v1/me']);
  step(`the therapist's list shows Pat's escalation at once (week of ${reviews[0].week_start})`);
});
