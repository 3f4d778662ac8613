// /app/flare: report a flare (when it started, how bad, notes). Offline, the report waits on this
// phone and is sent later; its client_id is made once, so it is never stored twice.
import * as S from '/common.js';
import * as Outbox from '/walklog.js';

const byId = S.byId;
const form = byId('flare-form');

function showQueue() {
  const waiting = Outbox.list('/api/v1/me/flares').length;
  const note = byId('queue-note');
  note.hidden = waiting === 0;
  note.textContent = waiting
    ? (waiting === 1 ? '1 report is' : waiting + ' reports are') + ' saved on this phone and will be sent when you are online.'
    : '';
}

function resetForm() {
  form.reset();
  form.dataset.clientId = Outbox.newClientId();
  byId('flare-start').value = S.toLocalInput(new Date());
}

async function sendQueued() {
  const result = await Outbox.flush();
  if (result.rejected.length) {
    S.fail('Something saved on this phone was not accepted: ' + result.rejected.join(' '));
  }
  showQueue();
}

async function submit(event) {
  event.preventDefault();
  const started = new Date(byId('flare-start').value);
  if (Number.isNaN(started.getTime())) {
    S.fail('Please fill in when the flare started.');
    byId('flare-start').focus();
    return;
  }
  if (started > new Date()) {
    S.fail('The start time cannot be in the future.');
    byId('flare-start').focus();
    return;
  }
  const pain = S.chosenNumber(form, 'pain');
  if (pain === null) {
    S.fail('Please choose how bad the pain is, from 0 to 10.');
    form.querySelector('input[name="pain"]').focus();
    return;
  }
  const body = { client_id: form.dataset.clientId, started_at: started.toISOString(), pain };
  const notes = byId('flare-notes').value.trim();
  if (notes) body.notes = notes;
  const button = byId('flare-submit');
  button.disabled = true;
  S.say('Sending…');
  try {
    const result = await Outbox.send('/api/v1/me/flares', body);
    resetForm();
    if (result.queued) {
      S.say('Saved on this phone, will send when online.');
      showQueue();
    } else if (S.showSafety(result.stored.safety)) {
      S.say('Your flare is reported and your care team has been told.');
    } else {
      S.confirm(form, 'Thank you. Your flare is reported and your therapist will see it. Take it easy.');
    }
  } catch (error) {
    if (S.isCsrfError(error) || error.status === 401) {
      S.csrf.clear();
      Outbox.add('/api/v1/me/flares', body);
      resetForm();
      showQueue();
      S.showLogin('Please sign in again to send your report.', start);
    } else {
      S.fail(error.message);
    }
  } finally {
    button.disabled = false;
  }
}

async function start() {
  await S.startPage(
    async () => {
      byId('flare').hidden = false;
      await sendQueued();
    },
    {
      patientOnly: true,
      offline: () => {
        if (S.lastUserId() === null) {
          S.fail('You are offline. Connect to the internet to sign in.');
          return;
        }
        S.renderNav({ role: 'patient' });
        byId('flare').hidden = false;
        showQueue();
      },
    }
  );
}

for (const fieldset of document.querySelectorAll('fieldset[data-scale]')) {
  S.fillScale(fieldset);
}
resetForm();
form.addEventListener('submit', submit);
window.addEventListener('online', sendQueued);
showQueue();
start();
