#!/usr/bin/env node
// "Import from your phone" in a real browser, against the real server (which reads the export
// on its real clock: only the last 89 days are kept):
//
//   (a) On a phone, the patient signs in on the band page and follows "No band to pair? Import
//       from your phone" to /app/import (also in the navigation). Import without a file asks
//       for one, and with an empty file for the export itself, next to the field.
//   (b) They choose an Apple Health export.xml made here, in the layout of
//       crates/stepwise-imports/tests/fixtures/apple_health/export.xml, dated relative to now:
//       one-minute step records on the three days before today (400, 550 and 700 steps), one
//       night of core sleep (7.5 h), and one record from 120 days ago. The page says
//       Uploading…, then Reading…, then the summary in words (days and their dates, the exact
//       step total, minutes, the night, the device), focused, and what was left out (the old
//       minute, "Stepwise keeps the last 89 days"); the server's import says the same.
//       "Earlier imports" lists it. axe-core finds no serious or critical violation.
//   (c) A text file is refused by the server in one line, which the page shows as it is.
//   (d) Each app's steps open from the keyboard; at 200% text on a phone the page does not
//       scroll sideways and every control is at least 44 px tall.
//   (e) The therapist opens the patient's page: the Imports card lists both imports in the same
//       words, and uploads the same export for the patient, zipped as Apple Health zips it
//       (apple_health_export/export.xml): it finishes done with the same summary.
// Screenshots: import-band-link, import-page, import-summary, import-error, import-steps,
// import-staff (target/screenshots).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { ROOT, checkAccessibility, login, run, screenshot, signIn, signUpPatient, signUpTherapist, step } from './harness.mjs';

const DAY = 24 * 3600 * 1000;
const ZONE = 'Europe/Berlin';
const DEVICE = 'Pat’s Apple Watch';
/** Steps of each minute, ten minutes a day, on the days 3, 2 and 1 before today. */
const PER_MINUTE = { 3: 40, 2: 55, 1: 70 };
const STEPS = Object.values(PER_MINUTE).reduce((sum, n) => sum + 10 * n, 0); // 1650

/** The local date ("YYYY-MM-DD") in the patient's zone `daysAgo` days before now. */
function dateAgo(daysAgo) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(Date.now() - daysAgo * DAY)
  );
}

/** "2 March" (and the year when asked) of a local date, as the page writes it in en-GB. */
function dayWords(date, withYear) {
  const [y, m, d] = date.split('-').map(Number);
  const options = { day: 'numeric', month: 'long', timeZone: 'UTC', ...(withYear ? { year: 'numeric' } : {}) };
  return new Intl.DateTimeFormat('en-GB', options).format(new Date(Date.UTC(y, m - 1, d)));
}

/** A step record of one minute, from `date` `hh:mm` (+0100), as Apple writes it. */
function stepRecord(date, hh, mm, value) {
  const time = (m) => `${date} ${hh}:${String(m).padStart(2, '0')}:00 +0100`;
  return (
    ` <Record type="HKQuantityTypeIdentifierStepCount" sourceName="${DEVICE}" sourceVersion="10.3" ` +
    `device="&lt;&lt;HKDevice: 0x2826f1a${String(mm).padStart(2, '0')}&gt;, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,1, software:10.3&gt;" ` +
    `unit="count" creationDate="${time(mm + 1)}" startDate="${time(mm)}" endDate="${time(mm + 1)}" value="${value}"/>`
  );
}

/**
 * An Apple Health export.xml: the fixture's XML declaration and DOCTYPE as they are, then
 * HealthData, ExportDate, Me and the records.
 */
function appleHealthExport() {
  const fixture = fs.readFileSync(path.join(ROOT, 'crates/stepwise-imports/tests/fixtures/apple_health/export.xml'), 'utf8');
  const prolog = fixture.slice(0, fixture.indexOf(']>') + 2);
  const records = [];
  for (const [ago, value] of Object.entries(PER_MINUTE)) {
    for (let m = 0; m < 10; m += 1) records.push(stepRecord(dateAgo(Number(ago)), '10', m, value));
  }
  // A night from the evening two days ago to yesterday morning: 23:00 to 06:30, core sleep.
  const evening = `${dateAgo(2)} 23:00:00 +0100`;
  const morning = `${dateAgo(1)} 06:30:00 +0100`;
  records.push(
    ` <Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="${DEVICE}" sourceVersion="10.3" ` +
      `creationDate="${dateAgo(1)} 06:35:00 +0100" startDate="${evening}" endDate="${morning}" value="HKCategoryValueSleepAnalysisAsleepCore"/>`
  );
  // Older than the 89 days the server keeps: left out.
  records.push(stepRecord(dateAgo(120), '09', 0, 77));
  return Buffer.from(
    [
      prolog,
      '<HealthData locale="de_DE">',
      ` <ExportDate value="${dateAgo(0)} 09:00:00 +0100"/>`,
      ' <Me HKCharacteristicTypeIdentifierDateOfBirth="" HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexNotSet" ' +
        'HKCharacteristicTypeIdentifierBloodType="HKBloodTypeNotSet" HKCharacteristicTypeIdentifierFitzpatrickSkinType="HKFitzpatrickSkinTypeNotSet" ' +
        'HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse="None"/>',
      ...records,
      '</HealthData>',
      '',
    ].join('\n'),
    'utf8'
  );
}

/** A zip holding `data` as `name` (deflated), as a phone's archiver writes one. */
function zip(name, data) {
  const nameBytes = Buffer.from(name, 'utf8');
  const packed = zlib.deflateRawSync(data);
  const crc = zlib.crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4); // version needed
  local.writeUInt16LE(0x0800, 6); // UTF-8 names
  local.writeUInt16LE(8, 8); // deflate
  local.writeUInt16LE(0, 10); // time
  local.writeUInt16LE(0x5c21, 12); // date: 2026-01-01
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(packed.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  local.writeUInt16LE(0, 28);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(0x0800, 8);
  central.writeUInt16LE(8, 10);
  central.writeUInt16LE(0, 12);
  central.writeUInt16LE(0x5c21, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(packed.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  // extra, comment, disk, internal and external attributes, offset 0: all zero
  const centralOffset = local.length + nameBytes.length + packed.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBytes.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, nameBytes, packed, central, nameBytes, end]);
}

/** The texts #import-status shows, recorded as they change (the page is not changed). */
async function recordStatus(page) {
  await page.evaluate(() => {
    const status = document.getElementById('import-status');
    const seen = [];
    Object.defineProperty(window, '__importStatus', { value: seen, configurable: true });
    new MutationObserver(() => seen.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
  });
}

await run('import', async ({ base, admin, newPage }) => {
  const adminApi = await login(base, admin.email, admin.password);
  const tess = await signUpTherapist(adminApi, 'tess@riverside.example', 'Tess Therapist');
  const pat = await signUpPatient(adminApi, tess.id, ZONE, 'pat@example.org', 'Pat Patient');
  const patApi = await login(base, pat.email, pat.password);

  const exportXml = appleHealthExport();
  const [first, last] = [dateAgo(3), dateAgo(1)];
  const years = first.slice(0, 4) !== last.slice(0, 4);
  const summary =
    `Imported from Apple Health: 3 days (${dayWords(first, years)} to ${dayWords(last, years)}), ` +
    `1,650 steps in 30 minutes, 1 night of sleep (7.5 h), from ${DEVICE}.`;
  const leftOut = /^Left out: 1 minute from before \d{1,2} [A-Z][a-z]+ — Stepwise keeps the last 89 days\.$/;
  assert.equal(STEPS, 1650);
  step(`an Apple Health export.xml of ${exportXml.length} bytes: ${first} to ${last}, ${STEPS} steps, one night`);

  // --- (a) from the band page to /app/import ----------------------------------------------------
  const page = await newPage({ viewport: 'phone' });
  await page.goto(`${base}/app/band`);
  await page.getByLabel('E-mail address').fill(pat.email);
  await page.getByLabel('Password').fill(pat.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Pair a band' }).waitFor();
  const bandLink = page.getByRole('link', { name: 'No band to pair? Import from your phone' });
  await bandLink.waitFor();
  await screenshot(page, 'band-link');
  await bandLink.click();
  await page.waitForURL(`${base}/app/import`);
  await page.getByRole('heading', { name: 'Import from your phone', level: 1 }).waitFor();
  await page.getByText('Nothing imported yet.').waitFor();
  const nav = page.getByRole('navigation', { name: 'Main' });
  assert.equal(await nav.getByRole('link', { name: 'Import', exact: true }).getAttribute('aria-current'), 'page');
  await screenshot(page, 'page');

  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.getByText('Choose the export file first.').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'import-file', 'the file field takes focus');
  await page.getByLabel('Export file').setInputFiles({ name: 'export.zip', mimeType: 'application/zip', buffer: Buffer.alloc(0) });
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.getByText('This file is empty: choose the export itself.').waitFor();
  step('(a) /app/import reached from the band page; the navigation marks it; Import without a file, or with an empty one, asks for the export');

  // --- (b) the Apple Health export ---------------------------------------------------------------
  await recordStatus(page);
  await page.getByLabel('Export file').setInputFiles({ name: 'export.xml', mimeType: 'text/xml', buffer: exportXml });
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  const result = page.locator('#import-result');
  await result.locator('.import-summary').waitFor({ timeout: 30_000 });
  assert.equal(await result.locator('.import-summary').textContent(), summary);
  assert.match(await result.locator('.import-left-out').textContent(), leftOut);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'import-result', 'the outcome takes focus');
  assert.equal(await page.locator('#import-status').textContent(), 'The import is finished.');
  assert.equal(await page.locator('#import-progress').isHidden(), true);
  const said = await page.evaluate(() => window.__importStatus);
  assert.ok(said.some((t) => /^Uploading… \d+%/.test(t)), `the upload's progress was shown: ${JSON.stringify(said)}`);
  assert.ok(said.includes('Reading… 0%'), `then the reading: ${JSON.stringify(said)}`);
  assert.equal(said[said.length - 1], 'The import is finished.');
  step(`(b) the page said ${JSON.stringify([...new Set(said)])}`);

  const [stored] = await patApi.get('/me/imports');
  assert.equal(stored.state, 'done');
  assert.equal(stored.format, 'apple-health');
  assert.equal(stored.file_name, 'export.xml');
  assert.equal(stored.size_bytes, exportXml.length);
  assert.deepEqual(
    { days: stored.summary.days, minutes: stored.summary.minutes, steps: stored.summary.steps, nights: stored.summary.nights },
    { days: 3, minutes: 30, steps: STEPS, nights: 1 }
  );
  assert.equal(stored.summary.sleep_minutes, 450);
  assert.deepEqual(stored.summary.devices, [DEVICE]);
  assert.equal(stored.summary.left_out.minutes_too_old, 1);
  assert.equal(stored.summary.left_out.steps_too_old, 77);

  const earlier = page.locator('#import-list li');
  assert.equal(await earlier.count(), 1);
  assert.equal(await earlier.locator('.title').textContent(), 'export.xml');
  assert.match(await earlier.locator('.when').textContent(), /^Uploaded .+ · \d+(\.\d)? KB · done$/);
  assert.equal(await earlier.locator('.state').textContent(), `${summary} ${await result.locator('.import-left-out').textContent()}`);
  await checkAccessibility(page, '/app/import with a finished import');
  await screenshot(page, 'summary');
  step(`(b) "${summary}" shown, focused, listed; the server's import ${stored.id} says the same`);

  // --- (c) a file that is no export --------------------------------------------------------------
  await page.getByLabel('Export file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Shopping: milk, bread, apples\n') });
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await result.locator('.import-failed').waitFor({ timeout: 30_000 });
  const [refused] = await patApi.get('/me/imports');
  assert.equal(refused.state, 'failed');
  assert.equal(refused.file_name, 'notes.txt');
  assert.ok(refused.error && !refused.error.includes('\n'), `one line: ${refused.error}`);
  assert.equal(await result.locator('.import-failed').textContent(), `Not imported: ${refused.error}`);
  assert.equal(await page.locator('#import-status').textContent(), 'The file could not be imported.');
  assert.equal(await earlier.count(), 2);
  assert.equal(await earlier.first().locator('.state').textContent(), `Not imported: ${refused.error}`);
  await screenshot(page, 'error');
  step(`(c) a text file: "Not imported: ${refused.error}"`);

  // --- (d) the apps' steps from the keyboard; large text on a phone ------------------------------
  const fitbit = page.locator('summary', { hasText: 'Fitbit (Google Takeout)' });
  await fitbit.focus();
  await page.keyboard.press('Enter');
  await page.getByText('takeout.google.com').waitFor();
  await page.locator('summary', { hasText: 'Apple Health (iPhone)' }).click();
  await page.getByText('Export All Health Data').waitFor();
  await page.locator('summary', { hasText: 'Gadgetbridge (Android)' }).click();
  await page.getByText('Data management').waitFor();
  await screenshot(page, 'steps');
  const small = await page.evaluate(() =>
    [...document.querySelectorAll('a[href], button, input:not([type=radio]):not([type=checkbox]), select, textarea, summary')]
      .filter((n) => n.offsetParent !== null && n.getBoundingClientRect().height < 44)
      .map((n) => `${n.tagName.toLowerCase()} "${n.textContent.trim().slice(0, 30)}" ${n.getBoundingClientRect().height.toFixed(0)}px`)
  );
  assert.deepEqual(small, [], '/app/import: controls under 44 px tall');
  const overflow = await page.evaluate(() => {
    document.documentElement.style.fontSize = '200%';
    const wide = [...document.querySelectorAll('body *')].filter((n) => n.getBoundingClientRect().right > innerWidth + 1 && n.offsetParent !== null);
    return { scroll: document.documentElement.scrollWidth - innerWidth, wide: wide.slice(0, 3).map((n) => n.tagName + '#' + n.id + '.' + n.className) };
  });
  assert.ok(overflow.scroll <= 0, `/app/import at 200% text scrolls sideways by ${overflow.scroll}px: ${overflow.wide.join(', ')}`);
  page.assertClean(['401 GET /api/v1/me']);
  step("(d) each app's steps open (Enter on a summary too); at 200% text the page fits 390 px; controls are 44 px tall");

  // --- (e) the care team: the Imports card, and an upload for the patient ------------------------
  const desk = await newPage({ viewport: 'desktop' });
  await signIn(desk, `${base}/app/patient/${pat.id}`, tess);
  // The watch the export named is listed with the bands, as imported: no sync, no Remove.
  const watch = desk.locator('#band-list li').filter({ hasText: DEVICE });
  await watch.waitFor();
  assert.match(await watch.textContent(), /First imported .* · apple-health/);
  assert.equal(await watch.getByRole('button', { name: /Remove/ }).count(), 0);
  const card = desk.getByRole('region', { name: 'Imports' });
  const items = card.locator('#import-list li');
  await items.nth(1).waitFor();
  assert.equal(await items.count(), 2);
  assert.equal(await items.nth(0).locator('.state').textContent(), `Not imported: ${refused.error}`);
  assert.match(await items.nth(1).locator('.state').textContent(), new RegExp(`^${summary.replace(/[.()]/g, '\\$&')} Left out: `));
  const zipped = zip('apple_health_export/export.xml', exportXml);
  await card.getByLabel('Upload an export for this patient').setInputFiles({ name: 'export.zip', mimeType: 'application/zip', buffer: zipped });
  await card.getByRole('button', { name: 'Upload and import' }).click();
  await card.locator('#import-result .import-summary').waitFor({ timeout: 30_000 });
  assert.equal(await card.locator('#import-result .import-summary').textContent(), summary);
  await items.nth(2).waitFor();
  assert.equal(await items.first().locator('.title').textContent(), 'export.zip');
  const [again] = await patApi.get('/me/imports');
  assert.equal(again.state, 'done');
  assert.equal(again.uploaded_by, tess.id);
  assert.equal(again.summary.steps, STEPS);
  assert.equal(again.summary.nights, 1);
  await card.scrollIntoViewIfNeeded();
  await screenshot(desk, 'staff');
  desk.assertClean(['401 GET /api/v1/me']);
  step(`(e) the therapist sees both imports and uploads export.zip for the patient: done, "${summary}"`);
});
