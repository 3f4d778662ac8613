// A new patient's first steps, in a real browser, without the API:
//
//   (a) The clinic admin signs in on /app/patients and invites a patient for a therapist,
//       asking for it to be e-mailed too: the page shows the code, the join link and its QR code (an SVG, read back
//       from the screen by npm jsqr), and focuses the result; the e-mail (received by a real
//       SMTP server, aiosmtpd) holds the same link.
//   (b) On a phone, the patient opens the link: /app/join has the code filled in and has taken
//       it out of the address bar; they give their name, e-mail and a password, and land on
//       Today signed in. A used invite link then says so in words.
//   (c) The patient forgets their password. The therapist creates a reset code on the
//       patient's page (link and QR code again); the patient opens the link on the phone,
//       chooses a new password, is told to sign in with it and does; the old one fails.
//   (d) Forgotten again, the patient follows "Forgot your password?" from the sign-in page,
//       asks for a link by e-mail, opens the link from the e-mail, chooses a new password and
//       signs in with it.
//   (f) Signed in, the patient walks with the timer and logs their pain; the reminders page lists
//       the two-hour check to come; its page says when it opens (local time) and, kept open
//       until then (the browser's clock moved on), asks the question by itself; My progress
//       shows the week and the pain logged. From the invite to here, nothing goes through the
//       API: every step is a page.
//   (e) axe-core finds no serious or critical violation on /app/join and /app/reset; the first
//       Tab reaches the skip link;
//       screenshots of both at phone width.
import assert from 'node:assert/strict';

import jsQR from 'jsqr';
import { PNG } from 'pngjs';

import { run, step, signIn, signUpTherapist, login, screenshot, checkAccessibility, waitFor } from './harness.mjs';

/**
 * What the QR code in `svg` (a locator) says, read back from its pixels as drawn by the browser
 * by an independent decoder (npm jsqr).
 */
async function decodeQr(svg) {
  const png = PNG.sync.read(await svg.screenshot());
  const found = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  assert.ok(found, 'the QR code can be read');
  return found.data;
}

/** The handover shown in `container` (a locator): the code, the link and the QR's SVG. */
async function handover(container) {
  await container.waitFor({ state: 'visible' });
  const code = (await container.locator('output.code').textContent()).trim();
  const link = await container.locator('.handover-link a').getAttribute('href');
  const svg = container.locator('.qr svg');
  assert.equal(await svg.count(), 1, 'the QR code is shown');
  assert.equal(await svg.getAttribute('role'), 'img');
  const box = await svg.boundingBox();
  assert.ok(box && box.width >= 150, `the QR code is big enough to scan: ${JSON.stringify(box)}`);
  assert.equal(await decodeQr(svg), link, 'the QR code holds the link');
  return { code, link };
}

/** The one e-mail to `to` (waits up to 15 s for it). */
async function mailTo(stack, to) {
  return waitFor(`an e-mail to ${to}`, () => {
    const mails = stack.mail().filter((m) => m.to === to);
    return mails.length === 1 ? mails[0] : undefined;
  });
}

/** The first link to `page` in an e-mail's body. */
function linkIn(mail, page) {
  const match = new RegExp(`https?://\\S+${page}#code=[A-Z0-9-]+`).exec(mail.body);
  assert.ok(match, `a ${page} link in ${JSON.stringify(mail)}`);
  return match[0];
}

await run('join', async ({ base, admin, newPage, stack }) => {
  const adminApi = await login(base, admin.email, admin.password);
  await signUpTherapist(adminApi, 'tess@riverside.example', 'Tess Therapist');

  step('(a) the clinic admin invites a patient for Tess');
  const desk = await newPage({ viewport: 'desktop' });
  await signIn(desk, `${base}/app/patients`, admin);
  await desk.getByLabel('Therapist', { exact: true }).selectOption({ label: 'Tess Therapist' });
  await desk.locator('#invite-timezone').fill('Europe/Berlin');
  await desk.getByLabel('E-mail it to (optional)').fill('pat@example.org');
  await desk.getByRole('button', { name: 'Create invite code' }).click();
  const invite = await handover(desk.locator('#invite-result'));
  assert.equal(invite.link, `${base}/app/join#code=${invite.code}`);
  await desk.getByText('Invite created and e-mailed to pat@example.org.').waitFor();
  const invited = await mailTo(stack, 'pat@example.org');
  assert.equal(invited.subject, 'Riverside Physio invites you to Stepwise');
  assert.equal(linkIn(invited, '/app/join'), invite.link);
  const focused = await desk.evaluate(() => document.activeElement && document.activeElement.closest('#invite-result') !== null);
  assert.ok(focused, 'the result takes focus');
  await screenshot(desk, 'invite');

  step('(b) the patient joins through the link on a phone');
  const phone = await newPage({ viewport: 'phone' });
  await phone.goto(invite.link);
  assert.equal(await phone.locator('#join-code').inputValue(), invite.code);
  assert.ok(!phone.url().includes(invite.code), `the code left the address bar: ${phone.url()}`);
  await checkAccessibility(phone, 'join');
  // The first stop of the keyboard is a link past the navigation, to the content, shown when
  // it has the focus.
  const first = await phone.evaluate(() => {
    const el = document.querySelector('a[href], button, input, select, textarea, [tabindex]');
    return { text: el.textContent, href: el.getAttribute('href') };
  });
  assert.deepEqual(first, { text: 'Skip to the content', href: '#main' });
  await phone.locator('.skip-link').focus();
  const box = await phone.locator('.skip-link').boundingBox();
  assert.ok(box && box.y >= 0, `the focused skip link is on screen: ${JSON.stringify(box)}`);
  await screenshot(phone, 'join-page');
  const pat = { email: 'pat@example.org', name: 'Pat Patient', password: 'apple river window seven' };
  await phone.getByLabel('Your name').fill(pat.name);
  await phone.getByLabel('E-mail address').fill(pat.email);
  await phone.getByLabel('Choose a password').fill(pat.password);
  await phone.getByRole('button', { name: 'Create my account' }).click();
  await phone.waitForURL(`${base}/app/today`);
  await phone.getByRole('heading', { name: 'Your walk' }).waitFor();
  step('joined and on Today');

  const again = await newPage({ viewport: 'phone' });
  await again.goto(invite.link);
  await again.getByLabel('Your name').fill('Someone Else');
  await again.getByLabel('E-mail address').fill('else@example.org');
  await again.getByLabel('Choose a password').fill('another long password');
  await again.getByRole('button', { name: 'Create my account' }).click();
  await again.getByText('This invitation was already used or has expired').waitFor();
  again.assertClean(['410 POST /api/v1/invites/accept']);

  step('(c) a reset code from the care team');
  const me = await phone.evaluate(async () => (await fetch('/api/v1/me')).json());
  assert.equal(me.user.display_name, pat.name);
  const patientId = me.user.id;
  await desk.goto(`${base}/app/patient/${patientId}`);
  await desk.locator('#content').waitFor({ state: 'visible' });
  await desk.getByRole('button', { name: 'Create a password reset code' }).click();
  const reset = await handover(desk.locator('#reset-code-result'));
  assert.equal(reset.link, `${base}/app/reset#code=${reset.code}`);
  desk.assertClean(['401 GET /api/v1/me']);

  const later = await newPage({ viewport: 'phone' });
  await later.goto(reset.link);
  assert.equal(await later.locator('#reset-code').inputValue(), reset.code);
  assert.ok(!later.url().includes(reset.code), `the code left the address bar: ${later.url()}`);
  await checkAccessibility(later, 'reset');
  await screenshot(later, 'reset-page');
  const newPassword = 'quiet harbour lantern nine';
  await later.getByLabel('New password').fill(newPassword);
  await later.getByRole('button', { name: 'Save my new password' }).click();
  await later.getByText('Your new password is saved. Sign in with it now.').waitFor();
  await later.locator('#login-email').fill(pat.email);
  await later.locator('#login-password').fill(newPassword);
  await later.getByRole('button', { name: 'Sign in' }).click();
  await later.waitForURL(`${base}/app/today`);
  await later.getByRole('heading', { name: 'Your walk' }).waitFor();
  step('signed in with the new password');
  later.assertClean();

  // The phone that joined was signed out by the reset; the old password no longer works.
  await assert.rejects(login(base, pat.email, pat.password));
  phone.assertClean();

  step('(d) a reset link by e-mail');
  const forgot = await newPage({ viewport: 'phone' });
  await forgot.goto(`${base}/app`);
  await forgot.getByRole('link', { name: 'Forgot your password?' }).click();
  await forgot.waitForURL(`${base}/app/reset`);
  await forgot.locator('#by-email').waitFor({ state: 'visible' });
  await forgot.locator('#email-email').fill(pat.email);
  await forgot.getByRole('button', { name: 'E-mail me a link' }).click();
  await forgot.getByText('If this address has an account, an e-mail with a link is on its way.').waitFor();
  const resetMail = await waitFor('the reset e-mail', () => stack.mail().find((m) => m.subject === 'Choose a new Stepwise password'));
  assert.equal(resetMail.to, pat.email);
  const emailed = linkIn(resetMail, '/app/reset');
  assert.ok(emailed.startsWith(`${base}/app/reset#code=`), emailed);
  await forgot.goto(emailed);
  const lastPassword = 'copper meadow violin four';
  await forgot.getByLabel('New password').fill(lastPassword);
  await forgot.getByRole('button', { name: 'Save my new password' }).click();
  await forgot.getByText('Your new password is saved. Sign in with it now.').waitFor();
  await forgot.locator('#login-email').fill(pat.email);
  await forgot.locator('#login-password').fill(lastPassword);
  await forgot.getByRole('button', { name: 'Sign in' }).click();
  await forgot.waitForURL(`${base}/app/today`);
  await forgot.getByRole('heading', { name: 'Your walk' }).waitFor();
  forgot.assertClean(['401 GET /api/v1/me']);
  step('signed in with the password chosen from the e-mailed link');

  step('(f) the first walk, its check and the progress page');
  // The browser's clock is the test's from here, so "later" can come without waiting.
  await forgot.clock.install();
  await forgot.reload();
  await forgot.getByRole('button', { name: 'Start walking' }).click();
  await forgot.locator('#timer-phase').getByText('Walk 1 of').waitFor();
  await forgot.clock.runFor(90_000);
  await forgot.getByRole('button', { name: 'Stop now' }).click();
  await forgot.getByRole('heading', { name: 'Log your walk' }).waitFor();
  const log = forgot.locator('#log-form');
  await log.getByRole('group', { name: 'Pain before you started' }).getByLabel('3', { exact: true }).check();
  await log.getByRole('group', { name: 'Highest pain while walking' }).getByLabel('4', { exact: true }).check();
  await log.getByRole('group', { name: 'How hard did it feel?' }).getByLabel('5', { exact: true }).check();
  await forgot.getByRole('button', { name: 'Save my walk' }).click();
  await forgot.getByText('Your walk is saved. Thank you!').waitFor();
  step('walked with the timer and logged pain before 3, highest 4, effort 5');

  await forgot.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Reminders' }).click();
  const upcoming = forgot.getByRole('region', { name: 'Upcoming reminders' });
  await upcoming.getByRole('link', { name: 'How is your pain now?', exact: true }).click();
  await forgot.getByRole('heading', { name: 'Two-hour check' }).waitFor();
  // (After 22:15 local time the check opens tomorrow, and the page names the day too.)
  const notYet = forgot.getByText(/^This check opens (on [^.]+ )?at \d{1,2}:\d{2}\. Come back then/);
  await notYet.waitFor();
  const opensText = await notYet.textContent();
  const question = forgot.getByRole('group', { name: 'How is your pain now?' });
  assert.equal(await question.isVisible(), false, 'no question before the check opens');
  await forgot.clock.fastForward('01:50:00');
  await question.waitFor();
  assert.equal(await notYet.isVisible(), false);
  step(`the check page said "${opensText.split('.')[0]}", then asked by itself once it opened`);

  await forgot.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'My progress' }).click();
  await forgot.getByRole('heading', { name: 'My progress', level: 1 }).waitFor();
  await forgot.getByRole('region', { name: 'This week' }).waitFor();
  const summary = (await forgot.locator('#week-summary').textContent()).trim();
  assert.match(summary, /^You have done 1 of the \d+ walks planned for this week\./);
  await forgot.locator('#week-days li.walked').first().waitFor();
  await forgot.getByRole('img', { name: 'Pain before each walk and two hours after, out of 10' }).waitFor();
  const row = forgot.locator('#pain-table tbody tr');
  assert.equal(await row.count(), 1);
  assert.deepEqual(await row.first().locator('td').allTextContents(), [await row.first().locator('td').first().textContent(), '3 / 10', 'not answered']);
  await screenshot(forgot, 'progress-phone');
  await checkAccessibility(forgot, '/app/history (My progress)');
  forgot.assertClean(['401 GET /api/v1/me']);
  step(`My progress: "${summary}", the walk's pain in the chart and its table`);
}, { smtp: true });
