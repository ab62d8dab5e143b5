package synthcam

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"strings"
)

//go:embed livecamera.js
var liveCamera string

// LiveOptions tune LiveScript. The zero value suits a frontal photo with
// the face in its middle (the johns photos).
type LiveOptions struct {
	// Face is where the face is in the photo, in its pixels (a face
	// detector's box); empty: guessed as for a tightly cropped portrait.
	Face image.Rectangle
	// Landmarks are dlib's five (eye corners and the base of the nose)
	// in the photo's pixels; with them the depth map's nose and eyes sit
	// where the photo's are. Optional.
	Landmarks []image.Point
	// MaxYawDeg is how far the head turns (default 28 degrees: further, dlib's frontal face detector starts to lose the face) and
	// SpeedDeg how fast at most (default 45 degrees a second: the page asks to turn slowly).
	MaxYawDeg, SpeedDeg float64
	// Tint is how strongly the face takes the screen's colour, 0..1
	// (default 0.35; negative: not at all).
	Tint float64
	// Seed varies the reaction time between runs (default 1).
	Seed uint32
	// Replay, when set, makes the camera ignore the page and play this
	// timeline instead, from the page's first prompt: a recording of an
	// earlier session replayed (the liveness attack A4). Entries are
	// [ms since the first prompt, prompt, light colour], as a live
	// camera logs them in window.__livelog.
	Replay [][3]any
}

// LiveScript returns a camera playing a live customer from one frontal
// photo (JPEG): the head is rendered in 2.5D over a head-shaped depth map,
// so it turns with parallax (the nose moves against the eyes), smoothly
// and at a human speed, towards the pose the call page prompts
// (body[data-prompt]), and the face takes the colour the page shows in
// the liveness light challenge (body[data-light]). It logs what the page
// showed in window.__livelog; window.__still = true freezes it into the
// still photo. Audio is the browser's (fake) microphone.
//
// It reads the challenge from the page it runs in: it is video injected
// by software, which the liveness check does not stop (docs/liveness.md).
func LiveScript(jpeg []byte, opt LiveOptions) (string, error) {
	if len(jpeg) == 0 {
		return "", fmt.Errorf("live camera: no photo")
	}
	o := map[string]any{"src": "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(jpeg), "seed": opt.Seed}
	if !opt.Face.Empty() {
		f := opt.Face
		o["face"] = map[string]int{"x": f.Min.X, "y": f.Min.Y, "w": f.Dx(), "h": f.Dy()}
	}
	if len(opt.Landmarks) == 5 {
		var l [][2]int
		for _, p := range opt.Landmarks {
			l = append(l, [2]int{p.X, p.Y})
		}
		o["landmarks"] = l
	}
	if opt.MaxYawDeg > 0 {
		o["max_yaw_deg"] = opt.MaxYawDeg
	}
	if opt.SpeedDeg > 0 {
		o["speed_deg"] = opt.SpeedDeg
	}
	switch {
	case opt.Tint < 0:
		o["tint"] = 0
	case opt.Tint > 0:
		o["tint"] = min(opt.Tint, 1)
	}
	if opt.Replay != nil {
		o["replay"] = opt.Replay
	}
	js, err := json.Marshal(o)
	if err != nil {
		return "", fmt.Errorf("live camera: %w", err)
	}
	return strings.Replace(liveCamera, "%OPTIONS%", string(js), 1), nil
}
