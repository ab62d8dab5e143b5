// One case, in three modes (body[data-mode]): the clerk runs it as steps in
// the order the work happens (invite, customer ready, call with capture,
// confirmation and liveness, letter and signature, registry, submit; see
// renderSteps), the supervisor reviews and decides after a step-up, the
// auditor reads the evidence with its hashes and downloads the bundle.
import { api, APIError, el, errText, fillTable, flash, guard, page, say, setCSRF, slotText, stateLabel, t, when } from './common.js';
import { flagWarning } from './flags.js';
import { get as keyGet } from './webauthn.js';

const id = page.case;
const base = '/api/cases/' + encodeURIComponent(id);
const mode = page.mode;
const $ = (x) => document.getElementById(x);
let current = null; // the case
let letter = null; // the latest letter

function fmr(f) {
  if (!f) return t('case.not_calibrated');
  return f.rate.toExponential(1) + ' (≤ ' + f.upper95.toExponential(1) + '); @' + (f.at_distance ?? 0).toExponential(1);
}
function num(x) { return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(4) : '–'; }

// What the calibration says about a face score, in words.
// oneIn rounds 1/rate for people: 1 in 40, 1 in 1,200.
function oneIn(rate) {
  const n = 1 / rate;
  const r = n >= 100 ? Number(n.toPrecision(2)) : Math.max(1, Math.round(n));
  return r.toLocaleString(document.documentElement.lang || 'en');
}
function fill(key, vars) { return t(key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k])); }
// words is the message key names in the page's language, or fallback
// (the server's own word) when the catalogue has none.
function words(key, fallback) { const w = t(key); return w === key ? fallback : w; }

// confirmStep asks in the page, right below the control's row (after),
// for a confirmation naming the action's consequence (text): resolves true
// when confirmed, false on "Go back" or Escape; focus returns to the
// control (back). Not window.confirm: keyboard and screen-reader users,
// and the browser tests, drive it like the rest of the page. Ids:
// <name>-confirm, <name>-confirm-yes, <name>-confirm-no.
let closeConfirm = null;
function confirmStep(name, after, back, text, yes) {
  if (closeConfirm) closeConfirm(false);
  return new Promise((resolve) => {
    const yesBtn = el('button', { type: 'button', id: name + '-confirm-yes', class: 'danger', 'aria-describedby': name + '-confirm-text' }, yes);
    const noBtn = el('button', { type: 'button', id: name + '-confirm-no', class: 'secondary' }, t('common.go_back'));
    const box = el('div', { id: name + '-confirm', class: 'confirm-step', role: 'group', 'aria-labelledby': name + '-confirm-text' },
      el('p', { id: name + '-confirm-text' }, text), el('div', { class: 'row' }, yesBtn, noBtn));
    const done = (ok) => {
      box.remove();
      closeConfirm = null;
      if (back && !back.disabled) back.focus();
      resolve(ok);
    };
    closeConfirm = done;
    yesBtn.addEventListener('click', () => done(true));
    noBtn.addEventListener('click', () => done(false));
    box.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') done(false); });
    after.after(box);
    yesBtn.focus();
  });
}

// liveInvite reports whether the case has an invite whose link still
// works (not revoked, not past its window): a new invite revokes it.
function liveInvite() {
  const now = Date.now();
  return ((current && current.invites) || []).some((i) => !i.revoked_at && Date.parse(i.not_after) > now);
}
// fmrWords: the chance a different customer of the bank would score at least
// this close, its 95% bound and the calibration it comes from.
function fmrWords(a, legacy) {
  if (!a) return legacy ? fmr(legacy) : t('case.not_calibrated');
  if (!a.calibrated) return t('fmr.not_calibrated');
  if (!a.scored) return t('fmr.unscored') + ' · ' + fill('fmr.calibration', { id: a.calibration });
  const words = a.rate > 0
    ? fill('fmr.one_in', { n: oneIn(a.rate), upper: oneIn(a.upper95) })
    : fill('fmr.none', { pairs: a.impostor_pairs.toLocaleString(), upper: oneIn(a.upper95) });
  return words + ' · ' + fill('fmr.calibration', { id: a.calibration });
}
// weakNote says, for a weak score, that it cannot carry the decision.
function weakNote(a) {
  if (!a || !a.weak) return undefined;
  const why = (a.weak_reasons || []).map((r) => t('fmr.reason_' + r)).join('; ');
  return el('div', { class: 'warn weak', 'data-weak': 'true' }, t('fmr.weak') + (why ? ' (' + why + ')' : ''));
}
function fusionWords(f) {
  if (!f) return undefined;
  return fill('fmr.fused', { usable: f.captures, taken: f.taken, agree: f.agree });
}
// markWeak labels the face-match requirement when the latest face score is weak.
function markWeak() {
  const li = document.querySelector('#requirements li[data-req="face_match"]');
  const a = lastFace && lastFace.detail && lastFace.detail.assessment;
  if (!li || li.querySelector('.weak') || !a || !a.weak) return;
  li.append(el('span', { class: 'warn weak', 'data-weak': 'true' }, ' — ' + t('fmr.req_weak')));
}

// livenessWords says in the page's language why a liveness challenge
// passed or failed, with what was sampled; the technical reason is the
// tooltip, and the note reminds the clerk that the decision is theirs.
function livenessWords(d) {
  const r = d.result || {};
  const turns = (r.turns || []).map((x) => x.prompt + ' ' + (x.peak_yaw ?? 0).toFixed(2)).join(', ');
  const summary = t('lv.summary').replace('{samples}', (r.samples || []).length).replace('{rate}', (r.sample_rate ?? 0).toFixed(1))
    .replace('{turns}', turns || '–').replace('{corr}', ((r.light || {}).correlation ?? 0).toFixed(2));
  const why = r.passed ? t('lv.passed') : t('lv.fail.' + r.failure);
  return el('div', { class: 'liveness', title: r.reason || '' }, el('div', { 'data-failure': r.failure || '' }, why),
    el('div', { class: 'muted' }, summary), el('div', { class: 'muted' }, t('lv.note')));
}

async function loadCase() {
  const c = await api('GET', base);
  current = c;
  const rows = [
    [t('common.state'), el('strong', { id: 'state', 'data-state': c.state }, stateLabel(c.state))],
    [t('common.account'), c.account_no],
    [t('console.purpose'), el('span', { id: 'case-service', 'data-purpose': c.purpose }, t('service.' + c.purpose))],
    c.purpose === 'balance_certificate' ? [t('console.date'), c.period_to]
      : [t('console.from') + ' – ' + t('console.to'), c.period_from + ' – ' + c.period_to],
    [t('console.customer_tz'), slotText(c.slot.customer)],
    [t('console.branch_tz'), slotText(c.slot.branch)],
  ];
  // Both clerks, the caller marked; either runs the case.
  if (c.clerks) {
    const who = (s, role) => el('span', { id: 'clerk-' + role, 'data-staff': s ? s.id : '' },
      s ? s.display_name + ' (' + s.username + ')' + (c.my_role === role ? ' · ' + t('case.you') : '') : t('case.clerk_none'));
    rows.push([t('case.clerk_primary'), who(c.clerks.primary, 'primary')], [t('case.clerk_backup'), who(c.clerks.backup, 'backup')]);
  }
  if ($('reassign-section')) $('reassign-section').hidden = !['scheduled', 'in_session'].includes(c.state);
  if (c.reason) rows.push([t('common.reason'), c.reason]);
  if (c.intake) {
    rows.push([t('case.intake'), el('span', { id: 'case-intake', 'data-channel': c.intake.channel },
      t('intake.' + c.intake.channel) + ' · ' + new Date(c.intake.received_at).toLocaleString() + (c.intake.notes ? ' · ' + c.intake.notes : ''))]);
  }
  // Whether the customer chose a password for the emailed statement; the
  // password itself never leaves the server.
  if (c.statement_password !== undefined) rows.push([t('case.statement_password'), t(c.statement_password ? 'case.statement_password_yes' : 'case.statement_password_no')]);
  const dl = $('summary');
  dl.replaceChildren();
  for (const [k, v] of rows) dl.append(el('dt', {}, k), el('dd', {}, v));
  for (const w of c.slot.warnings || []) dl.append(el('dt', {}, '⚠'), el('dd', { class: 'warn' }, w));
  flagWarning($('account-flags'), c.account_flags);
  // The call section is for a call that can still run; a supervisor sees it only then.
  const callOpen = ['scheduled', 'in_session'].includes(c.state);
  if ($('call-join') && mode === 'review') $('call-join').closest('section').hidden = !callOpen && document.body.dataset.call !== 'connected';
  if ($('release')) {
    $('release').disabled = c.state !== 'sealed';
    $('statement-link').hidden = !['released', 'closed'].includes(c.state);
  }
  if ($('statement-sha256') && c.statement && $('statement-sha256').textContent !== c.statement.sha256) {
    $('statement-id').textContent = c.statement.id;
    $('statement-sha256').textContent = c.statement.sha256;
    $('statement-review-link').hidden = false;
    const img = $('statement-preview');
    img.addEventListener('load', () => { img.hidden = false; img.dataset.sha256 = c.statement.sha256; }, { once: true });
    img.src = base + '/statement/preview';
  }
  if ($('scope-from') && !$('scope-from').value) {
    $('scope-from').value = c.period_from;
    $('scope-to').value = c.period_to;
    $('scope-service').value = c.purpose; // the clerk corrects it to what the letter says
  }
  renderSteps();
}

let reqs = null; // the latest requirements, as the server computed them

async function loadRequirements() {
  const r = await api('GET', base + '/requirements');
  reqs = r;
  const all = ['consent', 'face_match', 'liveness', 'signature', 'authorization_letter', 'registry_check', 'email_code', 'recording', 'statement'];
  $('requirements').replaceChildren(...all.map((k) => {
    const ok = !r.missing.includes(k);
    // Why the statement cannot be produced, translated; the server's text
    // (with the dates) as the tooltip.
    const why = !ok && k === 'statement' && r.statement_code ? ' (' + t('req.statement_' + r.statement_code) + ')' : '';
    return el('li', { class: ok ? 'done' : 'missing', 'data-req': k, title: why ? r.statement_problem : undefined }, t('req.' + k) + ' — ' + t(ok ? 'req.done' : 'req.missing') + why);
  }));
  markWeak();
  const open = current && ['scheduled', 'in_session'].includes(current.state);
  $('registry-hours').textContent = t('case.registry') + ': ' + r.registry_hours + (r.ready && open ? ' · ' + t('case.ready') : '');
  if ($('registry-hours-step')) $('registry-hours-step').textContent = t('step.registry_hours') + ': ' + r.registry_hours;
  renderSteps();
}

// sourceLabel says where a face check's image came from: only a live
// capture (with its call, recorded segment and media time) counts.
function sourceLabel(ch) {
  if (ch.kind !== 'face_match') return undefined;
  if (ch.source === 'live_call') {
    return el('div', { class: 'muted source', 'data-source': 'live_call' },
      t('case.source_live') + ' · ' + ch.call_id + ' · ' + t('case.segment') + ' ' + ch.segment + ' · ' + ((ch.media_ms || 0) / 1000).toFixed(3) + ' s');
  }
  return el('div', { class: 'warn source', 'data-source': ch.source || 'unknown' }, t(ch.source === 'upload' ? 'case.source_upload' : 'case.source_unknown'));
}

function confirmButtons(ch) {
  if (mode !== 'clerk' || ch.kind !== 'face_match' || ch.source !== 'live_call' || ch.confirmation) return '';
  const note = el('input', { id: 'note-' + ch.id, maxlength: '300', 'aria-label': t('case.confirm_note') + ' ' + ch.id });
  const send = (confirmed) => guard(async () => {
    await api('POST', base + '/checks/' + ch.id + '/confirm', { confirmed, note: note.value || (confirmed ? 'same person, side by side' : 'different person') });
    await refresh();
  });
  return el('div', { class: 'row' }, note,
    el('button', { type: 'button', class: 'confirm', 'data-check': ch.id, onclick: send(true) }, t('case.confirm')),
    el('button', { type: 'button', class: 'secondary', onclick: send(false) }, t('case.reject')));
}

let lastFace = null; // the latest face check (a live capture when there is one), shown with its numbers
let allChecks = []; // the latest checks of the case
let shownFace = null; // the id of the face check #face-result shows (clerk)
let shownChecks = ''; // the checks the table shows, as JSON

async function loadChecks() {
  const r = await api('GET', base + '/checks');
  allChecks = r.checks;
  const faces = r.checks.filter((c) => c.kind === 'face_match');
  lastFace = faces.filter((c) => c.source === 'live_call').pop() || faces.pop() || null;
  const sig = r.checks.filter((c) => c.kind === 'signature').pop();
  if (mode === 'review' && sig && sig.detail && sig.detail.region) {
    const g = sig.detail.region;
    shownRegion = { x: g.x ?? g.X, y: g.y ?? g.Y, w: g.w ?? g.W, h: g.h ?? g.H };
    drawRegion();
  }
  // The table is rebuilt only when a check changed: rebuilt on every poll,
  // its buttons were replaced under a click (and a half-typed note lost).
  const seen = JSON.stringify(r.checks);
  if (seen !== shownChecks) {
    shownChecks = seen;
    fillChecks(r.checks);
  }
  markWeak();
  if (mode === 'clerk') {
    // The latest face result stays beside the call, also after a reload.
    if (lastFace && lastFace.id !== shownFace) {
      shownFace = lastFace.id;
      showFace({ ...lastFace.detail, decision: lastFace.result, note: '' }, '', lastFace.source);
    }
    faceConfirm();
  }
  renderSteps();
}

// confirmationWords is the clerk's side-by-side verdict on a face check in
// the page's language, with the note they wrote.
function confirmationWords(ch) {
  return t(ch.confirmation === 'confirmed' ? 'case.same_person' : 'case.not_same_person') + (ch.note ? ' (' + ch.note + ')' : '');
}

// fillChecks renders the checks table.
function fillChecks(checks) {
  fillTable($('checks'), checks.map((ch) => {
    const d = ch.detail || {};
    return el('tr', { 'data-kind': ch.kind, 'data-result': ch.result, 'data-source': ch.source || '' },
      el('td', {}, ch.kind, sourceLabel(ch), el('div', { class: 'muted' }, (ch.who ? ch.who + ' · ' : '') + (ch.at_branch || when(ch.created_at)))),
      el('td', {}, el('span', { class: 'badge ' + (/^(MATCH|PASS)$/.test(ch.result) ? 'good' : 'bad') }, ch.result)),
      el('td', {}, ch.kind === 'face_match' ? num(d.distance) + ' / ' + num(d.threshold) : ch.kind === 'liveness' && d.result ? livenessWords(d) : ''),
      el('td', { class: 'fmr' }, ...(ch.kind === 'face_match' ? [fmrWords(d.assessment, d.expected_fmr), d.fusion ? el('div', { class: 'muted fusion' }, fusionWords(d.fusion)) : undefined, weakNote(d.assessment)] : [''])),
      el('td', { 'data-confirmation': ch.confirmation || undefined }, ch.confirmation ? (ch.confirmed_by_who ? ch.confirmed_by_who + ': ' : '') + confirmationWords(ch) : ''),
      el('td', {}, confirmButtons(ch)));
  }), 6);
}

// faceConfirm puts the clerk's side-by-side confirmation of the latest
// live capture beside the face result (the same request as the buttons in
// the checks table), or says who confirmed it.
let confirmFor = null;
function faceConfirm() {
  const box = $('face-confirm');
  const ch = lastFace;
  const key = ch ? ch.id + '|' + (ch.confirmation || '') : '';
  if (!box || key === confirmFor) return;
  confirmFor = key;
  if (!ch || ch.source !== 'live_call') { box.replaceChildren(); return; }
  if (ch.confirmation) {
    box.replaceChildren(el('p', { id: 'face-confirmed', 'data-confirmation': ch.confirmation }, t('case.confirmed') + ': ' + (ch.confirmed_by_who ? ch.confirmed_by_who + ': ' : '') + confirmationWords(ch)));
    return;
  }
  const note = el('input', { id: 'face-note', maxlength: '300' });
  const send = (confirmed) => guard(async () => {
    await api('POST', base + '/checks/' + ch.id + '/confirm', { confirmed, note: note.value || (confirmed ? 'same person, side by side' : 'different person') });
    await refresh();
  }, 'face-confirm-out');
  box.replaceChildren(el('div', { class: 'row' },
    el('label', { for: 'face-note' }, t('case.confirm_note')), note,
    el('button', { type: 'button', id: 'face-same', onclick: send(true) }, t('case.confirm')),
    el('button', { type: 'button', id: 'face-different', class: 'secondary', onclick: send(false) }, t('case.reject'))),
  el('p', { id: 'face-confirm-out', class: 'outcome', 'aria-live': 'polite' }));
}

// ---- the clerk's steps: the story in the order the work happens. Each
// step is a <details> whose summary says, in words, whether it is done,
// the one to do now, blocked (and by what), or still to do (and what is
// missing), all from the requirements the server computed
// (GET .../requirements), the case and its checks. The step to do now is
// opened when it becomes the one; the others fold then, except those the
// clerk opened by their summary, the call while it runs, and a step
// (other than the call) the clerk has just worked in, such as the invite
// link they are about to copy: that one folds at the next change. The clerk may open any step at any time.
const STEPS = ['invite', 'customer', 'call', 'letter', 'registry', 'submit'];
const SUBMITTED = ['pending_review', 'approved', 'rejected', 'sealed', 'released', 'closed'];
const touched = new Set(); // steps the clerk opened or closed
const used = new Set(); // steps the clerk worked in since the step to do last changed
let nowStep; // the step shown as current

// stepModel says for each step its status (done, current, blocked, todo),
// why (text) and its items ([label, ok]).
function stepModel(c, r, checks) {
  const miss = new Set(r.missing);
  const ok = (k) => !miss.has(k);
  const item = (k) => [t('req.' + k), ok(k)];
  const open = ['scheduled', 'in_session'].includes(c.state);
  const submitted = SUBMITTED.includes(c.state);
  const invited = (c.invites || []).length > 0 || ok('consent');
  const opened = (c.invites || []).some((i) => i.used_at) || ok('consent');
  const captured = checks.some((k) => k.kind === 'face_match' && k.source === 'live_call');
  const statementWhy = r.statement_code ? ' (' + t('req.statement_' + r.statement_code) + ')' : '';
  const steps = {
    invite: { items: [[t('step.item_invite'), invited]], waits: [] },
    customer: { items: [[t('step.item_opened'), opened], item('consent'), item('email_code')], waits: invited ? [] : [t('step.item_invite')] },
    call: { items: [[t('step.item_capture'), captured], item('face_match'), item('liveness'), item('recording')], waits: ok('consent') ? [] : [t('req.consent')] },
    letter: { items: [item('authorization_letter'), item('signature')], waits: [] },
    registry: { items: [item('registry_check')], waits: captured ? [] : [t('step.item_capture')] },
    submit: { items: [[t('step.item_submitted'), submitted]], waits: submitted ? [] : r.missing.map((k) => t('req.' + k) + (k === 'statement' ? statementWhy : '')) },
  };
  let now = null;
  for (const k of STEPS) {
    const s = steps[k];
    s.done = s.items.every(([, v]) => v);
    const missing = s.items.filter(([, v]) => !v).map(([l]) => l);
    if (s.done) {
      s.status = 'done';
      s.why = '';
    } else if (!open && !submitted) {
      s.status = 'blocked';
      s.why = fill('step.why_ended', { state: stateLabel(c.state) });
    } else if (s.waits.length) {
      s.status = 'blocked';
      s.why = fill('step.why_waits', { what: s.waits.join(' · ') });
    } else {
      s.status = 'todo';
      s.why = fill('step.why_missing', { what: missing.join(' · ') });
      // Waiting only for the customer's email code is not the clerk's step to do now.
      if (!now && open && !(k === 'customer' && ok('consent'))) now = k;
    }
  }
  if (now) steps[now].status = 'current';
  return { steps, now };
}

const callLive = () => ['joining', 'joined', 'connected'].includes(document.body.dataset.call);

function renderSteps() {
  if (!$('steps') || !current || !reqs) return;
  const { steps, now } = stepModel(current, reqs, allChecks);
  for (const k of STEPS) {
    const s = steps[k];
    const d = $('step-' + k);
    d.dataset.status = s.status;
    $('step-' + k + '-state').textContent = t('step.state_' + s.status);
    $('step-' + k + '-state').dataset.status = s.status;
    $('step-' + k + '-why').textContent = s.why;
  }
  $('customer-items').replaceChildren(...steps.customer.items.map(([l, v]) => el('li', { class: v ? 'done' : 'missing' }, l + ' — ' + t(v ? 'req.done' : 'req.missing'))));
  $('submit-missing').replaceChildren(...(reqs.missing.length ? reqs.missing.map((k) => el('li', { class: 'missing', 'data-missing': k },
    t('req.' + k) + ' — ' + t('req.missing') + (k === 'statement' && reqs.statement_code ? ' (' + t('req.statement_' + reqs.statement_code) + ')' : '')))
    : [el('li', { class: 'done' }, t('case.ready'))]));
  if (now === nowStep) return;
  nowStep = now;
  for (const k of STEPS) {
    // The call's results stay in the checks and the requirements: worked in, it folds all the same once over.
    const keep = k === 'call' ? callLive() : used.has(k);
    if (k !== now && !touched.has(k) && !keep) $('step-' + k).open = false;
  }
  used.clear();
  if (now) {
    $('step-' + now).open = true;
    touched.delete(now);
  }
}

// The clerk opens and folds steps by their summaries (click, Enter, Space).
function stepToggles() {
  for (const k of STEPS) {
    const d = $('step-' + k);
    if (!d) continue;
    d.querySelector('summary').addEventListener('click', () => touched.add(k));
    d.querySelector('.step-body').addEventListener('focusin', () => used.add(k));
  }
}

async function loadLetters() {
  if (!$('letter-img')) return;
  const r = await api('GET', base + '/letters');
  const list = r.letters || [];
  letter = list.length ? list[list.length - 1] : null;
  const img = $('letter-img');
  if (!letter) {
    $('letter-id').textContent = '— ' + t('case.no_letter');
    return;
  }
  $('letter-id').textContent = letter.id + (letter.scope ? ' ✓' : '');
  if (letter.content_type.startsWith('image/')) {
    const src = base + '/letters/' + letter.id + '/content';
    if (img.getAttribute('src') !== src) img.src = src;
    img.hidden = false;
  } else {
    img.hidden = true;
    $('letter-id').replaceChildren(el('a', { href: base + '/letters/' + letter.id + '/content' }, letter.id + ' (PDF)'));
  }
}

// What a delivery report (mail.report.<action> events) said about a
// message, in words; a failed or delayed one is a warning.
const reportWords = { delivered: 'case.mail_delivered', failed: 'case.mail_failed', delayed: 'case.mail_delayed', relayed: 'case.mail_relayed', expanded: 'case.mail_expanded' };
const mailKinds = { invite: 'case.mail_kind_invite', code: 'case.mail_kind_code', statement: 'case.mail_kind_statement' };
function reportLine(e) {
  const action = e.action.slice('mail.report.'.length);
  if (!e.action.startsWith('mail.report.') || !reportWords[action]) return undefined;
  const d = e.detail || {};
  const words = t(mailKinds[d.kind] || 'case.mail_kind_other') + ': ' + t(reportWords[action]) + ' ' + (d.status || '') + (d.diagnostic ? ' (' + d.diagnostic + ')' : '');
  return el('div', { class: action === 'failed' || action === 'delayed' ? 'warn' : 'muted' }, words);
}

// mailWarning shows, above everything, the statement whose latest
// delivery report says it did not arrive (or not yet).
function mailWarning(events) {
  const latest = {};
  for (const e of events) {
    if (e.action.startsWith('mail.report.') && e.detail && e.detail.kind === 'statement' && !e.detail.superseded_by) latest[e.detail.mail] = e;
  }
  const bad = Object.values(latest).filter((e) => e.action === 'mail.report.failed' || e.action === 'mail.report.delayed');
  $('mail-warning').hidden = bad.length === 0;
  $('mail-warning').textContent = bad.map((e) => '⚠ ' + t(e.action === 'mail.report.failed' ? 'case.statement_bounced' : 'case.statement_delayed') + ' ' +
    (e.detail.status || '') + (e.detail.diagnostic ? ' (' + e.detail.diagnostic + ')' : '')).join(' ');
}

// rawEvent is the event as stored (action, actor id, detail, hash), one click away.
function rawEvent(e) {
  const kv = (k, v, cls) => [el('dt', {}, k), el('dd', { class: cls }, el('code', {}, v))];
  return el('details', { class: 'raw' }, el('summary', {}, t('record.raw') + ' #' + e.seq),
    el('dl', { class: 'kv' }, ...kv(t('record.raw_action'), e.action), ...kv(t('record.raw_actor'), e.actor),
      ...Object.entries(e.detail || {}).flatMap(([k, v]) => kv('', k + '=' + v)),
      ...kv(t('record.raw_hash'), e.hash, 'hash')));
}

// The timeline reads as sentences (the server's narrator, in the page's
// language), newest first; the auditor's page renders its own on the
// server (with filters), so it is only read here for the mail warning.
async function loadTimeline() {
  const r = await api('GET', base + '/timeline');
  mailWarning(r.events);
  if ($('timeline').dataset.server) return;
  fillTable($('timeline'), r.events.slice().reverse().map((e) => el('tr', { 'data-action': e.action },
    el('td', {}, e.at_branch || when(e.at), e.at_customer ? el('div', { class: 'muted' }, t('record.customer_time') + ': ' + e.at_customer) : undefined),
    el('td', {}, e.who || e.actor), el('td', {}, el('span', { class: 'sentence' }, e.sentence || e.action), reportLine(e), rawEvent(e)))), 3);
}

async function loadEvidence() {
  if (!$('evidence')) return;
  const r = await api('GET', base + '/evidence');
  const items = r.evidence || r.items || [];
  if ($('evidence').tagName === 'TABLE') fillTable($('evidence'), items.map((e) => el('tr', { 'data-kind': e.kind },
    el('td', {}, e.kind, ['capture', 'upload'].includes(e.kind) ? el('div', { class: e.kind === 'upload' ? 'warn' : 'muted' }, t('case.evidence_' + e.kind)) : undefined,
      el('div', { class: 'muted' }, e.content_type + (e.who ? ' · ' + t('record.evidence_by') + ' ' + e.who : ''))),
    el('td', { class: 'hash' }, e.archived_at ? el('a', { href: base + '/evidence/' + e.id }, e.sha256) : e.sha256,
      // Recorded audio (Ogg/Opus) plays as stored; recorded VP8 video (IVF)
      // plays through the server's WebM remux (/play); the hash is the stored file's.
      e.archived_at && e.content_type === 'audio/ogg' ? el('audio', { controls: true, preload: 'none', src: base + '/evidence/' + e.id, 'aria-label': t('case.play') + ' ' + e.kind }) : undefined,
      e.archived_at && e.content_type === 'video/x-ivf' ? el('video', { controls: true, preload: 'none', class: 'recording', src: base + '/evidence/' + e.id + '/play', 'aria-label': t('case.play') + ' ' + e.kind }) : undefined),
    el('td', {}, String(e.size)),
    el('td', {}, e.archived_at ? (e.archived_at_branch || when(e.archived_at)) : '–'))), 4);
  // The supervisor and the auditor see the live capture itself beside the engine's numbers.
  const frame = lastFace && items.find((e) => e.id === lastFace.evidence_id && e.archived_at);
  if (frame) showFace({ ...lastFace.detail, decision: lastFace.result, note: '' }, base + '/evidence/' + frame.id, lastFace.source);
}

async function refresh() {
  await Promise.all([loadCase(), loadRequirements(), loadChecks(), loadLetters(), loadTimeline()]);
}

// ---- clerk: invite, call, checks, letter, signature, registry, submit, cancel
function clerk() {
  // A new invite revokes the one the customer may already hold: with a
  // live one, the clerk confirms first (the server audits the revocation).
  const replaceOK = async (button) => {
    await loadCase();
    if (!liveInvite()) return true;
    return confirmStep('invite', $('invite-email').closest('.row'), button, t('case.invite_replace_confirm'), t('case.invite_replace_yes'));
  };
  $('invite-email').addEventListener('click', guard(async () => {
    if (!(await replaceOK($('invite-email')))) return;
    await api('POST', base + '/invite/email');
    say('invite-out', t('case.invite_sent'), 'good');
    await Promise.all([loadCase(), loadTimeline()]);
  }, 'invite-out'));
  $('invite-issue').addEventListener('click', guard(async () => {
    if (!(await replaceOK($('invite-issue')))) return;
    const r = await api('POST', base + '/invite');
    const ics = URL.createObjectURL(new Blob([r.ics], { type: 'text/calendar' }));
    $('invite-out').replaceChildren(t('case.invite_link') + ': ', el('span', { class: 'hash', id: 'invite-link' }, r.link), ' ',
      el('a', { href: ics, download: 'remoteidv-call.ics', id: 'invite-ics' }, t('case.invite_ics')));
    await Promise.all([loadCase(), loadTimeline()]);
  }, 'invite-out'));

  $('face-form').addEventListener('submit', guard(async () => {
    const f = $('face-file').files[0];
    if (!f) return;
    const r = await api('POST', base + '/face-checks', f);
    await refresh();
    showFace(r, URL.createObjectURL(f), 'upload');
  }, 'face-out'));

  $('letter-form').addEventListener('submit', guard(async () => {
    const f = $('letter-file').files[0];
    if (!f) return;
    await api('POST', base + '/letters', f);
    await loadLetters();
    await loadTimeline();
  }, 'letter-out'));
  $('scope-form').addEventListener('submit', guard(async () => {
    if (!letter) throw new Error(t('case.no_letter'));
    await api('POST', base + '/letters/' + letter.id + '/scope', {
      account_no: $('scope-account').value.trim(), service: $('scope-service').value,
      period_from: $('scope-from').value, period_to: $('scope-to').value, registered_email: $('scope-email').checked,
    });
    say('scope-out', t('case.scope_saved'), 'good');
    await refresh();
  }, 'scope-out'));

  stepToggles();
  markRegion();
  for (const i of ['rx', 'ry', 'rw', 'rh']) $(i).addEventListener('input', drawRegion);
  // The verdict is a deliberate choice: nothing is preselected, and the
  // page records nothing until one is chosen (the server refuses too).
  const verdict = $('verdict');
  const needVerdict = () => {
    say('verdict-error', t('case.verdict_required'), 'bad');
    verdict.setAttribute('aria-invalid', 'true');
  };
  verdict.addEventListener('invalid', needVerdict);
  verdict.addEventListener('change', () => {
    if (!verdict.value) return;
    say('verdict-error', '');
    verdict.removeAttribute('aria-invalid');
  });
  $('sig-form').addEventListener('submit', guard(async () => {
    if (!verdict.value) {
      needVerdict();
      verdict.focus();
      return;
    }
    say('verdict-error', '');
    verdict.removeAttribute('aria-invalid');
    if (!letter) throw new Error(t('case.no_letter'));
    await api('POST', base + '/signature-check', {
      letter_id: letter.id, verdict: verdict.value, reason: $('sig-reason').value.trim(),
      region: { x: +$('rx').value, y: +$('ry').value, w: +$('rw').value, h: +$('rh').value },
    });
    say('sig-out', t('case.sig_saved'), 'good');
    verdict.selectedIndex = 0; // the next verdict is chosen again
    await refresh();
  }, 'sig-out'));

  $('registry-run').addEventListener('click', guard(async () => {
    const r = await api('POST', base + '/registry-check');
    $('registry-out').className = r.result === 'PASS' ? 'good' : 'bad';
    $('registry-out').textContent = r.result + ' · ' + r.status + ' · name ' + (r.name_match ? '✓' : '✗') + ' · photo ' + (r.photo_match || '–') +
      ' · ' + r.elapsed_ms + ' ms · ' + r.service_hours + (r.within_service_hours ? '' : ' ⚠') +
      ' · ' + t('case.registry_capture') + ' ' + r.capture_check +
      (r.reasons && r.reasons.length ? ' · ' + t('case.registry_why') + ': ' + r.reasons.join('; ') : '');
    await refresh();
  }, 'registry-out'));
  $('submit-case').addEventListener('click', guard(async () => {
    await api('POST', base + '/submit');
    say('submit-out', t('case.submitted'), 'good');
    await refresh();
  }, 'submit-out'));
  // Cancel and abort end the case for good: the clerk confirms first.
  $('cancel-form').addEventListener('submit', guard(async (ev) => {
    const abort = ev.submitter && ev.submitter.id === 'abort-case';
    const button = abort ? $('abort-case') : $('cancel-case');
    const ok = await confirmStep(abort ? 'abort' : 'cancel', $('cancel-form'), button,
      t(abort ? 'case.abort_confirm' : 'case.cancel_confirm'), t(abort ? 'case.abort_yes' : 'case.cancel_yes'));
    if (!ok) return;
    const how = abort ? '/abort' : '/cancel';
    await api('POST', base + how, { reason: $('cancel-reason').value.trim(), ...abortFlag(how) });
    await refresh();
  }, 'cancel-out'));
  setupCall();
}

// abortFlag adds the fraud category the clerk chose to an abort (none by
// default: a flag is a deliberate choice); a cancel never raises one.
function abortFlag(how) {
  const c = $('fraud-category') && $('fraud-category').value;
  return how === '/abort' && c ? { fraud_category: c } : {};
}

// showFace puts the capture (or the uploaded photo, labelled as such) next
// to the numbers the engine gave.
function showFace(r, src, source) {
  const caption = source === 'upload' ? t('case.uploaded_photo') : t('review.capture');
  const box = $('face-result');
  // The reference photos from account opening, each with its distance (staff who run or review the case).
  const refs = mode === 'audit' ? [] : (r.references || []).map((ref, i) => el('figure', {},
    el('img', { src: base + '/references/' + i, alt: t('case.reference') + ' ' + (i + 1) }),
    el('figcaption', {}, t('case.reference') + ' ' + (i + 1) + ' · ' + num(ref.distance))));
  // The clerk's confirmation (faceConfirm) sits between the photos and the numbers.
  const confirm = $('face-confirm');
  box.replaceChildren(...[
    el('div', { class: 'faces' },
      src ? el('figure', { 'data-source': source || 'live_call' }, el('img', { src, alt: caption }), el('figcaption', {}, caption)) : el('figure', {}, el('figcaption', {}, t('case.capture_live'))),
      ...refs),
    confirm,
    el('dl', { class: 'kv' },
      el('dt', {}, t('case.decision')), el('dd', { id: 'face-decision' }, String(r.decision) + (r.status ? ' (' + r.status + ')' : '')),
      source === 'upload' ? el('dt', {}, '⚠') : undefined, source === 'upload' ? el('dd', { class: 'warn' }, t('case.source_upload')) : undefined,
      ...(mode === 'clerk' ? [el('dt', {}, t('case.distance') + ' / ' + t('case.threshold')), el('dd', {}, num(r.distance) + ' / ' + num(r.threshold))]
        : [el('dt', {}, t('case.distance')), el('dd', {}, num(r.distance)), el('dt', {}, t('case.threshold')), el('dd', {}, num(r.threshold))]),
      el('dt', {}, t('case.fmr')), el('dd', { id: 'face-fmr' }, fmrWords(r.assessment, r.expected_fmr)),
      r.fusion ? el('dt', {}, t('fmr.fusion')) : undefined, r.fusion ? el('dd', { id: 'face-fusion' }, fusionWords(r.fusion)) : undefined,
      r.assessment && r.assessment.weak ? el('dt', {}, '⚠') : undefined, r.assessment && r.assessment.weak ? el('dd', {}, weakNote(r.assessment)) : undefined,
      el('dt', {}, ''), el('dd', { class: 'muted' }, r.note || ''))].filter(Boolean));
}

// Region marking: drag on the letter; the numbers are the letter's own pixels.
function markRegion() {
  const img = $('letter-img');
  let start = null;
  const pt = (ev) => {
    const b = img.getBoundingClientRect();
    const sx = img.naturalWidth / b.width;
    const sy = img.naturalHeight / b.height;
    return { x: Math.max(0, Math.round((ev.clientX - b.left) * sx)), y: Math.max(0, Math.round((ev.clientY - b.top) * sy)) };
  };
  img.addEventListener('pointerdown', (ev) => { ev.preventDefault(); start = pt(ev); });
  img.addEventListener('pointermove', (ev) => { if (start) setRegion(start, pt(ev)); });
  window.addEventListener('pointerup', (ev) => { if (start) { setRegion(start, pt(ev)); start = null; } });
  img.addEventListener('load', drawRegion);
  new ResizeObserver(drawRegion).observe(img);
}
function setRegion(a, b) {
  $('rx').value = Math.min(a.x, b.x);
  $('ry').value = Math.min(a.y, b.y);
  $('rw').value = Math.max(1, Math.abs(b.x - a.x));
  $('rh').value = Math.max(1, Math.abs(b.y - a.y));
  drawRegion();
}
let shownRegion = null; // review: the region the clerk marked, from the latest signature check

function drawRegion() {
  const img = $('letter-img');
  const box = $('region-box');
  if (!img || !box) return;
  const r = $('rx') ? { x: +$('rx').value, y: +$('ry').value, w: +$('rw').value, h: +$('rh').value } : shownRegion;
  if (!r || img.hidden || !img.naturalWidth) { box.hidden = true; return; }
  const k = img.clientWidth / img.naturalWidth;
  box.style.left = (r.x * k) + 'px';
  box.style.top = (r.y * k) + 'px';
  box.style.width = (r.w * k) + 'px';
  box.style.height = (r.h * k) + 'px';
  box.hidden = false;
}

// ---- the call: the clerk's side of the signaling protocol (README, v1)
function setupCall() {
  let ws = null;
  let pc = null;
  let local = null;
  const status = $('call-status');
  // A supervisor observes: receive-only, no camera, no capture (the server decides the role).
  const observer = mode !== 'clerk';
  const buttons = (on) => {
    for (const b of ['call-capture', 'call-challenge', 'call-leave']) if ($(b)) $(b).disabled = !on;
    $('call-join').disabled = on;
  };
  const send = (m) => { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ v: 1, ...m })); };
  const stop = (text) => {
    joined = false;
    if (pc) pc.close();
    if (ws) ws.close();
    if (local) for (const tr of local.getTracks()) tr.stop();
    pc = ws = local = null;
    buttons(false);
    document.body.dataset.call = 'ended';
    if (text) status.textContent = text;
  };
  $('call-join').addEventListener('click', guard(async () => {
    say('call-error', '');
    if (!observer) {
      local = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
      $('call-self').srcObject = local;
    }
    rejoins = 0;
    connect();
    buttons(true);
  }, 'call-error'));
  // Rejoining. The call runs on one server node; when that node goes away
  // (its bye says "server shutting down", or the socket drops while the
  // call was on) the page joins again and the call continues on another
  // node: at most maxRejoins tries in a row, waiting 1, 2, 4, 8, 8, 8 s
  // with a little randomness; a call that connects starts the count afresh.
  const maxRejoins = 6;
  let rejoins = 0;
  let joined = false; // the clerk pressed join and has not left
  function connect() {
    joined = true;
    ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + base + '/call/ws');
    ws.onopen = () => { send({ type: 'join' }); document.body.dataset.call = 'joined'; };
    ws.onclose = () => {
      if (!joined) return;
      if (rejoins >= maxRejoins) {
        stop('—');
        return;
      }
      if (pc) pc.close();
      pc = null;
      const wait = Math.min(1000 * 2 ** rejoins, 8000) + Math.random() * 500;
      rejoins++;
      status.textContent = t('case.call_rejoining');
      document.body.dataset.call = 'joining';
      setTimeout(() => { if (joined) connect(); }, wait);
    };
    ws.onmessage = (ev) => onMessage(JSON.parse(ev.data)).catch((e) => { say('call-error', t('common.error') + ': ' + e.message, 'bad'); });
    document.body.dataset.call = 'joining';
  }
  async function onMessage(m) {
    switch (m.type) {
      case 'join':
        pc = new RTCPeerConnection({ iceServers: m.ice_servers || [] });
        pc.onicecandidate = (e) => { if (e.candidate) send({ type: 'candidate', candidate: e.candidate.toJSON() }); };
        pc.ontrack = (e) => { $('call-remote').srcObject = e.streams[0] || new MediaStream([e.track]); };
        pc.onconnectionstatechange = () => { status.textContent = pc ? words('case.conn_' + pc.connectionState, pc.connectionState) : ''; if (pc && pc.connectionState === 'connected') { rejoins = 0; document.body.dataset.call = 'connected'; } if (pc && pc.connectionState === 'failed' && ws) ws.close(); };
        break;
      case 'offer':
        await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
        if (local) for (const tr of local.getTracks()) pc.addTrack(tr, local);
        await pc.setLocalDescription(await pc.createAnswer());
        send({ type: 'answer', sdp: pc.localDescription.sdp });
        break;
      case 'candidate':
        await pc.addIceCandidate(m.candidate);
        break;
      case 'challenge':
        $('call-prompt').textContent = words('cust.prompt.' + m.prompt, m.prompt) + ' (' + m.index + '/' + m.total + ')';
        break;
      case 'result':
        say('call-error', '');
        $('call-prompt').textContent = words('record.check.' + m.kind, m.kind) + ': ' + m.result + (m.ms ? ' (' + m.ms + ' ms)' : '');
        await refresh(); // shows a new face result beside the call (loadChecks)
        break;
      case 'quality': {
        const q = m.quality || {};
        $('call-quality').textContent = fill('case.quality_line', { w: q.width, h: q.height, fps: Math.round(q.fps), kbps: Math.round(q.video_kbps), loss: (q.loss_percent ?? 0).toFixed(1) });
        break;
      }
      case 'bye':
        // A node going away: the socket closes next and the page rejoins.
        if (m.reason === 'server shutting down') break;
        stop(m.reason || 'bye');
        break;
      case 'error':
        // Beside the buttons, in the page's language with the server's words.
        say('call-error', t('common.error') + ': ' + errText(m.code, m.message), 'bad');
        break;
    }
  }
  // A capture or challenge goes to the server over the call's socket; its
  // refusal comes back as an error message, shown beside the buttons.
  const ask = (type, waiting) => () => {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      say('call-error', t('case.call_not_joined'), 'bad');
      return;
    }
    say('call-error', t(waiting));
    send({ type });
  };
  if (!observer) {
    $('call-capture').addEventListener('click', ask('capture', 'case.capture_waiting'));
    $('call-challenge').addEventListener('click', ask('challenge', 'case.challenge_waiting'));
  }
  $('call-leave').addEventListener('click', () => {
    if (!observer) send({ type: 'bye', reason: 'clerk ended the call' });
    stop(t('case.call_leave'));
  });
}

// ---- supervisor: decision after step-up, or signed with a security key
// where the role decides with one (the key signs this case and decision)
function review() {
  setupCall();
  $('letter-img').addEventListener('load', drawRegion);
  new ResizeObserver(drawRegion).observe($('letter-img'));
  let withKey = false;
  api('GET', '/api/me/keys').then((k) => {
    withKey = k.enabled && (k.required || k.keys.length > 0);
    if (!withKey) return;
    const pw = $('stepup-password');
    if (pw) {
      pw.required = false;
      pw.hidden = true;
      document.querySelector('label[for="stepup-password"]').hidden = true;
    }
    $('decision-key-hint').hidden = false;
  }).catch(() => {});
  $('decision-form').addEventListener('submit', guard(async () => {
    const decision = document.querySelector('input[name="decision"]:checked')?.value;
    // The hash on the page is the file the supervisor could open: approve that one.
    const shown = $('statement-sha256').textContent;
    const sum = decision === 'approve' && /^[0-9a-f]{64}$/.test(shown) ? shown : undefined;
    const body = { decision, reason: $('decision-reason').value.trim(), statement_sha256: sum };
    if (withKey) {
      const options = await api('POST', base + '/decision/challenge', { decision, statement_sha256: sum || '' });
      body.webauthn = await keyGet(options);
    } else if ($('stepup-password')) {
      // (Without the field, a member from the identity provider stepped up
      // there, by the link beside the form; the server refuses the decision
      // if that is more than 5 minutes ago.)
      let me;
      try {
        me = await api('POST', '/api/auth/step-up', { password: $('stepup-password').value });
      } catch (e) {
        // A wrong password: say so beside the form (not "log in again"),
        // with the server's words; nothing was decided.
        if (e instanceof APIError && e.status === 401 && e.body) {
          $('stepup-password').focus();
          throw new Error(t('review.stepup_wrong') + ' (' + ((e.body.error && e.body.error.message) || e.message) + ')');
        }
        throw e;
      } finally {
        $('stepup-password').value = '';
      }
      setCSRF(me.csrf_token);
    }
    const key = crypto.randomUUID();
    await api('POST', base + '/decision', body, { 'Idempotency-Key': key });
    say('decision-out', t('review.done'), 'good');
    await refresh();
  }, 'decision-out'));
}

// release: after a confirmation naming the (masked) registered address.
function release() {
  if (!$('release')) return;
  $('release').addEventListener('click', guard(async () => {
    await loadCase();
    const ok = await confirmStep('release', $('release').closest('.row'), $('release'),
      fill('case.release_confirm', { email: (current && current.registered_email) || '—', document: current ? t('service.' + current.purpose).toLowerCase() : '—' }), t('case.release_yes'));
    if (!ok) return;
    await api('POST', base + '/release', undefined, { 'Idempotency-Key': crypto.randomUUID() });
    say('release-out', t('case.released'), 'good');
    await refresh();
  }, 'release-out'));
}

// bundle: the auditor's download goes through fetch, so that a refusal
// (a case not sealed yet) is shown beside the link with the server's
// words instead of a saved error file or nothing.
function bundle() {
  const a = $('bundle-link');
  if (!a) return;
  a.addEventListener('click', guard(async () => {
    let r;
    try {
      r = await fetch(a.href, { credentials: 'same-origin' });
    } catch {
      throw new Error(t('err.network'));
    }
    if (!r.ok) {
      let body = null;
      try { body = await r.json(); } catch { body = null; }
      throw new APIError(r.status, body);
    }
    const blob = await r.blob();
    const name = (/filename="([^"]+)"/.exec(r.headers.get('Content-Disposition') || '') || [])[1] || 'bundle.zip';
    const url = URL.createObjectURL(blob);
    const save = el('a', { href: url, download: name, hidden: true });
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    say('bundle-out', t('audit.bundle_saved'), 'good');
  }, 'bundle-out'));
}

// ---- review: a supervisor reassigns the primary or backup clerk
async function reassign() {
  const form = $('reassign-form');
  if (!form) return;
  const r = await api('GET', '/api/clerks');
  $('reassign-clerk').append(...r.clerks.map((k) => el('option', { value: k.id }, k.display_name + ' (' + k.username + ')' + (k.hours ? ' · ' + k.hours + ' ' + r.time_zone : ''))));
  form.addEventListener('submit', guard(async () => {
    const c = await api('POST', base + '/clerks', { role: $('reassign-role').value, staff_id: $('reassign-clerk').value, reason: $('reassign-reason').value.trim() });
    $('reassign-reason').value = '';
    say('reassign-out', t('case.reassigned'), 'good');
    await loadCase();
    return c;
  }, 'reassign-out'));
}

async function start() {
  release();
  if (mode === 'review') await reassign();
  bundle();
  if (mode === 'clerk') clerk();
  if (mode === 'review') review();
  await refresh();
  await loadEvidence();
  // Everything above the fold has its final height now: the requirements,
  // checks and timeline no longer push the buttons around. Tests (and
  // anything that clicks by position) wait for this.
  document.body.dataset.ready = 'true';
  // Live state: the case and its checks change under the call and the sealer.
  setInterval(() => { Promise.all([loadCase(), loadRequirements(), loadChecks()]).catch(() => {}); }, 3000);
}
start().catch((e) => flash(t('common.error') + ': ' + e.message, 'bad'));
