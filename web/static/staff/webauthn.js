// WebAuthn in the browser: the server's options (JSON, binary fields as
// unpadded base64url) turned into what navigator.credentials wants, and
// the key's answer turned back into JSON for the server.

const b64 = {
  dec(s) {
    const p = s.replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(p + '='.repeat((4 - (p.length % 4)) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
  },
  enc(buf) {
    let s = '';
    for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  },
};

const ids = (list) => (list || []).map((c) => ({ ...c, id: b64.dec(c.id) }));

// supported reports whether this browser can use security keys here.
export function supported() {
  return !!(window.PublicKeyCredential && navigator.credentials && window.isSecureContext);
}

// create runs navigator.credentials.create for the server's options
// (POST /api/me/keys/challenge) and returns the answer as JSON.
export async function create(options) {
  const o = options.publicKey;
  const cred = await navigator.credentials.create({
    publicKey: { ...o, challenge: b64.dec(o.challenge), user: { ...o.user, id: b64.dec(o.user.id) }, excludeCredentials: ids(o.excludeCredentials) },
  });
  return {
    id: cred.id, rawId: b64.enc(cred.rawId), type: cred.type,
    response: { clientDataJSON: b64.enc(cred.response.clientDataJSON), attestationObject: b64.enc(cred.response.attestationObject),
      transports: cred.response.getTransports ? cred.response.getTransports() : [] },
    clientExtensionResults: cred.getClientExtensionResults(),
  };
}

// get runs navigator.credentials.get for the server's options (a sign-in
// or a decision's challenge) and returns the answer as JSON.
export async function get(options) {
  const o = options.publicKey;
  const cred = await navigator.credentials.get({
    publicKey: { ...o, challenge: b64.dec(o.challenge), allowCredentials: ids(o.allowCredentials) },
  });
  const r = cred.response;
  return {
    id: cred.id, rawId: b64.enc(cred.rawId), type: cred.type,
    response: { clientDataJSON: b64.enc(r.clientDataJSON), authenticatorData: b64.enc(r.authenticatorData), signature: b64.enc(r.signature),
      userHandle: r.userHandle ? b64.enc(r.userHandle) : undefined },
    clientExtensionResults: cred.getClientExtensionResults(),
  };
}
