// Clerk's console: today's calls in both zones, account look-up, new case.
import { api, el, fillTable, flash, guard, slotText, stateLabel, t } from './common.js';
import { flagWarning } from './flags.js';

const table = document.getElementById('schedule');

async function loadSchedule() {
  const from = new Date();
  from.setHours(0, 0, 0, 0);
  const to = new Date(from.getTime() + 24 * 3600 * 1000);
  const q = new URLSearchParams({ slot_from: from.toISOString().replace(/\.\d+Z$/, 'Z'), slot_to: to.toISOString().replace(/\.\d+Z$/, 'Z'), limit: '100' });
  const r = await api('GET', '/api/cases?' + q);
  const rows = r.cases.sort((a, b) => a.slot.utc.localeCompare(b.slot.utc)).map((c) => el('tr', {},
    el('td', {}, el('a', { href: '/console/cases/' + c.id }, c.id)),
    el('td', {}, c.account_no),
    el('td', {}, slotText(c.slot.customer)),
    el('td', {}, slotText(c.slot.branch), ...(c.slot.warnings || []).map((w) => el('div', { class: 'warn' }, w))),
    el('td', {}, stateLabel(c.state))));
  fillTable(table, rows, 5);
}

// My cases: the open cases the signed-in clerk runs, as primary or as
// backup (marked), whatever their day.
async function loadMine() {
  const r = await api('GET', '/api/cases?' + new URLSearchParams({ assigned: 'me', limit: '200' }));
  const open = ['scheduled', 'in_session', 'pending_review'];
  const rows = r.cases.filter((c) => open.includes(c.state)).sort((a, b) => a.slot.utc.localeCompare(b.slot.utc)).map((c) => el('tr', { 'data-case': c.id, 'data-role': c.my_role || '' },
    el('td', {}, el('a', { href: '/console/cases/' + c.id }, c.id)),
    el('td', {}, el('span', { class: c.my_role === 'backup' ? 'badge warn' : 'badge' }, t('console.role_' + (c.my_role || 'primary')))),
    el('td', {}, c.account_no),
    el('td', {}, slotText(c.slot.branch)),
    el('td', {}, stateLabel(c.state))));
  fillTable(document.getElementById('mine'), rows, 5);
}

const account = document.getElementById('account');
const tz = document.getElementById('slot-tz');
let found = [];

document.getElementById('lookup-form').addEventListener('submit', guard(async () => {
  const q = document.getElementById('lookup-q').value.trim();
  const r = await api('GET', '/api/accounts?q=' + encodeURIComponent(q));
  found = r.accounts;
  account.replaceChildren(...found.map((a) => el('option', { value: a.ref }, a.account_no + ' · ' + a.holder_name + ' · ' + a.time_zone)));
  if (!found.length) account.append(el('option', { value: '' }, t('common.none')));
  pick();
  account.focus();
}, 'lookup-out'));

function pick() {
  const a = found.find((x) => x.ref === account.value);
  if (a) tz.value = a.time_zone;
  flagWarning(document.getElementById('account-flags'), a && a.account_flags);
}
account.addEventListener('change', pick);

// Defaults: last calendar year, a slot tomorrow at 09:00 the customer's time.
const y = new Date().getFullYear() - 1;
document.getElementById('period-from').value = y + '-01-01';
document.getElementById('period-to').value = y + '-12-31';

// A balance certificate is as at one date (the end of that day): the
// "from" field goes away and "to" reads as the certificate's date.
const purpose = document.getElementById('purpose');
function showPeriod() {
  const oneDate = purpose.value === 'balance_certificate';
  const from = document.getElementById('period-from');
  const toLabel = document.getElementById('period-to-label');
  from.hidden = oneDate;
  from.required = !oneDate;
  document.getElementById('period-from-label').hidden = oneDate;
  toLabel.textContent = oneDate ? toLabel.dataset.date : toLabel.dataset.period;
}
purpose.addEventListener('change', showPeriod);
showPeriod();

document.getElementById('case-form').addEventListener('submit', guard(async () => {
  const oneDate = purpose.value === 'balance_certificate';
  const body = {
    account_no: account.value,
    purpose: purpose.value,
    period_from: oneDate ? '' : document.getElementById('period-from').value,
    period_to: document.getElementById('period-to').value,
    slot: { local: document.getElementById('slot-local').value.slice(0, 16), time_zone: tz.value.trim() },
  };
  // How the request came in (optional): the time is the clerk's own
  // clock, sent as UTC; empty means now.
  const channel = document.getElementById('intake-channel').value;
  if (channel) {
    const recv = document.getElementById('intake-received').value;
    body.intake = { channel, received_at: recv ? new Date(recv).toISOString() : '', notes: document.getElementById('intake-notes').value };
  }
  const c = await api('POST', '/api/cases', body);
  flash(t('console.created') + ': ' + c.id);
  location.assign('/console/cases/' + c.id);
}, 'create-out'));

Promise.all([loadSchedule(), loadMine()]).catch((e) => flash(t('common.error') + ': ' + e.message, 'bad'));
