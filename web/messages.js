// /app/messages: the patient's thread with their care team (web/thread.js).
import * as S from '/common.js';
import { setUpThread } from '/thread.js';

const thread = setUpThread({
  base: '/api/v1/me/messages',
  prefix: 'thread',
  handle(error, retry) {
    if (S.isCsrfError(error) || error.status === 401) {
      S.csrf.clear();
      S.showLogin('Please sign in again to send your message.', retry);
    } else {
      S.fail(error.message);
    }
  },
});

async function start() {
  await S.startPage(
    async () => {
      S.byId('messages-page').hidden = false;
      try {
        await thread.refresh();
      } catch (error) {
        S.fail('Could not load your messages: ' + error.message);
      }
    },
    {
      patientOnly: true,
      signedOut() {
        S.byId('messages-page').hidden = true;
      },
    }
  );
}

start();
