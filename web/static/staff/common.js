// Shared helpers of the staff pages: messages in the page's language, the
// JSON API with the session's CSRF token, small DOM builders, logout.
const msgs = JSON.parse(document.getElementById('msgs').textContent || '{}');
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';

export const page = document.body.dataset;

export function t(key) { return msgs[key] || key; }

// errText puts an error code's message in the page's language before the
// server's own (English) text; unknown codes show the server's text.
export function errText(code, message) {
  const m = msgs['err.' + code];
  if (!m) return message || code;
  return message ? m + ' (' + message + ')' : m;
}

export class APIError extends Error {
  constructor(status, body) {
    super(body && body.error ? errText(body.error.code, body.error.message) : ('HTTP ' + status));
    this.status = status;
    this.body = body;
  }
}

// A step-up rotates the session: a request sent with the old cookie while
// it runs (the case page polls every 3 s) comes back 401 although the user
// is signed in. rotations counts the step-ups that finished, rotation is the
// one in flight; a 401 for a request that overlapped one is not a sign-out.
let rotations = 0;
let rotation = null;

// api calls the JSON API; body may be an object (sent as JSON), a Blob or
// File (sent with its own type) or undefined. A GET that lost its session to
// a concurrent step-up is sent again once the new session is in place; any
// other 401 outside /api/auth/ goes to the sign-in page.
export async function api(method, path, body, headers = {}) {
  if (path === '/api/auth/step-up') {
    const p = send(method, path, body, headers);
    const done = p.catch(() => {}).finally(() => { rotations++; if (rotation === done) rotation = null; });
    rotation = done;
    return p;
  }
  const seen = rotations;
  try {
    return await send(method, path, body, headers);
  } catch (e) {
    if (!(e instanceof SessionGone)) throw e;
    if (rotation || seen !== rotations) {
      await rotation;
      if (method === 'GET') return api(method, path, body, headers);
      throw new APIError(401, null);
    }
    location.assign('/login');
    throw new APIError(401, null);
  }
}

// SessionGone is a 401 outside /api/auth/: the cookie the request carried
// is no longer a session.
class SessionGone extends Error {}

async function send(method, path, body, headers) {
  const h = { Accept: 'application/json', ...headers };
  if (method !== 'GET' && csrf) h['X-CSRF-Token'] = currentCSRF();
  let payload;
  if (body instanceof Blob) {
    payload = body;
    h['Content-Type'] = body.type || 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['Content-Type'] = 'application/json';
  }
  let r;
  try {
    r = await fetch(path, { method, headers: h, body: payload, credentials: 'same-origin' });
  } catch {
    throw new Error(t('err.network'));
  }
  if (r.status === 401 && !path.startsWith('/api/auth/')) throw new SessionGone();
  const text = await r.text();
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch { data = text; } }
  if (!r.ok) throw new APIError(r.status, data);
  return data;
}

let csrfNow = csrf;
export function currentCSRF() { return csrfNow; }
export function setCSRF(v) { if (v) csrfNow = v; }

// el builds an element: el('td', {class: 'x'}, 'text', child...).
export function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids) if (k !== undefined && k !== null) e.append(k instanceof Node ? k : String(k));
  return e;
}

export function fillTable(table, rows, cols) {
  const tb = table.tBodies[0];
  tb.replaceChildren();
  if (!rows.length) {
    tb.append(el('tr', {}, el('td', { colspan: cols }, t('common.none'))));
    return;
  }
  // On a phone the table stacks (staff.css): each cell is labelled with its column's heading.
  const heads = [...table.tHead.rows[0].cells].map((th) => th.textContent);
  for (const r of rows) {
    [...r.cells].forEach((td, i) => td.setAttribute('data-label', heads[i] || ''));
    tb.append(r);
  }
}

export function flash(text, kind = 'ok') {
  const f = document.getElementById('flash');
  if (!f) return;
  f.textContent = text;
  f.className = 'flash ' + kind;
  f.hidden = !text;
}

// errorWords is an error in the page's language with the server's message
// and, for a refusal that lists what is missing, the missing items.
export function errorWords(e) {
  const detail = e.body && e.body.error && e.body.error.details ? ' (' + e.body.error.details.map((d) => msgs[d] || t('req.' + d)).join(', ') + ')' : '';
  return t('common.error') + ': ' + e.message + detail;
}

// say puts text in the live region beside a control (an element or its
// id); kind 'bad' marks an error (data-kind, for styles and tests).
export function say(out, text, kind = '') {
  const o = typeof out === 'string' ? document.getElementById(out) : out;
  if (!o) return;
  o.textContent = text;
  if (kind) o.dataset.kind = kind;
  else delete o.dataset.kind;
}

// showError shows an error beside the control that caused it when the
// page has a place for it there (out), else in the banner at the top.
export function showError(e, out) {
  const o = typeof out === 'string' ? document.getElementById(out) : out;
  if (o) say(o, errorWords(e), 'bad');
  else flash(errorWords(e), 'bad');
}

// guard runs an async handler and shows its error beside the control
// (out, see showError), clearing an error out showed before (an outcome,
// such as an invite link, stays until the handler replaces it). A request whose
// session is gone (the page is on its way to the sign-in page) shows
// nothing; any other refusal, a wrong password at the step-up included,
// is shown.
export function guard(fn, out) {
  return async (ev) => {
    if (ev && ev.preventDefault) ev.preventDefault();
    const o = typeof out === 'string' ? document.getElementById(out) : out;
    if (o && o.dataset.kind === 'bad') say(o, '');
    try { await fn(ev); } catch (e) { if (!(e instanceof APIError && e.status === 401 && !e.body)) showError(e, out); }
  };
}

export function stateLabel(s) { return t('state.' + s); }

export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(page.lang || 'en', { dateStyle: 'medium', timeStyle: 'short' });
}

// slotText shows an RFC 3339 time with its zone name ("2026-12-01T09:00:00-05:00 America/New_York").
export function slotText(s) {
  if (!s) return '';
  const [iso, zone] = s.split(' ');
  return iso.slice(0, 10) + ' ' + iso.slice(11, 16) + ' ' + (zone || '');
}

const logout = document.getElementById('logout');
if (logout) {
  logout.addEventListener('click', guard(async () => {
    await api('POST', '/api/auth/logout');
    location.assign('/login');
  }));
}
