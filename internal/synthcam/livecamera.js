// A synthetic live customer: one frontal photo rendered as a 2.5D head.
// The head region is mapped onto a head-shaped depth map (an ellipsoid
// with a nose) and rotated about the vertical axis, so the nose moves
// against the eyes (parallax) as a real head's does; the head turns
// smoothly towards the pose the page prompts (body[data-prompt]), after a
// human reaction time and at a human speed, and sways a little all the
// time. During the light challenge the face takes the colour the page
// shows (body[data-light]), as skin lit by the screen does. With a replay
// timeline it ignores the page and plays an earlier session instead.
// window.__still = true freezes it into the still photo.
(() => {
  const opt = %OPTIONS%;
  const W = 640, H = 480;
  const img = new Image();
  img.src = opt.src;
  let rnd = opt.seed >>> 0 || 1;
  const random = () => { rnd ^= rnd << 13; rnd ^= rnd >>> 17; rnd ^= rnd << 5; return (rnd >>> 0) / 4294967296; };
  window.__livelog = []; // [ms since the first prompt, prompt, light]
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (want) => {
    const canvas = document.createElement('canvas');
    canvas.width = W;
    canvas.height = H;
    const g = canvas.getContext('2d', { willReadFrequently: true });
    let src = null; // the scene with the frontal photo, as pixels
    let head = null; // the head's geometry and depth map
    const setup = () => {
      g.fillStyle = '#55606b';
      g.fillRect(0, 0, W, H);
      const h = 420, w = img.naturalWidth * h / img.naturalHeight, x = (W - w) / 2, y = 30;
      g.drawImage(img, x, y, w, h);
      src = g.getImageData(0, 0, W, H);
      const k = h / img.naturalHeight;
      // Without a face box: where dlib finds the face in a tightly cropped
      // portrait (the johns photos).
      const f = opt.face || { x: img.naturalWidth * 0.07, y: img.naturalHeight * 0.07, w: img.naturalWidth * 0.83, h: img.naturalHeight * 0.83 };
      const fw = f.w * k;
      // The nose and the eyes' midpoint: dlib's landmarks when given.
      const L = opt.landmarks;
      const nx = L ? x + L[4][0] * k : x + (f.x + f.w / 2) * k, ny = L ? y + L[4][1] * k : y + (f.y + f.h * 0.6) * k;
      const cx = L ? x + (L[0][0] + L[1][0] + L[2][0] + L[3][0]) / 4 * k : nx, ey = L ? y + (L[0][1] + L[1][1] + L[2][1] + L[3][1]) / 4 * k : ny - 0.25 * fw;
      const hd = { cx, cy: ey + 0.1 * fw, a: 0.66 * fw, b: 0.92 * fw };
      hd.x0 = Math.max(0, Math.floor(hd.cx - hd.a)); hd.x1 = Math.min(W, Math.ceil(hd.cx + hd.a));
      hd.y0 = Math.max(0, Math.floor(hd.cy - hd.b)); hd.y1 = Math.min(H, Math.ceil(hd.cy + hd.b));
      hd.w = hd.x1 - hd.x0;
      // Depth: an ellipsoid as deep as 0.62 of its half width, and a nose
      // ridge from between the eyes to its base standing 0.2 face widths
      // out (about 2.5 cm on a 13 cm face: a nose's base before the eyes);
      // gentle enough that the turned surface never folds over itself.
      const depth = new Float32Array(hd.w * (hd.y1 - hd.y0));
      for (let yy = hd.y0; yy < hd.y1; yy++) {
        for (let xx = hd.x0; xx < hd.x1; xx++) {
          const u = (xx - hd.cx) / hd.a, v = (yy - hd.cy) / hd.b, r = 1 - u * u - v * v;
          if (r <= 0) continue;
          const du = (xx - nx) / (0.12 * fw), dv = (yy - (ey + ny) / 2) / (0.22 * fw);
          depth[(yy - hd.y0) * hd.w + xx - hd.x0] = 0.62 * hd.a * Math.sqrt(r) + 0.2 * fw * Math.exp(-(du * du + dv * dv) / 2);
        }
      }
      hd.depth = depth;
      head = hd;
    };
    // Motion state.
    let yaw = 0, target = 0, targetSince = 0, lastPrompt = 'center', t0 = performance.now(), first = -1, last = t0;
    const maxYaw = (opt.max_yaw_deg || 28) * Math.PI / 180, speed = (opt.speed_deg || 45) * Math.PI / 180;
    const reaction = 200 + random() * 200;
    const shown = (now) => {
      if (opt.replay) {
        if (first < 0) return { prompt: 'center', light: '' };
        const ms = now - first;
        let cur = { prompt: 'center', light: '' };
        for (const e of opt.replay) if (e[0] <= ms) cur = { prompt: e[1], light: e[2] };
        return cur;
      }
      const d = document.body ? document.body.dataset : {};
      return { prompt: d.prompt || 'center', light: d.light || '' };
    };
    const hex = (c) => [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];
    let lastLog = '';
    const draw = () => {
      if (!img.complete || !img.naturalWidth) return;
      if (!src) setup();
      if (window.__still) { g.putImageData(src, 0, 0); return; } // frozen: a still photo
      const now = performance.now(), dt = Math.min(0.5, (now - last) / 1000);
      last = now;
      if (first < 0 && document.body && document.body.dataset.prompt) first = now;
      const s = shown(now);
      if (!opt.replay && first >= 0) {
        const key = s.prompt + ' ' + s.light;
        if (key !== lastLog) { window.__livelog.push([Math.round(now - first), s.prompt, s.light]); lastLog = key; }
      }
      if (s.prompt !== lastPrompt) { lastPrompt = s.prompt; targetSince = now + reaction; }
      if (now >= targetSince) target = s.prompt === 'left' ? maxYaw : s.prompt === 'right' ? -maxYaw : 0;
      const want = (target - yaw) * 6 * dt, lim = speed * dt;
      yaw += Math.max(-lim, Math.min(lim, want));
      const tt = (now - t0) / 1000;
      const th = yaw + 0.025 * Math.sin(tt * 1.9), bob = 2.5 * Math.sin(tt * 1.3), drift = 3 * Math.sin(tt * 0.7);
      const out = g.createImageData(W, H);
      out.data.set(src.data);
      const hd = head, sin = Math.sin(th), cos = Math.cos(th), d = out.data, sd = src.data;
      const tint = s.light ? hex(s.light) : null, amt = opt.tint === undefined ? 0.35 : opt.tint;
      // In 2x2 blocks: the photo is enlarged about three times anyway,
      // and a quarter of the work keeps the camera smooth on a busy machine.
      for (let yy = hd.y0; yy < hd.y1 - 1; yy += 2) {
        const sy = Math.round(yy - bob);
        if (sy < hd.y0 || sy >= hd.y1) continue;
        const v = (sy - hd.cy) / hd.b;
        for (let xx = hd.x0; xx < hd.x1 - 1; xx += 2) {
          const ox = xx - drift - hd.cx;
          let u = ox / hd.a;
          if (u * u + v * v >= 1) continue;
          // Backward map: find the source column whose rotated position is ox.
          let sx = hd.cx + ox / cos, z = 0;
          for (let it = 0; it < 3; it++) {
            const ix = Math.round(sx);
            if (ix < hd.x0 || ix >= hd.x1) { z = 0; break; }
            z = hd.depth[(sy - hd.y0) * hd.w + ix - hd.x0];
            sx = hd.cx + (ox - z * sin) / cos;
          }
          const ix = Math.round(sx);
          if (ix < 0 || ix >= W) continue;
          u = (ix - hd.cx) / hd.a;
          const edge = u * u + v * v;
          if (edge >= 1) continue;
          const si = (sy * W + ix) * 4, di = (yy * W + xx) * 4;
          // Shade the side turning away a little, and light the face.
          const shade = 1 - 0.12 * Math.max(0, -u * Math.sign(th)) * Math.abs(sin) * 3;
          for (let c = 0; c < 3; c++) {
            let p = sd[si + c] * shade;
            if (tint && edge < 0.8) p = p * (1 - amt) + p * (tint[c] / 255) * amt * 1.25;
            p = p > 255 ? 255 : p;
            d[di + c] = p;
            d[di + 4 + c] = p;
            d[di + W * 4 + c] = p;
            d[di + W * 4 + 4 + c] = p;
          }
        }
      }
      g.putImageData(out, 0, 0);
      window.__drawms = performance.now() - now;
    };
    setInterval(draw, 66);
    window.__livecanvas = canvas;
    const stream = canvas.captureStream(15);
    if (want && want.audio) {
      const mic = await real({ audio: true });
      for (const t of mic.getAudioTracks()) stream.addTrack(t);
    }
    return stream;
  };
})();
