package testenv

import (
	"context"
	"os"
	"testing"
	"time"

	"remoteidv/internal/synthcam"
)

// PosePhoto is the photo a PoseCamera shows for one pose.
type PosePhoto struct {
	Path   string
	Mirror bool // show it mirrored (a left turn becomes a right turn)
}

// PoseCamera makes the tab's camera answer liveness prompts with photos
// (keys "center", "left", "right"; see synthcam.PoseScript); it must run
// before the call page loads.
func PoseCamera(t testing.TB, tab *Tab, photos map[string]PosePhoto) {
	t.Helper()
	m := map[string]synthcam.PosePhoto{}
	for pose, p := range photos {
		b, err := os.ReadFile(p.Path)
		if err != nil {
			t.Fatalf("pose camera: %v", err)
		}
		m[pose] = synthcam.PosePhoto{JPEG: b, Mirror: p.Mirror}
	}
	src, err := synthcam.PoseScript(m)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(tab.Ctx, 10*time.Second)
	defer cancel()
	if err := synthcam.Install(ctx, src); err != nil {
		t.Fatalf("pose camera: %v", err)
	}
}

// LiveCamera makes the tab's camera a live customer rendered from the
// frontal photo at path (synthcam.LiveScript): the head turns as the call
// page prompts and the face takes the screen's colours; window.__still =
// true freezes it into the photo. It must run before the call page loads.
func LiveCamera(t testing.TB, tab *Tab, path string, opt synthcam.LiveOptions) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("live camera: %v", err)
	}
	src, err := synthcam.LiveScript(b, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(tab.Ctx, 10*time.Second)
	defer cancel()
	if err := synthcam.Install(ctx, src); err != nil {
		t.Fatalf("live camera: %v", err)
	}
}
