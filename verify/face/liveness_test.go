package face

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
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
		want     Pose
		mirrored Pose
	}{
		{simmLeft, PoseLeft, PoseRight},
		{simmRight, PoseLeft, PoseRight},
		{johnsDir + "/John_Salley/000194_02159572.jpg", PoseLeft, PoseRight},
		{johnsDir + "/John_Savage/000291_01099023.jpg", PoseLeft, PoseRight},
		{simmCenter, PoseCenter, PoseCenter},
		{johnsDir + "/John_Shimkus/000375_03227651.jpg", PoseCenter, PoseCenter},
	}
	var lim YawLimits
	for _, tt := range tests {
		t.Run(tt.path[len(johnsDir)+1:], func(t *testing.T) {
			orig := readFile(t, tt.path)
			a, err := e.Analyze(ctx, orig)
			if err != nil || a.Status != StatusOK {
				t.Fatalf("Analyze(%s) = %v, %v", tt.path, a.Status, err)
			}
			m, err := e.Analyze(ctx, encodeTestJPEG(t, mirror(decodeJPEG(t, orig))))
			if err != nil || m.Status != StatusOK {
				t.Fatalf("Analyze(mirror %s) = %v, %v", tt.path, m.Status, err)
			}
			y, my := a.Face.Quality.Yaw, m.Face.Quality.Yaw
			if got := lim.Pose(y); got != tt.want {
				t.Errorf("Pose(yaw %+.3f of %s) = %v, want %v", y, tt.path, got, tt.want)
			}
			if got := lim.Pose(my); got != tt.mirrored {
				t.Errorf("Pose(yaw %+.3f of mirrored %s) = %v, want %v", my, tt.path, got, tt.mirrored)
			}
			if tt.want != PoseCenter && (y > 0) == (my > 0) {
				t.Errorf("yaw %+.3f and mirrored %+.3f of %s have the same sign", y, my, tt.path)
			}
		})
	}
}

func TestEstimateYawGeometry(t *testing.T) {
	tests := []struct {
		name string
		p    []Point
		want float64
		ok   bool
	}{
		// Eyes at x 40..60 and 100..120 (centres 50 and 110, IOD 60).
		{"frontal", []Point{{120, 50}, {100, 50}, {40, 50}, {60, 50}, {80, 90}}, 0, true},
		{"nose right", []Point{{120, 50}, {100, 50}, {40, 50}, {60, 50}, {92, 90}}, 0.2, true},
		{"nose left", []Point{{120, 50}, {100, 50}, {40, 50}, {60, 50}, {68, 90}}, -0.2, true},
		{"eyes swapped", []Point{{40, 50}, {60, 50}, {120, 50}, {100, 50}, {92, 90}}, 0.2, true},
		{"too few", []Point{{1, 1}}, 0, false},
		{"same eyes", []Point{{1, 1}, {1, 1}, {1, 1}, {1, 1}, {5, 5}}, 0, false},
	}
	for _, tt := range tests {
		got, ok := EstimateYaw(tt.p)
		if ok != tt.ok || (ok && abs(int(1000*(got-tt.want))) > 1) {
			t.Errorf("EstimateYaw(%s) = %.3f, %v, want %.3f, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestChallengerIssue(t *testing.T) {
	now := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	for seed := byte(0); seed < 64; seed++ {
		c := Challenger{Rand: bytes.NewReader(bytes.Repeat([]byte{seed * 37, seed, 255 - seed, seed * 11}, 8)), Now: func() time.Time { return now }, Window: 30 * time.Second}
		ch, err := c.Issue()
		if err != nil {
			t.Fatalf("Issue() = %v", err)
		}
		if len(ch.Poses) != 3 || !ch.Issued.Equal(now) || !ch.Expires.Equal(now.Add(30*time.Second)) {
			t.Fatalf("Issue() = %+v", ch)
		}
		var key []string
		for _, p := range ch.Poses {
			key = append(key, p.String())
		}
		seen[strings.Join(key, ",")] = true
	}
	if len(seen) != 6 {
		t.Errorf("Issue() gave %d distinct orders over 64 seeds, want all 6: %v", len(seen), seen)
	}
	if _, err := (Challenger{Rand: bytes.NewReader(nil), Now: time.Now}).Issue(); err == nil {
		t.Errorf("Issue() with exhausted randomness = nil error")
	}
}

func TestCheckLiveness(t *testing.T) {
	e := testEngine(t)
	ctx := context.Background()
	en, err := e.Enroll(ctx, readFile(t, simmRef))
	if err != nil {
		t.Fatalf("Enroll(%s) = %v", simmRef, err)
	}
	refs := []Reference{{ID: "ref", Descriptor: en.Descriptor, ModelHash: en.ModelHash}}
	frame := map[Pose][]byte{
		PoseLeft:   readFile(t, simmLeft),
		PoseRight:  encodeTestJPEG(t, mirror(decodeJPEG(t, readFile(t, simmRight)))),
		PoseCenter: readFile(t, simmCenter),
	}
	other := readFile(t, johnsDir+"/John_Shimkus/000375_03227651.jpg")
	t0 := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	ch := Challenge{Poses: []Pose{PoseRight, PoseCenter, PoseLeft}, Issued: t0, Expires: t0.Add(time.Minute)}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	prompted := []Capture{{frame[PoseRight], at(5)}, {frame[PoseCenter], at(10)}, {frame[PoseLeft], at(15)}}

	tests := []struct {
		name   string
		caps   []Capture
		want   LivenessFailure
		reason string
	}{
		{"head turned as prompted", prompted, LivenessPassed, ""},
		{"still photo", []Capture{{frame[PoseCenter], at(5)}, {frame[PoseCenter], at(10)}, {frame[PoseCenter], at(15)}}, LivenessWrongPose, "capture 1: prompted right"},
		{"still turned photo", []Capture{{frame[PoseRight], at(5)}, {frame[PoseRight], at(10)}, {frame[PoseRight], at(15)}}, LivenessStill, "same frame as capture 1"},
		{"wrong order", []Capture{{frame[PoseLeft], at(5)}, {frame[PoseCenter], at(10)}, {frame[PoseRight], at(15)}}, LivenessWrongPose, "prompted right, yaw +0.1"},
		{"late capture", []Capture{prompted[0], prompted[1], {frame[PoseLeft], at(61)}}, LivenessOutOfWindow, "capture 3"},
		{"early capture", []Capture{{frame[PoseRight], at(-1)}, prompted[1], prompted[2]}, LivenessOutOfWindow, "capture 1"},
		{"out of order", []Capture{prompted[0], {frame[PoseCenter], at(20)}, prompted[2]}, LivenessOutOfWindow, "capture 3 earlier"},
		{"other person", []Capture{prompted[0], {other, at(10)}, prompted[2]}, LivenessNotSame, "capture 2: distance"},
		{"missing capture", prompted[:2], LivenessWrongCount, "2 captures for 3 prompts"},
		{"no face", []Capture{prompted[0], {encodeTestJPEG(t, noise(200, 200, 9)), at(10)}, prompted[2]}, LivenessUnusable, "NO_FACE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.CheckLiveness(ctx, ch, tt.caps, refs)
			if err != nil {
				t.Fatalf("CheckLiveness(%s) = %v", tt.name, err)
			}
			if res.Failure != tt.want || res.Passed != (tt.want == LivenessPassed) || !strings.Contains(res.Reason, tt.reason) {
				t.Fatalf("CheckLiveness(%s) = %v %q, want %v %q", tt.name, res.Failure, res.Reason, tt.want, tt.reason)
			}
			if tt.want == LivenessPassed {
				for i, c := range res.Captures {
					t.Logf("capture %d: prompt %v yaw %+.3f distance %.3f", i+1, c.Prompt, c.Yaw, c.Match.Distance)
				}
			}
		})
	}
}
