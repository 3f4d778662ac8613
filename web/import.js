// /app/import: the patient sends their phone app's export (Gadgetbridge, Apple Health, Fitbit
// in Google Takeout), follows it until read, and sees their earlier imports (web/imports.js).
import * as S from '/common.js';
import { setUpImports } from '/imports.js';

const byId = S.byId;

const imports = setUpImports({
  base: '/api/v1/me/imports',
  handle(error) {
    if (S.isCsrfError(error) || error.status === 401) {
      S.csrf.clear();
      S.showLogin('Please sign in again to import your export.', start);
    } else {
      S.fail(error.message);
    }
  },
});

async function start() {
  await S.startPage(
    async () => {
      byId('import-page').hidden = false;
      try {
        await imports.refresh();
      } catch (error) {
        S.fail('Could not load your imports: ' + error.message);
      }
    },
    {
      patientOnly: true,
      signedOut() {
        byId('import-page').hidden = true;
      },
    }
  );
}

start();
