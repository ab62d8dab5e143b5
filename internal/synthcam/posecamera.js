(() => {
  const photos = %PHOTOS%;
  const imgs = {};
  for (const [pose, p] of Object.entries(photos)) { const i = new Image(); i.src = p.src; imgs[pose] = { img: i, mirror: p.mirror }; }
  window.__still = false;
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (want) => {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 480;
    const g = canvas.getContext('2d');
    let n = 0;
    const draw = () => {
      const pose = window.__still ? 'center' : ((document.body && document.body.dataset.prompt) || 'center');
      const p = imgs[pose] || imgs.center;
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
    draw();
    setInterval(draw, 66);
    const stream = canvas.captureStream(15);
    if (want && want.audio) {
      const mic = await real({ audio: true });
      for (const t of mic.getAudioTracks()) stream.addTrack(t);
    }
    return stream;
  };
})();
