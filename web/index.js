// /app: sign in, then each role's own start page.
import * as S from '/common.js';

const go = S.goHome;

async function start() {
  try {
    const me = await S.api('GET', '/api/v1/me');
    await S.ensureCsrf();
    go(me.user);
  } catch (error) {
    if (error.status === 401) {
      S.csrf.clear();
      S.showLogin('', (answer) => go(answer.user));
      S.byId('login-email').focus();
    } else if (error.status === 0) {
      // Offline: the today page works from this phone's copy.
      location.replace('/app/today');
    } else {
      S.fail(error.message);
    }
  }
}

start();
