#!/usr/bin/env node
// End-to-end test of Stepwise's reminders in a real browser: headless Chromium, the real
// `stepwise serve` on a fresh SQLite file, and a real Web Push service (npm web-push-testing)
// that checks the server's VAPID signature and decrypts what it sends (tests/browser/harness.mjs
// starts them; tests/browser/README.md says how to run this).
//
//   1. A clinic admin invites a therapist and a patient (API, from Node).
//   2. On a phone-sized page the patient signs in at /app/reminders and turns reminders on. The
//      browser's PushManager is stubbed to hand out a subscription made at web-push-testing
//      (headless Chromium cannot reach a vendor push service); everything else is real: the
//      permission, the service worker, the page's calls to the server.
//   3. The patient logs a walk that ended 2 h 1 min ago; the server's scheduler sends the
//      two-hour check to web-push-testing, which decrypts it.
//   4. That exact payload is delivered to the page's service worker through the DevTools
//      protocol (ServiceWorker.deliverPushMessage); the notification it shows is read back.
//   5. The notification's address is opened (as a tap would); the patient answers 3 on the check
//      page; the API shows the answer, and no follow-up reaches the push service.
//   6. Both pages at desktop width (the reminder list links the check), then reminders are turned
//      off again: the server forgets the subscription and the browser unsubscribes.
// Screenshots (target/screenshots): reminders-phone, reminders-check-form-phone,
// reminders-check-form-desktop, reminders-check-phone, reminders-desktop, reminders-check-desktop
// (.png), and reminders-failure.png when a check fails.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import {
  DESKTOP,
  PHONE,
  fetchJson,
  installPushStub,
  login,
  run,
  screenshot,
  signUpPatient,
  signUpTherapist,
  sleep,
  step,
  waitFor,
} from './harness.mjs';

await run('reminders', async ({ base, admin, stack, newPage, onFailure }) => {
  // --- a therapist and a patient ------------------------------------------------------------
  const adminApi = await login(base, admin.email, admin.password);
  const therapist = await signUpTherapist(adminApi, 'tess@riverside.example', 'Tess Therapist', 'therapist-password-1');
  const patient = await signUpPatient(
    adminApi,
    therapist.id,
    'Europe/Berlin',
    'pat@example.org',
    'Pat Patient',
    'patient-password-1'
  );
  const patientApi = await login(base, patient.email, patient.password);
  assert.equal(patientApi.user.id, patient.id);
  step(`therapist ${therapist.id} and patient ${patient.id} signed up`);

  // --- a subscription at the push service, made with the server's key -----------------------
  const { body: key } = await fetchJson(`${base}/api/v1/push/key`);
  assert.match(key.public_key, /^[A-Za-z0-9_-]{86,88}$/, 'GET /api/v1/push/key gives a base64url P-256 key');
  const pushSub = await stack.pushSubscribe(key.public_key);
  assert.deepEqual(await pushSub.messages(), [], 'a new subscription holds no messages');
  step(`subscribed at web-push-testing: ${pushSub.endpoint}`);

  // --- the browser: turn reminders on ---------------------------------------------------------
  const page = await newPage({ viewport: 'phone' });
  const context = page.context();
  await context.grantPermissions(['notifications'], { origin: base });
  await context.addInitScript(installPushStub, pushSub);
  const workerEvents = [];
  onFailure(() => {
    if (workerEvents.length) console.error(`\n--- the service worker (CDP)\n${workerEvents.slice(-40).join('\n')}`);
  });

  await page.goto(`${base}/app/reminders`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('E-mail address').fill(patient.email);
  await page.getByLabel('Password').fill(patient.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Reminders on this device' }).waitFor();
  await page.getByText(`Signed in as ${patient.name}.`).waitFor();
  assert.equal(await page.locator('#push-state').textContent(), 'Off — this device receives no reminders.');
  step('signed in on /app/reminders; reminders are off');

  const deviceLabel = 'Pat’s phone (headless Chromium)';
  await page.getByLabel('Name for this device').fill(deviceLabel);
  await page.getByRole('button', { name: 'Turn on reminders' }).click();
  await page.getByText(`Reminders are on for “${deviceLabel}”.`).waitFor();
  assert.equal(await page.locator('#push-state').textContent(), 'On — this device receives reminders.');
  await page.getByRole('button', { name: 'Turn off reminders' }).waitFor();
  const stub = await page.evaluate(() => window.__stepwisePushStub);
  assert.equal(stub.subscribe, 1, 'the page subscribed once');
  assert.deepEqual(stub.keys, [key.public_key], 'the page subscribed with the server\'s key');
  const worker = await page.evaluate(async () => {
    const registration = await navigator.serviceWorker.getRegistration('/');
    return registration && {
      scope: registration.scope,
      active: registration.active && registration.active.scriptURL,
      permission: Notification.permission,
    };
  });
  assert.deepEqual(worker, { scope: `${base}/`, active: `${base}/sw.js`, permission: 'granted' });

  const stored = await patientApi.get('/push/subscriptions');
  assert.equal(stored.length, 1, `one subscription stored, got ${JSON.stringify(stored)}`);
  assert.equal(stored[0].endpoint, pushSub.endpoint);
  assert.equal(stored[0].label, deviceLabel);
  await screenshot(page, 'reminders-phone');
  step(`reminders on: subscription ${stored[0].id} "${stored[0].label}", service worker active at ${worker.active}`);

  // --- a walk that ended 2 h 1 min ago: the two-hour check goes out at once -------------------
  const endedAt = new Date(Date.now() - (2 * 60 + 1) * 60_000);
  const startedAt = new Date(endedAt.getTime() - 20 * 60_000);
  const walk = await patientApi.post(
    '/me/sessions',
    {
      client_id: `browser-test-${randomUUID()}`,
      started_at: startedAt.toISOString(),
      ended_at: endedAt.toISOString(),
      walked_s: 1200,
      pain_before: 2,
      pain_during_max: 4,
      effort: 5,
    }
  );
  step(`walk ${walk.id} logged (ended ${endedAt.toISOString()})`);

  const messages = await waitFor('the two-hour check at web-push-testing', async () => {
    const got = await pushSub.messages();
    return got.length > 0 ? got : undefined;
  });
  assert.equal(messages.length, 1, `one message delivered, got ${JSON.stringify(messages)}`);
  const plaintext = messages[0];
  const payload = JSON.parse(plaintext);
  assert.equal(payload.kind, 'two_hour_check');
  assert.equal(payload.session_id, walk.id);
  assert.equal(payload.url, `/app/checks/${walk.id}`);
  assert.equal(payload.title, 'How is your pain now?');
  assert.equal(typeof payload.reminder_id, 'number');
  assert.equal(typeof payload.body, 'string');
  step(`web-push-testing verified and decrypted the two-hour check: ${plaintext}`);

  // --- the service worker shows it --------------------------------------------------------------
  const cdp = await context.newCDPSession(page);
  const registrations = new Map();
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: list }) => {
    for (const r of list) registrations.set(r.registrationId, r);
  });
  cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
    for (const v of versions) workerEvents.push(`version ${v.versionId}: ${v.status}, ${v.runningStatus}`);
  });
  cdp.on('ServiceWorker.workerErrorReported', ({ errorMessage: e }) => {
    workerEvents.push(`error: ${e.errorMessage} (${e.sourceURL}:${e.lineNumber})`);
  });
  await cdp.send('ServiceWorker.enable');
  const registration = await waitFor('the service worker registration over CDP', () =>
    [...registrations.values()].find((r) => r.scopeURL === `${base}/` && !r.isDeleted)
  );
  const serviceWorker = await waitFor('the service worker in playwright', () =>
    context.serviceWorkers().find((w) => w.url() === `${base}/sw.js`)
  );
  // Chromium's getNotifications() forgets a notification whose display is still under way (it
  // drops stored notifications the display service does not list yet): reading while
  // showNotification() runs loses it (polling every 5 ms after delivery failed 12 times in 12).
  // So the test watches showNotification() (the call passes through unchanged) and reads the
  // notifications only once it has finished.
  await serviceWorker.evaluate(() => {
    const registration = self.registration;
    const show = registration.showNotification.bind(registration);
    const calls = [];
    self.__stepwiseShowCalls = calls;
    registration.showNotification = (title, options) => {
      const call = { title, done: false, error: null };
      calls.push(call);
      return show(title, options).then(
        (value) => {
          call.done = true;
          return value;
        },
        (error) => {
          call.error = String(error);
          throw error;
        }
      );
    };
  });
  await cdp.send('ServiceWorker.deliverPushMessage', {
    origin: base,
    registrationId: registration.registrationId,
    data: plaintext,
  });
  step(`delivered the payload to service worker registration ${registration.registrationId} (CDP)`);

  const showCalls = await waitFor('the service worker to show a notification', async () => {
    const calls = await serviceWorker.evaluate(() => self.__stepwiseShowCalls);
    assert.ok(Array.isArray(calls), 'the service worker was restarted before the push arrived');
    return calls.length > 0 && calls.every((c) => c.done || c.error) ? calls : undefined;
  });
  assert.deepEqual(showCalls, [{ title: 'How is your pain now?', done: true, error: null }]);

  const readNotifications = () =>
    page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      const shown = await reg.getNotifications();
      return shown.map((n) => ({
        title: n.title,
        body: n.body,
        tag: n.tag,
        data: n.data,
        requireInteraction: n.requireInteraction,
        renotify: n.renotify,
      }));
    });
  const shown = await readNotifications();
  assert.deepEqual(shown, [
    {
      title: 'How is your pain now?',
      body: payload.body,
      tag: `stepwise-check-${walk.id}`,
      data: { url: `/app/checks/${walk.id}`, reminder_id: payload.reminder_id, kind: 'two_hour_check' },
      requireInteraction: true,
      renotify: true,
    },
  ]);
  // The same list as the service worker itself sees it.
  const inWorker = await serviceWorker.evaluate(() =>
    self.registration.getNotifications().then((ns) => ns.map((n) => ({ title: n.title, tag: n.tag, url: n.data && n.data.url })))
  );
  assert.deepEqual(inWorker, [{ title: shown[0].title, tag: shown[0].tag, url: shown[0].data.url }]);
  step(`the service worker shows "${shown[0].title}" (tag ${shown[0].tag}) opening ${shown[0].data.url}`);

  // --- the tap: the check page records the answer ----------------------------------------------
  await page.goto(`${base}${shown[0].data.url}`);
  await page.getByRole('heading', { name: 'Two-hour check' }).waitFor();
  await page.getByRole('group', { name: 'How is your pain now?' }).waitFor();
  await page.getByText('You started this walk on').waitFor();
  await screenshot(page, 'check-form-phone');
  await page.setViewportSize(DESKTOP);
  await screenshot(page, 'check-form-desktop');
  await page.setViewportSize(PHONE);
  await page.getByLabel('3', { exact: true }).check();
  await page.getByRole('button', { name: 'Save my answer' }).click();
  await page.getByText('Thank you — recorded.').first().waitFor();
  await page.getByText('Your pain now: 3 out of 10').waitFor();
  const walks = await patientApi.get('/me/sessions');
  const answered = walks.find((w) => w.id === walk.id);
  assert.ok(answered, `GET /me/sessions lists walk ${walk.id}`);
  assert.equal(answered.pain_after_2h, 3);
  assert.ok(answered.answered_at, 'the answer has a time');
  await screenshot(page, 'check-phone');
  step(`answered 3 on /app/checks/${walk.id}; the API shows pain_after_2h = 3`);

  // --- desktop width ---------------------------------------------------------------------------
  await page.setViewportSize(DESKTOP);
  await page.goto(`${base}/app/reminders`);
  await page.getByRole('button', { name: 'Turn off reminders' }).waitFor();
  assert.equal(await page.locator('#push-state').textContent(), 'On — this device receives reminders.');
  // The upcoming list holds only what will still come: the next morning's question (linked to
  // its page), not the check already sent nor the follow-up that was cancelled.
  const upcoming = page.locator('#upcoming-list li');
  await waitFor('the upcoming reminders list', async () => (await upcoming.count()) === 1);
  assert.equal(
    await upcoming.filter({ hasText: 'How is your pain this morning?' }).getByRole('link').getAttribute('href'),
    `/app/checks/${walk.id}?check=morning`
  );
  await upcoming.getByText('Status: Planned').waitFor();
  await screenshot(page, 'reminders-desktop');
  await page.goto(`${base}/app/checks/${walk.id}`);
  await page.getByText('You already answered: 3 out of 10').waitFor();
  await screenshot(page, 'check-desktop');
  step(`desktop screenshots taken; upcoming lists only the next-morning check (planned, linked)`);

  // --- nothing more reaches the push service -----------------------------------------------------
  await sleep(1_500);
  assert.equal((await pushSub.messages()).length, 1, 'web-push-testing holds exactly one message');
  const reminders = await patientApi.get('/me/reminders');
  const byKind = Object.fromEntries(reminders.map((r) => [r.kind, r.state]));
  assert.deepEqual(byKind, { two_hour_check: 'sent', two_hour_follow_up: 'cancelled', next_morning_check: 'pending' });
  step('still exactly one message at the push service; the follow-up is cancelled');

  // --- and off again ---------------------------------------------------------------------------
  await page.goto(`${base}/app/reminders`);
  await page.getByRole('button', { name: 'Turn off reminders' }).click();
  await page.getByText('Reminders are off on this device.').waitFor();
  assert.equal(await page.locator('#push-state').textContent(), 'Off — this device receives no reminders.');
  await page.getByRole('button', { name: 'Turn on reminders' }).waitFor();
  assert.equal((await page.evaluate(() => window.__stepwisePushStub)).unsubscribe, 1, 'the page unsubscribed');
  assert.deepEqual(await patientApi.get('/push/subscriptions'), [], 'the server forgot the subscription');
  step('turned off: the server forgot the subscription and the browser unsubscribed');

  // --- the pages along the way --------------------------------------------------------------------
  // Expected: /api/v1/me before signing in (401); the browser's /favicon.ico is always allowed.
  page.assertClean(['401 GET /api/v1/me']);
  step('no uncaught errors, no CSP refusals, no console errors, no failed requests but the expected 401 and favicon');
});
