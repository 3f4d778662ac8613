#!/usr/bin/env node
// Questionnaires in a real browser, against the real server:
//
//   (a) The therapist opens the patient's page and, in the Questionnaires card, schedules the
//       PSFS and KOOS, JR. "now, once": both are listed as schedules, and asked at once.
//   (b) On a phone, the patient opens Today: a card links to each open questionnaire. They
//       follow the PSFS link to /app/questionnaires, which renders the form from the
//       instrument's definition (text inputs for activities, 0–10 number inputs with the
//       scale's anchors) and shows the licence notice. A rating of 11 is refused by the server
//       beside its item (field answers.rating_2) and nothing is stored; corrected, the answers
//       of the form's own example (3, 5 and 7) score 5. axe-core finds no serious or critical
//       violation on the form. Every answer control is at least 44 px tall.
//   (c) They open the KOOS, JR. from the list: one radio group per item; the published mixed
//       example (Moderate, Moderate, Mild, Severe, Mild, Moderate, Severe: raw 14) scores
//       52.465, as the developers' table says. Both scores are listed under "Your scores".
//   (d) The therapist's page shows both charts: the PSFS chart with the shaded band of the
//       first score ± its MID of 2, the KOOS, JR. chart saying it has no MID band.
// Screenshots: questionnaires-staff-schedule, questionnaires-today, questionnaires-psfs-error,
// questionnaires-koos, questionnaires-scores, questionnaires-staff-chart, and the charts alone:
// questionnaires-psfs-chart, questionnaires-koos-chart.

import assert from 'node:assert/strict';

import path from 'node:path';

import { SCREENSHOTS, checkAccessibility, login, run, screenshot, signIn, signUpPatient, signUpTherapist, step } from './harness.mjs';

const PSFS = 'Patient-Specific Functional Scale';
const KOOS = 'Knee injury and Osteoarthritis Outcome Score for Joint Replacement (KOOS, JR.)';

await run('questionnaires', async ({ base, admin, newPage }) => {
  const adminApi = await login(base, admin.email, admin.password);
  const tess = await signUpTherapist(adminApi, 'tess@riverside.example', 'Tess Therapist');
  const pat = await signUpPatient(adminApi, tess.id, 'Europe/Berlin', 'pat@example.org', 'Pat Patient');

  step('(a) the therapist schedules the PSFS and KOOS, JR.');
  const staff = await newPage({ viewport: 'desktop' });
  await signIn(staff, `${base}/app/patient/${pat.id}`, tess);
  await staff.locator('#questionnaire-instrument option[value="koos_jr"]').waitFor({ state: 'attached' });
  for (const instrument of ['psfs', 'koos_jr']) {
    await staff.selectOption('#questionnaire-instrument', instrument);
    await staff.selectOption('#questionnaire-timing', 'start');
    await staff.getByRole('button', { name: 'Schedule the questionnaire' }).click();
    await staff.locator('#questionnaire-schedules li', { hasText: instrument === 'psfs' ? PSFS : KOOS }).waitFor();
  }
  await staff.getByText('Waiting for the patient:').waitFor();
  await screenshot(staff, 'staff-schedule');

  step('(b) the patient opens the PSFS from Today and answers it');
  const phone = await newPage({ viewport: 'phone' });
  await phone.goto(`${base}/app/today`);
  await phone.getByLabel('E-mail address').fill(pat.email);
  await phone.getByLabel('Password').fill(pat.password);
  await phone.getByRole('button', { name: 'Sign in' }).click();
  const todayCard = phone.locator('#questionnaires');
  await todayCard.waitFor({ state: 'visible' });
  assert.equal(await todayCard.getByRole('link').count(), 2);
  await screenshot(phone, 'today');
  await todayCard.getByRole('link', { name: PSFS }).click();
  await phone.waitForURL(/\/app\/questionnaires#request-\d+$/);
  const form = phone.locator('#answer');
  await form.waitFor({ state: 'visible' });
  assert.equal(await phone.locator('#answer-title').textContent(), PSFS);
  assert.match(await phone.locator('#answer-notice').textContent(), /Stratford/);
  assert.match(await phone.locator('#q-rating_1-hint').textContent(), /0 = Unable to perform activity/);
  await phone.locator('#q-activity_1').fill('Climbing stairs');
  await phone.locator('#q-rating_1').fill('3');
  await phone.locator('#q-activity_2').fill('Walking to the shop');
  await phone.locator('#q-rating_2').fill('11');
  await phone.locator('#q-activity_3').fill('Gardening');
  await phone.locator('#q-rating_3').fill('7');
  await phone.getByRole('button', { name: 'Send my answers' }).click();
  const refusal = phone.locator('#q-rating_2-error');
  await refusal.waitFor({ state: 'visible' });
  assert.match(await refusal.textContent(), /rating_2 = 11 is outside 0..=10/);
  assert.equal(await phone.evaluate(() => document.activeElement.id), 'q-rating_2');
  await screenshot(phone, 'psfs-error');
  const patApi = await login(base, pat.email, pat.password);
  assert.equal((await patApi.get('/me/questionnaires')).series.length, 0, 'nothing stored on a refusal');
  await checkAccessibility(phone, 'the PSFS form');
  const short = await phone.evaluate(() =>
    [...document.querySelectorAll('#answer-form input, #answer-form button')]
      .map((e) => [e.id || e.name, e.getBoundingClientRect().height])
      .filter(([, h]) => h < 44)
  );
  assert.deepEqual(short, [], 'every answer control is at least 44 px tall');
  await phone.locator('#q-rating_2').fill('5');
  await phone.getByRole('button', { name: 'Send my answers' }).click();
  const thanks = phone.locator('#scores .confirmation');
  await thanks.waitFor({ state: 'visible' });
  assert.match(await thanks.textContent(), /Patient-Specific Functional Scale score: 5 \(from 0 to 10, higher is better\)/);

  step('(c) the KOOS, JR. from the list');
  await phone.getByRole('link', { name: KOOS }).click();
  await phone.locator('#answer').waitFor({ state: 'visible' });
  assert.equal(await phone.locator('#answer-title').textContent(), KOOS);
  assert.match(await phone.locator('#answer-notice').textContent(), /Hospital for Special Surgery/);
  const answers = { stiffness_morning: 'Moderate', pain_twisting: 'Moderate', pain_straightening: 'Mild', pain_stairs: 'Severe', pain_standing: 'Mild', function_rising: 'Moderate', function_bending: 'Severe' };
  for (const [linkId, label] of Object.entries(answers)) {
    await phone.locator(`#q-${linkId}`).getByLabel(label, { exact: true }).check();
  }
  await screenshot(phone, 'koos');
  await checkAccessibility(phone, 'the KOOS, JR. form');
  const smallChoices = await phone.evaluate(() =>
    [...document.querySelectorAll('.choice-option')].filter((e) => e.getBoundingClientRect().height < 44).length
  );
  assert.equal(smallChoices, 0, 'every choice is at least 44 px tall');
  await phone.getByRole('button', { name: 'Send my answers' }).click();
  await phone.locator('#scores .confirmation', { hasText: 'score: 52.465' }).waitFor();
  const scores = await phone.locator('#scores-list').textContent();
  assert.match(scores, /score 5\b/);
  assert.match(scores, /score 52\.465/);
  assert.equal(await phone.locator('#open-none').isVisible(), true, 'nothing left to fill in');
  await screenshot(phone, 'scores');
  await checkAccessibility(phone, 'the questionnaires page with scores');
  const mine = await patApi.get('/me/questionnaires');
  assert.deepEqual(mine.series.map((s) => s.points[0].value), [5, 52.465]);
  assert.equal(mine.series[1].points[0].raw, 14);

  step('(d) the therapist sees the charts with the MID band');
  await staff.reload();
  await staff.locator('#content').waitFor({ state: 'visible' });
  const psfsChart = staff.locator('#questionnaire-scores img[src$="questionnaire-psfs.svg"]');
  await psfsChart.waitFor();
  await staff.waitForFunction(() =>
    [...document.querySelectorAll('#questionnaire-scores img')].every((img) => img.complete && img.naturalWidth > 0)
  );
  assert.match(await psfsChart.getAttribute('alt'), /MID of 2 shaded/);
  const svg = await (await staff.request.get(await psfsChart.evaluate((img) => img.src))).text();
  assert.match(svg, /Shaded: first score 5 ± MID 2/);
  assert.match(svg, /<rect [^>]*opacity="0.14" fill="#1F4E79"/, "the MID band is shaded");
  const koosSvg = await (await staff.request.get(`${base}/api/v1/patients/${pat.id}/report/charts/questionnaire-koos_jr.svg`)).text();
  assert.match(koosSvg, /No MID band/);
  assert.match(await staff.locator('#questionnaire-scores').textContent(), /52\.465 \(raw 14\)/);
  await staff.locator('#questionnaires-card').scrollIntoViewIfNeeded();
  await screenshot(staff, 'staff-chart');
  // The two charts alone, at the size they are shown.
  const figures = staff.locator('#questionnaire-scores figure');
  await figures.nth(0).screenshot({ path: path.join(SCREENSHOTS, 'questionnaires-psfs-chart.png') });
  await figures.nth(1).screenshot({ path: path.join(SCREENSHOTS, 'questionnaires-koos-chart.png') });
  await checkAccessibility(staff, 'the patient page with questionnaires');

  phone.assertClean(['401 GET /api/v1/me', /^422 POST \/api\/v1\/me\/questionnaires\/\d+\/response$/]);
  staff.assertClean(['401 GET /api/v1/me']);
});
