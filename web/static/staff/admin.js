// Admin: staff users and roles, disable and enable, add.
import { api, el, fillTable, flash, guard, t } from './common.js';

const table = document.getElementById('staff');

async function load() {
  const r = await api('GET', '/api/staff');
  const list = r.staff || r;
  fillTable(table, list.map((s) => el('tr', {},
    el('td', {}, s.username),
    el('td', {}, s.display_name),
    el('td', {}, s.roles.join(', ')),
    el('td', {}, el('span', { class: 'badge ' + (s.disabled ? 'bad' : 'good') }, s.disabled ? t('admin.disabled') : t('admin.active'))),
    el('td', {}, el('button', {
      type: 'button', class: 'secondary', 'data-user': s.username, 'aria-label': (s.disabled ? t('admin.enable') : t('admin.disable')) + ' ' + s.username,
      onclick: guard(async () => { await api('POST', '/api/staff/' + encodeURIComponent(s.username) + (s.disabled ? '/enable' : '/disable')); await load(); }),
    }, s.disabled ? t('admin.enable') : t('admin.disable'))))), 5);
}

document.getElementById('staff-form').addEventListener('submit', guard(async (ev) => {
  const f = ev.target;
  const roles = [...f.querySelectorAll('input[name="role"]:checked')].map((i) => i.value);
  await api('POST', '/api/staff', { username: document.getElementById('new-username').value.trim(), display_name: document.getElementById('new-name').value.trim(), password: document.getElementById('new-password').value, roles });
  f.reset();
  await load();
}));

load().catch((e) => flash(e.message, 'bad'));
