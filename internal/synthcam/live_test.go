package synthcam_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/internal/synthcam"
	"remoteidv/internal/testenv"
	"remoteidv/verify/face"
	"remoteidv/verify/facematch"
)

// TestLiveScriptTurns renders the synthetic live customer in Chromium and
// measures its frames with dlib: facing the camera it reads as the centre,
// prompted left and right its yaw crosses the turn limit on that side
// (the 2.5D nose moves against the eyes), it turns through the angles
// between, and the screen's colour shifts the face's chroma.
func TestLiveScriptTurns(t *testing.T) {
	dir := os.Getenv("IDV_MODELS_DIR")
	if dir == "" {
		dir = "../../var/models"
	}
	e, err := face.New(context.Background(), face.Config{ModelsDir: dir, Recognizers: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("face engine: %v", err)
	}
	defer e.Close()
	photo, err := os.ReadFile(testenv.JohnsPhoto(t, "John_Simm", 2))
	if err != nil {
		t.Fatal(err)
	}
	js, err := synthcam.LiveScript(photo, synthcam.LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `<!doctype html><html><body><script>navigator.mediaDevices.getUserMedia({video: true}).then((s) => { window.__stream = s; });</script></body></html>`)
	}))
	defer page.Close()
	browser := testenv.Chromium(t, testenv.Y4MFromPhoto(t, testenv.JohnsPhoto(t, "John_Simm", 2), 1, 160))
	tab := testenv.NewTab(t, browser, "camera", page.URL)
	ctx, cancel := context.WithTimeout(tab.Ctx, 60*time.Second)
	defer cancel()
	if err := synthcam.Install(ctx, js); err != nil {
		t.Fatal(err)
	}
	tab.Do(t, "open the page", 20*time.Second, chromedp.Navigate(page.URL), chromedp.Poll[chromedp.Void]("window.__stream && window.__livecanvas"))
	measure := func(what string) facematch.Quality {
		t.Helper()
		url := testenv.Eval[string](t, tab, "window.__livecanvas.toDataURL('image/jpeg', 0.92)")
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(url, "data:image/jpeg;base64,"))
		if err != nil {
			t.Fatal(err)
		}
		a, err := e.Analyze(ctx, b)
		if err != nil || a.Status != facematch.StatusOK {
			t.Fatalf("%s: Analyze = %v %s, %v", what, a.Status, a.Detail, err)
		}
		return a.Face.Quality
	}
	set := func(prompt, light string) {
		testenv.Eval[bool](t, tab, fmt.Sprintf("(document.body.dataset.prompt = %q, document.body.dataset.light = %q, true)", prompt, light))
	}
	var lim facematch.YawLimits
	lim = lim.WithDefaults()
	for _, tt := range []struct {
		prompt string
		want   facematch.Pose
	}{{"center", facematch.PoseCenter}, {"left", facematch.PoseLeft}, {"center", facematch.PoseCenter}, {"right", facematch.PoseRight}, {"center", facematch.PoseCenter}} {
		set(tt.prompt, "")
		// On the way: somewhere between.
		time.Sleep(450 * time.Millisecond)
		mid := measure(tt.prompt + " (turning)")
		time.Sleep(1500 * time.Millisecond)
		q := measure(tt.prompt)
		t.Logf("%s: yaw %+.3f on the way, %+.3f settled (a frame drawn in %.1f ms)", tt.prompt, mid.Yaw, q.Yaw, testenv.Eval[float64](t, tab, "window.__drawms || 0"))
		if got := lim.Pose(q.Yaw); got != tt.want {
			t.Errorf("prompted %s: yaw %+.3f reads %v, want %v", tt.prompt, q.Yaw, got, tt.want)
		}
	}
	// The light: the face's chroma moves towards each screen colour's.
	faceChroma := func(light string) facematch.Chroma {
		t.Helper()
		set("center", light)
		time.Sleep(400 * time.Millisecond)
		url := testenv.Eval[string](t, tab, "window.__livecanvas.toDataURL('image/png')")
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(url, "data:image/png;base64,"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		box := measure("light " + light).FaceBox
		box = image.Rect(box.Min.X+box.Dx()/4, box.Min.Y+box.Dy()/5, box.Max.X-box.Dx()/4, box.Max.Y-box.Dy()/5)
		var r, g, bl float64
		for y := box.Min.Y; y < box.Max.Y; y++ {
			for x := box.Min.X; x < box.Max.X; x++ {
				cr, cg, cb, _ := img.At(x, y).RGBA()
				r, g, bl = r+float64(cr), g+float64(cg), bl+float64(cb)
			}
		}
		return facematch.ChromaOf(r, g, bl)
	}
	plain := faceChroma("")
	for _, c := range facematch.LightColours {
		got := faceChroma(c).Sub(plain)
		want, _ := facematch.ColourChroma(c)
		gain := (got.R*want.R + got.B*want.B) / (want.R*want.R + want.B*want.B)
		t.Logf("light %s: face chroma moved %+.4f %+.4f, the colour's %+.4f %+.4f: gain %.2f", c, got.R, got.B, want.R, want.B, gain)
		if gain < 0.1 {
			t.Errorf("light %s: the face's chroma moved %+.4f %+.4f, gain %.2f towards the colour's %+.4f %+.4f, want at least 0.1", c, got.R, got.B, gain, want.R, want.B)
		}
	}
}
