import { api, APIError, showError, t } from './common.js';

const form = document.getElementById('login-form');
const err = document.getElementById('login-error');
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  err.hidden = true;
  try {
    const me = await api('POST', '/api/auth/login', { username: form.username.value.trim(), password: form.password.value });
    if (me && me.notice) {
      showNotice(me.notice);
      return;
    }
    location.assign('/');
  } catch (e) {
    if (e instanceof APIError && (e.status === 401 || e.status === 403 || e.status === 400)) {
      err.hidden = false;
      form.password.value = '';
      form.password.focus();
    } else {
      showError(e);
    }
  }
});
// After a sign-in at the identity provider the page moves on by itself:
// a navigation of this page is same-site, so the session cookie (SameSite
// Strict) goes with it, which the provider's redirect could not carry.
const done = document.getElementById('sso-done');
if (done) location.replace(done.dataset.next);
else document.getElementById('username').focus();

// showNotice tells the member of staff, before their start page, of the
// failed sign-ins (and the lock) since their last login.
function showNotice(n) {
  let text = t('login.notice').replace('{n}', String(n.failed_attempts));
  if (n.locked_at) text += ' ' + t('login.notice_locked').replace('{at}', new Date(n.locked_at).toLocaleString());
  document.getElementById('login-notice-text').textContent = text;
  form.hidden = true;
  document.getElementById('login-notice').hidden = false;
  const go = document.getElementById('login-continue');
  go.addEventListener('click', () => location.assign('/'));
  go.focus();
}
