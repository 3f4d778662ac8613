// /app/join: a new patient or therapist creates their account with the invitation code from
// their clinic (typed, or from the link's #code=…), then is signed in and taken to their start
// page. POST /api/v1/invites/accept, then POST /api/v1/auth/login.
import * as S from '/common.js';

const byId = S.byId;
const FIELDS = ['code', 'display-name', 'email', 'password'];

function clearErrors() {
  S.clearMessages();
  for (const name of FIELDS) byId('join-' + name + '-error').textContent = '';
}

async function join(event) {
  event.preventDefault();
  clearErrors();
  const form = byId('join-form');
  if (!form.reportValidity()) return;
  const email = byId('join-email').value.trim();
  const password = byId('join-password').value;
  const button = byId('join-submit');
  button.disabled = true;
  S.say('Creating your account…');
  try {
    await S.api('POST', '/api/v1/invites/accept', {
      code: byId('join-code').value.trim(),
      display_name: byId('join-display-name').value.trim(),
      email,
      password,
    });
    S.say('Your account is ready. Signing you in…');
    const answer = await S.api('POST', '/api/v1/auth/login', { email, password });
    S.csrf.set(answer.csrf_token);
    S.goHome(answer.user);
  } catch (error) {
    if (error.status === 410) {
      S.fail('This invitation was already used or has expired. Ask your clinic for a new one.');
      byId('join-code').focus();
    } else if (error.status === 409) {
      byId('join-email-error').textContent =
        'An account with this e-mail address exists already. Sign in instead, or use another address.';
      byId('join-email').focus();
    } else {
      const input = S.fieldError(error, 'join-');
      if (input) input.focus();
    }
  } finally {
    button.disabled = false;
  }
}

function start() {
  S.takeCodeFromAddress(byId('join-code'), byId('join-display-name'));
  byId('join-form').addEventListener('submit', join);
}

start();
