import { api, el, guard, say, setCSRF, t } from './common.js';
import { create, get, supported } from './webauthn.js';

// The key page: after the password, present a key (or register the first
// one) before role work; list, add and remove your keys.

let state = null;

async function load() {
  state = await api('GET', '/api/me/keys');
  const list = document.getElementById('keys-list');
  list.replaceChildren(...state.keys.map((k) => el('li', { class: 'row' },
    el('span', {}, k.name, ' · ', t('keys.added'), ' ', new Date(k.created_at).toLocaleString(),
      k.last_used_at ? ' · ' + t('keys.used') + ' ' + new Date(k.last_used_at).toLocaleString() : ''),
    state.pending ? '' : el('button', { type: 'button', class: 'link', 'data-key': k.id, 'aria-label': t('keys.remove') + ' ' + k.name,
      onclick: guard(async () => { await api('DELETE', '/api/me/keys/' + encodeURIComponent(k.id)); say('keys-out', t('keys.removed'), 'good'); await load(); }, 'keys-out') },
    t('keys.remove')))));
  document.getElementById('keys-none').hidden = state.keys.length > 0;
  document.getElementById('keys-signin').hidden = !(state.pending && state.keys.length > 0);
  document.getElementById('keys-add').hidden = state.pending && state.keys.length > 0;
  document.getElementById('keys-required').hidden = !(state.pending && state.keys.length === 0);
  document.getElementById('keys-continue').hidden = state.pending;
  // The first key needs the one-time code an admin issued (IDV_WEBAUTHN_ENROLMENT=admin).
  document.getElementById('key-enrolment-field').hidden = !state.enrolment;
  document.getElementById('keys-off').hidden = state.enabled && supported();
}

document.getElementById('keys-signin-button').addEventListener('click', guard(async () => {
  const options = await api('POST', '/api/auth/key/challenge');
  const answer = await get(options);
  const r = await api('POST', '/api/auth/key', answer);
  location.assign(r.home || '/');
}, 'keys-out'));

document.getElementById('keys-add').addEventListener('submit', guard(async (ev) => {
  ev.preventDefault();
  const name = document.getElementById('key-name').value.trim();
  // A member from the identity provider has no password here: they
  // confirmed at the provider (the link in the form) within the last
  // minutes, and the server checks that.
  const pw = document.getElementById('key-password');
  if (pw) {
    let me;
    try {
      me = await api('POST', '/api/auth/step-up', { password: pw.value });
    } finally {
      pw.value = '';
    }
    setCSRF(me.csrf_token);
  }
  if (state.keys.length > 0) {
    // A member with keys shows one of them before adding another.
    await api('POST', '/api/auth/key', await get(await api('POST', '/api/auth/key/challenge')));
  }
  const code = document.getElementById('key-enrolment');
  const body = { name };
  if (state.enrolment) body.enrolment_code = code.value.trim();
  const options = await api('POST', '/api/me/keys/challenge', body);
  const answer = await create(options);
  await api('POST', '/api/me/keys', answer);
  document.getElementById('key-name').value = '';
  code.value = '';
  say('keys-out', t('keys.registered'), 'good');
  await load();
}, 'keys-out'));

guard(load, 'keys-out')();
