#!/usr/bin/env node
// `stepwise demo` in a real browser: every page of the demo clinic shows its seeded data.
//
// The scenario starts no stack of its own (run(…, {stack: false})): it runs
// `STEPWISE_BIN demo --listen 127.0.0.1:0`, reads its standard output until the line
// "Stepwise demo is listening on http://…", and signs in through the real sign-in page /app
// (every demo password is "demo-password"), checking each page against the server's own answers
// (the API, read from Node as the same person):
//   (a) Margaret (patient, steady progress), at phone width: /app/today shows her plan (the
//       walk length the server has, this week's progress); /app/history ≥ 7 weekly decisions and
//       the SVG chart; /app/flare the form; /app/reminders her saved walk times; /app/band her
//       paired band; /app/import the upload form and her imports, as many as the server has.
//       Jonas (patient, flare in week 5): his history mentions a step back.
//   (b) Sam Patel (therapist): /app/patients lists the 5 patients, Robert first with
//       "Escalation open", all in the attention ranking's order (each row's items most urgent
//       first, in words; the pre-visit list ranked the same way); Robert's page (followed from the list's link) has weekly decisions
//       with reasons, the open escalation with its reasons, and its four chart images load
//       (naturalWidth > 0); /app/rules/{id} shows the rules, their history and a preview with
//       ≥ 1 week; /app/visits lists the upcoming visits, each with a "Printable report" link.
//   (c) Helen Carter (clinic admin): /app/clinic shows the therapist and the 5 patients; the
//       printable report /clinic/patients/{id}/report has 4 inline SVG charts.
// Every page must be clean (no uncaught errors, CSP refusals, console errors, failed requests)
// but for the one expected 401 GET /api/v1/me of the sign-in page, and accessible: axe-core
// (harness checkAccessibility, WCAG 2.1 A/AA) finds no serious or critical violation on any page
// visited, once it shows its data (the patients' pages at phone width, the staff pages and the
// report at desktop and phone width, the sign-in page at each). On Ctrl-C (SIGINT) the demo
// stops with status 0 and deletes its temporary database.
// Screenshots: demo-patient-<page>-phone.png, demo-<staff page>-<phone|desktop>.png.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

import { STEPWISE_BIN, checkAccessibility, login, run, screenshot, sleep, step, waitFor } from './harness.mjs';

const PASSWORD = 'demo-password';
const PEOPLE = {
  admin: 'admin@demo.stepwise',
  therapist: 'therapist@demo.stepwise',
  margaret: 'margaret@demo.stepwise',
  jonas: 'jonas@demo.stepwise',
};
const PATIENT_NAMES = ['Margaret Hughes', 'Jonas Weber', 'Priya Shah', 'Robert Miller', 'Aisha Okafor'];
/** The slow machine's allowance for one page to show its content. */
const PAGE_TIMEOUT_MS = 45_000;
/** The only failed request a clean page may have: the sign-in page asking who is signed in. */
const SIGN_IN_401 = '401 GET /api/v1/me';

/**
 * Starts `stepwise demo` on a free port and waits (up to two minutes: it seeds first) for its
 * "listening on" line. Returns {base, output(), stop()}; stop() sends SIGINT, waits for the exit
 * (SIGKILL after 20 s) and returns {code, signal}.
 */
async function startDemo() {
  const child = spawn(STEPWISE_BIN, ['demo', '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'info' },
  });
  // Whatever happens to this process (run()'s time limit, Ctrl-C), the demo does not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  let exited = null;
  const exit = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve((exited = { code, signal })));
    child.on('error', (error) => resolve((exited = { code: null, signal: null, error })));
  });
  const demo = {
    output: () => `--- stdout\n${stdout.slice(-8_000)}\n--- stderr\n${stderr.slice(-8_000)}`,
    stop: async () => {
      if (!exited) {
        child.kill('SIGINT');
        const done = await Promise.race([exit.then(() => true), sleep(20_000).then(() => false)]);
        if (!done) {
          child.kill('SIGKILL');
          await exit;
        }
      }
      process.off('exit', killOnExit);
      return exited;
    },
  };
  const base = await waitFor(
    'the demo to print "Stepwise demo is listening on …"',
    () => {
      if (exited) throw new Error(`stepwise demo exited (${JSON.stringify(exited)}):\n${demo.output()}`);
      const match = /^Stepwise demo is listening on (http:\/\/127\.0\.0\.1:\d+)\s*$/m.exec(stdout);
      return match && match[1];
    },
    { timeoutMs: 120_000, everyMs: 100 }
  ).catch(async (error) => {
    await demo.stop();
    throw error;
  });
  demo.base = base;
  return demo;
}

/** The viewport widths at which the sign-in page has been checked with axe (once each). */
const signInChecked = new Set();

/** Signs `email` in through the sign-in form of /app and waits to land on `home`. */
async function signIn(page, base, email, home) {
  page.setDefaultTimeout(PAGE_TIMEOUT_MS);
  await page.goto(`${base}/app`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  const width = page.viewportSize().width;
  if (!signInChecked.has(width)) {
    await checkAccessibility(page, `sign-in (${width} px)`);
    signInChecked.add(width);
  }
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}${home}`, { timeout: PAGE_TIMEOUT_MS });
}

/**
 * Opens `url`, runs `check(page)` (waits and assertions), saves a screenshot `name`, then checks
 * the page, showing its data, with axe-core (WCAG 2.1 A/AA; serious or critical fails).
 */
async function visit(page, url, name, check) {
  await page.goto(url);
  const result = await check(page);
  await screenshot(page, name);
  await checkAccessibility(page, name);
  return result;
}

/** The texts of the elements `locator` matches. */
const texts = (locator) => locator.evaluateAll((nodes) => nodes.map((n) => n.textContent.trim()));

/** The server's attention codes, most urgent first (docs/reports.md). */
const ATTENTION_ORDER = [
  'open_escalation',
  'flares',
  'pain_limit_breaches',
  'missed_two_hour_checks',
  'low_adherence',
  'band_silence',
  'rising_pain',
  'falling_adherence',
  'falling_sleep',
  'falling_steps',
  'acknowledged_escalation',
];

/** A patient's place in the ranking: their items' ranks, most urgent first, then "nothing". */
function attentionKey(items) {
  return [...items.map((a) => ATTENTION_ORDER.indexOf(a.code)).sort((a, b) => a - b), Infinity];
}

/** < 0 when `a` (a list of items) is more urgent than `b`, as the server ranks patients. */
function compareAttention(a, b) {
  const [x, y] = [attentionKey(a), attentionKey(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

/** What the today tile shows for a walk of `seconds`: whole or half minutes ('12 min', '6½ min'), seconds under half a minute ('25 s'). */
function shortDuration(seconds) {
  if (seconds < 30) return `${seconds} s`;
  const minutes = Math.round(seconds / 30) / 2;
  const whole = Math.trunc(minutes);
  return `${whole || ''}${minutes > whole ? '½' : ''}`.replace(/^$/, '0') + ' min';
}

await run(
  'demo',
  async ({ newPage, onFailure }) => {
    const demo = await startDemo();
    onFailure(() => console.error(`\n--- stepwise demo (last output)\n${demo.output()}`));
    try {
      const { base } = demo;
      step(`stepwise demo answers at ${base}`);
      const api = {};
      for (const [who, email] of Object.entries(PEOPLE)) api[who] = await login(base, email, PASSWORD);

      // --- (a) the patients, at phone width --------------------------------------------------
      const margaret = await newPage({ viewport: 'phone' });
      await signIn(margaret, base, PEOPLE.margaret, '/app/today');
      const today = await api.margaret.get('/me/today');
      await visit(margaret, `${base}/app/today`, 'patient-today-phone', async (page) => {
        await page.locator('#plan').waitFor({ state: 'visible' });
        await waitFor('the plan on today', async () => (await page.locator('#plan-interval').textContent()) !== '–');
        assert.equal(await page.locator('#plan-interval').textContent(), shortDuration(today.plan.interval_s), 'today shows her walk length');
        assert.equal(await page.locator('#plan-bouts').textContent(), `${today.plan.bouts} times`);
        assert.notEqual(today.plan.interval_s, 300, "Margaret's plan is her own, not the page's fallback of 5 minutes");
        assert.match(await page.locator('#week-progress').textContent(), new RegExp(`This week: ${today.sessions_this_week} of ${today.sessions_per_week}`));
      });
      step(`Margaret's today: walk for ${shortDuration(today.plan.interval_s)}, ${today.plan.bouts} times`);

      const history = await api.margaret.get('/me/history');
      const reviewCount = await visit(margaret, `${base}/app/history`, 'patient-history-phone', async (page) => {
        await page.locator('#reviews-list > li').nth(6).waitFor();
        const headings = await texts(page.locator('#reviews-list > li > h3'));
        assert.equal(headings.length, history.reviews.length, 'one entry per weekly review of the server');
        assert.ok(headings.every((h) => /^Week of .+: \S/.test(h)), `every review says its week and decision: ${headings.join(' | ')}`);
        assert.ok(headings.some((h) => /Walk a little longer/.test(h)), 'her steady progress shows as longer walks');
        const chart = page.locator('#chart svg.chart');
        await chart.waitFor({ state: 'visible' });
        assert.ok((await chart.locator('circle.dot').count()) >= 2, 'the chart has a point per change');
        const box = await chart.boundingBox();
        assert.ok(box && box.width > 100 && box.height > 50, `the chart is drawn (${JSON.stringify(box)})`);
        return headings.length;
      });
      step(`Margaret's history: ${reviewCount} weekly decisions and the chart`);

      await visit(margaret, `${base}/app/flare`, 'patient-flare-phone', async (page) => {
        await page.locator('#flare-form').waitFor({ state: 'visible' });
        assert.notEqual(await page.locator('#flare-start').inputValue(), '', 'the start is filled in with now');
        assert.equal(await page.locator('#flare-form input[name="pain"]').count(), 11, 'pain 0 to 10');
      });

      const settings = await api.margaret.get('/me/reminder-settings');
      assert.ok(settings.session_times.length >= 1, 'the demo saved walk times for Margaret');
      await visit(margaret, `${base}/app/reminders`, 'patient-reminders-phone', async (page) => {
        await page.locator('#settings').waitFor({ state: 'visible' });
        const times = await waitFor('her walk times in the form', async () => {
          const values = await page.locator('#set-times input[type="time"]').evaluateAll((inputs) => inputs.map((i) => i.value));
          return values.length ? values : false;
        });
        assert.deepEqual(times, settings.session_times.map((t) => t.slice(0, 5)), 'the form shows her saved walk times');
        assert.equal(await page.locator('#set-on').isChecked(), settings.session_reminders);
        await page.locator('#upcoming').waitFor({ state: 'visible' });
        step(`Margaret's reminders: ${times.join(', ')}; upcoming: ${(await texts(page.locator('#upcoming-list li'))).length}`);
      });

      const devices = await api.margaret.get('/me/devices');
      assert.ok(devices.length >= 1, 'the demo paired a band for Margaret');
      await visit(margaret, `${base}/app/band`, 'patient-band-phone', async (page) => {
        await page.locator('#devices-list li').first().waitFor();
        const listed = await page.locator('#devices-list').innerText();
        for (const device of devices) assert.ok(listed.includes(device.name || device.kind), `the band ${device.name} is listed: ${listed}`);
        assert.match(listed, /Paired /);
        assert.ok(await page.locator('#devices-empty').isHidden());
      });
      step(`Margaret's band: ${devices.map((d) => d.name).join(', ')}`);

      const imported = await api.margaret.get('/me/imports');
      await visit(margaret, `${base}/app/import`, 'patient-import-phone', async (page) => {
        await page.locator('#import-form').waitFor({ state: 'visible' });
        await page.getByLabel('Export file').waitFor();
        if (imported.length) await page.locator('#import-list li').first().waitFor();
        else await page.getByText('Nothing imported yet.').waitFor();
        assert.equal(await page.locator('#import-list li').count(), imported.length, 'one entry per import of the server');
      });
      step(`Margaret's imports: ${imported.length}`);
      margaret.assertClean([SIGN_IN_401]);

      const jonas = await newPage({ viewport: 'phone' });
      await signIn(jonas, base, PEOPLE.jonas, '/app/today');
      await visit(jonas, `${base}/app/history`, 'patient-history-jonas-phone', async (page) => {
        await page.locator('#reviews-list > li').first().waitFor();
        assert.match(await page.locator('#reviews-list').innerText(), /Step back a little/, "Jonas's flare stepped his walk back");
      });
      jonas.assertClean([SIGN_IN_401]);
      step("Jonas's history mentions the step back");

      // --- (b) the therapist, at desktop and phone width -------------------------------------
      const tessDesk = await newPage({ viewport: 'desktop' });
      const tessPhone = await newPage({ viewport: 'phone' });
      await signIn(tessDesk, base, PEOPLE.therapist, '/app/patients');
      await signIn(tessPhone, base, PEOPLE.therapist, '/app/patients');
      let robertId = null;
      for (const [page, size] of [[tessDesk, 'desktop'], [tessPhone, 'phone']]) {
        await visit(page, `${base}/app/patients`, `patients-${size}`, async (p) => {
          await p.locator('#patient-rows tr').nth(4).waitFor();
          const rows = await texts(p.locator('#patient-rows tr'));
          assert.equal(rows.length, 5, `five patients: ${rows.join(' | ')}`);
          for (const name of PATIENT_NAMES) assert.ok(rows.some((r) => r.includes(name)), `${name} is listed`);
          assert.match(rows[0], /Robert Miller[\s\S]*Escalation open/, 'Robert, escalated, comes first, in words');
          const href = await p.locator('#patient-rows tr').first().getByRole('link', { name: 'Robert Miller' }).getAttribute('href');
          const id = /^\/app\/patient\/(\d+)$/.exec(href);
          assert.ok(id, `the list links Robert's page (${href})`);
          robertId = id[1];
        });
      }
      step(`patients: 5, Robert (${robertId}) first with "Escalation open"`);

      // The attention ranking on the demo: the page lists the patients in the server's order,
      // which is the ranking (most urgent item first, then the next, then the name), every
      // row's items most urgent first with their reasons in words; the pre-visit list ranks its
      // patients the same way.
      const ranked = await api.therapist.get('/patients');
      for (let i = 1; i < ranked.length; i++) {
        const [a, b] = [ranked[i - 1], ranked[i]];
        const order = compareAttention(a.attention, b.attention) || a.patient.display_name.localeCompare(b.patient.display_name);
        assert.ok(order <= 0, `${a.patient.display_name} before ${b.patient.display_name}: ${JSON.stringify([a.attention, b.attention])}`);
      }
      for (const row of ranked) {
        const ranks = row.attention.map((a) => ATTENTION_ORDER.indexOf(a.code));
        assert.ok(ranks.every((r, i) => r >= 0 && (i === 0 || ranks[i - 1] <= r)), `${row.patient.display_name}'s items most urgent first`);
        assert.ok(row.attention.every((a) => a.message.length > 10), 'each item says why in words');
      }
      const shown = await texts(tessDesk.locator('#patient-rows tr th a'));
      assert.deepEqual(shown, ranked.map((r) => r.patient.display_name), 'the page keeps the ranking');
      const visitRows = await api.therapist.get('/clinic/visits?within_days=366');
      for (let i = 1; i < visitRows.length; i++) {
        assert.ok(compareAttention(visitRows[i - 1].attention, visitRows[i].attention) <= 0, 'the pre-visit list ranks the same way');
      }
      step(`attention ranking: ${ranked.map((r) => `${r.patient.display_name} [${r.attention.map((a) => a.code).join(', ') || 'nothing'}]`).join(' > ')}`);

      await tessDesk.locator('#patient-rows tr').first().getByRole('link', { name: 'Robert Miller' }).click();
      await tessDesk.waitForURL(`${base}/app/patient/${robertId}`);
      const robertReviews = await api.therapist.get(`/patients/${robertId}/reviews`);
      for (const [page, size] of [[tessDesk, 'desktop'], [tessPhone, 'phone']]) {
        await visit(page, `${base}/app/patient/${robertId}`, `patient-${size}`, async (p) => {
          await p.locator('#decision-list > li').first().waitFor();
          const decisions = p.locator('#decision-list > li');
          assert.equal(await decisions.count(), robertReviews.length, 'every weekly review is listed');
          assert.ok(robertReviews.length >= 7, `eight weeks of history: ${robertReviews.length} reviews`);
          const reasons = await decisions.evaluateAll((items) => items.map((li) => li.querySelectorAll('li').length));
          assert.ok(reasons.every((n) => n >= 1), `every decision shows its reasons (${reasons.join(', ')})`);
          await p.locator('#page-title', { hasText: 'Robert Miller' }).waitFor();
          await p.locator('#escalation').waitFor({ state: 'visible' });
          assert.match(await p.locator('#escalation-text').innerText(), /asked for a therapist/);
          assert.ok((await p.locator('#escalation-reasons li').count()) >= 1, 'the escalation says why');
          await p.getByRole('button', { name: 'Acknowledge escalation' }).waitFor();
          await p.locator('#charts img').nth(3).waitFor();
          const widths = await waitFor(
            'the four chart images to load',
            async () => {
              const w = await p.locator('#charts img').evaluateAll((imgs) => imgs.map((i) => (i.complete ? i.naturalWidth : 0)));
              return w.length === 4 && w.every((x) => x > 0) ? w : false;
            },
            { timeoutMs: PAGE_TIMEOUT_MS }
          );
          if (size === 'desktop') step(`Robert's page: ${robertReviews.length} decisions with reasons, escalation open, charts ${widths.join(', ')}`);
        });
      }

      for (const [page, size] of [[tessDesk, 'desktop'], [tessPhone, 'phone']]) {
        await visit(page, `${base}/app/rules/${robertId}`, `rules-${size}`, async (p) => {
          await p.locator('#content').waitFor({ state: 'visible' });
          await p.locator('#patient-name').getByText('Robert Miller', { exact: true }).waitFor();
          const fields = await p.locator('#rules-fields input').evaluateAll((inputs) => inputs.map((i) => i.value));
          assert.ok(fields.length >= 3 && fields.every((v) => v !== ''), `the rules are filled in (${fields.join(', ')})`);
          await p.locator('#history-list li').first().waitFor();
          await p.locator('#preview-rows tr').first().waitFor();
          await waitFor('the preview summary', async () => !/Loading/.test(await p.locator('#preview-state').innerText()));
          const weeks = await p.locator('#preview-rows tr').count();
          assert.ok(weeks >= 1, 'the preview replays at least one week');
          if (size === 'desktop') step(`rules: ${fields.length} fields, preview of ${weeks} weeks: ${await p.locator('#preview-state').innerText()}`);
        });
      }

      for (const [page, size] of [[tessDesk, 'desktop'], [tessPhone, 'phone']]) {
        await visit(page, `${base}/app/visits`, `visits-${size}`, async (p) => {
          await p.locator('#visit-rows tr').first().waitFor();
          const rows = p.locator('#visit-rows tr');
          const count = await rows.count();
          assert.ok(count >= 1, 'upcoming visits are listed');
          const hrefs = await rows.evaluateAll((trs) =>
            trs.map((tr) => [...tr.querySelectorAll('a')].filter((a) => a.textContent.trim() === 'Printable report').map((a) => a.getAttribute('href'))[0] || null)
          );
          assert.ok(hrefs.every((h) => /^\/clinic\/patients\/\d+\/report$/.test(h || '')), `every visit has a printable report link (${hrefs.join(', ')})`);
          if (size === 'desktop') step(`visits: ${count} rows, each with a printable report`);
        });
      }
      tessDesk.assertClean([SIGN_IN_401]);
      tessPhone.assertClean([SIGN_IN_401]);

      // --- (c) the clinic admin --------------------------------------------------------------
      const adminDesk = await newPage({ viewport: 'desktop' });
      const adminPhone = await newPage({ viewport: 'phone' });
      await signIn(adminDesk, base, PEOPLE.admin, '/app/clinic');
      await signIn(adminPhone, base, PEOPLE.admin, '/app/clinic');
      let reportHref = null;
      for (const [page, size] of [[adminDesk, 'desktop'], [adminPhone, 'phone']]) {
        await visit(page, `${base}/app/clinic`, `clinic-${size}`, async (p) => {
          await p.locator('#therapist-list li').first().waitFor();
          assert.match(await p.locator('#therapist-list').innerText(), /Sam Patel/);
          await p.locator('#patient-rows tr').nth(4).waitFor();
          const rows = await texts(p.locator('#patient-rows tr'));
          assert.equal(rows.length, 5, `five patients: ${rows.join(' | ')}`);
          for (const name of PATIENT_NAMES) assert.ok(rows.some((r) => r.includes(name)), `${name} is listed`);
          reportHref = await p
            .locator(`#patient-rows tr[data-patient-id="${robertId}"]`)
            .getByRole('link', { name: 'Printable report' })
            .getAttribute('href');
        });
      }
      assert.equal(reportHref, `/clinic/patients/${robertId}/report`);
      for (const [page, size] of [[adminDesk, 'desktop'], [adminPhone, 'phone']]) {
        await visit(page, `${base}${reportHref}`, `report-${size}`, async (p) => {
          await p.locator('figure svg').nth(3).waitFor();
          const boxes = await p.locator('figure svg').evaluateAll((svgs) => svgs.map((s) => Math.round(s.getBoundingClientRect().width)));
          assert.equal(boxes.length, 4, 'four inline SVG charts');
          assert.ok(boxes.every((w) => w > 0), `every chart is drawn with a width (${boxes.join(', ')})`);
          assert.match(await p.locator('body').innerText(), /Robert Miller/);
          if (size === 'desktop') step(`report: 4 inline SVG charts (${boxes.join(', ')} px wide)`);
        });
      }
      adminDesk.assertClean([SIGN_IN_401]);
      adminPhone.assertClean([SIGN_IN_401]);
    } finally {
      const exited = await demo.stop();
      step(`stepwise demo stopped: ${JSON.stringify(exited)}`);
    }
    const stopped = await demo.stop();
    assert.equal(stopped.code, 0, `the demo stops cleanly on SIGINT:\n${demo.output()}`);
    assert.match(demo.output(), /Deleted the demo database in /, 'the demo deletes its temporary database');
  },
  { stack: false, timeoutMs: 600_000 }
);
