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

// TestCheckLiveness judges challenges made of real photos through dlib:
// whatever photos are shown, switched as prompted or held still, they
// fail, each with its own reason. (A head that turns is in the Chromium
// attack suite: signaling's TestLivenessAttacks.)
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
	noFace := encodeTestJPEG(t, noise(200, 200, 9))
	steps := []facematch.Step{{Pose: facematch.PoseCenter, ForMS: 1400}, {Pose: facematch.PoseLeft, ForMS: 2000}, {Pose: facematch.PoseCenter, ForMS: 1400},
		{Pose: facematch.PoseRight, ForMS: 2000}, {Pose: facematch.PoseCenter, ForMS: 1400}, {Pose: facematch.PoseCenter, Colour: facematch.LightColours[0], ForMS: 1000},
		{Pose: facematch.PoseCenter, Colour: facematch.LightColours[1], ForMS: 1000}}
	var at int64
	for i := range steps {
		steps[i].AtMS, at = at, at+steps[i].ForMS
	}
	ch := facematch.Challenge{Poses: []facematch.Pose{facematch.PoseLeft, facematch.PoseRight}, Steps: steps}
	// samples shows, every 300 ms, the frame show picks for the step
	// prompted 400 ms before (the customer's reaction and the video's delay).
	samples := func(show func(i int, p facematch.Pose) []byte) []facematch.Capture {
		var out []facematch.Capture
		for i, off := 0, 200*time.Millisecond; off < ch.Duration(); i, off = i+1, off+300*time.Millisecond {
			p := facematch.PoseCenter
			if s := ch.StepAt(off - 400*time.Millisecond); s >= 0 {
				p = ch.Steps[s].Pose
			}
			out = append(out, facematch.Capture{JPEG: show(i, p), Offset: off})
		}
		return out
	}
	tests := []struct {
		name   string
		caps   []facematch.Capture
		want   facematch.LivenessFailure
		reason string
	}{
		{"photos switched as prompted", samples(func(_ int, p facematch.Pose) []byte { return frame[p] }), facematch.LivenessNoTransition, "turn 1 (left): no sample between"},
		{"a still photo", samples(func(int, facematch.Pose) []byte { return frame[facematch.PoseCenter] }), facematch.LivenessStill, "never turned"},
		{"another person", samples(func(int, facematch.Pose) []byte { return other }), facematch.LivenessNotSame, "0 of"},
		{"no face", samples(func(i int, p facematch.Pose) []byte {
			if i%3 == 0 {
				return noFace
			}
			return frame[p]
		}), facematch.LivenessUnusable, "NO_FACE"},
		{"too few frames", samples(func(int, facematch.Pose) []byte { return frame[facematch.PoseCenter] })[:10], facematch.LivenessWrongCount, "too slowly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.CheckLiveness(ctx, ch, tt.caps, refs)
			if err != nil {
				t.Fatalf("CheckLiveness(%s) = %v", tt.name, err)
			}
			if res.Failure != tt.want || res.Passed || !strings.Contains(res.Reason, tt.reason) {
				t.Fatalf("CheckLiveness(%s) = %v %q, want %v %q", tt.name, res.Failure, res.Reason, tt.want, tt.reason)
			}
			if len(res.Samples) != len(tt.caps) {
				t.Errorf("CheckLiveness(%s) reports %d samples, want %d", tt.name, len(res.Samples), len(tt.caps))
			}
		})
	}
	if _, err := e.CheckLiveness(ctx, ch, nil, nil); err == nil {
		t.Error("CheckLiveness without references = nil error")
	}
}
