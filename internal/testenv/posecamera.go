package testenv

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// poseCamera replaces getUserMedia before any page script runs: the video
// is a canvas drawing the photo of the pose the call page is prompting
// (body[data-prompt]: center, left, right), so the customer "turns their
// head" as asked. window.__still = true freezes it on the frontal photo
// (a still photo held up to the camera). Audio is the fake microphone.
const poseCamera = `(() => {
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
})();`

// PosePhoto is the photo a PoseCamera shows for one pose.
type PosePhoto struct {
	Path   string
	Mirror bool // show it mirrored (a left turn becomes a right turn)
}

// PoseCamera makes the tab's camera answer liveness prompts with photos
// (keys "center", "left", "right"); it must run before the call page loads.
func PoseCamera(t testing.TB, tab *Tab, photos map[string]PosePhoto) {
	t.Helper()
	type photo struct {
		Src    string `json:"src"`
		Mirror bool   `json:"mirror"`
	}
	m := map[string]photo{}
	for pose, p := range photos {
		b, err := os.ReadFile(p.Path)
		if err != nil {
			t.Fatalf("pose camera: %v", err)
		}
		m[pose] = photo{Src: "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(b), Mirror: p.Mirror}
	}
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(poseCamera, "%PHOTOS%", string(js), 1)
	ctx, cancel := context.WithTimeout(tab.Ctx, 10*time.Second)
	defer cancel()
	err = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
		return err
	}))
	if err != nil {
		t.Fatalf("pose camera: %v", err)
	}
}
