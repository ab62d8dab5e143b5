package face

import (
	"context"
	"strings"
	"testing"
	"time"

	"remoteidv/verify/facematch"
)

// Test frames, chosen by measuring the johns photos (see EstimateYaw):
// John Simm's 00470222 is turned to his left (yaw +0.17), the mirror image
// of 00470223 (+0.11) is turned to his right, and 00470148 is frontal.
const (
	simmLeft   = johnsDir + "/John_Simm/000306_00470222.jpg"
	simmRight  = johnsDir + "/John_Simm/000306_00470223.jpg" // mirrored in the tests
	simmCenter = johnsDir + "/John_Simm/000300_00470148.jpg"
	simmRef    = johnsDir + "/John_Simm/000305_00470717.jpg"
)

func TestEstimateYawMirror(t *testing.T) {
	e := testEngine(t)
	ctx := context.Background()
	tests := []struct {
		path     string
		want     facematch.Pose
		mirrored facematch.Pose
	}{
		{simmLeft, facematch.PoseLeft, facematch.PoseRight},
		{simmRight, facematch.PoseLeft, facematch.PoseRight},
		{johnsDir + "/John_Salley/000194_02159572.jpg", facematch.PoseLeft, facematch.PoseRight},
		{johnsDir + "/John_Savage/000291_01099023.jpg", facematch.PoseLeft, facematch.PoseRight},
		{simmCenter, facematch.PoseCenter, facematch.PoseCenter},
		{johnsDir + "/John_Shimkus/000375_03227651.jpg", facematch.PoseCenter, facematch.PoseCenter},
	}
	var lim facematch.YawLimits
	for _, tt := range tests {
		t.Run(tt.path[len(johnsDir)+1:], func(t *testing.T) {
			orig := readFile(t, tt.path)
			a, err := e.Analyze(ctx, orig)
			if err != nil || a.Status != facematch.StatusOK {
				t.Fatalf("Analyze(%s) = %v, %v", tt.path, a.Status, err)
			}
			m, err := e.Analyze(ctx, encodeTestJPEG(t, mirror(decodeJPEG(t, orig))))
			if err != nil || m.Status != facematch.StatusOK {
				t.Fatalf("Analyze(mirror %s) = %v, %v", tt.path, m.Status, err)
			}
			y, my := a.Face.Quality.Yaw, m.Face.Quality.Yaw
			if got := lim.Pose(y); got != tt.want {
				t.Errorf("facematch.Pose(yaw %+.3f of %s) = %v, want %v", y, tt.path, got, tt.want)
			}
			if got := lim.Pose(my); got != tt.mirrored {
				t.Errorf("facematch.Pose(yaw %+.3f of mirrored %s) = %v, want %v", my, tt.path, got, tt.mirrored)
			}
			if tt.want != facematch.PoseCenter && (y > 0) == (my > 0) {
				t.Errorf("yaw %+.3f and mirrored %+.3f of %s have the same sign", y, my, tt.path)
			}
		})
	}
}

func TestCheckLiveness(t *testing.T) {
	e := testEngine(t)
	ctx := context.Background()
	en, err := e.Enroll(ctx, readFile(t, simmRef))
	if err != nil {
		t.Fatalf("Enroll(%s) = %v", simmRef, err)
	}
	refs := []facematch.Reference{{ID: "ref", Descriptor: en.Descriptor, ModelHash: en.ModelHash}}
	frame := map[facematch.Pose][]byte{
		facematch.PoseLeft:   readFile(t, simmLeft),
		facematch.PoseRight:  encodeTestJPEG(t, mirror(decodeJPEG(t, readFile(t, simmRight)))),
		facematch.PoseCenter: readFile(t, simmCenter),
	}
	other := readFile(t, johnsDir+"/John_Shimkus/000375_03227651.jpg")
	t0 := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	ch := facematch.Challenge{Poses: []facematch.Pose{facematch.PoseRight, facematch.PoseCenter, facematch.PoseLeft}, Issued: t0, Expires: t0.Add(time.Minute)}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	prompted := []facematch.Capture{{JPEG: frame[facematch.PoseRight], At: at(5)}, {JPEG: frame[facematch.PoseCenter], At: at(10)}, {JPEG: frame[facematch.PoseLeft], At: at(15)}}

	tests := []struct {
		name   string
		caps   []facematch.Capture
		want   facematch.LivenessFailure
		reason string
	}{
		{"head turned as prompted", prompted, facematch.LivenessPassed, ""},
		{"still photo", []facematch.Capture{{JPEG: frame[facematch.PoseCenter], At: at(5)}, {JPEG: frame[facematch.PoseCenter], At: at(10)}, {JPEG: frame[facematch.PoseCenter], At: at(15)}}, facematch.LivenessWrongPose, "capture 1: prompted right"},
		{"still turned photo", []facematch.Capture{{JPEG: frame[facematch.PoseRight], At: at(5)}, {JPEG: frame[facematch.PoseRight], At: at(10)}, {JPEG: frame[facematch.PoseRight], At: at(15)}}, facematch.LivenessStill, "same frame as capture 1"},
		{"wrong order", []facematch.Capture{{JPEG: frame[facematch.PoseLeft], At: at(5)}, {JPEG: frame[facematch.PoseCenter], At: at(10)}, {JPEG: frame[facematch.PoseRight], At: at(15)}}, facematch.LivenessWrongPose, "prompted right, yaw +0.1"},
		{"late capture", []facematch.Capture{prompted[0], prompted[1], {JPEG: frame[facematch.PoseLeft], At: at(61)}}, facematch.LivenessOutOfWindow, "capture 3"},
		{"early capture", []facematch.Capture{{JPEG: frame[facematch.PoseRight], At: at(-1)}, prompted[1], prompted[2]}, facematch.LivenessOutOfWindow, "capture 1"},
		{"out of order", []facematch.Capture{prompted[0], {JPEG: frame[facematch.PoseCenter], At: at(20)}, prompted[2]}, facematch.LivenessOutOfWindow, "capture 3 earlier"},
		{"other person", []facematch.Capture{prompted[0], {JPEG: other, At: at(10)}, prompted[2]}, facematch.LivenessNotSame, "capture 2: distance"},
		{"missing capture", prompted[:2], facematch.LivenessWrongCount, "2 captures for 3 prompts"},
		{"no face", []facematch.Capture{prompted[0], {JPEG: encodeTestJPEG(t, noise(200, 200, 9)), At: at(10)}, prompted[2]}, facematch.LivenessUnusable, "NO_FACE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.CheckLiveness(ctx, ch, tt.caps, refs)
			if err != nil {
				t.Fatalf("CheckLiveness(%s) = %v", tt.name, err)
			}
			if res.Failure != tt.want || res.Passed != (tt.want == facematch.LivenessPassed) || !strings.Contains(res.Reason, tt.reason) {
				t.Fatalf("CheckLiveness(%s) = %v %q, want %v %q", tt.name, res.Failure, res.Reason, tt.want, tt.reason)
			}
			if tt.want == facematch.LivenessPassed {
				for i, c := range res.Captures {
					t.Logf("capture %d: prompt %v yaw %+.3f distance %.3f", i+1, c.Prompt, c.Yaw, c.Match.Distance)
				}
			}
		})
	}
}
