// "Notifications on this device" for the care team (on /app/patients): escalations, flares and
// patients' messages reach the therapist by Web Push once a device is turned on (web/push.js).
import * as S from '/common.js';
import * as Push from '/push.js';

const byId = S.byId;

async function show() {
  const state = byId('staff-push-state');
  const button = byId('staff-push-toggle');
  let status;
  try {
    status = await Push.status();
  } catch {
    status = { supported: false, permission: 'unsupported', subscribed: false };
  }
  if (!status.supported) {
    state.textContent = 'This browser cannot receive notifications.';
    button.hidden = true;
    return;
  }
  button.hidden = false;
  if (status.subscribed) {
    state.textContent = 'On: this device is told of escalations, flares and patients’ messages.';
    button.textContent = 'Turn off notifications';
  } else {
    state.textContent =
      status.permission === 'denied'
        ? 'Off: notifications are blocked in this browser’s settings.'
        : 'Off: this device is not told of escalations, flares or messages.';
    button.textContent = 'Turn on notifications';
  }
  button.disabled = !S.csrf.get();
}

async function toggle() {
  const button = byId('staff-push-toggle');
  button.disabled = true;
  try {
    const status = await Push.status();
    if (status.subscribed) {
      await Push.disable(S.csrf.get());
      S.say('Notifications are off on this device.');
    } else {
      await Push.enable(S.csrf.get(), 'Care team browser');
      S.say('Notifications are on for this device.');
    }
  } catch (error) {
    S.fail(error.message);
  } finally {
    await show();
  }
}

let wired = false;

/** Shows this device's state and wires its button. */
async function setUpStaffPush() {
  if (!wired) {
    wired = true;
    byId('staff-push-toggle').addEventListener('click', toggle);
  }
  await show();
}

export { setUpStaffPush };
