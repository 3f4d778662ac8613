// The harness for Stepwise's browser tests (tests/browser/*.test.mjs, run by scripts/browser-tests;
// tests/browser/README.md shows a whole scenario). One scenario is one Node process:
//
//   import { run, step, login, signUpTherapist, signUpPatient, screenshot } from './harness.mjs';
//   await run('my-scenario', async (ctx) => {
//     const { page } = ...;   // ctx.stack (servers), ctx.browser, ctx.newPage(), ctx.admin
//   });
//
// Exports (each documented where it is defined):
//   run(name, body, options)                 the scenario: servers, browser, cleanup, PASSED/FAILED, exit code
//   step(text)                               a progress line
//   startStack({name, smtp})                 web-push-testing + `stepwise serve` on a fresh SQLite file;
//                                            with smtp, aiosmtpd too (stack.mail(): the e-mails sent)
//   login(base, email, password)             an API client (session cookie + CSRF token)
//   signUpTherapist / signUpPatient          people, through invites
//   launchBrowser() / newPage(browser, opts) headless Chromium; pages that record what went wrong
//   screenshot(page, name)                   target/screenshots/<scenario>-<name>.png
//   checkAccessibility(page, label)          axe-core (WCAG 2.1 A/AA); throws on serious/critical
//   measure(page, url)                       first contentful paint, DOMContentLoaded, bytes, requests
//   installPushStub                          a PushManager stand-in (context.addInitScript)
//   waitFor, sleep, fetchJson, tail          small helpers
//   PHONE, DESKTOP, ROOT, SCREENSHOTS, STEPWISE_BIN, PUSH_SERVICE, SMTP_PYTHON, CHROMIUM
//
// Environment (scripts/browser-tests sets them):
//   STEPWISE_PUSH_SERVICE  web-push-testing's src/bin/server.js (required: `scripts/push-service`)
//   STEPWISE_SMTP_PYTHON   the Python with aiosmtpd, for scenarios with smtp (`scripts/python-venv smtp`)
//   STEPWISE_BIN           the stepwise binary (default target/debug/stepwise)
//   STEPWISE_CHROMIUM      the browser (default /usr/bin/chromium)
//   STEPWISE_SCREENSHOTS   where screenshots go (default target/screenshots)

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

/** The repository's root directory. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const fromRoot = (p) => path.resolve(ROOT, p);

export const STEPWISE_BIN = fromRoot(process.env.STEPWISE_BIN || 'target/debug/stepwise');
export const PUSH_SERVICE = process.env.STEPWISE_PUSH_SERVICE || '';
/** The Python with aiosmtpd (scripts/python-venv smtp), for scenarios that send e-mail. */
export const SMTP_PYTHON = process.env.STEPWISE_SMTP_PYTHON || '';
export const CHROMIUM = process.env.STEPWISE_CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOTS = fromRoot(process.env.STEPWISE_SCREENSHOTS || 'target/screenshots');

/** Viewport sizes: a phone (the patient's usual device) and a desktop (the care team's). */
export const PHONE = Object.freeze({ width: 390, height: 844 });
export const DESKTOP = Object.freeze({ width: 1280, height: 800 });

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Everything is on this machine: never ask a proxy from the environment.
  '--no-proxy-server',
];

const started = Date.now();
/** The running scenario's name (set by run()); prefixes screenshots and progress lines. */
let scenario = null;
/** Cleanups of everything started (stacks, browsers), run last-first by cleanupAll(). */
const cleanups = [];
/** Pages made by newPage(), newest last: the failure screenshot is of the newest open one. */
const pages = [];

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Prints a progress line: `browser-test <scenario> [  1.2s] text`. */
export function step(text) {
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
  console.log(`browser-test${scenario ? ` ${scenario}` : ''} [${seconds}s] ${text}`);
}

/** 'up' once an SMTP server on loopback `port` sends its 220 greeting, else undefined. */
function smtpGreets(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (value) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(2000, () => done(undefined));
    socket.once('data', (data) => done(data.toString().startsWith('220') ? 'up' : undefined));
    socket.once('error', () => done(undefined));
  });
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `probe` every `everyMs` until it returns something other than undefined/false/null, and
 * returns that; a probe that throws counts as "not yet". Throws after `timeoutMs`.
 */
export async function waitFor(what, probe, { timeoutMs = 15_000, everyMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false && value !== null) {
        return value;
      }
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for ${what}` + (last ? ` (last error: ${last.message})` : '')
      );
    }
    await sleep(everyMs);
  }
}

/** The last `lines` lines of a log file (at most its last 16 KiB). */
export function tail(file, lines = 40) {
  try {
    const text = fs.readFileSync(file, 'utf8').slice(-16 * 1024);
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}

/** A port on 127.0.0.1 that was free a moment ago. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * fetch() with the body parsed as JSON (or kept as text). Throws, with the status and body, unless
 * the status is one of `expect`. Returns `{status, body, headers}`.
 */
export async function fetchJson(url, init = {}, expect = [200]) {
  const response = await fetch(url, init);
  const text = await response.text();
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (!expect.includes(response.status)) {
    const error = new Error(
      `${init.method || 'GET'} ${url} answered ${response.status} (expected ${expect.join(' or ')}): ${text}`
    );
    error.status = response.status;
    error.body = body;
    throw error;
  }
  return { status: response.status, body, headers: response.headers };
}

// ---------------------------------------------------------------------------------------------
// Child processes

function startChild(command, args, { log, env, stdin = 'ignore' } = {}) {
  const fd = fs.openSync(log, 'a');
  const child = spawn(command, args, { stdio: [stdin, fd, fd], env: { ...process.env, ...env } });
  fs.closeSync(fd);
  const entry = { child, exited: null };
  entry.exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      entry.exited = { code, signal };
      resolve();
    });
    child.on('error', (error) => {
      entry.exited = { code: null, signal: null, error };
      resolve();
    });
  });
  return entry;
}

async function stopChild(entry) {
  if (entry.exited) return;
  if (entry.child.stdin) entry.child.stdin.end();
  entry.child.kill('SIGTERM');
  const stopped = await Promise.race([entry.exitPromise.then(() => true), sleep(5_000).then(() => false)]);
  if (!stopped) {
    entry.child.kill('SIGKILL');
    await Promise.race([entry.exitPromise, sleep(2_000)]);
  }
}

function runToEnd(command, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`))
    );
  });
}

// ---------------------------------------------------------------------------------------------
// The servers

/**
 * Starts web-push-testing (STEPWISE_PUSH_SERVICE) and `stepwise serve` (STEPWISE_BIN) on a fresh
 * SQLite file in a new temporary directory, after `stepwise admin create-clinic` made the clinic
 * "Riverside Physio" and its admin. The server runs with `--push-hosts localhost,127.0.0.1
 * --reminder-poll-ms 100`. Both listen on free ports of 127.0.0.1.
 *
 * Returns {
 *   base,          'http://127.0.0.1:PORT' of stepwise serve
 *   pushService,   'http://127.0.0.1:PORT' of web-push-testing
 *   admin,         {email, password, name} of the clinic admin (log in with login())
 *   dir,           the temporary directory (database and logs; removed by stop())
 *   database,      the --database URL ('sqlite:…')
 *   logs(),        → {server, push}: the two logs' whole text so far
 *   pushSubscribe(applicationServerKey?) → a subscription made at web-push-testing:
 *                  {endpoint, p256dh, auth, clientHash, applicationServerKey, messages()}
 *                  (key defaults to the server's GET /api/v1/push/key; messages() → the
 *                  decrypted payloads, as strings, the service received for it)
 *   stop(),        stops both and removes `dir` (run() does this for ctx.stack)
 * }
 */
export async function startStack({ name = scenario || 'stack', smtp = false } = {}) {
  if (!PUSH_SERVICE) {
    throw new Error(
      "STEPWISE_PUSH_SERVICE is not set: it names web-push-testing's server.js. Run scripts/browser-tests, or: " +
        'export STEPWISE_PUSH_SERVICE="$(scripts/push-service)"'
    );
  }
  assert.ok(fs.existsSync(PUSH_SERVICE), `STEPWISE_PUSH_SERVICE names ${PUSH_SERVICE}, which does not exist`);
  assert.ok(fs.existsSync(STEPWISE_BIN), `no stepwise binary at ${STEPWISE_BIN}: cargo build -p stepwise --locked (or set STEPWISE_BIN)`);

  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `stepwise-browser-${name.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
  const serverLog = path.join(dir, 'stepwise.log');
  const pushLog = path.join(dir, 'web-push-testing.log');
  const children = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const entry of children.slice().reverse()) await stopChild(entry);
    await fsp.rm(dir, { recursive: true, force: true }).catch(() => {});
  };
  const stack = {
    dir,
    serverLog,
    pushLog,
    logs: () => ({
      server: fs.existsSync(serverLog) ? fs.readFileSync(serverLog, 'utf8') : '',
      push: fs.existsSync(pushLog) ? fs.readFileSync(pushLog, 'utf8') : '',
    }),
    stop,
  };
  // Registered before anything starts, so that a failure half-way still stops what did start;
  // the logs are printed (by run()) before this removes them.
  cleanups.push({ kind: 'stack', stack, fn: stop });
  step(`working in ${dir}`);

  // --- the push service ---
  for (let attempt = 1; attempt <= 5 && !stack.pushService; attempt += 1) {
    const port = await freePort();
    const service = startChild(
      'node',
      [
        '--import',
        "data:text/javascript,process.stdin.on('end',()=>process.exit(0));process.stdin.resume();",
        PUSH_SERVICE,
        String(port),
      ],
      // Its standard input stays open while this process runs: the service exits when it closes.
      { log: pushLog, stdin: 'pipe' }
    );
    children.push(service);
    const candidate = `http://127.0.0.1:${port}`;
    const up = await waitFor(`web-push-testing on port ${port}`, async () => {
      if (service.exited) return 'exited';
      const response = await fetch(`${candidate}/status`, { method: 'POST' });
      return response.ok ? 'up' : undefined;
    });
    if (up === 'up') {
      stack.pushService = candidate;
    } else if (!/EADDRINUSE/.test(tail(pushLog))) {
      throw new Error(`web-push-testing exited at start:\n${tail(pushLog)}`);
    }
  }
  assert.ok(stack.pushService, 'web-push-testing did not start on any of 5 ports');
  step(`web-push-testing answers at ${stack.pushService}`);

  // --- an SMTP server (aiosmtpd) the Stepwise server sends its e-mail to ---
  let smtpUrl = null;
  if (smtp) {
    assert.ok(
      SMTP_PYTHON,
      'STEPWISE_SMTP_PYTHON is not set: this scenario sends e-mail to a real SMTP server. Run scripts/browser-tests, or: ' +
        'export STEPWISE_SMTP_PYTHON="$(scripts/python-venv smtp)"'
    );
    const maildir = path.join(dir, 'mail');
    for (let attempt = 1; attempt <= 5 && !smtpUrl; attempt += 1) {
      const port = await freePort();
      const server = startChild(
        SMTP_PYTHON,
        ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir],
        { log: path.join(dir, 'smtp.log') }
      );
      children.push(server);
      const up = await waitFor(`aiosmtpd on port ${port}`, () => (server.exited ? 'exited' : smtpGreets(port)));
      if (up === 'up') smtpUrl = `smtp://127.0.0.1:${port}`;
    }
    assert.ok(smtpUrl, 'aiosmtpd did not start on any of 5 ports');
    step(`aiosmtpd answers at ${smtpUrl}`);
    /** Every e-mail received so far, oldest first: [{from, to, subject, body}]. */
    stack.mail = () => {
      const folder = path.join(maildir, 'new');
      if (!fs.existsSync(folder)) return [];
      const out = execFileSync(SMTP_PYTHON, [path.join(ROOT, 'tests', 'smtp', 'decode.py'), folder]);
      return JSON.parse(out.toString('utf8'));
    };
  }

  // --- the Stepwise server ---
  stack.database = `sqlite:${path.join(dir, 'stepwise.db')}`;
  stack.admin = { email: 'admin@riverside.example', password: 'admin-password-1', name: 'Ana Admin' };
  await runToEnd(
    STEPWISE_BIN,
    [
      'admin', 'create-clinic', '--database', stack.database, '--name', 'Riverside Physio',
      '--admin-email', stack.admin.email, '--admin-name', stack.admin.name,
    ],
    { STEPWISE_ADMIN_PASSWORD: stack.admin.password }
  );
  step('clinic created');
  for (let attempt = 1; attempt <= 5 && !stack.base; attempt += 1) {
    const port = await freePort();
    const mail = smtpUrl ? ['--smtp-url', smtpUrl, '--public-url', `http://127.0.0.1:${port}`] : [];
    const server = startChild(
      STEPWISE_BIN,
      [
        'serve', '--database', stack.database, '--listen', `127.0.0.1:${port}`,
        '--push-hosts', 'localhost,127.0.0.1', '--reminder-poll-ms', '100', ...mail,
      ],
      { log: serverLog, env: { RUST_LOG: process.env.RUST_LOG || 'info' } }
    );
    children.push(server);
    const candidate = `http://127.0.0.1:${port}`;
    const up = await waitFor(
      `stepwise serve on port ${port}`,
      async () => {
        if (server.exited) return 'exited';
        const response = await fetch(`${candidate}/healthz`);
        return response.ok ? 'up' : undefined;
      },
      { timeoutMs: 30_000 }
    );
    if (up === 'up') {
      stack.base = candidate;
    } else if (!/in use/i.test(tail(serverLog))) {
      throw new Error(`stepwise serve exited at start (${JSON.stringify(server.exited)}):\n${tail(serverLog)}`);
    }
  }
  assert.ok(stack.base, 'stepwise serve did not start on any of 5 ports');
  step(`stepwise serve answers at ${stack.base}`);

  stack.pushSubscribe = async (applicationServerKey) => {
    const key = applicationServerKey || (await fetchJson(`${stack.base}/api/v1/push/key`)).body.public_key;
    const { body } = await fetchJson(`${stack.pushService}/subscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userVisibleOnly: 'true', applicationServerKey: key }),
    });
    const sub = {
      endpoint: body.data.endpoint,
      p256dh: body.data.keys.p256dh,
      auth: body.data.keys.auth,
      clientHash: body.data.clientHash,
      applicationServerKey: key,
    };
    // Not an own enumerable property: `sub` goes to installPushStub as it is.
    Object.defineProperty(sub, 'messages', {
      enumerable: false,
      value: async () =>
        (
          await fetchJson(`${stack.pushService}/get-notifications`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ clientHash: sub.clientHash }),
          })
        ).body.data.messages,
    });
    return sub;
  };
  return stack;
}

// ---------------------------------------------------------------------------------------------
// Signing in through a page

/** Signs `person` ({email, password}) in through the page's own form at `url` and waits for
 *  the page's content (#content) to show. */
export async function signIn(page, url, person) {
  await page.goto(url);
  await page.locator('#login-email').fill(person.email);
  await page.locator('#login-password').fill(person.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#content').waitFor({ state: 'visible' });
}

// ---------------------------------------------------------------------------------------------
// The API from Node

/**
 * Signs `email` in at `base` (POST /api/v1/auth/login) and returns a client that sends the
 * session cookie, and the CSRF token on every call but GET:
 *   {get(path), post(path, body), put(path, body), del(path), request(method, path, body),
 *    csrf, cookie, user, email, base}
 * `path` is under /api/v1 ('/me/sessions') unless it starts with /api/ itself. get/post/put/del
 * return the parsed JSON body (null when empty) and throw on a status other than 2xx; the error's
 * message holds the server's answer, and `error.status` / `error.body` the status and parsed body.
 * request() never throws on a status: it returns {status, body, headers}.
 */
export async function login(base, email, password) {
  const { body, headers } = await fetchJson(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const setCookie = headers.getSetCookie().find((c) => c.startsWith('stepwise_session='));
  assert.ok(setCookie, `the login of ${email} set no stepwise_session cookie`);
  assert.equal(typeof body.csrf_token, 'string', 'the login answer carries csrf_token');
  const api = { base, email, cookie: setCookie.split(';')[0], csrf: body.csrf_token, user: body.user };

  const url = (p) => `${base}${p.startsWith('/api/') ? '' : '/api/v1'}${p}`;
  api.request = async (method, apiPath, payload) => {
    const init = { method, headers: { accept: 'application/json', cookie: api.cookie } };
    if (method !== 'GET' && method !== 'HEAD') init.headers['x-csrf-token'] = api.csrf;
    if (payload !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(payload);
    }
    const response = await fetch(url(apiPath), init);
    const text = await response.text();
    let parsed = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: response.status, body: parsed, headers: response.headers, text };
  };
  const call = async (method, apiPath, payload) => {
    const answer = await api.request(method, apiPath, payload);
    if (answer.status < 200 || answer.status > 299) {
      const error = new Error(`${method} ${url(apiPath)} (as ${email}) answered ${answer.status}: ${answer.text}`);
      error.status = answer.status;
      error.body = answer.body;
      throw error;
    }
    return answer.body;
  };
  api.get = (p) => call('GET', p);
  api.post = (p, payload) => call('POST', p, payload);
  api.put = (p, payload) => call('PUT', p, payload);
  api.del = (p) => call('DELETE', p);
  return api;
}

async function acceptInvite(base, code, email, name, password) {
  return (
    await fetchJson(
      `${base}/api/v1/invites/accept`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code, email, display_name: name, password }),
      },
      [201]
    )
  ).body;
}

/** A default password for a test account: `<local part>-password-1` (long enough for the server). */
const passwordFor = (email) => `${email.split('@')[0]}-password-1`;

/**
 * A therapist, invited by `admin` (a login() client of a clinic admin) and signed up:
 * POST /api/v1/invites {role: 'therapist'}, then /api/v1/invites/accept.
 * Returns the server's user (id, email, display_name, role, …) plus {name, password}.
 * `password` defaults to '<local part of email>-password-1'.
 */
export async function signUpTherapist(admin, email, name, password = passwordFor(email)) {
  const invite = await admin.post('/invites', { role: 'therapist' });
  const user = await acceptInvite(admin.base, invite.code, email, name, password);
  return { ...user, email, name, password };
}

/**
 * A patient of therapist `therapistId` living in `timezone` (IANA, e.g. 'Europe/Berlin'), invited
 * by `inviter` (a login() client of the clinic admin or a therapist) and signed up.
 * Returns the server's user plus {name, password}; `password` as for signUpTherapist.
 */
export async function signUpPatient(inviter, therapistId, timezone, email, name, password = passwordFor(email)) {
  const invite = await inviter.post('/invites', { role: 'patient', therapist_id: therapistId, timezone });
  const user = await acceptInvite(inviter.base, invite.code, email, name, password);
  return { ...user, email, name, password };
}

// ---------------------------------------------------------------------------------------------
// The browser

/**
 * Launches headless Chromium (STEPWISE_CHROMIUM, default Debian's /usr/bin/chromium) through
 * playwright-core. Returns playwright's Browser; it is closed at exit (run() or not).
 */
export async function launchBrowser() {
  assert.ok(fs.existsSync(CHROMIUM), `no browser at ${CHROMIUM}: scripts/debian-packages chromium (or set STEPWISE_CHROMIUM)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
    // run() closes the browser itself on SIGINT/SIGTERM, then stops the servers.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  cleanups.push({ kind: 'browser', fn: () => browser.close().catch(() => {}) });
  step(`launched ${CHROMIUM} ${browser.version()}`);
  return browser;
}

/**
 * A page in a new browser context (own cookies, storage, service workers). Options:
 *   viewport   'phone' (390×844, default) | 'desktop' (1280×800) | {width, height}
 *   locale     default 'en-GB';  timezoneId  default 'Europe/Berlin'
 *   …anything else playwright's browser.newContext() takes
 * The context's default timeout is 15 s. Returns playwright's Page, with two additions:
 *   page.problems = {consoleErrors, pageErrors, cspViolations, failedRequests, console, worker}
 *     (arrays of strings, filled as the page runs; `console` is every console line of the page,
 *     `worker` those of its service workers; failedRequests look like '401 GET /api/v1/me' for
 *     a response ≥ 400 and 'failed GET /path (net::ERR_…)' for one that never came, but
 *     net::ERR_ABORTED — a fetch cut short by navigating away — is not recorded)
 *   page.assertClean(allowedFailures = []) — asserts no uncaught page errors, no CSP refusals,
 *     no console errors (other than "Failed to load resource", which failedRequests covers) and
 *     no failed request other than those in allowedFailures (strings compared exactly, or
 *     RegExps) and '404 GET /favicon.ico' (the browser asks for it; Stepwise has none).
 * For the browser's permissions, init scripts etc. use page.context() before the first goto().
 */
export async function newPage(browser, { viewport = 'phone', locale = 'en-GB', timezoneId = 'Europe/Berlin', ...rest } = {}) {
  const size = viewport === 'phone' ? PHONE : viewport === 'desktop' ? DESKTOP : viewport;
  const context = await browser.newContext({ viewport: { ...size }, locale, timezoneId, ...rest });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems = { consoleErrors: [], pageErrors: [], cspViolations: [], failedRequests: [], console: [], worker: [] };
  page.problems = problems;
  page.on('console', (message) => {
    const line = `${message.type()}: ${message.text()}`;
    problems.console.push(line);
    if (/Content Security Policy|Refused to/i.test(message.text())) {
      problems.cspViolations.push(line);
    } else if (message.type() === 'error' && !/^Failed to load resource/.test(message.text())) {
      problems.consoleErrors.push(line);
    }
  });
  context.on('console', (message) => {
    if (message.worker()) problems.worker.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.pageErrors.push(String(error && error.stack ? error.stack : error)));
  page.on('response', (response) => {
    if (response.status() >= 400) {
      problems.failedRequests.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
    }
  });
  page.on('requestfailed', (request) => {
    const reason = (request.failure() && request.failure().errorText) || 'failed';
    if (!/ERR_ABORTED/.test(reason)) {
      problems.failedRequests.push(`failed ${request.method()} ${new URL(request.url()).pathname} (${reason})`);
    }
  });
  page.assertClean = (allowedFailures = []) => {
    const allowed = ['404 GET /favicon.ico', ...allowedFailures];
    const ok = (line) => allowed.some((a) => (a instanceof RegExp ? a.test(line) : a === line));
    assert.deepEqual(problems.pageErrors, [], 'no uncaught errors in the pages');
    assert.deepEqual(problems.cspViolations, [], "the pages break no rule of the server's CSP");
    assert.deepEqual(problems.consoleErrors, [], 'no errors on the console');
    assert.deepEqual(problems.failedRequests.filter((r) => !ok(r)), [], 'no request of the pages failed but the expected ones');
  };
  pages.push(page);
  return page;
}

/**
 * Saves a full-page screenshot as SCREENSHOTS/<scenario>-<name>.png (just <name>.png when it
 * already starts with '<scenario>-', or outside run()); returns the file's path.
 */
export async function screenshot(page, name) {
  const file = scenario && !name.startsWith(`${scenario}-`) ? `${scenario}-${name}` : name;
  const shot = path.join(SCREENSHOTS, `${file}.png`);
  await fsp.mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: shot, fullPage: true });
  return shot;
}

/** axe-core's browser bundle (npm axe-core, pinned by package-lock.json), read on first use. */
let axeSource = null;
/** The axe rule tags checkAccessibility() runs: WCAG 2.0 and 2.1, levels A and AA. */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/**
 * Runs axe-core on `page` as it is now (call it once the page shows its data) against WCAG 2.1
 * A/AA and prints a one-line summary via step(): `axe <label>: N passes, violations: …`. Throws,
 * listing each rule (id, impact, help, the first few target selectors), when any violation is
 * 'serious' or 'critical'; 'moderate' and 'minor' ones are printed, not fatal. axe is injected
 * with page.evaluate (through CDP, so the pages' CSP `default-src 'self'` does not block it, as
 * it would a <script> tag from addScriptTag). Returns axe's results.
 */
export async function checkAccessibility(page, label) {
  if (axeSource === null) {
    const require = createRequire(import.meta.url);
    axeSource = await fsp.readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  }
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource);
  const results = await page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    const slim = (v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) });
    return { passes: r.passes.length, incomplete: r.incomplete.map((v) => v.id), violations: r.violations.map(slim) };
  }, AXE_TAGS);
  const byImpact = {};
  for (const v of results.violations) byImpact[v.impact] = (byImpact[v.impact] || 0) + 1;
  const counts = Object.entries(byImpact).map(([impact, n]) => `${n} ${impact}`).join(', ') || 'none';
  const review = results.incomplete.length ? ` (${results.incomplete.join(', ')})` : '';
  step(`axe ${label}: ${results.passes} rules pass, ${results.incomplete.length} to review${review}, violations: ${counts}`);
  const describe = (v) => {
    const shown = v.targets.slice(0, 4).join(', ');
    const more = v.targets.length > 4 ? ` (+${v.targets.length - 4} more)` : '';
    return `  - ${v.id} [${v.impact}] ${v.help}: ${shown}${more}`;
  };
  const minor = results.violations.filter((v) => v.impact !== 'serious' && v.impact !== 'critical');
  if (minor.length) step(`axe ${label}: not fatal:\n${minor.map(describe).join('\n')}`);
  const fatal = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (fatal.length) {
    throw new Error(`accessibility (axe-core, WCAG 2.1 A/AA) of ${label} (${page.url()}): ${fatal.length} serious or critical:\n${fatal.map(describe).join('\n')}`);
  }
  return results;
}

/**
 * Loads `url` once with a cold cache and measures it: a new browser context of `page`'s browser
 * (same viewport; with `page`'s cookies and local storage unless {session: false}, so signed-in
 * pages can be measured), no service worker, no HTTP cache. Waits for 'networkidle' (no request
 * for 500 ms), so the page's own API calls after load are counted too. Returns
 *   firstContentfulPaintMs  performance.getEntriesByType('paint') 'first-contentful-paint'
 *                           (null if the page painted nothing within 5 s)
 *   domContentLoadedMs      the navigation entry's domContentLoadedEventEnd
 *   transferredBytes        the sum of CDP Network.loadingFinished encodedDataLength over every
 *                           request of the page: bytes on the wire, headers included (more
 *                           reliable than Resource Timing's transferSize, which is 0 for
 *                           responses without Timing-Allow-Origin and for some fetches)
 *   requests                how many requests finished (Network.loadingFinished) or failed
 * Over loopback the times are the browser's and the server's work, not the network's.
 */
export async function measure(page, url, { session = true } = {}) {
  const browser = page.context().browser();
  const storageState = session ? await page.context().storageState() : undefined;
  const context = await browser.newContext({ viewport: page.viewportSize(), locale: 'en-GB', timezoneId: 'Europe/Berlin', storageState });
  try {
    const fresh = await context.newPage();
    const cdp = await context.newCDPSession(fresh);
    let transferredBytes = 0;
    let requests = 0;
    cdp.on('Network.loadingFinished', ({ encodedDataLength }) => {
      transferredBytes += encodedDataLength;
      requests += 1;
    });
    cdp.on('Network.loadingFailed', () => {
      requests += 1;
    });
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await fresh.goto(url, { waitUntil: 'networkidle' });
    const timing = await fresh.evaluate(
      () =>
        new Promise((resolve) => {
          const nav = performance.getEntriesByType('navigation')[0];
          const done = (fcp) => resolve({ fcp, dcl: nav ? nav.domContentLoadedEventEnd : null });
          const found = performance.getEntriesByName('first-contentful-paint')[0];
          if (found) return done(found.startTime);
          const observer = new PerformanceObserver((list) => {
            const entry = list.getEntriesByName('first-contentful-paint')[0];
            if (entry) {
              observer.disconnect();
              done(entry.startTime);
            }
          });
          observer.observe({ type: 'paint', buffered: true });
          setTimeout(() => done(null), 5_000);
        })
    );
    return {
      firstContentfulPaintMs: timing.fcp === null ? null : Math.round(timing.fcp * 10) / 10,
      domContentLoadedMs: timing.dcl === null ? null : Math.round(timing.dcl * 10) / 10,
      transferredBytes,
      requests,
    };
  } finally {
    await context.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// The browser's push subscription

/**
 * For context.addInitScript(installPushStub, sub), `sub` from stack.pushSubscribe(): replaces
 * PushManager's subscribe() and getSubscription() with ones that hand out `sub`, shaped like
 * Chromium's PushSubscription (headless Chromium cannot reach a vendor push service). Like a real
 * push service it refuses a subscribe() without notification permission, without
 * userVisibleOnly, or with an applicationServerKey other than `sub`'s. "Subscribed" is kept in
 * localStorage so that it survives navigation. Calls are counted in window.__stepwisePushStub
 * ({subscribe, getSubscription, unsubscribe, keys}).
 */
export function installPushStub(sub) {
  if (typeof PushManager === 'undefined') {
    return;
  }
  const STORED = 'stepwise-browser-test.subscribed';
  const calls = { subscribe: 0, getSubscription: 0, unsubscribe: 0, keys: [] };
  Object.defineProperty(window, '__stepwisePushStub', { value: calls });

  function fromBase64Url(text) {
    const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }
  function toBase64Url(bytes) {
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function bytesOf(source) {
    if (typeof source === 'string') return fromBase64Url(source);
    if (source instanceof ArrayBuffer) return new Uint8Array(source);
    if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return null;
  }
  const serverKey = fromBase64Url(sub.applicationServerKey);

  function subscription() {
    return {
      endpoint: sub.endpoint,
      expirationTime: null,
      options: Object.freeze({ userVisibleOnly: true, applicationServerKey: serverKey.slice().buffer }),
      getKey(name) {
        if (name === 'p256dh') return fromBase64Url(sub.p256dh).buffer;
        if (name === 'auth') return fromBase64Url(sub.auth).buffer;
        return null;
      },
      toJSON() {
        return { endpoint: sub.endpoint, expirationTime: null, keys: { p256dh: sub.p256dh, auth: sub.auth } };
      },
      unsubscribe() {
        calls.unsubscribe += 1;
        localStorage.removeItem(STORED);
        return Promise.resolve(true);
      },
    };
  }

  PushManager.prototype.subscribe = async function (options) {
    calls.subscribe += 1;
    if (Notification.permission !== 'granted') {
      throw new DOMException('Registration failed - permission denied', 'NotAllowedError');
    }
    if (!options || options.userVisibleOnly !== true) {
      throw new DOMException('Push subscriptions must be user-visible (userVisibleOnly: true)', 'NotAllowedError');
    }
    const key = options.applicationServerKey ? bytesOf(options.applicationServerKey) : null;
    calls.keys.push(key ? toBase64Url(key) : null);
    if (!key || key.length !== serverKey.length || !key.every((b, i) => b === serverKey[i])) {
      throw new DOMException('The applicationServerKey is not the one the subscription was made with', 'InvalidAccessError');
    }
    localStorage.setItem(STORED, '1');
    return subscription();
  };
  PushManager.prototype.getSubscription = async function () {
    calls.getSubscription += 1;
    return localStorage.getItem(STORED) ? subscription() : null;
  };
}

// ---------------------------------------------------------------------------------------------
// The scenario

async function cleanupAll() {
  while (cleanups.length) {
    const { fn } = cleanups.pop();
    await fn();
  }
}

async function report(name, error, failureHooks) {
  console.error(`\nbrowser-test ${name}: FAILED after ${((Date.now() - started) / 1000).toFixed(1)} s: ${error && error.stack ? error.stack : error}`);
  const page = pages.filter((p) => !p.isClosed()).pop();
  if (page) {
    const shot = path.join(SCREENSHOTS, `${name}-failure.png`);
    try {
      await fsp.mkdir(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: shot, fullPage: true, timeout: 5_000 });
      console.error(`browser-test ${name}: the page at failure: ${shot} (${page.url()})`);
    } catch {
      // the page is gone
    }
  }
  for (const p of pages) {
    const { pageErrors, failedRequests, cspViolations, console: lines, worker } = p.problems;
    if (pageErrors.length) console.error(`\n--- uncaught errors in the page\n${pageErrors.join('\n')}`);
    if (cspViolations.length) console.error(`\n--- CSP refusals\n${cspViolations.join('\n')}`);
    if (failedRequests.length) console.error(`\n--- failed requests of the page\n${failedRequests.join('\n')}`);
    if (worker.length) console.error(`\n--- the service worker's console\n${worker.slice(-40).join('\n')}`);
    if (lines.length) console.error(`\n--- the page's console\n${lines.slice(-40).join('\n')}`);
  }
  for (const hook of failureHooks) {
    try {
      await hook(error);
    } catch (hookError) {
      console.error(`(a failure hook failed: ${hookError})`);
    }
  }
  for (const { kind, stack } of cleanups) {
    if (kind === 'stack') {
      console.error(`\n--- stepwise serve (last lines)\n${tail(stack.serverLog)}`);
      console.error(`\n--- web-push-testing (last lines)\n${tail(stack.pushLog, 20)}`);
    }
  }
}

/**
 * Runs one scenario and exits the process: 0 when `body` resolved, 1 when it threw or took longer
 * than `timeoutMs` (default 180 s), 130 on SIGINT/SIGTERM. Before `body`, it starts the servers
 * (startStack) and the browser (launchBrowser) unless {stack: false} / {browser: false}. `body`
 * gets ctx = {
 *   name,                    the scenario's name (screenshot prefix)
 *   stack, base, admin,      startStack()'s result, its base URL and the admin's credentials
 *   browser,                 launchBrowser()'s result
 *   newPage(options),        newPage(ctx.browser, options)
 *   onFailure(fn),           fn(error) runs on failure, to print what else would help
 * }
 * Afterwards (pass or fail) the browser is closed, the servers stopped, their directory removed.
 * On failure it prints the error, saves SCREENSHOTS/<name>-failure.png of the newest open page,
 * and prints the pages' problems and consoles and the tails of the servers' logs.
 */
export async function run(name, body, { stack = true, smtp = false, browser = true, timeoutMs = 180_000 } = {}) {
  scenario = name;
  const failureHooks = [];
  let finished = false;
  const finish = async (code) => {
    if (finished) return;
    finished = true;
    await cleanupAll();
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      console.error(`browser-test ${name}: ${signal}, stopping`);
      finish(130);
    });
  }
  const overall = setTimeout(async () => {
    await report(name, new Error(`the scenario did not finish within ${timeoutMs / 1000} s`), failureHooks);
    finish(1);
  }, timeoutMs);

  try {
    await fsp.mkdir(SCREENSHOTS, { recursive: true });
    await fsp.rm(path.join(SCREENSHOTS, `${name}-failure.png`), { force: true });
    const ctx = { name, onFailure: (fn) => failureHooks.push(fn) };
    if (stack) {
      ctx.stack = await startStack({ name, smtp });
      ctx.base = ctx.stack.base;
      ctx.admin = ctx.stack.admin;
    }
    if (browser) {
      ctx.browser = await launchBrowser();
      ctx.newPage = (options) => newPage(ctx.browser, options);
    }
    await body(ctx);
    clearTimeout(overall);
    step('PASSED');
    await finish(0);
  } catch (error) {
    clearTimeout(overall);
    if (!finished) {
      // (Not after SIGINT/SIGTERM: the failure is then only the interruption.)
      await report(name, error, failureHooks);
    }
    await finish(1);
  }
}
