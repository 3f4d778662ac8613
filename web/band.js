// /app/band: a one-time pairing code for `stepwise band pair`, and the bands already paired.
import * as S from '/common.js';

const byId = S.byId;

async function showDevices() {
  let devices;
  try {
    devices = await S.api('GET', '/api/v1/me/devices');
  } catch (error) {
    S.fail('Could not load your bands: ' + error.message);
    return;
  }
  devices = Array.isArray(devices) ? devices : [];
  S.renderDevices(byId('devices-list'), devices, removeDevice);
  byId('devices-empty').hidden = devices.length > 0;
  byId('devices').hidden = false;
}

/** Removes a band (lost, given away): its collector's uploads stop at once. */
async function removeDevice(device) {
  try {
    await S.api('DELETE', '/api/v1/me/devices/' + encodeURIComponent(device.id));
    await showDevices();
    S.confirm(byId('devices'), (device.name || device.kind) + ' is removed: it can no longer upload. Pair it again to use it.');
  } catch (error) {
    if (S.isCsrfError(error) || error.status === 401) {
      S.csrf.clear();
      S.showLogin('Please sign in again to remove the band.', start);
    } else {
      S.fail('Could not remove the band: ' + error.message);
    }
  }
}

async function newCode() {
  const button = byId('pair-new');
  button.disabled = true;
  S.say('Getting a code…');
  try {
    const answer = await S.api('POST', '/api/v1/me/pairing-codes');
    byId('pair-code').textContent = answer.code;
    byId('pair-expiry').textContent = 'It works once, until ' + S.formatDateTime(answer.expires_at) + '.';
    byId('pair-command').textContent =
      'stepwise band pair --server ' + location.origin + ' --code ' + answer.code;
    byId('pair-code-box').hidden = false;
    button.textContent = 'Get a new code';
    S.clearMessages();
    byId('pair-code').focus();
  } catch (error) {
    if (S.isCsrfError(error) || error.status === 401) {
      S.csrf.clear();
      S.showLogin('Please sign in again to get a code.', start);
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
      byId('pair').hidden = false;
      await showDevices();
    },
    { patientOnly: true }
  );
}

byId('pair-new').addEventListener('click', newCode);
start();
