// The customer's side of the call: camera and microphone, the signaling
// socket (protocol v1, see the README), the peer connection with the
// server, and the liveness prompts.
const V = 1;
const status = document.getElementById('status');
const prompt = document.getElementById('prompt');
const self = document.getElementById('self');
const remote = document.getElementById('remote');
// Messages in the page's language (web/i18n.go), embedded as a JSON data block.
const msgs = JSON.parse(document.getElementById('msgs').textContent || '{}');
const t = (k) => msgs[k] || k;
const word = (p) => msgs['cust.prompt.' + p] || p;
// An error code's message in the page's language, then the server's text.
const errText = (code, message) => (msgs['err.' + code] ? msgs['err.' + code] + (message ? ' (' + message + ')' : '') : message || code);

// The page shows one step at a time: the device check, the email code,
// the letter, waiting for the clerk, the call, and what happens next
// (body[data-step], call.css). The code and the letter are done when the
// server says so (rendered data-done, kept over a reload or a language
// switch); a letter the customer chose to skip is remembered for the tab.
const steps = ['device', 'code', 'letter', 'wait', 'call'];
let step = '';
// Storage may be refused (private modes): the skip then lasts until a reload.
let skipped = false;
const skip = () => { skipped = true; try { sessionStorage.setItem('idv.letter.skip', '1'); } catch { /* kept in the page */ } };
const wasSkipped = () => { try { return skipped || sessionStorage.getItem('idv.letter.skip') === '1'; } catch { return skipped; } };
const isDone = (s) => !!document.getElementById(s + '-step').dataset.done || (s === 'letter' && wasSkipped());
// pending is the first of the code and the letter still to do.
const pending = () => ['code', 'letter'].find((s) => !isDone(s)) || '';
function show(s) {
  const moved = step !== '' && step !== s;
  step = s;
  document.body.dataset.step = s;
  const p = pending();
  if (p && s !== 'end') document.body.dataset.pending = p;
  else delete document.body.dataset.pending;
  const resume = document.getElementById('resume');
  if (p) resume.textContent = t('cust.resume') + t('cust.step.' + p);
  const i = steps.indexOf(s);
  document.getElementById('progress-text').textContent = i < 0 ? t('cust.progress_end')
    : t('cust.progress').replace('{n}', String(i + 1)).replace('{total}', String(steps.length)).replace('{name}', t('cust.step.' + s));
  document.querySelectorAll('.progress-bar li').forEach((li) => {
    const j = steps.indexOf(li.dataset.for);
    // The code and the letter count as done only when they are (the
    // clerk may join before them); the other steps once passed.
    const own = li.dataset.for === 'code' || li.dataset.for === 'letter' ? isDone(li.dataset.for) : j < i || i < 0;
    li.className = j === i ? 'current' : own ? 'done' : '';
  });
  if (moved) {
    window.scrollTo(0, 0);
    const h = document.querySelector('#' + s + '-step h2');
    if (h && s !== 'call') h.focus({ preventScroll: true });
  }
}
// next leaves the device check, the code or the letter for the next
// thing to do: a step not done yet, else the call or waiting for it.
function next() {
  show(pending() || (clerkHere ? 'call' : 'wait'));
}

function setState(state, text) {
  document.body.dataset.state = state;
  if (text) status.textContent = text;
}

let ws;
let pc;
let local;

// Whether the clerk is in the call. The signaling socket tells the
// customer nothing about the clerk (signaling/message.go has no such
// message); what the server does is relay the clerk's camera on the video
// track it offered at join, which the browser keeps muted until the
// clerk's media arrives (and mutes again if it stops). So until that
// track unmutes the page says the customer is waiting for the clerk, who
// can neither see nor hear them yet.
let clerkHere = false;
function showPresence() {
  if (!pc || pc.connectionState !== 'connected' || locked) return;
  document.body.dataset.clerk = clerkHere ? 'joined' : 'waiting';
  setState('connected', t(clerkHere ? 'cust.connected' : 'cust.waiting_clerk'));
  // The clerk can see the customer now: the call takes the screen, unless
  // the customer is typing the code or choosing the letter (a button there
  // leads to the call, and finishing the step does too).
  if (clerkHere && (step === 'device' || step === 'wait')) show('call');
}

// locked: five wrong email codes revoked the invite. Nothing will be sent,
// so the page must not fall back to "the call has ended" and its "what
// happens next".
let locked = false;

function send(m) {
  m.v = V;
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
}

async function onMessage(ev) {
  const m = JSON.parse(ev.data);
  switch (m.type) {
    case 'join':
      pc = new RTCPeerConnection({ iceServers: m.ice_servers || [] });
      pc.onicecandidate = (e) => { if (e.candidate) send({ type: 'candidate', candidate: e.candidate.toJSON() }); };
      pc.ontrack = (e) => {
        remote.srcObject = e.streams[0] || new MediaStream([e.track]);
        if (e.track.kind !== 'video') return;
        clerkHere = !e.track.muted;
        e.track.onunmute = () => { clerkHere = true; showPresence(); };
        e.track.onmute = () => { clerkHere = false; showPresence(); };
      };
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === 'connected') { rejoins = 0; showPresence(); }
        // Media lost (the server's node died without closing the socket,
        // or the network): the socket is closed too, and the page rejoins.
        if (pc.connectionState === 'failed') { setState('failed', t('cust.failed')); if (ws) ws.close(); }
      };
      break;
    case 'offer':
      await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
      for (const t of local.getTracks()) pc.addTrack(t, local);
      await pc.setLocalDescription(await pc.createAnswer());
      send({ type: 'answer', sdp: pc.localDescription.sdp });
      break;
    case 'candidate':
      await pc.addIceCandidate(m.candidate);
      break;
    case 'challenge':
      if (step !== 'call') show('call');
      prompt.textContent = word(m.prompt) + ' (' + m.index + '/' + m.total + ')';
      document.body.dataset.prompt = m.prompt;
      showLight(m.colour);
      break;
    case 'result':
      prompt.textContent = t('cust.thanks');
      showLight('');
      break;
    case 'bye':
      // A server going away ends its calls with this reason: the socket
      // closes next and the page rejoins (connect).
      if (m.reason === 'server shutting down') break;
      end(m.reason === 'recording limit reached' ? t('err.recording_limit') : t('cust.ended'));
      break;
    case 'error':
      // The recording limit ends the call (or keeps it from starting).
      if (m.code === 'recording_limit') end(t('err.recording_limit'));
      else setState('error', t('cust.problem') + ': ' + errText(m.code, m.message));
      break;
  }
}

// showLight fills the screen with the colour the server sent for this
// step of the liveness challenge (none: back to the page). The server
// sends each colour when it starts; the page never knows the next one.
let light;
function showLight(colour) {
  if (!colour) {
    if (light) light.hidden = true;
    delete document.body.dataset.light;
    return;
  }
  if (!light) {
    light = document.createElement('div');
    light.id = 'light';
    light.setAttribute('role', 'status');
    document.body.appendChild(light);
  }
  light.textContent = t('lv.cust.light');
  light.style.backgroundColor = colour;
  light.hidden = false;
  document.body.dataset.light = colour;
}

function end(text) {
  if (locked) return;
  showLight('');
  prompt.textContent = '';
  setState('ended', text);
  show('end');
  if (pc) pc.close();
  if (ws) ws.close();
  if (local) for (const t of local.getTracks()) t.stop();
}

// micLevel shows the microphone's level, so the customer sees it works.
function micLevel(stream) {
  const meter = document.getElementById('mic');
  if (!meter || !window.AudioContext || !stream.getAudioTracks().length) return;
  const ac = new AudioContext();
  const an = ac.createAnalyser();
  an.fftSize = 512;
  ac.createMediaStreamSource(stream).connect(an);
  const buf = new Uint8Array(an.fftSize);
  const tick = () => {
    an.getByteTimeDomainData(buf);
    let peak = 0;
    for (const v of buf) peak = Math.max(peak, Math.abs(v - 128) / 128);
    meter.value = peak;
    if (document.body.dataset.state !== 'ended' && !locked) setTimeout(tick, 100);
  };
  tick();
}

// deviceCheck shows what the browser found before joining: the camera
// (with its resolution), the microphone, and a round trip to the server.
async function deviceCheck(stream) {
  const list = document.getElementById('device-checks');
  if (!list) return;
  const row = (key, ok, detail) => {
    const li = document.createElement('li');
    li.className = ok ? 'ok' : 'bad';
    li.dataset.check = key;
    li.textContent = (ok ? '✓ ' : '✗ ') + t('cust.check_' + key) + (detail ? ': ' + detail : '');
    list.append(li);
  };
  const v = stream.getVideoTracks()[0];
  const s = v ? v.getSettings() : {};
  row('camera', !!v, v ? (s.width || '?') + '×' + (s.height || '?') : t('cust.check_missing'));
  const a = stream.getAudioTracks()[0];
  row('mic', !!a, a ? a.label : t('cust.check_missing'));
  const t0 = performance.now();
  let ok = false;
  try { ok = (await fetch('/healthz', { cache: 'no-store' })).ok; } catch { ok = false; }
  row('net', ok, Math.round(performance.now() - t0) + ' ms');
  // Without a camera and a microphone there is no call: the customer
  // stays here with what is missing.
  if (!v || !a) return;
  const go = document.getElementById('device-next');
  go.disabled = false;
  // Back after a reload or a language switch with the code checked: this
  // browser passed the check before, so it goes on by itself.
  if (isDone('code') && step === 'device') next();
}

// The camera switch (front and back, e.g. to show the letter): the new
// camera's track replaces the old one in the call (RTCRtpSender.replaceTrack),
// so the call goes on without a new offer. Hidden with a single camera.
const camSwitch = document.getElementById('camera-switch');
let cameras = [];
async function listCameras() {
  try {
    cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput' && d.deviceId);
  } catch {
    cameras = [];
  }
  camSwitch.hidden = cameras.length < 2;
  document.body.dataset.cameras = String(cameras.length);
}
// mirror shows a camera facing the customer as a mirror, not one facing away.
function mirror(track) {
  const s = track ? track.getSettings() : {};
  self.classList.toggle('mirror', s.facingMode !== 'environment');
  if (s.deviceId) document.body.dataset.camera = s.deviceId;
}
async function switchCamera() {
  const old = local && local.getVideoTracks()[0];
  if (!old || cameras.length < 2) return;
  const at = cameras.findIndex((c) => c.deviceId === old.getSettings().deviceId);
  const id = cameras[(at + 1) % cameras.length].deviceId;
  const want = { video: { deviceId: { exact: id }, width: 640, height: 480 } };
  camSwitch.disabled = true;
  try {
    let s;
    try {
      s = await navigator.mediaDevices.getUserMedia(want);
    } catch (e) {
      // Many phones open one camera at a time: free the old one first.
      if (e.name !== 'NotReadableError' && e.name !== 'AbortError') throw e;
      old.stop();
      s = await navigator.mediaDevices.getUserMedia(want);
    }
    const track = s.getVideoTracks()[0];
    const sender = pc && pc.getSenders().find((x) => x.track && x.track.kind === 'video');
    if (sender) await sender.replaceTrack(track);
    local.removeTrack(old);
    old.stop();
    local.addTrack(track);
    self.srcObject = local;
    mirror(track);
    // What the call now sends, for the page's tests and the curious.
    const sent = sender && sender.track ? sender.track.getSettings().deviceId : track.getSettings().deviceId;
    if (sent) document.body.dataset.sending = sent;
  } catch (e) {
    status.textContent = t('cust.camera_switch_failed') + ' (' + e.name + ')';
  } finally {
    camSwitch.disabled = false;
  }
}
camSwitch.addEventListener('click', () => { switchCamera(); });

async function start() {
  if (!window.RTCPeerConnection || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.WebSocket) {
    setState('unsupported', t('cust.unsupported'));
    return;
  }
  try {
    local = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
  } catch (e) {
    setState('denied', t('cust.camera_denied') + ' (' + e.name + ')');
    return;
  }
  self.srcObject = local;
  mirror(local.getVideoTracks()[0]);
  micLevel(local);
  await listCameras();
  if (navigator.mediaDevices.addEventListener) navigator.mediaDevices.addEventListener('devicechange', listCameras);
  await deviceCheck(local);
  setState('connecting', t('cust.connecting'));
  connect();
}

// Rejoining. The call runs on one of the bank's servers; when that server
// goes away (its bye says so, or the socket just drops) the page joins
// again and the call continues on another one. At most maxRejoins tries
// in a row, waiting 1, 2, 4, 8, 8, 8 s with a little randomness (so that
// customer and clerk do not knock at the same instant); a call that
// connects starts the count afresh.
const maxRejoins = 6;
let rejoins = 0;

function connect() {
  ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/call/ws');
  ws.onopen = () => send({ type: 'join' });
  ws.onmessage = (ev) => { onMessage(ev).catch((e) => setState('error', t('cust.problem') + ': ' + e.message)); };
  ws.onclose = () => {
    if (locked || document.body.dataset.state === 'ended') return;
    if (rejoins >= maxRejoins) {
      end(t('cust.ended'));
      return;
    }
    if (pc) pc.close();
    pc = null;
    clerkHere = false;
    const wait = Math.min(1000 * 2 ** rejoins, 8000) + Math.random() * 500;
    rejoins++;
    setState('connecting', t('cust.connecting'));
    setTimeout(connect, wait);
  };
}

// The email code and the letter (the review endpoints, customer cookie).
async function post(path, body, type) {
  let r;
  try {
    r = await fetch(path, { method: 'POST', headers: type ? { 'Content-Type': type } : {}, body, credentials: 'same-origin' });
  } catch {
    return { ok: false, message: t('err.network') };
  }
  let m = '';
  let code = '';
  let detail = '';
  let key = '';
  // A refusal with a message of its own (a quota, a PDF refused) names
  // its key as the first detail: that text, in the page's language.
  if (!r.ok) { try { const e = (await r.json()).error; code = e.code; detail = e.message || ''; key = (e.details && e.details[0]) || ''; m = msgs[key] || errText(e.code, e.message); } catch { m = 'HTTP ' + r.status; } }
  return { ok: r.ok, code, detail, key, message: m };
}
const codeStatus = document.getElementById('code-status');

// lockOut is the end after five wrong codes (verify.ErrCodeLocked, whose
// detail is cust.locked): the call is closed, the bank sees the lock on
// the case, nothing will be sent, and the customer asks the bank for a
// new invite. The steps and "what happens next" leave the page.
function lockOut(text) {
  locked = true;
  showLight('');
  if (ws) { ws.onclose = null; ws.close(); }
  if (pc) pc.close();
  if (local) for (const tr of local.getTracks()) tr.stop();
  document.body.dataset.state = 'locked';
  status.textContent = text;
  codeStatus.textContent = text;
}

// Steps done before a reload or a language switch, as the server knows
// them (the page renders them done): they are not asked again.
function done(name) {
  const s = document.getElementById(name + '-step');
  s.dataset.done = 'true';
  const ask = document.getElementById(name + '-ask');
  if (ask) ask.hidden = true;
}
if (document.getElementById('code-step').dataset.done) document.body.dataset.code = 'verified';
if (document.getElementById('letter-step').dataset.done) document.body.dataset.letter = 'uploaded';
document.getElementById('code-send').addEventListener('click', async () => {
  const r = await post('/call/code');
  codeStatus.textContent = r.ok ? t('cust.code_sent') : t('cust.problem') + ': ' + r.message;
});
document.getElementById('code-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const r = await post('/call/code/verify', JSON.stringify({ code: document.getElementById('code').value.trim() }), 'application/json');
  // A wrong code is refused (403) with the tries left in the server's text.
  if (!r.ok && r.key === 'cust.locked') { lockOut(r.message); return; }
  if (!r.ok && r.code === 'forbidden') codeStatus.textContent = t('cust.code_wrong') + (r.detail ? ' (' + r.detail + ')' : '');
  else codeStatus.textContent = r.ok ? t('cust.code_ok') : t('cust.problem') + ': ' + r.message;
  if (r.ok) { document.body.dataset.code = 'verified'; done('code'); next(); }
});
document.getElementById('letter-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = document.getElementById('letter').files[0];
  if (!f) return;
  const r = await post('/call/letter', f, f.type || 'application/octet-stream');
  document.getElementById('letter-status').textContent = r.ok ? t('cust.letter_ok') : t('cust.problem') + ': ' + r.message;
  if (r.ok) { document.body.dataset.letter = 'uploaded'; done('letter'); next(); }
});
// The chosen file's name on the big label that stands for the field.
document.getElementById('letter').addEventListener('change', (ev) => {
  const f = ev.target.files[0];
  document.getElementById('letter-name').textContent = f ? f.name : '';
});
// Skipping the letter: the clerk uploads the scan the bank received, or
// the customer shows it to the camera in the call.
document.getElementById('letter-skip').addEventListener('click', () => {
  skip();
  next();
});
document.getElementById('device-next').addEventListener('click', next);
document.querySelectorAll('.to-call').forEach((b) => b.addEventListener('click', () => show('call')));
document.getElementById('resume').addEventListener('click', () => { if (pending()) show(pending()); });

document.getElementById('leave').addEventListener('click', () => { send({ type: 'bye', reason: 'customer left' }); end(t('cust.left')); });
show('device');
start();
// The optional password of the emailed statement: typed twice, checked
// here and by the server, and cleared from the page once sent.
document.getElementById('pw-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const pw = document.getElementById('pw');
  const again = document.getElementById('pw2');
  const out = document.getElementById('pw-status');
  if (pw.value !== again.value) {
    out.textContent = t('cust.pw_mismatch');
    return;
  }
  const r = await post('/call/statement-password', JSON.stringify({ password: pw.value, confirm: again.value }), 'application/json');
  pw.value = '';
  again.value = '';
  out.textContent = r.ok ? t('cust.pw_ok') : t('cust.problem') + ': ' + r.message;
  if (r.ok) document.body.dataset.statementPassword = 'set';
});
// Every control has its handler now: a click before this would submit a
// form natively (reloading the page) and be lost.
document.body.dataset.ready = 'true';
