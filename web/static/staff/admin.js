// Admin: staff users and roles, disable and enable, add; account import
// runs and the accounts needing attention; the face engine's threshold,
// calibration and expected false-match rate.
import { api, el, errText, fillTable, guard, page, say, showError, t, when } from './common.js';

const table = document.getElementById('staff');
const lang = page.lang || 'en';

async function load() {
  const r = await api('GET', '/api/staff');
  const list = r.staff || r;
  fillTable(table, list.map((s) => el('tr', { 'data-member': s.username, 'data-source': s.source },
    el('td', {}, s.username),
    el('td', {}, s.display_name),
    el('td', {}, s.roles.join(', ')),
    el('td', {}, t('admin.source_' + s.source)),
    el('td', {}, el('span', { class: 'badge ' + (s.disabled ? 'bad' : 'good') }, s.disabled ? t('admin.disabled') : t('admin.active'))),
    el('td', {}, el('button', {
      type: 'button', class: 'secondary', 'data-user': s.username, 'aria-label': (s.disabled ? t('admin.enable') : t('admin.disable')) + ' ' + s.username,
      onclick: guard(async () => { await api('POST', '/api/staff/' + encodeURIComponent(s.username) + (s.disabled ? '/enable' : '/disable')); await load(); }),
    }, s.disabled ? t('admin.enable') : t('admin.disable'))))), 6);
  await fillHoursUsers(list);
}

// Working hours: one member's weekly hours in the branch's time zone;
// scheduling warns when neither of a case's clerks works at the slot.
const hoursUser = document.getElementById('hours-user');
const hoursText = document.getElementById('hours-text');
async function loadHours() {
  if (!hoursUser.value) return;
  const r = await api('GET', '/api/staff/' + encodeURIComponent(hoursUser.value) + '/hours');
  hoursText.value = r.hours;
  document.getElementById('hours-tz').textContent = r.time_zone;
}
function fillHoursUsers(list) {
  const keep = hoursUser.value;
  hoursUser.replaceChildren(...list.map((s) => el('option', { value: s.username }, s.username + ' · ' + s.display_name)));
  if (keep) hoursUser.value = keep;
  const resetUser = document.getElementById('keyreset-user');
  const was = resetUser.value;
  resetUser.replaceChildren(...list.map((s) => el('option', { value: s.username }, s.username + ' · ' + s.display_name)));
  if (was) resetUser.value = was;
  const enrolUser = document.getElementById('enrol-user');
  const before = enrolUser.value;
  enrolUser.replaceChildren(...list.filter((s) => !s.disabled).map((s) => el('option', { value: s.username }, s.username + ' · ' + s.display_name)));
  if (before) enrolUser.value = before;
  return loadHours();
}

// Recovery of a lost security key: every key of the member goes, with a
// reason (audited); they register a new one at their next sign-in.
document.getElementById('keyreset-form').addEventListener('submit', guard(async () => {
  const user = document.getElementById('keyreset-user').value;
  const reason = document.getElementById('keyreset-reason');
  const r = await api('POST', '/api/staff/' + encodeURIComponent(user) + '/keys/reset', { reason: reason.value.trim() });
  reason.value = '';
  say('keyreset-out', fill(t('admin.keyreset_done'), { n: r.removed, user }), 'good');
}, 'keyreset-out'));
// A one-time code for a member's first security key (shown once, handed
// over out of band; the server keeps only its hash).
document.getElementById('enrol-form').addEventListener('submit', guard(async () => {
  const user = document.getElementById('enrol-user').value;
  const r = await api('POST', '/api/staff/' + encodeURIComponent(user) + '/keys/enrolment');
  say('enrol-out', fill(t('admin.enrol_done'), { user, code: r.code, until: new Date(r.expires_at).toLocaleString(lang) }), 'good');
}, 'enrol-out'));
hoursUser.addEventListener('change', guard(loadHours, 'hours-out'));
document.getElementById('hours-form').addEventListener('submit', guard(async () => {
  const r = await api('PUT', '/api/staff/' + encodeURIComponent(hoursUser.value) + '/hours', { hours: hoursText.value.trim() });
  hoursText.value = r.hours;
  say('hours-out', t('admin.hours_saved'), 'good');
}, 'hours-out'));

document.getElementById('staff-form').addEventListener('submit', guard(async (ev) => {
  const f = ev.target;
  const roles = [...f.querySelectorAll('input[name="role"]:checked')].map((i) => i.value);
  await api('POST', '/api/staff', { username: document.getElementById('new-username').value.trim(), display_name: document.getElementById('new-name').value.trim(), password: document.getElementById('new-password').value, roles });
  f.reset();
  await load();
}));

// fill replaces {name} placeholders in a message.
function fill(msg, vals) {
  return Object.entries(vals).reduce((s, [k, v]) => s.replaceAll('{' + k + '}', String(v)), msg);
}

const num = (x, digits = 4) => Number(x).toLocaleString(lang, { maximumSignificantDigits: digits });
const pct = (x) => (x * 100).toLocaleString(lang, { maximumSignificantDigits: 3 }) + '%';
const count = (n, kind) => (n ? el('span', { class: 'badge ' + kind }, String(n)) : '0');

// Import runs: newest first; failed and flagged rows fold out per run.
const imports = document.getElementById('imports');
const moreRuns = document.getElementById('imports-more');
let runLimit = 10;

function rowList(rows) {
  return el('details', {},
    el('summary', {}, t('admin.show_rows') + ' (' + rows.length + ')'),
    el('ul', { class: 'rows' }, ...rows.map((x) => el('li', { 'data-line': x.line },
      fill(t('admin.line'), { n: x.line }) + ' · ' + x.account_no + ': ',
      x.error
        ? el('span', { class: 'bad' }, t('admin.row_failed') + ' — ' + x.error)
        : el('span', { class: 'warn' }, t('admin.row_flagged') + ' — ' + x.problems.join('; '))))));
}

async function loadImports() {
  const r = await api('GET', '/api/admin/imports?limit=' + runLimit);
  fillTable(imports, r.runs.map((run) => el('tr', { 'data-run': run.id },
    el('td', {}, when(run.started_at)),
    el('td', {}, run.source),
    el('td', {}, run.actor),
    el('td', {}, String(run.imported)),
    el('td', {}, count(run.flagged, 'warn')),
    el('td', {}, count(run.failed, 'bad')),
    el('td', {}, run.rows.length ? rowList(run.rows) : t('admin.no_rows')))), 7);
  moreRuns.hidden = r.runs.length >= r.total;
}

moreRuns.addEventListener('click', guard(async () => { runLimit += 10; await loadImports(); }));

// Accounts: a page at a time, by default only those needing attention.
const accounts = document.getElementById('accounts');
const attentionOnly = document.getElementById('attention-only');
const prev = document.getElementById('accounts-prev');
const next = document.getElementById('accounts-next');
const pageSize = 20;
let offset = 0;

async function loadAccounts() {
  const r = await api('GET', '/api/admin/accounts?attention=' + (attentionOnly.checked ? 1 : 0) + '&limit=' + pageSize + '&offset=' + offset);
  document.getElementById('accounts-model').textContent = r.model_hash;
  fillTable(accounts, r.accounts.map((a) => el('tr', { 'data-attention': a.attention.join(' ') },
    el('td', {}, a.account_no),
    el('td', {}, a.holder_name),
    el('td', {}, when(a.imported_at)),
    el('td', {}, String(a.photos)),
    el('td', {}, a.flagged ? el('span', { class: 'warn' }, a.flagged + ': ' + a.problems.join('; ')) : '0'),
    el('td', {}, a.signature ? t('common.yes') : el('span', { class: 'bad' }, t('common.no'))),
    el('td', {}, a.enrolled + ' / ' + (a.photos - a.flagged)),
    el('td', {}, a.attention.length
      ? el('span', { class: 'bad' }, a.attention.map((x) => t('attention.' + x)).join('; '))
      : el('span', { class: 'badge good' }, t('admin.ready'))))), 8);
  document.getElementById('accounts-range').textContent = r.total
    ? fill(t('admin.range'), { from: offset + 1, to: offset + r.accounts.length, total: r.total })
    : '';
  prev.disabled = offset === 0;
  next.disabled = offset + r.accounts.length >= r.total;
}

attentionOnly.addEventListener('change', guard(async () => { offset = 0; await loadAccounts(); }));
prev.addEventListener('click', guard(async () => { offset = Math.max(0, offset - pageSize); await loadAccounts(); }));
next.addEventListener('click', guard(async () => { offset += pageSize; await loadAccounts(); }));

// The face engine: settings in force and what the calibration says.
function kv(dl, label, value) {
  dl.append(el('dt', {}, label), el('dd', {}, value));
}

// calibrateNow calibrates from the enrolled accounts on demand.
function calibrateNow() {
  const out = el('span', { id: 'calibrate-out', class: 'muted', role: 'status' });
  const btn = el('button', { type: 'button', id: 'calibrate-now', onclick: guard(async () => {
    out.textContent = t('common.loading');
    try {
      calibration(await api('POST', '/api/admin/face/calibrate'));
    } catch (e) {
      out.textContent = errText(e.code, e.message);
    }
  }) }, t('calib.calibrate_now'));
  return el('p', { class: 'row' }, btn, ' ', out);
}

// operating: the threshold in force and whether scores are weak.
function operating(dl, o) {
  if (!o) return;
  kv(dl, t('calib.threshold_in_force'), el('strong', { id: 'threshold-in-force' }, num(o.threshold) + ' (' + (o.from_target ? fill(t('calib.from_target'), { target: o.target_fmr }) : t('calib.configured')) + ')'));
  if (o.calibrated) {
    kv(dl, t('calib.genuine'), o.genuine_pairs.toLocaleString(lang) + (o.genuine_fail >= 0 ? ' · ' + fill(t('calib.genuine_fail'), { share: pct(o.genuine_fail) }) : ''));
    if (o.population_pairs > o.impostor_pairs) kv(dl, t('calib.sampled'), fill(t('calib.sampled_text'), { n: o.impostor_pairs.toLocaleString(lang), of: o.population_pairs.toLocaleString(lang) }));
  }
  kv(dl, t('calib.strength'), o.weak
    ? el('span', { class: 'bad', id: 'evidence-strength', 'data-weak': 'true' }, t('fmr.weak') + ' (' + (o.weak_reasons || []).map((r) => t('fmr.reason_' + r)).join('; ') + ')')
    : el('span', { class: 'badge good', id: 'evidence-strength', 'data-weak': 'false' }, t('calib.strong')));
}

function calibration(f) {
  const box = document.getElementById('calibration');
  const c = f.calibration;
  if (!c) {
    const dl = el('dl', { class: 'kv report' });
    operating(dl, f.operating);
    box.replaceChildren(el('p', { id: 'calibration-none' }, t('calib.none') + ' ', el('code', {}, 'idv face calibrate --accounts')), dl, calibrateNow());
    return;
  }
  const dl = el('dl', { class: 'kv report', id: 'calibration-summary' });
  if (c.id) kv(dl, t('calib.number'), el('strong', { id: 'calibration-id' }, '#' + c.id + ' (' + t('calib.source_' + c.source) + ')'));
  else kv(dl, t('admin.cal_file'), el('span', { class: 'hash' }, f.calibration_file));
  kv(dl, t('admin.cohort'), c.cohort + ' (' + when(c.created) + ')');
  kv(dl, t('admin.people'), String(c.people));
  kv(dl, t('admin.photos'), String(c.photos));
  kv(dl, t('admin.impostors'), c.impostor_pairs.toLocaleString(lang));
  kv(dl, t('admin.target_fmr'), pct(c.target_fmr));
  kv(dl, t('admin.proposed'), num(c.proposed_threshold));
  kv(dl, t('admin.supported'), c.supported ? t('common.yes') : el('span', { class: 'bad' }, t('admin.unsupported')));
  kv(dl, t('admin.model_match'), c.model_matches ? t('common.yes') : el('span', { class: 'bad' }, t('admin.model_mismatch')));
  const at = c.at_threshold;
  operating(dl, f.operating);
  kv(dl, fill(t('calib.fmr_at'), { threshold: num(f.operating ? f.operating.threshold : f.threshold) }), el('strong', { id: 'fmr-at-threshold' }, at
    ? fill(t('admin.fmr_value'), { rate: pct(at.rate), matches: at.matches.toLocaleString(lang), pairs: at.impostors.toLocaleString(lang), upper: pct(at.upper95) })
    : t('admin.fmr_none')));
  const notes = [];
  if (f.threshold > c.proposed_threshold && !(f.operating && f.operating.from_target)) notes.push(el('p', { class: 'warn' }, t('admin.above_proposed')));
  if (at && at.upper95 > c.target_fmr) notes.push(el('p', { class: 'warn' }, t('admin.upper_over_target')));
  box.replaceChildren(dl, ...notes, calibrateNow());
}

async function loadFace() {
  const f = await api('GET', '/api/admin/face');
  const dl = document.getElementById('face-settings');
  dl.replaceChildren();
  kv(dl, t('admin.engine'), f.loaded ? el('span', { class: 'badge good' }, t('admin.loaded')) : el('span', { class: 'bad' }, t('admin.not_loaded')));
  kv(dl, t('admin.threshold'), el('strong', { id: 'face-threshold' }, num(f.threshold)));
  kv(dl, t('admin.recognizers'), f.recognizers ? String(f.recognizers) : t('admin.per_core'));
  kv(dl, t('admin.model_hash'), el('span', { class: 'hash' }, f.model_hash));
  const poses = new Intl.ListFormat(lang, { type: 'conjunction' }).format(f.liveness.poses.map((p) => t('pose.' + p)));
  kv(dl, t('admin.liveness'), fill(t('admin.liveness_text'), {
    poses, window: num(f.liveness.window_seconds), center: num(f.liveness.center_max_yaw), turn: num(f.liveness.turn_min_yaw),
  }));
  const b = f.blas;
  kv(dl, t('admin.blas'), b.error ? el('span', { class: 'bad' }, b.error)
    : b.openblas ? el('span', { class: 'break' }, b.openblas + ' (' + t('admin.threads') + ' ' + b.openblas_threads + ')')
      : el('span', { class: 'warn' }, t('admin.openblas_none')));
  document.getElementById('blas-libs').replaceChildren(
    ...b.libraries.map((l) => el('li', {}, l)),
    ...Object.entries(b.providers).sort().map(([sym, lib]) => el('li', {}, sym + ' → ' + lib)));
  calibration(f);
}

for (const p of [load(), loadImports(), loadAccounts(), loadFace()]) {
  p.catch((e) => { if (e.status !== 401) showError(e); });
}
