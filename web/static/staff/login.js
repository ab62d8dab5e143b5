import { api, APIError, showError } from './common.js';

const form = document.getElementById('login-form');
const err = document.getElementById('login-error');
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  err.hidden = true;
  try {
    await api('POST', '/api/auth/login', { username: form.username.value.trim(), password: form.password.value });
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
document.getElementById('username').focus();
