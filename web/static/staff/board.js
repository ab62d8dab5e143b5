// Supervisors' live board: the server sends the whole board as a
// server-sent event whenever it changes; the tables are redrawn in place.
import { api, el, fillTable, slotText, stateLabel, t, when } from './common.js';

const calls = document.getElementById('board-calls');
const pending = document.getElementById('board-pending');
const status = document.getElementById('board-status');

function age(seconds) {
  const m = Math.floor(seconds / 60);
  if (m < 60) return m + ' ' + t('board.minutes');
  const h = Math.floor(m / 60);
  return h + ' ' + t('board.hours') + ' ' + (m % 60) + ' ' + t('board.minutes');
}

function clerkLine(c) {
  return [(c.name || c.id) + ' · ',
    el('span', { class: c.online ? 'good' : 'muted' }, t(c.online ? 'board.online' : 'board.offline')),
    c.in_call ? ' · ' + t('board.in_call') : ''];
}

// clerkCell: the primary clerk and, on a second line, the backup.
function clerkCell(c, b) {
  const parts = clerkLine(c);
  if (b) parts.push(el('br'), el('span', { class: 'muted' }, t('board.backup') + ': '), el('span', { 'data-backup-online': b.online ? 'yes' : 'no' }, ...clerkLine(b)));
  return el('td', { 'data-online': c.online ? 'yes' : 'no' }, ...parts);
}

function customerCell(r) {
  const words = [];
  if (r.waiting) words.push(t('board.waiting'));
  else if (r.consented) words.push(t('board.consented'));
  else words.push(t('board.not_consented'));
  return el('td', { 'data-customer': r.waiting ? 'waiting' : (r.consented ? 'consented' : 'none') }, words.join(' · '));
}

function callCell(r, canObserve) {
  if (!r.running) return el('td', {}, '');
  const parts = [t('board.running') + ' ' + when(r.started_at)];
  if (r.observers) parts.push(r.observers + ' ' + t('board.observers'));
  return el('td', { 'data-running': 'yes' }, parts.join(' · '), ' ',
    canObserve ? el('a', { href: '/review/cases/' + r.case_id, class: 'observe' }, t('board.observe')) : '');
}

function render(b) {
  const canObserve = b.observe; // supervisors: the case page has the Observe button
  fillTable(calls, b.calls.map((r) => el('tr', { 'data-case': r.case_id, 'data-state': r.state },
    el('td', {}, canObserve ? el('a', { href: '/review/cases/' + r.case_id }, r.case_id) : r.case_id, el('br'), el('span', { class: 'muted' }, r.account_no)),
    el('td', {}, slotText(r.slot.branch)),
    el('td', {}, slotText(r.slot.customer)),
    el('td', {}, stateLabel(r.state)),
    clerkCell(r.clerk, r.backup),
    customerCell(r),
    callCell(r, canObserve))), 7);
  fillTable(pending, b.pending_review.map((r) => el('tr', { 'data-case': r.case_id },
    el('td', {}, canObserve ? el('a', { href: '/review/cases/' + r.case_id }, r.case_id) : r.case_id),
    el('td', {}, r.account_no),
    clerkCell(r.clerk, r.backup),
    el('td', {}, when(r.submitted_at)),
    el('td', {}, age(r.age_seconds)))), 5);
  document.body.dataset.boardUpdates = String(Number(document.body.dataset.boardUpdates || 0) + 1);
}

function setStatus(state) {
  status.dataset.state = state;
  status.textContent = t('board.' + state);
}

// EventSource reconnects by itself after the server ends a stream (every
// 90 s). A refused reconnect (the session ended) closes it: the API call
// then sends a signed-out browser to the sign-in page, else we reconnect.
function connect() {
  const events = new EventSource('/api/board/events');
  events.addEventListener('board', (ev) => {
    setStatus('live');
    render(JSON.parse(ev.data));
  });
  events.addEventListener('error', () => {
    setStatus('reconnecting');
    if (events.readyState === EventSource.CLOSED) {
      api('GET', '/api/auth/me').then(() => setTimeout(connect, 2000), () => setTimeout(connect, 5000));
    }
  });
}
connect();
