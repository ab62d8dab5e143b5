// Supervisor's review queue and auditor's case search.
import { api, el, fillTable, flash, guard, page, slotText, stateLabel, t } from './common.js';

const table = document.getElementById('cases');
const base = page.page === 'audit' ? '/audit/cases/' : '/review/cases/';

async function load(params) {
  const r = await api('GET', '/api/cases?' + new URLSearchParams({ limit: '100', ...params }));
  fillTable(table, r.cases.map((c) => el('tr', {},
    el('td', {}, el('a', { href: base + c.id }, c.id)),
    el('td', {}, c.account_no),
    el('td', {}, c.clerk || ''),
    el('td', {}, slotText(c.slot.customer)),
    el('td', {}, slotText(c.slot.branch)),
    el('td', {}, stateLabel(c.state)))), 6);
}

if (page.page === 'audit') {
  const form = document.getElementById('search-form');
  form.addEventListener('submit', guard(async () => {
    const p = {};
    const acct = document.getElementById('q-account').value.trim();
    const st = document.getElementById('q-state').value;
    if (acct) p.account_no = acct;
    if (st) p.state = st;
    await load(p);
  }));
  document.getElementById('verify-chain').addEventListener('click', guard(async () => {
    const r = await api('GET', '/api/audit/verify');
    const out = document.getElementById('chain-result');
    const chainOK = r.problems.length === 0;
    out.className = chainOK ? 'good' : 'bad';
    out.textContent = (chainOK ? t('audit.chain_ok') : t('audit.chain_bad')) + ': ' + r.events + ' ' + t('audit.events') +
      ', head #' + r.head_seq + ' ' + r.head_hash + (chainOK ? '' : ' — ' + r.problems.join('; '));
    // The notes published to the write-once store, checked as idv audit verify does.
    const pub = document.getElementById('published-result');
    pub.className = r.published.ok ? 'good' : 'bad';
    pub.textContent = (r.published.ok ? t('audit.published_ok') : t('audit.published_bad')) + ': ' + r.published.notes + ' ' +
      t('audit.published_notes') + (r.published.newest ? ', ' + t('audit.published_newest') + ' ' + r.published.newest : '') +
      (r.published.problem ? ' — ' + r.published.problem : '');
    document.getElementById('key-fingerprint').textContent = r.key_fingerprint;
  }));
  load({}).catch((e) => flash(e.message, 'bad'));
} else {
  load({ state: 'pending_review' }).catch((e) => flash(e.message, 'bad'));
}
