// Shared by the Stepwise pages (load before the page's own script): the API fetch wrapper, the
// CSRF token kept in sessionStorage, the message regions, and the sign-in form.
//
// The pages share these element ids:
//   #message (role=status), #error (role=alert)
//   #login (section, hidden), #login-form, #login-email, #login-password, #login-submit,
//   #login-reason (hidden paragraph explaining why sign-in is asked for again)
const CSRF_KEY = 'stepwise.csrf';

/** The CSRF token from the last sign-in in this tab, kept in sessionStorage. */
const csrf = {
  get() {
    try {
      return sessionStorage.getItem(CSRF_KEY);
    } catch {
      return null; // storage disabled
    }
  },
  set(token) {
    try {
      sessionStorage.setItem(CSRF_KEY, token);
    } catch {
      // Storage disabled: settings cannot be changed, and the page will say so.
    }
  },
  clear() {
    try {
      sessionStorage.removeItem(CSRF_KEY);
    } catch {
      // nothing to clear
    }
  },
};

/** An API failure: `message` is the server's `error` text; `status` the HTTP status (0 offline). */
class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

/** What a failed call says when the server could not be reached at all. */
const UNREACHABLE = 'Could not reach Stepwise. Check your connection and try again.';

/** The headers of a call: JSON answers, and for writes the CSRF token (`csrfToken` or the stored one). */
function callHeaders(method, csrfToken) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') {
    const token = csrfToken || csrf.get();
    if (token) {
      headers['X-CSRF-Token'] = token;
    }
  }
  return headers;
}

/** An answer's parsed JSON (null when empty or not JSON); throws ApiError unless `status` is 2xx. */
function answerOf(status, text) {
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (status < 200 || status > 299) {
    const message = data && typeof data.error === 'string' ? data.error : 'Something went wrong (HTTP ' + status + ').';
    throw new ApiError(message, status, data);
  }
  return data;
}

/**
 * Calls the Stepwise API with the session cookie. Writes carry the CSRF token (the stored
 * one unless `csrfToken` is given). Returns the parsed JSON (null for an empty answer);
 * throws ApiError for non-2xx answers.
 */
async function api(method, path, body, csrfToken) {
  const headers = callHeaders(method, csrfToken);
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(UNREACHABLE, 0, null);
  }
  return answerOf(response.status, await response.text());
}

/**
 * Sends a file (a File or Blob) as the whole body of a write, as `api` sends JSON: the session
 * cookie, the CSRF token, the same answers and errors. `onProgress(sent, total)` is called as
 * the upload goes (bytes), which fetch cannot tell, hence XMLHttpRequest.
 */
function sendFile(method, path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(method, path);
    for (const [name, value] of Object.entries(callHeaders(method))) {
      request.setRequestHeader(name, value);
    }
    if (onProgress) {
      request.upload.addEventListener('progress', (event) => {
        onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
      });
    }
    request.addEventListener('load', () => {
      try {
        resolve(answerOf(request.status, request.responseText));
      } catch (error) {
        reject(error);
      }
    });
    const unreachable = () => reject(new ApiError(UNREACHABLE, 0, null));
    request.addEventListener('error', unreachable);
    request.addEventListener('abort', unreachable);
    request.addEventListener('timeout', unreachable);
    request.send(file);
  });
}

/** True when a write was refused for a missing or stale CSRF token (sign in again to fix). */
function isCsrfError(error) {
  // Also matches errors thrown by push.js, which carry the same `status`.
  return Boolean(error) && error.status === 403 && /csrf/i.test(String(error.message));
}

function byId(id) {
  return document.getElementById(id);
}

/** Shows a status message (polite live region) and clears any error. */
function say(text) {
  byId('error').textContent = '';
  byId('message').textContent = text;
}

/**
 * Confirms something done where the person is looking: `text` in a status line at the end
 * of `place` (the form or card they used), which takes focus (so it is in view and read out).
 * The page-level message line is cleared, so the confirmation is said once.
 */
function confirm(place, text) {
  clearMessages();
  let note = place.querySelector(':scope > .confirmation');
  if (!note) {
    note = document.createElement('p');
    note.className = 'confirmation';
    note.setAttribute('role', 'status');
    note.tabIndex = -1;
    place.append(note);
  }
  note.textContent = text;
  note.hidden = false;
  note.focus();
}

/** Shows an error (assertive live region). */
function fail(text) {
  byId('message').textContent = '';
  byId('error').textContent = text;
}

/**
 * Shows the safety advice the server sends with a report that carried red-flag pain
 * (`safety` in the answer), above everything else, and moves focus to it. Does nothing when
 * the answer has none.
 */
function showSafety(advice) {
  if (!advice) return false;
  const panel = byId('safety');
  byId('safety-title').textContent = advice.title;
  byId('safety-now').textContent = advice.now;
  byId('safety-contact').textContent = advice.contact;
  const phone = byId('safety-phone');
  phone.hidden = !advice.phone;
  if (advice.phone) {
    phone.textContent = 'Call your clinic: ' + advice.phone;
    phone.href = 'tel:' + advice.phone.replace(/[^0-9+]/g, '');
  }
  byId('safety-urgent').textContent = advice.urgent;
  byId('safety-care-team').textContent = advice.care_team;
  panel.hidden = false;
  panel.focus();
  panel.scrollIntoView({ block: 'start' });
  return true;
}

/** Clears both message regions. */
function clearMessages() {
  byId('message').textContent = '';
  byId('error').textContent = '';
}

/** The time of day of an instant (a `Date` or RFC 3339 text) in the browser's zone: "14:05". */
function formatTime(instant) {
  const date = new Date(instant);
  if (Number.isNaN(date.getTime())) {
    return String(instant);
  }
  return new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' }).format(date);
}

/** Formats an RFC 3339 instant in the browser's own time zone, e.g. "Tuesday 4 March, 14:05". */
function formatDateTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return String(iso);
  }
  return new Intl.DateTimeFormat(undefined, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    hour: 'numeric',
    minute: '2-digit',
  }).format(date);
}

let onLoggedIn = null;

/**
 * Shows the sign-in form. `reason` (optional) explains why, e.g. when the cookie is still
 * valid but this tab has no CSRF token. `then(loginAnswer)` runs after a successful sign-in.
 */
function showLogin(reason, then) {
  onLoggedIn = then;
  const reasonEl = byId('login-reason');
  reasonEl.textContent = reason || '';
  reasonEl.hidden = !reason;
  byId('login').hidden = false;
}

function hideLogin() {
  byId('login').hidden = true;
  byId('login-password').value = '';
}

async function submitLogin(event) {
  event.preventDefault();
  const form = byId('login-form');
  if (!form.reportValidity()) {
    return;
  }
  const button = byId('login-submit');
  button.disabled = true;
  say('Signing in…');
  try {
    const answer = await api('POST', '/api/v1/auth/login', {
      email: byId('login-email').value.trim(),
      password: byId('login-password').value,
    });
    csrf.set(answer.csrf_token);
    hideLogin();
    clearMessages();
    if (onLoggedIn) {
      await onLoggedIn(answer);
    }
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      fail('That e-mail address and password do not match. Please try again.');
    } else {
      fail(error.message);
    }
    byId('login-password').focus();
  } finally {
    button.disabled = false;
  }
}

function wireLogin() {
  const form = byId('login-form');
  if (form) {
    form.addEventListener('submit', submitLogin);
  }
}
if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', wireLogin);
} else {
  wireLogin();
}

/**
 * Makes sure this tab holds a CSRF token: when sessionStorage has none, asks the server for the
 * signed-in cookie session's token (GET /api/v1/auth/csrf). Returns the token, or null (not
 * signed in, offline, or a server without that endpoint yet: 404).
 */
async function ensureCsrf() {
  const stored = csrf.get();
  if (stored) {
    return stored;
  }
  try {
    const answer = await api('GET', '/api/v1/auth/csrf');
    if (answer && typeof answer.csrf_token === 'string' && answer.csrf_token) {
      csrf.set(answer.csrf_token);
      return answer.csrf_token;
    }
  } catch {
    // 401 (signed out), 404 (older server) or offline: the page asks for a sign-in if it must.
  }
  return null;
}

const USER_KEY = 'stepwise.user';

/** The id of the person this browser last saw signed in (kept for offline use), or null. */
function lastUserId() {
  try {
    const value = localStorage.getItem(USER_KEY);
    return value === null ? null : Number(value);
  } catch {
    return null;
  }
}

function rememberUser(user) {
  try {
    if (user) {
      if (lastUserId() !== user.id) {
        localStorage.removeItem('stepwise.plan'); // another person's plan
      }
      localStorage.setItem(USER_KEY, String(user.id));
    } else {
      localStorage.removeItem(USER_KEY);
      localStorage.removeItem('stepwise.plan');
    }
  } catch {
    // storage disabled: nothing kept
  }
}

/** Each role's start page. */
const HOME = { patient: '/app/today', therapist: '/app/patients', clinic_admin: '/app/clinic' };

/** Remembers `user` and goes to their role's start page. */
function goHome(user) {
  rememberUser(user);
  location.replace(HOME[user.role] || '/app/reminders');
}

/**
 * The one-time code in this page's address (`/app/join#code=…`), or ''. The code is then
 * taken out of the address bar and the history, so it is not left behind on this device.
 */
function codeFromAddress() {
  const match = /(?:^#|&)code=([^&]*)/.exec(location.hash);
  if (!match) return '';
  history.replaceState(null, '', location.pathname + location.search);
  try {
    return decodeURIComponent(match[1]).trim();
  } catch {
    return '';
  }
}

/**
 * Fills `container` with what staff hand over (an invite or a reset code): `intro`, the
 * one-time code, its link with a copy button, the link's QR code (the server's SVG, parsed
 * as SVG, never as HTML) and until when it works. Shows the container and focuses its
 * heading, so the result is where the person is looking.
 */
function showHandover(container, answer, intro) {
  container.replaceChildren();
  const heading = document.createElement('h3');
  heading.textContent = intro;
  heading.tabIndex = -1;
  const code = document.createElement('p');
  const output = document.createElement('output');
  output.className = 'code';
  output.textContent = answer.code;
  code.append(output);
  const linkLine = document.createElement('p');
  linkLine.className = 'handover-link';
  const link = document.createElement('a');
  link.href = answer.link;
  link.textContent = answer.link;
  const copy = document.createElement('button');
  copy.type = 'button';
  copy.className = 'secondary';
  copy.textContent = 'Copy link';
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(answer.link);
      say('Link copied.');
    } catch {
      window.getSelection().selectAllChildren(link);
      say('Link selected: copy it with your keyboard or menu.');
    }
  });
  linkLine.append(link, ' ', copy);
  const qr = document.createElement('figure');
  qr.className = 'qr';
  const svg = new DOMParser().parseFromString(answer.qr_svg || '', 'image/svg+xml').documentElement;
  if (svg && svg.namespaceURI === 'http://www.w3.org/2000/svg') {
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', 'QR code of the link');
    qr.append(document.importNode(svg, true));
    const caption = document.createElement('figcaption');
    caption.textContent = 'Scan with the phone camera to open the link.';
    qr.append(caption);
  }
  const expires = document.createElement('p');
  expires.className = 'hint';
  expires.textContent = 'Valid until ' + formatDateTime(answer.expires_at) + '. It works once.';
  container.append(heading, code, linkLine, qr, expires);
  container.hidden = false;
  heading.focus();
}

/**
 * Says how an invite went out: created, and e-mailed to `answer.emailed_to` (then `emailInput`
 * is emptied), or created but not e-mailed (`answer.email_error`), to be handed over instead.
 */
function sayInvited(answer, emailInput) {
  if (answer.emailed_to) {
    say('Invite created and e-mailed to ' + answer.emailed_to + '.');
    emailInput.value = '';
  } else if (answer.email_error) {
    fail('Invite created, but the e-mail was not sent (' + answer.email_error + '). Hand the link, QR code or code over yourself.');
  } else {
    say('Invite created.');
  }
}

/**
 * Shows a refused form's error next to its field when the answer names one the form has
 * (`field` → the element `prefix + field + '-error'`), else in the page's error region.
 * Returns the field's input, for focus.
 */
function fieldError(error, prefix) {
  const field = error.body && error.body.field;
  const slot = field ? byId(prefix + field.replace(/_/g, '-') + '-error') : null;
  if (!slot) {
    fail(error.message);
    return null;
  }
  slot.textContent = refusalText(error);
  return byId(prefix + field.replace(/_/g, '-'));
}

/** A field refusal in words: the server's message and, when it says, what is allowed. */
function refusalText(error) {
  const allowed = error.body && error.body.allowed;
  return error.message + (allowed ? ' — allowed: ' + String(allowed).replace('..=', ' to ') + '.' : '');
}

/**
 * Fills `input` with the one-time code in this page's address (see codeFromAddress), now
 * and whenever a link opened on this very page changes only the fragment; then focuses
 * `next`. Otherwise focuses `input`, to type the code.
 */
function takeCodeFromAddress(input, next) {
  const fill = () => {
    const code = codeFromAddress();
    if (!code) return;
    input.value = code;
    next.focus();
  };
  fill();
  window.addEventListener('hashchange', fill);
  if (!input.value) input.focus();
}

/** The links each role sees in the navigation bar. */
const NAV_LINKS = {
  patient: [
    ['/app/today', 'Today'],
    ['/app/messages', 'Messages'],
    ['/app/history', 'My progress'],
    ['/app/flare', 'Flare'],
    ['/app/reminders', 'Reminders'],
    ['/app/band', 'Band'],
    ['/app/import', 'Import'],
  ],
  therapist: [
    ['/app/patients', 'Patients'],
    ['/app/visits', 'Visits'],
    ['/app/rtm', 'Monitoring'],
  ],
  clinic_admin: [
    ['/app/clinic', 'Clinic'],
    ['/app/visits', 'Visits'],
    ['/app/patients', 'Patients'],
    ['/app/rtm', 'Monitoring'],
  ],
};

/** Signs out (POST /api/v1/auth/logout), forgets this tab's token and goes to the sign-in page. */
async function signOut() {
  try {
    await api('POST', '/api/v1/auth/logout');
  } catch {
    // Already signed out, or offline: the cookie is forgotten by the server later.
  }
  csrf.clear();
  // Walks not sent yet stay on this phone for this person's next sign-in; the plan goes.
  rememberUser(null);
  location.assign('/app');
}

/**
 * Fills `<nav id="nav">` with the links for `user.role` (the current page marked with
 * aria-current) and a Sign out button. Without a user (signed out) the bar is emptied.
 */
function renderNav(user) {
  const nav = byId('nav');
  if (!nav) {
    return;
  }
  if (!nav.hasAttribute('aria-label')) {
    nav.setAttribute('aria-label', 'Main');
  }
  nav.replaceChildren();
  if (!user) {
    nav.hidden = true;
    return;
  }
  const list = document.createElement('ul');
  list.className = 'nav-list';
  const here = location.pathname.replace(/\/+$/, '');
  for (const [href, text] of NAV_LINKS[user.role] || []) {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = href;
    link.textContent = text;
    if (here === href || here.startsWith(href + '/')) {
      link.setAttribute('aria-current', 'page');
    }
    item.append(link);
    list.append(item);
  }
  const item = document.createElement('li');
  item.className = 'nav-signout';
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'link-button';
  button.textContent = 'Sign out';
  button.addEventListener('click', signOut);
  item.append(button);
  list.append(item);
  nav.append(list);
  nav.hidden = false;
}

/** Registers the service worker (offline app shell and reminders); quietly does nothing when unsupported. */
function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) {
    return Promise.resolve(null);
  }
  return navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => null);
}
if (document.querySelector('link[rel="manifest"]')) {
  // The patient app's pages (those linking the web app manifest) register the service worker,
  // which keeps the app shell for offline use and shows reminders.
  registerServiceWorker();
}

/**
 * Fills `<fieldset data-scale="NAME">` with eleven large radio buttons 0–10 named NAME (the
 * fieldset's legend and hint stay first); `data-low` and `data-high` name the two ends.
 */
function fillScale(fieldset) {
  const name = fieldset.dataset.scale;
  const options = document.createElement('div');
  options.className = 'scale-options';
  for (let n = 0; n <= 10; n += 1) {
    const label = document.createElement('label');
    label.className = 'scale-option';
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = name;
    input.value = String(n);
    const number = document.createElement('span');
    number.className = 'scale-number';
    number.textContent = String(n);
    label.append(input, number);
    // The ends say what they mean, as on the check page ("No pain", "Worst imaginable").
    const anchor = n === 0 ? fieldset.dataset.low : n === 10 ? fieldset.dataset.high : '';
    if (anchor) {
      const words = document.createElement('span');
      words.className = 'scale-anchor';
      words.textContent = anchor;
      label.append(' ', words);
    }
    options.append(label);
  }
  fieldset.append(options);
}

/** The chosen value of the radio group `name` in `form` as a number, or null. */
function chosenNumber(form, name) {
  const input = form.querySelector('input[name="' + name + '"]:checked');
  return input ? Number(input.value) : null;
}

/** A Date as a datetime-local input value (local time, minutes). */
function toLocalInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return (
    date.getFullYear() + '-' + pad(date.getMonth() + 1) + '-' + pad(date.getDate()) +
    'T' + pad(date.getHours()) + ':' + pad(date.getMinutes())
  );
}

/**
 * A duration as people say it: whole and half minutes ("7 minutes", "6½ minutes"), with
 * "about" when rounded (386 s is "about 6½ minutes"); seconds only under half a minute.
 * `short` is for tiles: "6½ min", "45 s". (The walk timer shows the seconds themselves.)
 */
function spokenDuration(seconds, short) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 30) return short ? s + ' s' : s === 1 ? '1 second' : s + ' seconds';
  const halves = Math.round(s / 30);
  const whole = Math.floor(halves / 2);
  const number = (whole ? String(whole) : '') + (halves % 2 ? '½' : '');
  if (short) return number + ' min';
  const about = halves * 30 === s ? '' : 'about ';
  return about + number + (halves <= 2 ? ' minute' : ' minutes');
}

/** "7 minutes", "about 6½ minutes", "45 seconds". */
function duration(seconds) {
  return spokenDuration(seconds, false);
}

/** "7 min", "6½ min", "45 s". */
function shortDuration(seconds) {
  return spokenDuration(seconds, true);
}

/**
 * Starts a signed-in page, the one way every page does: GET /api/v1/me (on 401 `signedOut()`
 * hides what needs a person, then the sign-in form with `reason`, then again), the navigation
 * bar, the CSRF token (without one, the sign-in form with `signInAgain`); then `run(me)`.
 * `offline(error)` runs instead when the server cannot be reached (status 0). Pages for
 * patients only pass `patientOnly`.
 */
async function startPage(run, opts) {
  const options = opts || {};
  const again = () => startPage(run, opts);
  let me;
  try {
    me = await api('GET', '/api/v1/me');
  } catch (error) {
    if (error.status === 401) {
      csrf.clear();
      renderNav(null);
      if (options.signedOut) options.signedOut();
      showLogin(options.reason || '', again);
      byId('login-email').focus();
    } else if (error.status === 0 && options.offline) {
      await options.offline(error);
    } else {
      fail(error.message);
    }
    return;
  }
  rememberUser(me.user);
  renderNav(me.user);
  if (await ensureCsrf()) {
    hideLogin();
  } else {
    // The cookie still works but this tab has no CSRF token: reading works, writing needs a
    // new sign-in.
    showLogin(options.signInAgain || 'Sign in again to make changes on this page.', again);
  }
  if (options.patientOnly && me.user.role !== 'patient') {
    say('This page is for patients. Use the links above for your own pages.');
    return;
  }
  await run(me);
}

/**
 * Fills `list` with bands (`GET …/devices`): name, kind, when paired, last contact, and for a
 * removed band when it was removed. `remove(device, button)`, when given, is called from each
 * active band's Remove button after the person confirms; it should remove it and refresh.
 */
function renderDevices(list, devices, remove) {
  list.replaceChildren();
  for (const device of devices) {
    const item = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'title';
    name.textContent = device.name || device.kind;
    const when = document.createElement('span');
    when.className = 'when';
    // A device found in an import has no token of its own: nothing syncs, nothing to stop.
    const facts = device.imported
      ? ['First imported ' + formatDateTime(device.paired_at), device.kind]
      : ['Paired ' + formatDateTime(device.paired_at), device.kind];
    if (device.revoked_at) {
      facts.push('removed ' + formatDateTime(device.revoked_at) + ': it can no longer upload');
    } else if (!device.imported) {
      facts.push(device.last_seen_at ? 'last synced ' + formatDateTime(device.last_seen_at) : 'not synced yet');
    }
    when.textContent = facts.join(' · ');
    item.append(name, when);
    if (remove && !device.revoked_at && !device.imported) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary';
      button.textContent = 'Remove';
      button.setAttribute('aria-label', 'Remove ' + (device.name || device.kind));
      button.addEventListener('click', async () => {
        const sure = window.confirm(
          'Remove ' + (device.name || device.kind) + '? It stops uploading at once; what it already sent stays. ' +
            'To use it again, pair it again.'
        );
        if (!sure) return;
        button.disabled = true;
        try {
          await remove(device, button);
        } finally {
          button.disabled = false;
        }
      });
      item.append(button);
    }
    list.append(item);
  }
}

export {
  goHome,
  renderDevices,
  codeFromAddress,
  showHandover,
  confirm,
  sayInvited,
  fieldError,
  refusalText,
  formatTime,
  takeCodeFromAddress,
  fillScale,
  chosenNumber,
  toLocalInput,
  duration,
  shortDuration,
  startPage,
  lastUserId,
  rememberUser,
  ensureCsrf,
  renderNav,
  signOut,
  registerServiceWorker,
  byId,
  ApiError,
  api,
  sendFile,
  csrf,
  isCsrfError,
  say,
  fail,
  showSafety,
  clearMessages,
  formatDateTime,
  showLogin,
  hideLogin,
};
