// /app/reset: choose a new password with a one-time reset code from the care team (typed, or
// from the link's #code=…): POST /api/v1/auth/password-reset. Then sign in with it here.
(function () {
  'use strict';

  const S = window.Stepwise;
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

  function start() {
    const code = S.codeFromAddress();
    byId('reset-code').value = code;
    byId('reset-form').addEventListener('submit', reset);
    byId(code ? 'reset-password' : 'reset-code').focus();
  }

  start();
})();
