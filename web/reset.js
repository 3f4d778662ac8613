// /app/reset: choose a new password with a one-time reset code from the care team (typed, or
// from the link's #code=…): POST /api/v1/auth/password-reset. Then sign in with it here.
import * as S from '/common.js';

const byId = S.byId;

async function reset(event) {
  event.preventDefault();
  S.clearMessages();
  byId('reset-code-error').textContent = '';
  byId('reset-password-error').textContent = '';
  if (!byId('reset-form').reportValidity()) return;
  const button = byId('reset-submit');
  button.disabled = true;
  S.say('Saving your new password…');
  try {
    await S.api('POST', '/api/v1/auth/password-reset', {
      code: byId('reset-code').value.trim(),
      password: byId('reset-password').value,
    });
    byId('reset-password').value = '';
    byId('reset').hidden = true;
    byId('by-email').hidden = true;
    S.say('Your new password is saved. Sign in with it now.');
    S.showLogin('', (answer) => S.goHome(answer.user));
    byId('login-email').focus();
  } catch (error) {
    if (error.status === 410) {
      byId('reset-code-error').textContent = error.message;
      byId('reset-code').focus();
    } else if (error.status === 429) {
      S.fail('Too many tries with wrong codes. Please wait a while, then try again.');
    } else {
      const input = S.fieldError(error, 'reset-');
      if (input) input.focus();
    }
  } finally {
    button.disabled = false;
  }
}

async function askByEmail(event) {
  event.preventDefault();
  S.clearMessages();
  byId('email-email-error').textContent = '';
  if (!byId('email-form').reportValidity()) return;
  const button = byId('email-submit');
  button.disabled = true;
  try {
    await S.api('POST', '/api/v1/auth/password-reset/email', { email: byId('email-email').value.trim() });
    S.say('If this address has an account, an e-mail with a link is on its way. Open it on this phone or computer; the link works once. Check your spam folder if nothing arrives.');
  } catch (error) {
    if (error.status === 429) {
      S.fail('Several e-mails were asked for already. Please wait a while, or ask your care team for a reset code.');
    } else {
      const input = S.fieldError(error, 'email-');
      if (input) input.focus();
    }
  } finally {
    button.disabled = false;
  }
}

/** Offers the e-mail link only when this server sends e-mail. */
async function offerEmail() {
  try {
    const options = await S.api('GET', '/api/v1/auth/recovery');
    byId('by-email').hidden = !options.by_email;
  } catch {
    // Offline or an older server: the code form alone.
  }
}

function start() {
  byId('email-form').addEventListener('submit', askByEmail);
  offerEmail();
  S.takeCodeFromAddress(byId('reset-code'), byId('reset-password'));
  byId('reset-form').addEventListener('submit', reset);
}

start();
