package facematch

import (
	"bytes"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStatusString(t *testing.T) {
	tests := []struct {
		s    Status
		want string
	}{
		{StatusOK, "OK"},
		{StatusNotAnImage, "NOT_AN_IMAGE"},
		{StatusTooLarge, "TOO_LARGE"},
		{StatusTooManyPixels, "TOO_MANY_PIXELS"},
		{StatusUnsupportedFormat, "UNSUPPORTED_FORMAT"},
		{StatusNoFace, "NO_FACE"},
		{StatusMultipleFaces, "MULTIPLE_FACES"},
		{StatusFaceTooSmall, "FACE_TOO_SMALL"},
		{StatusTooDark, "TOO_DARK"},
		{StatusTooBlurry, "TOO_BLURRY"},
		{Status(99), "Status(99)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("Status(%d).String() = %q, want %q", int(tt.s), got, tt.want)
		}
		if tt.s == Status(99) {
			continue
		}
		var back Status
		if err := back.UnmarshalText([]byte(tt.want)); err != nil || back != tt.s {
			t.Errorf("UnmarshalText(%q) = %v, %v, want %v", tt.want, back, err, tt.s)
		}
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
		if ok != tt.ok || (ok && math.Abs(got-tt.want) >= 2e-3) {
			t.Errorf("EstimateYaw(%s) = %.3f, %v, want %.3f, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// TestChallengerIssue: the turns and the colours are drawn uniformly (a
// replay matches a new challenge by chance once in 192), no colour shows
// twice in a row, every colour stays at least 900 ms (the screen changes
// at most 1.1 times a second), and the steps follow each other.
func TestChallengerIssue(t *testing.T) {
	now := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	rng := rand.NewChaCha8([32]byte{1, 3})
	turns, colours := map[string]int{}, map[string]int{}
	const n = 4000
	for i := 0; i < n; i++ {
		ch, err := Challenger{Rand: rng, Now: func() time.Time { return now }, Window: 30 * time.Second}.Issue()
		if err != nil {
			t.Fatalf("Issue() = %v", err)
		}
		if len(ch.Poses) != ChallengeTurns || !ch.Issued.Equal(now) || !ch.Expires.Equal(now.Add(30*time.Second)) {
			t.Fatalf("Issue() = %+v", ch)
		}
		var tk, ck []string
		var at int64
		prev := ""
		for j, st := range ch.Steps {
			if st.AtMS != at || st.ForMS < 900 || st.ForMS > 2400 {
				t.Fatalf("step %d = %+v, want it at %d ms lasting 900..2400 ms", j, st, at)
			}
			at += st.ForMS
			if st.Pose != PoseCenter {
				tk = append(tk, st.Pose.String())
			}
			if st.Colour != "" {
				if st.Colour == prev || st.Pose != PoseCenter {
					t.Fatalf("step %d = %+v after colour %q: a colour twice in a row, or a turn during the light", j, st, prev)
				}
				ck, prev = append(ck, st.Colour), st.Colour
			}
		}
		if len(ck) != ChallengeColours {
			t.Fatalf("Issue() has %d colours, want %d", len(ck), ChallengeColours)
		}
		turns[strings.Join(tk, ",")]++
		colours[strings.Join(ck, ",")]++
	}
	if len(turns) != 8 || len(colours) != 24 {
		t.Fatalf("Issue() gave %d turn orders and %d colour orders over %d challenges, want 8 and 24", len(turns), len(colours), n)
	}
	// Uniform: each of the 192 combinations about n/192 = 21 times; no
	// order of turns or colours more than 1.5 times its share.
	for k, c := range turns {
		if c > n/8*3/2 {
			t.Errorf("turns %s drawn %d of %d times, want about %d", k, c, n, n/8)
		}
	}
	for k, c := range colours {
		if c > n/24*3/2 {
			t.Errorf("colours %s drawn %d of %d times, want about %d", k, c, n, n/24)
		}
	}
	if _, err := (Challenger{Rand: bytes.NewReader(nil), Now: time.Now}).Issue(); err == nil {
		t.Errorf("Issue() with exhausted randomness = nil error")
	}
}

func TestFuse(t *testing.T) {
	ok := func(d float64) MatchResult {
		return MatchResult{Status: StatusOK, Distance: d, Threshold: 0.36, ModelHash: "h"}
	}
	bad := MatchResult{Status: StatusNoFace, Distance: math.Inf(1), Threshold: 0.36, ModelHash: "h"}
	tests := []struct {
		name     string
		in       []MatchResult
		captures int
		distance float64
		decision Decision
	}{
		{"mean under", []MatchResult{ok(0.2), ok(0.4), ok(0.3)}, 3, 0.3, DecisionMatch},
		{"mean over", []MatchResult{ok(0.3), ok(0.5)}, 2, 0.4, DecisionNoMatch},
		{"skips unusable", []MatchResult{ok(0.2), bad}, 1, 0.2, DecisionMatch},
		{"none usable", []MatchResult{bad}, 0, math.Inf(1), DecisionUnusable},
	}
	for _, tt := range tests {
		f, err := Fuse(tt.in)
		if err != nil || f.Captures != tt.captures || math.Abs(f.Distance-tt.distance) > 1e-12 && !math.IsInf(tt.distance, 1) || f.Decision != tt.decision {
			t.Errorf("Fuse(%s) = %+v, %v, want %d captures, %v, %v", tt.name, f, err, tt.captures, tt.distance, tt.decision)
		}
	}
	if _, err := Fuse([]MatchResult{ok(0.1), {Status: StatusOK, Threshold: 0.5, ModelHash: "h"}}); err == nil {
		t.Errorf("Fuse(mixed thresholds) = nil error")
	}
}

func TestDescriptorBinary(t *testing.T) {
	var d Descriptor
	for i := range d {
		d[i] = float32(i)/128 - 0.5
	}
	b, err := d.MarshalBinary()
	if err != nil || len(b) != 512 {
		t.Fatalf("MarshalBinary = %d bytes, %v, want 512", len(b), err)
	}
	var back Descriptor
	if err := back.UnmarshalBinary(b); err != nil || back != d {
		t.Fatalf("UnmarshalBinary(MarshalBinary(d)) = %v, want d", err)
	}
	if err := back.UnmarshalBinary(b[:10]); err == nil {
		t.Errorf("UnmarshalBinary(10 bytes) = nil error")
	}
}

func TestCalibration(t *testing.T) {
	imp := make([]float64, 10000)
	for i := range imp {
		imp[i] = 0.3 + float64(i)/100000 // 0.3 .. 0.39999
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	c := NewCalibration(PinnedModelHash(), "synthetic", 100, 200, imp, 1e-3, now)
	if !c.Supported || c.Impostors != 10000 {
		t.Errorf("NewCalibration: supported %v impostors %d", c.Supported, c.Impostors)
	}
	// 1e-3 x 10000 = 10 pairs may match: between the 10th and 11th.
	if got := c.ProposedThreshold; math.Abs(got-0.300095) > 1e-9 {
		t.Errorf("ProposedThreshold = %v, want 0.300095", got)
	}
	if f := c.FMRAt(c.ProposedThreshold); f.Matches != 10 || f.Rate > 1e-3 {
		t.Errorf("FMRAt(proposed) = %+v, want 10 matches", f)
	}
	tests := []struct {
		t       float64
		matches int
	}{{0.2, 0}, {0.3, 1}, {0.35, 5001}, {1, 10000}}
	for _, tt := range tests {
		f := c.FMRAt(tt.t)
		if f.Matches != tt.matches || f.Upper95 < f.Rate {
			t.Errorf("FMRAt(%v) = %+v, want %d matches", tt.t, f, tt.matches)
		}
	}
	if f := c.FMRAt(0.2); f.Upper95 != 3.0/10000 {
		t.Errorf("FMRAt(0.2).Upper95 = %v, want rule of three 3e-4", f.Upper95)
	}
	small := NewCalibration(PinnedModelHash(), "tiny", 3, 6, imp[:100], 1e-3, now)
	if small.Supported {
		t.Errorf("NewCalibration(100 pairs, 1e-3).Supported = true, want false")
	}

	path := filepath.Join(t.TempDir(), "cal.json")
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadCalibration(path)
	if err != nil || back.ProposedThreshold != c.ProposedThreshold || len(back.Tail) != len(c.Tail) {
		t.Fatalf("LoadCalibration(Save(c)) = %+v, %v", back, err)
	}
}
