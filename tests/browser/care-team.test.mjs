#!/usr/bin/env node
// The care team's work with a patient, in a real browser (tests/browser/README.md):
//   (a) Pat, on a phone, writes to the care team on /app/messages; the server's push reaches
//       the therapist's subscription at web-push-testing (which decrypts it): "New message
//       from Pat Patient", without the text.
//   (b) Tess, at a desk, sees "1 unread message" in her patient list, opens the thread on the
//       patient page (read: the count is 0 after) and answers; Pat's subscription gets the push
//       and Pat's page shows the answer.
//   (c) Tess times a phone call with the timer (stopped with 12 minutes) and records 8 minutes
//       of a video call by hand: the time log says 20 minutes, 2 live conversations; she adds a
//       clinician note, which Pat's API cannot reach.
//   (d) With 16 days of band data, the Monitoring page shows Pat's month: 98977 (so far) and
//       98980, the notice that this is not billing advice, and a CSV link that downloads the
//       same evidence.
// Every page passes axe-core; /app/messages fits a phone at 200% text with 44 px controls.
// Screenshots: care-team-messages-phone, care-team-patient-desktop, care-team-rtm-desktop.

import assert from 'node:assert/strict';

import { checkAccessibility, login, run, screenshot, signIn, signUpPatient, signUpTherapist, step, waitFor } from './harness.mjs';

/** Subscribes `api`'s user at web-push-testing through the API; returns the subscription. */
async function subscribe(stack, api, label) {
  const sub = await stack.pushSubscribe();
  await api.post('/push/subscriptions', {
    endpoint: sub.endpoint,
    expirationTime: null,
    keys: { p256dh: sub.p256dh, auth: sub.auth },
    label,
  });
  return sub;
}

/** The first push at `sub` of kind `kind`. */
async function pushed(sub, kind) {
  return waitFor(`a ${kind} push`, async () => {
    const got = (await sub.messages()).map((m) => JSON.parse(m));
    return got.find((m) => m.kind === kind);
  });
}

/** "YYYY-MM-DD" of `date` in Berlin. */
function berlinDay(date) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit' }).format(date);
}

await run('care-team', async ({ base, admin, stack, newPage }) => {
  const adminApi = await login(base, admin.email, admin.password);
  const tess = await signUpTherapist(adminApi, 'tess@riverside.example', 'Tess Therapist');
  const pat = await signUpPatient(adminApi, tess.id, 'Europe/Berlin', 'pat@example.org', 'Pat Patient');
  const tessApi = await login(base, tess.email, tess.password);
  const patApi = await login(base, pat.email, pat.password);
  const tessPush = await subscribe(stack, tessApi, 'Tess desk');
  const patPush = await subscribe(stack, patApi, 'Pat phone');

  // --- (a) Pat writes from the phone ------------------------------------------------------------
  const phone = await newPage({ viewport: 'phone' });
  await phone.goto(`${base}/app/messages`);
  await phone.locator('#login-email').fill(pat.email);
  await phone.locator('#login-password').fill(pat.password);
  await phone.getByRole('button', { name: 'Sign in' }).click();
  await phone.getByText('No messages yet.').waitFor();
  await phone.getByRole('button', { name: 'Send' }).click();
  assert.equal(await phone.locator('#thread-body-error').textContent(), 'Write a message first.');
  const text = 'My knee was sore after yesterday’s walk. Should I walk today?';
  await phone.getByLabel('Your message').fill(text);
  await phone.getByRole('button', { name: 'Send' }).click();
  await phone.locator('#thread-list li', { hasText: text }).waitFor();
  assert.match(await phone.locator('#thread-list li').first().innerText(), /^You · /);
  const toTess = await pushed(tessPush, 'message');
  assert.equal(toTess.title, 'New message from Pat Patient');
  assert.equal(toTess.url, `/app/patient/${pat.id}#messages`);
  assert.ok(!JSON.stringify(toTess).includes('knee'), 'the push does not carry the text');
  await checkAccessibility(phone, '/app/messages');
  step('(a) Pat sent a message from /app/messages; Tess got the push');

  // --- (b) Tess reads and answers -----------------------------------------------------------------
  const desk = await newPage({ viewport: 'desktop' });
  await signIn(desk, `${base}/app/patients`, tess);
  const unread = desk.getByRole('link', { name: '1 unread message' });
  await unread.waitFor();
  await desk.getByText(/this device is not told of escalations/).waitFor();
  await unread.click();
  await desk.locator('#thread-list li', { hasText: text }).waitFor();
  assert.equal(await desk.locator('#thread-unread').textContent(), '1 new message.');
  await waitFor('the thread read on the server', async () => (await tessApi.get(`/patients/${pat.id}/messages`)).unread === 0 || undefined);
  const reply = 'Walk half your interval today and tell me how it feels.';
  await desk.getByLabel('Message to the patient').fill(reply);
  await desk.locator('#thread-form').getByRole('button', { name: 'Send' }).click();
  await desk.locator('#thread-list li', { hasText: reply }).waitFor();
  const toPat = await pushed(patPush, 'message');
  assert.equal(toPat.title, 'New message from Tess Therapist');
  assert.equal(toPat.url, '/app/messages');
  assert.equal((await patApi.get('/me/messages')).unread, 1);
  await phone.goto(`${base}/app/today`);
  await phone.getByRole('link', { name: 'Read the new message' }).click();
  await phone.waitForURL(`${base}${toPat.url}`);
  await phone.locator('#thread-list li', { hasText: reply }).waitFor();
  assert.equal(await phone.locator('#thread-unread').textContent(), '1 new message.');
  await waitFor('Pat read the answer', async () => (await patApi.get('/me/messages')).unread === 0 || undefined);
  const small = await phone.evaluate(() =>
    [...document.querySelectorAll('a[href], button, input, textarea')]
      .filter((n) => n.offsetParent !== null && n.getBoundingClientRect().height < 44)
      .map((n) => `${n.tagName.toLowerCase()} "${n.textContent.trim().slice(0, 30)}" ${n.getBoundingClientRect().height.toFixed(0)}px`)
  );
  assert.deepEqual(small, [], '/app/messages: controls under 44 px tall');
  const overflow = await phone.evaluate(() => {
    document.documentElement.style.fontSize = '200%';
    return document.documentElement.scrollWidth - innerWidth;
  });
  assert.ok(overflow <= 0, `/app/messages at 200% text scrolls sideways by ${overflow}px`);
  await phone.evaluate(() => {
    document.documentElement.style.fontSize = '';
  });
  await screenshot(phone, 'messages-phone');
  step('(b) Tess read the thread (unread 0) and answered; Pat got the push and read it');

  // --- (c) the time log and a note ---------------------------------------------------------------
  await desk.getByRole('button', { name: 'Start timer' }).click();
  await desk.getByText(/Timer running since/).waitFor();
  await desk.getByLabel('What was done', { exact: true }).fill('Phone call about the sore knee');
  await desk.getByLabel('Phone call').check();
  await desk.getByLabel('Minutes', { exact: true }).fill('12');
  await desk.getByRole('button', { name: 'Stop the timer and record' }).click();
  await desk.locator('#time-list li', { hasText: '12 min' }).waitFor();
  await desk.getByLabel('Minutes', { exact: true }).fill('0');
  await desk.getByLabel('What was done', { exact: true }).fill('Video call: planned next week');
  await desk.getByRole('button', { name: 'Record the time' }).click();
  await desk.locator('#time-minutes-error', { hasText: 'minutes' }).waitFor();
  await desk.getByLabel('Minutes', { exact: true }).fill('8');
  await desk.getByLabel('Video call').check();
  await desk.getByRole('button', { name: 'Record the time' }).click();
  await desk.locator('#time-list li', { hasText: '8 min' }).waitFor();
  assert.equal(await desk.locator('#time-total').textContent(), 'This month: 20 minutes, 2 live conversations.');
  await desk.getByLabel('New note').fill('Prefers walking in the morning.');
  await desk.getByRole('button', { name: 'Add the note' }).click();
  await desk.locator('#note-list li', { hasText: 'Prefers walking in the morning.' }).waitFor();
  const refused = await patApi.request('GET', `/patients/${pat.id}/notes`);
  assert.equal(refused.status, 403, 'a patient cannot read clinician notes');
  await checkAccessibility(desk, '/app/patient with messages, time log and notes');
  await screenshot(desk, 'patient-desktop');
  step('(c) timer 12 min (call) + 8 min by hand (video): 20 minutes, 2 live conversations; a note');

  // --- (d) band data, then the Monitoring page ---------------------------------------------------
  const { code } = await patApi.post('/me/pairing-codes', {});
  const pairing = await fetch(`${base}/api/v1/devices/pair`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code, device: { kind: 'infinitime', address: 'D1:2E:00:00:00:19', name: 'PineTime' } }),
  });
  assert.equal(pairing.status, 201);
  const token = (await pairing.json()).token;
  // One minute at 11:00 UTC (noon or 13:00 in Berlin) on each of the last 16 days.
  const steps = [];
  for (let back = 16; back >= 1; back -= 1) {
    const day = new Date(Date.now() - back * 86_400e3);
    steps.push({ minute: `${berlinDay(day)}T11:00:00Z`, steps: 70 });
  }
  const upload = await fetch(`${base}/api/v1/samples`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ steps }),
  });
  assert.equal(upload.status, 200, await upload.text());
  await desk.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Monitoring' }).click();
  const row = desk.locator('#rtm-rows tr', { hasText: 'Pat Patient' });
  await row.waitFor();
  const rowText = await row.innerText();
  assert.match(rowText, /98977 \(so far\), 98980/);
  assert.match(rowText, /20 minutes this month/);
  assert.match(await desk.locator('#rtm-notice').textContent(), /not billing advice/);
  const month = berlinDay(new Date()).slice(0, 7);
  assert.equal(await desk.locator('#rtm-csv').getAttribute('href'), `/api/v1/clinic/rtm.csv?month=${month}`);
  const csv = await desk.evaluate(async (href) => (await fetch(href)).text(), `/api/v1/clinic/rtm.csv?month=${month}`);
  assert.match(csv, /^patient_id,patient,month,record,code,met,units/);
  assert.match(csv, /,Pat Patient,.*,management_code,98980,true,1,/);
  assert.match(csv, /,time_entry,.*,12,Tess Therapist,call,Phone call about the sore knee/);
  await checkAccessibility(desk, '/app/rtm');
  await screenshot(desk, 'rtm-desktop');
  desk.assertClean(['401 GET /api/v1/me', `422 POST /api/v1/patients/${pat.id}/time`]);
  phone.assertClean(['401 GET /api/v1/me']);
  step('(d) the Monitoring page: 98977 (so far), 98980, with its notice and CSV');
});
