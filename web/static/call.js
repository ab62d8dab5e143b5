// The customer's side of the call: camera and microphone, the signaling
// socket (protocol v1, see the README), the peer connection with the
// server, and the liveness prompts.
const V = 1;
const status = document.getElementById('status');
const prompt = document.getElementById('prompt');
const self = document.getElementById('self');
const remote = document.getElementById('remote');
const words = { left: 'Turn your head slowly to your LEFT', right: 'Turn your head slowly to your RIGHT', center: 'Look straight at the camera', front: 'Look straight at the camera', up: 'Tilt your head UP', down: 'Tilt your head DOWN' };

function setState(state, text) {
  document.body.dataset.state = state;
  if (text) status.textContent = text;
}

let ws;
let pc;
let local;

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
      pc.ontrack = (e) => { remote.srcObject = e.streams[0] || new MediaStream([e.track]); };
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === 'connected') setState('connected', 'Connected. The bank clerk can see and hear you.');
        if (pc.connectionState === 'failed') setState('failed', 'The connection failed. Please reload the page.');
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
      prompt.textContent = (words[m.prompt] || m.prompt) + ' (' + m.index + '/' + m.total + ')';
      document.body.dataset.prompt = m.prompt;
      break;
    case 'result':
      prompt.textContent = 'Thank you.';
      break;
    case 'bye':
      end('The call has ended' + (m.reason ? ': ' + m.reason : '') + '.');
      break;
    case 'error':
      setState('error', 'Problem: ' + m.message);
      break;
  }
}

function end(text) {
  setState('ended', text);
  if (pc) pc.close();
  if (ws) ws.close();
  if (local) for (const t of local.getTracks()) t.stop();
}

async function start() {
  try {
    local = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
  } catch (e) {
    setState('error', 'We need your camera and microphone: ' + e.message);
    return;
  }
  self.srcObject = local;
  setState('connecting', 'Connecting to the bank…');
  ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/call/ws');
  ws.onopen = () => send({ type: 'join' });
  ws.onmessage = (ev) => { onMessage(ev).catch((e) => setState('error', 'Problem: ' + e.message)); };
  ws.onclose = () => { if (document.body.dataset.state !== 'ended') setState('ended', 'The call has ended.'); };
}

// The email code and the letter (the review endpoints, customer cookie).
async function post(path, body, type) {
  const r = await fetch(path, { method: 'POST', headers: type ? { 'Content-Type': type } : {}, body, credentials: 'same-origin' });
  let m = '';
  if (!r.ok) { try { m = (await r.json()).error.message; } catch { m = 'HTTP ' + r.status; } }
  return { ok: r.ok, message: m };
}
const codeStatus = document.getElementById('code-status');
document.getElementById('code-send').addEventListener('click', async () => {
  const r = await post('/call/code');
  codeStatus.textContent = r.ok ? 'We sent a code to your registered email address.' : 'Problem: ' + r.message;
});
document.getElementById('code-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const r = await post('/call/code/verify', JSON.stringify({ code: document.getElementById('code').value.trim() }), 'application/json');
  codeStatus.textContent = r.ok ? 'Thank you: the code is correct.' : 'Problem: ' + r.message;
  if (r.ok) document.body.dataset.code = 'verified';
});
document.getElementById('letter-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = document.getElementById('letter').files[0];
  if (!f) return;
  const r = await post('/call/letter', f, f.type || 'application/octet-stream');
  document.getElementById('letter-status').textContent = r.ok ? 'Thank you: the bank has your letter.' : 'Problem: ' + r.message;
});

document.getElementById('leave').addEventListener('click', () => { send({ type: 'bye', reason: 'customer left' }); end('You left the call.'); });
start();
