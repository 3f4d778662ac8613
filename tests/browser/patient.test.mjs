#!/usr/bin/env node
// The patient side of the web app in a real browser (headless Chromium against the real
// `stepwise serve`; tests/browser/harness.mjs starts them):
//
//   1. A therapist sets a patient's starting plan and changes it once (API, from Node), so the
//      history has something to draw.
//   2. At /app the patient signs in and lands on /app/today, which shows the plan.
//   (a) The walk timer runs, "Stop now" opens the log form filled in; the patient taps pain,
//       effort and rest type and saves: GET /me/sessions has exactly that walk.
//   (b) Offline: with the service worker controlling the page, the browser goes offline; a walk
//       logged then is kept on the phone (the page says so) and nothing reaches the server; the
//       page also reloads offline (from the service worker's app shell). Back online, the queue
//       is sent: the server has exactly one such walk; after a reload still one; and re-sending
//       the same queued walk again (as after a crash between sending and forgetting it) still
//       leaves one.
//   3. An open two-hour check is linked from today and opens the check page (with the shared
//      navigation); a flare, a band pairing code (with its command), reminder times saved through the form.
//   (c) Screenshots of today, flare, history, band and reminders at phone and desktop widths.
//   4. A shared phone: a walk Pat left unsent waits through Robin's sign-in (never sent into
//      Robin's account) and goes to Pat's account when Pat signs in again.
//   (d) Cold loads of /app/today measured (first contentful paint, bytes transferred) and
//       printed as figures, not judged on time (a shared CI machine's load decides timings);
//       every load must stay under 100 KB.
//   (e) My progress: this week at a glance and the pain chart, chart text at least 12 px.
//   (f) At 200% text on a phone no patient page scrolls sideways; every control is 44 px tall.
//   (g) The last walk is corrected, then withdrawn, from Today.
// Screenshots: patient-<page>-<phone|desktop>.png in target/screenshots.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { DESKTOP, PHONE, login, measure, run, screenshot, signUpPatient, signUpTherapist, step, waitFor } from './harness.mjs';

const BYTES_LIMIT = 100 * 1024;

/** The text of the focused confirmation, asserting it is in view (not above the screen). */
async function confirmationInView(page) {
  const seen = await page.evaluate(() => {
    const el = document.activeElement;
    const box = el.getBoundingClientRect();
    return { confirmation: el.classList.contains('confirmation'), inView: box.top >= 0 && box.bottom <= window.innerHeight, text: el.textContent };
  });
  assert.ok(seen.confirmation && seen.inView, `the confirmation has the focus and is in view: ${JSON.stringify(seen)}`);
  return seen.text;
}

await run('patient', async ({ base, admin, newPage }) => {
  const adminApi = await login(base, admin.email, admin.password);
  const tess = await signUpTherapist(adminApi, 'tess@riverside.example', 'Tess Therapist');
  const pat = await signUpPatient(adminApi, tess.id, 'Europe/Berlin', 'pat@example.org', 'Pat Patient');
  const patApi = await login(base, pat.email, pat.password);
  const tessApi = await login(base, tess.email, tess.password);
  await tessApi.post(`/patients/${pat.id}/baseline`, { tolerance_walks_s: [600, 540, 660] });
  await tessApi.post(`/patients/${pat.id}/plan`, {
    interval_s: 420,
    bouts: 3,
    rest_s: 60,
    reason: 'A little shorter to start, so walks stay comfortable.',
  });
  step(`patient ${pat.id} with a baseline and one change by the therapist`);

  // --- sign in at /app, land on today -------------------------------------------------------
  const page = await newPage({ viewport: 'phone' });
  await page.goto(`${base}/app`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('E-mail address').fill(pat.email);
  await page.getByLabel('Password').fill(pat.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/app/today`);
  await page.getByRole('heading', { name: 'Your walk' }).waitFor();
  assert.equal(await page.locator('#plan-interval').textContent(), '7 min');
  assert.equal(await page.locator('#plan-bouts').textContent(), '3 times');
  assert.equal(await page.locator('#plan-rest').textContent(), '1 min');
  await page.getByText('This week: 0 of').waitFor();
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const name of ['Today', 'My progress', 'Flare', 'Reminders', 'Band']) {
    await nav.getByRole('link', { name, exact: true }).waitFor();
  }
  assert.equal(await nav.getByRole('link', { name: 'Today' }).getAttribute('aria-current'), 'page');
  step('signed in at /app, sent on to /app/today: 7 minutes, 3 times, 1 minute rest');

  // --- (a) the timer, then the log form ------------------------------------------------------
  await page.getByRole('button', { name: 'Start walking' }).click();
  await page.locator('#timer-phase').getByText('Walk 1 of 3: walking').waitFor();
  await page.getByRole('button', { name: 'Stop now' }).waitFor();
  await screenshot(page, 'today-timer-phone');
  await page.waitForTimeout(1_400);
  await page.getByRole('button', { name: 'Stop now' }).click();
  await page.getByRole('heading', { name: 'Log your walk' }).waitFor();
  // The form is what the person sees next, and its heading has the focus.
  const inView = await page.locator('#log-title').evaluate((h) => {
    const box = h.getBoundingClientRect();
    return box.top >= 0 && box.bottom <= window.innerHeight && document.activeElement === h;
  });
  assert.ok(inView, 'after "Stop now" the log form is in view and focused');
  assert.equal(await page.getByLabel('Walks (bouts)').inputValue(), '1');
  const form = page.locator('#log-form');
  await form.getByRole('group', { name: 'Pain before you started' }).getByLabel('2', { exact: true }).check();
  // Without the pain while walking the walk is not saved: the form asks for it (0 = no pain).
  await page.getByRole('button', { name: 'Save my walk' }).click();
  await page.getByText('Please choose your highest pain while walking (0 if there was no pain).').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.name), 'pain_during_max');
  await form.getByRole('group', { name: 'Highest pain while walking' }).getByLabel('4', { exact: true }).check();
  await form.getByRole('group', { name: 'How hard did it feel?' }).getByLabel('5', { exact: true }).check();
  await form.getByLabel('Bent forward').check();
  await screenshot(page, 'today-log-phone');
  await page.getByRole('button', { name: 'Save my walk' }).click();
  await page.getByText('Your walk is saved. Thank you!').waitFor();
  assert.equal(await confirmationInView(page), 'Your walk is saved. Thank you!');
  await page.getByText('This week: 1 of').waitFor();
  let walks = await patApi.get('/me/sessions');
  assert.equal(walks.length, 1, `one walk stored, got ${JSON.stringify(walks)}`);
  const timed = walks[0];
  assert.equal(timed.pain_before, 2);
  assert.equal(timed.pain_during_max, 4);
  assert.equal(timed.effort, 5);
  assert.equal(timed.rest_type, 'bend_forward');
  assert.equal(timed.bouts, 1);
  assert.ok(timed.walked_s >= 1 && timed.walked_s <= 3, `walked_s ${timed.walked_s} from the timer`);
  step(`(a) timer walk logged through the page: walk ${timed.id}, walked_s ${timed.walked_s}, shown in GET /me/sessions`);

  // Its two-hour check is not open yet: the page says when it opens (local time), no question.
  const early = await newPage({ viewport: 'phone' });
  await early.context().addCookies(await page.context().cookies());
  await early.goto(`${base}/app/checks/${timed.id}`);
  const opens = new Date(timed.two_hour_check_opens_at);
  const hhmm = new Intl.DateTimeFormat('en-GB', { hour: 'numeric', minute: '2-digit', timeZone: 'Europe/Berlin' }).format(opens);
  // After 22:15 in Berlin the check opens tomorrow, and the page names the day too.
  await early.getByText(new RegExp(`^This check opens (on [^.]+ )?at ${hhmm}\\.`)).waitFor();
  assert.equal(await early.locator('#check-form').isHidden(), true, 'no question before the check opens');
  await screenshot(early, 'check-not-open-phone');
  await early.close();
  step(`(a) the check page says the two-hour check opens at ${hhmm}`);

  // --- (b) offline -------------------------------------------------------------------------------
  await waitFor('the service worker to control the page and keep the app shell', () =>
    page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) return false;
      // The cache is named after the build (sw.js): whichever shell cache there is.
      const name = (await caches.keys()).find((n) => n.startsWith('stepwise-shell-'));
      if (!name) return false;
      const cache = await caches.open(name);
      const kept = await Promise.all(['/app/today', '/today.js', '/common.js', '/walklog.js', '/app.css', '/app/offline'].map((p) => cache.match(p)));
      return kept.every(Boolean);
    })
  );
  const context = page.context();
  await context.setOffline(true);
  await page.getByRole('button', { name: 'Log a walk without the timer' }).click();
  await page.getByRole('heading', { name: 'Log your walk' }).waitFor();
  await form.getByRole('group', { name: 'Pain before you started' }).getByLabel('1', { exact: true }).check();
  await form.getByRole('group', { name: 'Highest pain while walking' }).getByLabel('3', { exact: true }).check();
  await form.getByRole('group', { name: 'How hard did it feel?' }).getByLabel('4', { exact: true }).check();
  await form.getByLabel('Sat down').check();
  await page.getByLabel('Notes (optional)').fill('Walked in the park while offline');
  await page.getByRole('button', { name: 'Save my walk' }).click();
  await page.getByText('Saved on this phone, will send when online.').waitFor();
  await page.getByText('1 walk is saved on this phone and will be sent when you are online.').waitFor();
  const queued = await page.evaluate(() => JSON.parse(localStorage.getItem('stepwise.outbox')));
  assert.equal(queued.length, 1, 'one walk in the outbox');
  const clientId = queued[0].body.client_id;
  assert.match(clientId, /^[0-9a-f-]{36}$/, 'a crypto.randomUUID() client_id');
  assert.equal((await patApi.get('/me/sessions')).length, 1, 'nothing reached the server while offline');
  step(`(b) offline: the walk waits on the phone (client_id ${clientId}); the server still has 1 walk`);

  // The page itself opens offline, from the service worker's copy.
  await page.reload();
  await page.getByRole('heading', { name: 'Your walk' }).waitFor();
  await page.getByText('You are offline: this is the plan this phone saw last.').waitFor();
  assert.equal(await page.locator('#plan-interval').textContent(), '7 min');
  await page.getByText('1 walk is saved on this phone').waitFor();
  await screenshot(page, 'today-offline-phone');
  step('(b) the today page reloads offline from the app shell, with the kept plan and the queued walk');

  // Every other patient page, offline, says what still works instead of the browser's error.
  for (const other of ['/app/history', '/app/reminders', '/app/band', '/app/checks/1']) {
    await page.goto(`${base}${other}`);
    await page.getByRole('heading', { name: 'You are offline' }).waitFor();
    await page.getByRole('link', { name: 'Today: the walk timer, and logging a walk' }).waitFor();
  }
  await screenshot(page, 'offline-phone');
  await page.goto(`${base}/app/today`);
  await page.getByRole('heading', { name: 'Your walk' }).waitFor();
  step('(b) offline, history, reminders, band and a check page show what still works');

  await context.setOffline(false);
  await page.getByText('Your saved walk has been sent.').waitFor();
  await waitFor('the outbox to empty', async () => (await page.evaluate(() => localStorage.getItem('stepwise.outbox'))) === '[]');
  const sameWalk = (list) => list.filter((w) => w.notes === 'Walked in the park while offline');
  walks = await patApi.get('/me/sessions');
  assert.equal(walks.length, 2, `two walks after syncing, got ${walks.length}`);
  assert.equal(sameWalk(walks).length, 1, 'exactly one offline walk');
  assert.equal(sameWalk(walks)[0].client_id, clientId);
  assert.equal(sameWalk(walks)[0].rest_type, 'sit');

  await page.reload();
  await page.getByText('This week: 2 of').waitFor();
  await page.waitForLoadState('networkidle');
  walks = await patApi.get('/me/sessions');
  assert.equal(walks.length, 2, 'still two walks after a reload');

  // As after a crash between the server storing it and the phone forgetting it: sent again.
  await page.evaluate((items) => localStorage.setItem('stepwise.outbox', JSON.stringify(items)), queued);
  await page.reload();
  await waitFor('the re-sent walk to leave the outbox', async () => (await page.evaluate(() => localStorage.getItem('stepwise.outbox'))) === '[]');
  walks = await patApi.get('/me/sessions');
  assert.equal(walks.length, 2, 'a walk sent twice is stored once');
  assert.equal(sameWalk(walks).length, 1);
  await page.getByText('This week: 2 of').waitFor();
  step('(b) back online: the queue synced; exactly one offline walk, also after a reload and a second send');

  // --- an open two-hour check is linked from today -------------------------------------------
  const endedAt = new Date(Date.now() - (2 * 60 + 5) * 60_000);
  const earlier = await patApi.post('/me/sessions', {
    client_id: randomUUID(),
    started_at: new Date(endedAt.getTime() - 20 * 60_000).toISOString(),
    ended_at: endedAt.toISOString(),
    walked_s: 900,
    bouts: 3,
  });
  await page.reload();
  const checkLink = page.getByRole('region', { name: 'How is your pain now?' }).getByRole('link');
  await checkLink.waitFor();
  assert.equal(await checkLink.getAttribute('href'), `/app/checks/${earlier.id}`);
  await screenshot(page, 'today-check-due-phone');
  await checkLink.click();
  await page.getByRole('heading', { name: 'Two-hour check' }).waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Today' }).waitFor();
  step(`today links the open two-hour check of walk ${earlier.id}; the check page has the shared navigation`);

  // --- flare, band, reminders ----------------------------------------------------------------
  await page.goto(`${base}/app/flare`);
  await page.getByRole('heading', { name: 'When your pain flares up' }).waitFor();
  await page.getByRole('group', { name: 'How bad is the pain?' }).getByLabel('6', { exact: true }).check();
  await page.getByLabel('Anything else? (optional)').fill('Stiff after gardening');
  await page.getByRole('button', { name: 'Report the flare' }).click();
  await page.getByText('Thank you. Your flare is reported').waitFor();
  assert.match(await confirmationInView(page), /^Thank you\. Your flare is reported/);
  step('flare reported through /app/flare');

  await page.goto(`${base}/app/band`);
  await page.getByRole('button', { name: 'Get a pairing code' }).click();
  await page.getByText('Your one-time code:').waitFor();
  const code = (await page.locator('#pair-code').textContent()).trim();
  assert.ok(code.length >= 4, `a code is shown: ${code}`);
  assert.equal(await page.locator('#pair-command').textContent(), `stepwise band pair --server ${base} --code ${code}`);
  await page.getByText('No band is paired yet.').waitFor();
  step(`band pairing code ${code} shown with its command`);

  // The collector exchanges the code (as `stepwise band pair` does); the band is listed, and
  // the patient removes it: it can no longer upload.
  const paired = await fetch(`${base}/api/v1/devices/pair`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code, device: { kind: 'mi-band-5', address: 'C8:0F:10:00:00:42', name: 'Mi Smart Band 5' } }),
  });
  assert.equal(paired.status, 201);
  const bandToken = (await paired.json()).token;
  await page.goto(`${base}/app/band`);
  const bandItem = page.locator('#devices-list li', { hasText: 'Mi Smart Band 5' });
  await bandItem.getByText(/not synced yet/).waitFor();
  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', { name: 'Remove Mi Smart Band 5' }).click();
  await page.getByText('Mi Smart Band 5 is removed: it can no longer upload.').waitFor();
  await bandItem.getByText(/removed .*: it can no longer upload/).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Remove Mi Smart Band 5' }).count(), 0);
  const refused = await fetch(`${base}/api/v1/samples`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${bandToken}` },
    body: JSON.stringify({ steps: [{ minute: new Date(Date.now() - 3600e3).toISOString().slice(0, 17) + '00Z', steps: 80 }] }),
  });
  assert.equal(refused.status, 401);
  assert.match((await refused.json()).error, /this band was removed/);
  step('band paired, listed, removed from /app/band; its token is refused');

  await page.goto(`${base}/app/reminders`);
  await page.getByRole('heading', { name: 'When to remind me to walk' }).waitFor();
  await page.getByLabel('Remind me when it is time to walk').check();
  await page.getByRole('button', { name: 'Add a time' }).click();
  await page.getByLabel('Time 1', { exact: true }).fill('09:30');
  await page.getByRole('button', { name: 'Add a time' }).click();
  await page.getByLabel('Time 2', { exact: true }).fill('16:00');
  for (const day of ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']) {
    await page.locator(`#set-day-${day}`).setChecked(['Mon', 'Wed', 'Fri'].includes(day));
  }
  await page.getByLabel('Use quiet hours').check();
  await page.getByLabel('Quiet from').fill('21:30');
  await page.getByLabel('Until').fill('07:30');
  await page.getByRole('button', { name: 'Save reminder times' }).click();
  await page.getByText('Your reminder times are saved.').waitFor();
  const settings = await patApi.get('/me/reminder-settings');
  assert.equal(settings.session_reminders, true);
  assert.deepEqual(settings.session_times, ['09:30', '16:00']);
  assert.deepEqual(settings.session_days, ['Mon', 'Wed', 'Fri']);
  assert.deepEqual(settings.quiet_hours, { start: '21:30', end: '07:30' });
  step('reminder times saved through the form: ' + JSON.stringify(settings.session_times));

  // --- (c) screenshots ------------------------------------------------------------------------
  const pages = {
    today: 'Your walk',
    flare: 'When your pain flares up',
    history: 'My progress',
    band: 'Pair a band',
    reminders: 'When to remind me to walk',
  };
  for (const [size, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    await page.setViewportSize(viewport);
    for (const [name, heading] of Object.entries(pages)) {
      await page.goto(`${base}/app/${name}`);
      await page.getByRole('heading', { name: heading }).waitFor();
      await page.waitForLoadState('networkidle');
      await screenshot(page, `${name}-${size}`);
    }
  }
  await page.goto(`${base}/app/history`);
  const chart = page.getByRole('img', { name: 'Walking interval over time' });
  await chart.waitFor();
  assert.equal(await page.locator('#chart-table tbody tr').count(), 2, 'two plan changes in the table');
  await page.getByText('Your therapist: A little shorter to start', { exact: false }).first().waitFor({ state: 'attached' });
  step('(c) screenshots of today, flare, history, band and reminders at 390x844 and 1280x800');

  // --- (e) My progress: this week at a glance and pain over time, on a phone -------------------
  await page.setViewportSize(PHONE);
  await page.goto(`${base}/app/history`);
  await page.getByRole('img', { name: 'Walking interval over time' }).waitFor();
  const today = await patApi.get('/me/today');
  const mine = await patApi.get('/me/sessions');
  const summary = (await page.locator('#week-summary').textContent()).trim();
  assert.ok(
    summary.startsWith(`You have done ${today.sessions_this_week} of the ${today.sessions_per_week} walks`) ||
      summary.startsWith(`You have done all ${today.sessions_per_week} walks`),
    summary
  );
  assert.equal(await page.locator('#week-days li').count(), 7, 'one entry per day of the week');
  // The walks fall on one local day or, near midnight in the patient's zone, on two.
  const walkedDays = await page.locator('#week-days li.walked').evaluateAll((days) =>
    days.map((d) => d.getAttribute('aria-label'))
  );
  assert.ok(walkedDays.length >= 1 && walkedDays.length <= 2, `days walked: ${walkedDays}`);
  for (const label of walkedDays) assert.match(label, /^\w+day: \d+ walks?$/);
  await page.getByRole('img', { name: 'Pain before each walk and two hours after, out of 10' }).waitFor();
  assert.equal(await page.locator('#pain-table tbody tr').count(), mine.length, 'one row per walk');
  assert.match(await page.locator('#week-checks').textContent(), /two-hour pain checks? /);
  const chartText = await page.evaluate(() =>
    Math.min(...[...document.querySelectorAll('svg.chart text')].map((t) => t.getBoundingClientRect().height))
  );
  assert.ok(chartText >= 12, `chart text is ${chartText}px tall`);
  step(`(e) My progress: "${summary}"; ${mine.length} walks in the pain chart; chart text ${chartText.toFixed(1)} px`);

  // --- (f) at 200% text on a phone no patient page scrolls sideways; every control is 44 px tall --
  await page.setViewportSize(PHONE);
  for (const name of ['today', 'history', 'flare', 'reminders', 'band', 'import', `checks/${timed.id}`, 'offline']) {
    await page.goto(`${base}/app/${name}`);
    await page.waitForLoadState('networkidle');
    const small = await page.evaluate(() =>
      [...document.querySelectorAll('a[href], button, input:not([type=radio]):not([type=checkbox]), select, textarea, summary, label.choice, label.scale-option')]
        .filter((n) => n.offsetParent !== null && n.getBoundingClientRect().height < 44)
        .map((n) => `${n.tagName.toLowerCase()} "${n.textContent.trim().slice(0, 30)}" ${n.getBoundingClientRect().height.toFixed(0)}px`)
    );
    assert.deepEqual(small, [], `/app/${name}: controls under 44 px tall`);
    const overflow = await page.evaluate(() => {
      document.documentElement.style.fontSize = '200%';
      const wide = [...document.querySelectorAll('body *')].filter((n) => n.getBoundingClientRect().right > innerWidth + 1 && n.offsetParent !== null);
      return { scroll: document.documentElement.scrollWidth - innerWidth, wide: wide.slice(0, 3).map((n) => n.tagName + '#' + n.id + '.' + n.className) };
    });
    assert.ok(overflow.scroll <= 0, `/app/${name} at 200% text scrolls sideways by ${overflow.scroll}px: ${overflow.wide.join(', ')}`);
  }
  step('(f) at 200% text on 390 px, today, my progress, flare, reminders, band, import, a check and the offline page fit the width; every control is at least 44 px tall');

  // --- (g) the last walk is corrected, then withdrawn, from Today ------------------------------
  await page.goto(`${base}/app/today`);
  const last = page.getByRole('region', { name: 'Your last walk' });
  await last.getByText('You can correct or withdraw it until').waitFor();
  await last.getByRole('button', { name: 'Correct it' }).click();
  await page.getByRole('heading', { name: 'Correct your walk' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'log-title', 'the form takes focus');
  assert.equal(await page.locator('#log-start').isDisabled(), true, 'its times stay as they were');
  await page.getByRole('group', { name: 'Highest pain while walking' }).getByLabel('4', { exact: true }).check();
  await page.getByRole('button', { name: 'Save the correction' }).click();
  await page.getByText('Your walk is corrected.').waitFor();
  assert.match(await confirmationInView(page), /^Your walk is corrected/);
  const corrected = (await patApi.get('/me/sessions')).find((w) => w.id === earlier.id);
  assert.equal(corrected.pain_during_max, 4);
  assert.equal(corrected.client_id, earlier.client_id);
  await last.getByRole('button', { name: 'Withdraw it' }).click();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'withdraw-question');
  await page.getByRole('button', { name: 'Yes, withdraw it' }).click();
  await page.getByText('Your walk is withdrawn.').waitFor();
  assert.match(await confirmationInView(page), /^Your walk is withdrawn/);
  assert.equal((await patApi.get('/me/sessions')).some((w) => w.id === earlier.id), false, 'a withdrawn walk is not listed');
  step(`(g) walk ${earlier.id} corrected (highest pain 4) and withdrawn from Today, each confirmed where the patient looks`);

  // --- (d) a cold load of the today page --------------------------------------------------------
  await page.setViewportSize(PHONE);
  // Five cold loads (each a new context: no service worker, no HTTP cache); the median is judged,
  // so one load slowed by other work on a shared machine does not decide it.
  const runs = [];
  for (let i = 0; i < 5; i += 1) {
    runs.push(await measure(page, `${base}/app/today`));
  }
  const median = (values) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const fcps = runs.map((r) => r.firstContentfulPaintMs);
  assert.ok(fcps.every((v) => v !== null), `every load painted: ${JSON.stringify(fcps)}`);
  const fcp = median(fcps);
  const bytes = Math.max(...runs.map((r) => r.transferredBytes));
  step(`(d) /app/today cold loads: ${JSON.stringify(runs)}`);
  console.log(
    `MEASURED /app/today (cold, loopback, 5 loads): first contentful paint median ${fcp} ms ` +
      `(all: ${fcps.join(', ')} ms); ${bytes} bytes transferred (largest) in ${runs[0].requests} requests`
  );
  assert.ok(bytes < BYTES_LIMIT, `${bytes} bytes < ${BYTES_LIMIT}`);

  // --- a shared phone: a walk left unsent by one person is never sent into another's account ----
  const robin = await signUpPatient(adminApi, tess.id, 'Europe/Berlin', 'robin@example.org', 'Robin Patient');
  const robinApi = await login(base, robin.email, robin.password);
  await page.goto(`${base}/app/today`);
  await page.getByRole('heading', { name: 'Your walk' }).waitFor();
  const left = { ...queued[0], body: { ...queued[0].body, client_id: randomUUID(), notes: 'Left on the phone by Pat' } };
  await page.evaluate((item) => localStorage.setItem('stepwise.outbox', JSON.stringify([item])), left);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('E-mail address').fill(robin.email);
  await page.getByLabel('Password').fill(robin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/app/today`);
  await page.getByText('This week: 0 of').waitFor();
  await page.waitForLoadState('networkidle');
  assert.deepEqual(await robinApi.get('/me/sessions'), [], "Pat's walk did not go into Robin's account");
  assert.equal(await page.locator('#queue-note').isHidden(), true, "Robin is not told about Pat's walk");
  assert.equal(JSON.parse(await page.evaluate(() => localStorage.getItem('stepwise.outbox'))).length, 1, "Pat's walk still waits");
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('E-mail address').fill(pat.email);
  await page.getByLabel('Password').fill(pat.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Your saved walk has been sent.').waitFor();
  walks = await patApi.get('/me/sessions');
  assert.equal(walks.filter((w) => w.notes === 'Left on the phone by Pat').length, 1, "Pat's walk reached Pat's account once");
  step("shared phone: Pat's unsent walk waited through Robin's sign-in and went to Pat's account");

  page.assertClean(['401 GET /api/v1/me', /^failed GET \/api\/v1\/[a-z/]+ \(net::ERR_INTERNET_DISCONNECTED\)$/, /^failed POST \/api\/v1\/me\/sessions \(net::ERR_INTERNET_DISCONNECTED\)$/]);
  step('no uncaught errors, no CSP refusals, no failed requests but the expected ones');
});
