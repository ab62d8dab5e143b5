package facematch

import (
	"fmt"
	"image"
	"math"
	"sort"
	"time"
)

// LivenessFailure says why a challenge failed.
type LivenessFailure int

// LivenessFailure values. Each attack the challenge is built against
// fails with its own: a photo held still (STILL_IMAGE), photos switched or
// flipped through (DISCONTINUOUS: the face or the scene jumps between
// samples), a turn with no angles between (NO_TRANSITION), a recording
// replayed (WRONG_POSE or NO_LIGHT_RESPONSE: it shows another challenge's
// turns and colours), a flat picture warped (NO_LIGHT_RESPONSE: the face
// does not take the screen's colour).
const (
	LivenessPassed        LivenessFailure = iota
	LivenessWrongCount                    // too few samples (the video stalled or came too slowly)
	LivenessOutOfWindow                   // samples outside the challenge's window or out of order
	LivenessUnusable                      // too many samples without one usable face
	LivenessNotSame                       // the face does not match the reference photos
	LivenessWrongPose                     // the pose shown is not the one prompted
	LivenessStill                         // the face never moved: a still image
	LivenessDiscontinuous                 // the face or the scene jumped between samples
	LivenessNoTransition                  // a turn without intermediate angles, or implausibly fast
	LivenessNoLight                       // the face did not respond to the screen's colours
)

// String returns the failure in upper snake case.
func (f LivenessFailure) String() string {
	switch f {
	case LivenessPassed:
		return "PASSED"
	case LivenessWrongCount:
		return "WRONG_COUNT"
	case LivenessOutOfWindow:
		return "OUT_OF_WINDOW"
	case LivenessUnusable:
		return "UNUSABLE_CAPTURE"
	case LivenessNotSame:
		return "NOT_SAME_PERSON"
	case LivenessWrongPose:
		return "WRONG_POSE"
	case LivenessStill:
		return "STILL_IMAGE"
	case LivenessDiscontinuous:
		return "DISCONTINUOUS"
	case LivenessNoTransition:
		return "NO_TRANSITION"
	case LivenessNoLight:
		return "NO_LIGHT_RESPONSE"
	}
	return fmt.Sprintf("LivenessFailure(%d)", int(f))
}

// MarshalText encodes the failure as its String form.
func (f LivenessFailure) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// Observation is what the face engine measured on one sample; Judge
// decides on them. Fields past Status are valid when Status is StatusOK,
// but Scene and SceneStep, which are measured on every frame.
type Observation struct {
	Offset     time.Duration // from the challenge's start
	Status     Status
	Detail     string
	Descriptor Descriptor
	Landmarks  []Point // dlib's five
	FaceBox    image.Rectangle
	Yaw        float64
	Distance   float64 // to the nearest reference
	Face       Chroma  // mean chroma of the middle of the face
	Scene      Chroma  // mean chroma of the frame outside the head
	// SceneStep is the mean absolute luma difference (0..255) of the frame
	// outside the head from the previous sample's (a small grey thumbnail,
	// where neither frame has the head); -1 for the first sample.
	SceneStep float64
}

// LivenessLimits are the thresholds of Judge. Zero fields take the
// defaults (see DefaultLivenessLimits for how each was chosen).
type LivenessLimits struct {
	Yaw YawLimits
	// MinRate is the lowest sample rate accepted over the challenge (/s).
	MinRate float64
	// MaxUnusable is the largest share of samples without a usable face.
	MaxUnusable float64
	// MinMatched is the smallest share of usable samples that must match
	// the reference photos.
	MinMatched float64
	// MinYawRange: a challenge whose yaw never spans more is a still image.
	MinYawRange float64
	// DescriptorJump and DescriptorPerPose bound the squared descriptor
	// distance between two samples in a row: DescriptorJump +
	// DescriptorPerPose * the change of pose, which is |the yaw's change|
	// + ScaleStep (turning shrinks the eye distance). A head turning
	// changes its descriptor with its pose; another photo changes it at
	// any pose.
	DescriptorJump, DescriptorPerPose float64
	// ScaleJump is the largest |ln| of the ratio of the eye distances of
	// two samples in a row (the face's size jumping).
	ScaleJump float64
	// ShiftSpeed is the fastest the eyes' midpoint may move, in eye
	// distances per second.
	ShiftSpeed float64
	// SceneJump is the largest SceneStep between two samples in a row.
	SceneJump float64
	// YawSpeed is the fastest yaw change accepted (per second).
	YawSpeed float64
	// MaxBaseYaw bounds BaseYaw.
	MaxBaseYaw float64
	// Settle is how long after a step starts its samples count for it
	// (the customer reacting, the video's delay).
	Settle time.Duration
	// MinLightCorrelation and MinLightGain judge the face's chroma
	// response to the screen's colours: its correlation with the colours'
	// chroma and the regression slope.
	MinLightCorrelation float64
	MinLightGain        float64
}

// DefaultLivenessLimits returns the defaults. They were set on the frames
// the attack suite samples in Chromium (docs/liveness.md has the
// measurements): the synthetic live customer, photos, a flipbook, a replay
// and a warped photo. They have not been tuned on people in front of real
// cameras and screens; docs/liveness.md says what that means.
func DefaultLivenessLimits() LivenessLimits {
	return LivenessLimits{
		Yaw:                 YawLimits{}.WithDefaults(),
		MinRate:             2.0,
		MaxUnusable:         0.25,
		MinMatched:          0.7,
		MinYawRange:         0.05,
		DescriptorJump:      0.03,
		DescriptorPerPose:   1.5,
		ScaleJump:           0.45,
		ShiftSpeed:          6,
		SceneJump:           12,
		YawSpeed:            1.5,
		MaxBaseYaw:          0.05,
		Settle:              700 * time.Millisecond,
		MinLightCorrelation: 0.7,
		MinLightGain:        0.04,
	}
}

// WithDefaults returns l with its zero fields set to the defaults.
func (l LivenessLimits) WithDefaults() LivenessLimits {
	d := DefaultLivenessLimits()
	l.Yaw = l.Yaw.WithDefaults()
	set := func(v *float64, def float64) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MinRate, d.MinRate)
	set(&l.MaxUnusable, d.MaxUnusable)
	set(&l.MinMatched, d.MinMatched)
	set(&l.MinYawRange, d.MinYawRange)
	set(&l.DescriptorJump, d.DescriptorJump)
	set(&l.DescriptorPerPose, d.DescriptorPerPose)
	set(&l.ScaleJump, d.ScaleJump)
	set(&l.ShiftSpeed, d.ShiftSpeed)
	set(&l.SceneJump, d.SceneJump)
	set(&l.YawSpeed, d.YawSpeed)
	set(&l.MaxBaseYaw, d.MaxBaseYaw)
	set(&l.MinLightCorrelation, d.MinLightCorrelation)
	set(&l.MinLightGain, d.MinLightGain)
	if l.Settle <= 0 {
		l.Settle = d.Settle
	}
	return l
}

// SampleCheck is the evidence kept for one sample.
type SampleCheck struct {
	N        int     `json:"n"`
	AtMS     int64   `json:"at_ms"` // from the challenge's start
	Step     int     `json:"step"`  // index into the challenge's steps; -1 after the last
	Prompt   Pose    `json:"prompt"`
	Colour   string  `json:"colour,omitempty"`
	Status   Status  `json:"status"`
	Detail   string  `json:"detail,omitempty"`
	Yaw      float64 `json:"yaw"`
	Observed Pose    `json:"observed"`
	Distance float64 `json:"distance"` // to the nearest reference; -1 when unusable
	Matched  bool    `json:"matched"`
	// Continuity with the previous usable sample: the squared descriptor
	// distance, |ln| of the eye-distance ratio, the eyes' speed (eye
	// distances/s), the yaw's speed (/s) and the scene's change (luma);
	// Jump names what jumped ("" when continuous).
	DescriptorStep float64 `json:"descriptor_step"`
	ScaleStep      float64 `json:"scale_step"`
	ShiftSpeed     float64 `json:"shift_speed"`
	YawStep        float64 `json:"yaw_step"`
	YawSpeed       float64 `json:"yaw_speed"`
	SceneStep      float64 `json:"scene_step"`
	Jump           string  `json:"jump,omitempty"`
	// Light is the face's chroma relative to the scene's.
	Light Chroma `json:"light"`
}

// TurnCheck is the evidence kept for one prompted turn.
type TurnCheck struct {
	Prompt       Pose    `json:"prompt"`
	Step         int     `json:"step"`
	Samples      int     `json:"samples"`        // settled samples of the turn step
	Shown        int     `json:"shown"`          // of them, showing the prompted pose
	PeakYaw      float64 `json:"peak_yaw"`       // furthest yaw towards the prompt
	Intermediate int     `json:"intermediate"`   // samples between 25 % and 75 % of the peak, going and coming back
	BackToCentre bool    `json:"back_to_centre"` // the following centre step showed the centre
}

// LightStep is the evidence kept for one colour of the light challenge.
type LightStep struct {
	Colour   string `json:"colour"`
	Samples  int    `json:"samples"`
	Expected Chroma `json:"expected"` // the colour's chroma, less the colours' mean
	Observed Chroma `json:"observed"` // the face's light response, less the steps' mean
}

// LightCheck is the evidence kept for the light challenge.
type LightCheck struct {
	Steps       []LightStep `json:"steps"`
	Correlation float64     `json:"correlation"`
	Gain        float64     `json:"gain"`
}

// LivenessResult is the outcome of a challenge. Failure is the first
// reason found, Reason explains it; every sample, turn and colour is
// reported whatever the outcome.
type LivenessResult struct {
	Passed     bool            `json:"passed"`
	Failure    LivenessFailure `json:"failure"`
	Reason     string          `json:"reason,omitempty"`
	SampleRate float64         `json:"sample_rate"` // samples per second over the challenge
	// BaseYaw is the customer's own yaw facing the camera (the median of
	// the first step's settled samples, within +-MaxBaseYaw): poses are
	// read relative to it, so a camera off to one side, or a face turned a
	// little in its photo, does not count as a turn.
	BaseYaw float64        `json:"base_yaw"`
	Samples []SampleCheck  `json:"samples"`
	Turns   []TurnCheck    `json:"turns"`
	Light   LightCheck     `json:"light"`
	Limits  LivenessLimits `json:"limits"`
}

// Judge decides a challenge from the observations of its samples, in
// time order. It is pure: the face engine measures, Judge decides.
func Judge(ch Challenge, obs []Observation, threshold float64, lim LivenessLimits) LivenessResult {
	lim = lim.WithDefaults()
	res := LivenessResult{Limits: lim}
	fail := func(f LivenessFailure, format string, args ...any) {
		if res.Failure == LivenessPassed {
			res.Failure, res.Reason = f, fmt.Sprintf(format, args...)
		}
	}
	dur := ch.Duration()
	if dur > 0 {
		res.SampleRate = float64(len(obs)) / dur.Seconds()
	}
	if len(ch.Steps) == 0 || res.SampleRate < lim.MinRate {
		fail(LivenessWrongCount, "%d samples in %.1f s (%.1f/s), fewer than %.1f/s: the video stalled or came too slowly", len(obs), dur.Seconds(), res.SampleRate, lim.MinRate)
	}
	res.BaseYaw = baseYaw(ch, obs, lim)
	pose := func(yaw float64) Pose { return lim.Yaw.Pose(yaw - res.BaseYaw) }
	// Samples: pose, match, continuity.
	usable, matched := 0, 0
	var prev *Observation
	var prevAt time.Duration
	minYaw, maxYaw := math.Inf(1), math.Inf(-1)
	for i := range obs {
		o := &obs[i]
		if i > 0 && o.Offset < obs[i-1].Offset {
			fail(LivenessOutOfWindow, "sample %d earlier than sample %d", i+1, i)
		}
		if o.Offset < 0 || o.Offset > dur+2*time.Second {
			fail(LivenessOutOfWindow, "sample %d at %s outside the challenge's %s", i+1, o.Offset, dur)
		}
		sc := SampleCheck{N: i + 1, AtMS: o.Offset.Milliseconds(), Step: ch.StepAt(o.Offset), Status: o.Status, Detail: o.Detail, Distance: -1, SceneStep: o.SceneStep}
		if sc.Step >= 0 {
			sc.Prompt, sc.Colour = ch.Steps[sc.Step].Pose, ch.Steps[sc.Step].Colour
		}
		if o.SceneStep > lim.SceneJump {
			sc.Jump = "scene"
		}
		if o.Status == StatusOK {
			usable++
			sc.Yaw, sc.Observed, sc.Distance = o.Yaw, pose(o.Yaw), o.Distance
			sc.Matched = o.Distance <= threshold
			if sc.Matched {
				matched++
			}
			sc.Light = o.Face.Sub(o.Scene)
			minYaw, maxYaw = math.Min(minYaw, o.Yaw), math.Max(maxYaw, o.Yaw)
			if prev != nil {
				dt := (o.Offset - prevAt).Seconds()
				sc.DescriptorStep = SquaredDistance(prev.Descriptor, o.Descriptor)
				sc.YawStep = math.Abs(o.Yaw - prev.Yaw)
				pm, piod, ok1 := eyes(prev.Landmarks)
				m, iod, ok2 := eyes(o.Landmarks)
				if ok1 && ok2 {
					sc.ScaleStep = math.Abs(math.Log(iod / piod))
					if dt > 0.05 {
						sc.ShiftSpeed = math.Hypot(m.X-pm.X, m.Y-pm.Y) / ((iod + piod) / 2) / dt
					}
				}
				if dt > 0.05 {
					sc.YawSpeed = math.Abs(o.Yaw-prev.Yaw) / dt
				}
				switch {
				case sc.DescriptorStep > lim.DescriptorJump+lim.DescriptorPerPose*(sc.YawStep+sc.ScaleStep):
					sc.Jump = "face"
				case sc.ScaleStep > lim.ScaleJump:
					sc.Jump = "size"
				case sc.ShiftSpeed > lim.ShiftSpeed:
					sc.Jump = "position"
				}
			}
			prev, prevAt = o, o.Offset
		}
		res.Samples = append(res.Samples, sc)
	}
	if len(obs) > 0 && float64(len(obs)-usable) > lim.MaxUnusable*float64(len(obs)) {
		first := ""
		for _, s := range res.Samples {
			if s.Status != StatusOK {
				first = fmt.Sprintf(" (sample %d: %s %s)", s.N, s.Status, s.Detail)
				break
			}
		}
		fail(LivenessUnusable, "%d of %d samples show no single usable face%s", len(obs)-usable, len(obs), first)
	}
	if usable > 0 && float64(matched) < lim.MinMatched*float64(usable) {
		fail(LivenessNotSame, "%d of %d usable samples match the reference photos (threshold %.3f)", matched, usable, threshold)
	}
	if usable > 0 && maxYaw-minYaw < lim.MinYawRange {
		fail(LivenessStill, "the face never turned: yaw stayed within %+.3f..%+.3f over %d samples", minYaw, maxYaw, usable)
	}
	for _, s := range res.Samples {
		if s.Jump != "" {
			fail(LivenessDiscontinuous, "sample %d at %.1f s: %s", s.N, float64(s.AtMS)/1000, jumpText(s, lim))
			break
		}
	}
	judgeTurns(ch, obs, &res, lim, pose, fail)
	judgeLight(ch, obs, &res, lim, fail)
	res.Passed = res.Failure == LivenessPassed
	return res
}

func jumpText(s SampleCheck, lim LivenessLimits) string {
	switch s.Jump {
	case "scene":
		return fmt.Sprintf("the scene around the face changed by %.1f (limit %.1f) since the sample before", s.SceneStep, lim.SceneJump)
	case "face":
		return fmt.Sprintf("the face jumped to another image (descriptor step %.3f while the pose changed %.3f: yaw %.3f, size %.3f; limit %.3f + %.1f x the pose's change)",
			s.DescriptorStep, s.YawStep+s.ScaleStep, s.YawStep, s.ScaleStep, lim.DescriptorJump, lim.DescriptorPerPose)
	case "size":
		return fmt.Sprintf("the face's size jumped by %.0f %% (limit %.0f %%)", (math.Exp(s.ScaleStep)-1)*100, (math.Exp(lim.ScaleJump)-1)*100)
	}
	return fmt.Sprintf("the face moved %.1f eye distances a second (limit %.1f)", s.ShiftSpeed, lim.ShiftSpeed)
}

type pointF struct{ X, Y float64 }

// eyes returns the eyes' midpoint and distance from dlib's five landmarks.
func eyes(p []Point) (pointF, float64, bool) {
	if len(p) != 5 {
		return pointF{}, 0, false
	}
	ax, ay := float64(p[0].X+p[1].X)/2, float64(p[0].Y+p[1].Y)/2
	bx, by := float64(p[2].X+p[3].X)/2, float64(p[2].Y+p[3].Y)/2
	d := math.Hypot(ax-bx, ay-by)
	if d < 1 {
		return pointF{}, 0, false
	}
	return pointF{(ax + bx) / 2, (ay + by) / 2}, d, true
}

// judgeTurns checks every turn: its settled samples show the prompted
// pose, the yaw passes through intermediate angles on the way out or back
// (a real head moves; switched images jump), not faster than a head turns,
// and the following centre step faces the camera again.
func judgeTurns(ch Challenge, obs []Observation, res *LivenessResult, lim LivenessLimits, pose func(float64) Pose, fail func(LivenessFailure, string, ...any)) {
	for i, st := range ch.Steps {
		if st.Colour != "" || (st.Pose != PoseCenter && st.Pose != PoseLeft && st.Pose != PoseRight) {
			continue
		}
		settled, shown := 0, 0
		for _, o := range obs {
			if o.Status == StatusOK && o.Offset >= st.At()+lim.Settle && o.Offset < st.End()+lim.Settle/2 {
				settled++
				if pose(o.Yaw) == st.Pose {
					shown++
				}
			}
		}
		if st.Pose == PoseCenter {
			if i > 0 && settled > 0 && 2*shown < settled {
				fail(LivenessWrongPose, "step %d: asked to face the camera, %d of %d samples did", i+1, shown, settled)
			}
			continue
		}
		tc := TurnCheck{Prompt: st.Pose, Step: i, Samples: settled, Shown: shown}
		sign := 1.0
		if st.Pose == PoseRight {
			sign = -1
		}
		// The turn's span: from the step's start to the end of the centre
		// step after it.
		from, to := st.At(), st.End()
		if i+1 < len(ch.Steps) {
			to = ch.Steps[i+1].End()
		}
		var span []Observation
		for _, o := range obs {
			if o.Status == StatusOK && o.Offset >= from && o.Offset < to+lim.Settle/2 {
				span = append(span, o)
				tc.PeakYaw = math.Max(tc.PeakYaw, sign*(o.Yaw-res.BaseYaw))
			}
		}
		// Between facing the camera and the furthest turn: 20 % to 80 % of
		// the way, from the customer's own centre.
		for _, o := range span {
			if y := sign * (o.Yaw - res.BaseYaw); y > 0.2*tc.PeakYaw && y < 0.8*tc.PeakYaw {
				tc.Intermediate++
			}
		}
		if i+1 < len(ch.Steps) {
			n, c := 0, 0
			next := ch.Steps[i+1]
			for _, o := range obs {
				if o.Status == StatusOK && o.Offset >= next.At()+lim.Settle && o.Offset < next.End()+lim.Settle/2 {
					n++
					if pose(o.Yaw) == PoseCenter {
						c++
					}
				}
			}
			tc.BackToCentre = n > 0 && 2*c >= n
		}
		res.Turns = append(res.Turns, tc)
		switch {
		case settled == 0:
			fail(LivenessWrongPose, "turn %d (%s): no usable sample while it was prompted", len(res.Turns), st.Pose)
		case 2*shown < settled:
			fail(LivenessWrongPose, "turn %d: asked to turn %s, %d of %d samples did (furthest yaw towards it %+.2f)", len(res.Turns), st.Pose, shown, settled, tc.PeakYaw)
		case tc.Intermediate == 0:
			fail(LivenessNoTransition, "turn %d (%s): no sample between facing the camera and turned (peak yaw %+.2f): the image switched instead of turning", len(res.Turns), st.Pose, tc.PeakYaw)
		}
		for j := 1; j < len(span); j++ {
			dt := (span[j].Offset - span[j-1].Offset).Seconds()
			if dt > 0.05 && math.Abs(span[j].Yaw-span[j-1].Yaw)/dt > lim.YawSpeed {
				fail(LivenessNoTransition, "turn %d (%s): the yaw went from %+.2f to %+.2f in %.2f s, faster than a head turns", len(res.Turns), st.Pose, span[j-1].Yaw, span[j].Yaw, dt)
				break
			}
		}
	}
}

// baseYaw is the median yaw of the first step's settled usable samples
// (all of them when none settled), within +-MaxBaseYaw; 0 without any.
func baseYaw(ch Challenge, obs []Observation, lim LivenessLimits) float64 {
	if len(ch.Steps) == 0 {
		return 0
	}
	first := ch.Steps[0]
	var all, settled []float64
	for _, o := range obs {
		if o.Status == StatusOK && o.Offset < first.End() {
			all = append(all, o.Yaw)
			if o.Offset >= first.At()+lim.Settle/2 {
				settled = append(settled, o.Yaw)
			}
		}
	}
	if len(settled) == 0 {
		settled = all
	}
	if len(settled) == 0 {
		return 0
	}
	sort.Float64s(settled)
	return math.Max(-lim.MaxBaseYaw, math.Min(lim.MaxBaseYaw, settled[len(settled)/2]))
}

// judgeLight correlates the face's chroma (relative to the scene around
// it, which a camera's white balance shifts with the face) with the
// colours the screen showed, step by step, both less their means.
func judgeLight(ch Challenge, obs []Observation, res *LivenessResult, lim LivenessLimits, fail func(LivenessFailure, string, ...any)) {
	var steps []LightStep
	var sums []Chroma
	for _, st := range ch.Steps {
		if st.Colour == "" {
			continue
		}
		want, ok := ColourChroma(st.Colour)
		if !ok {
			continue
		}
		ls := LightStep{Colour: st.Colour, Expected: want}
		var sum Chroma
		// The page shows the colour a little after the step starts, and
		// the camera's frame reaches the server later still.
		for _, o := range obs {
			if o.Status == StatusOK && o.Offset >= st.At()+lim.Settle/2 && o.Offset < st.End()+lim.Settle/4 {
				l := o.Face.Sub(o.Scene)
				sum.R, sum.B = sum.R+l.R, sum.B+l.B
				ls.Samples++
			}
		}
		steps = append(steps, ls)
		sums = append(sums, sum)
	}
	var meanE, meanO Chroma
	n := 0
	for i := range steps {
		if steps[i].Samples == 0 {
			continue
		}
		k := float64(steps[i].Samples)
		steps[i].Observed = Chroma{R: sums[i].R / k, B: sums[i].B / k}
		meanE.R, meanE.B = meanE.R+steps[i].Expected.R, meanE.B+steps[i].Expected.B
		meanO.R, meanO.B = meanO.R+steps[i].Observed.R, meanO.B+steps[i].Observed.B
		n++
	}
	res.Light.Steps = steps
	if n < 2 {
		fail(LivenessNoLight, "%d of %d colours had a usable sample: too few to judge the face's response to the screen", n, len(steps))
		return
	}
	meanE, meanO = Chroma{meanE.R / float64(n), meanE.B / float64(n)}, Chroma{meanO.R / float64(n), meanO.B / float64(n)}
	var eo, ee, oo float64
	for i := range steps {
		if steps[i].Samples == 0 {
			continue
		}
		steps[i].Expected = steps[i].Expected.Sub(meanE)
		steps[i].Observed = steps[i].Observed.Sub(meanO)
		e, o := steps[i].Expected, steps[i].Observed
		eo += e.R*o.R + e.B*o.B
		ee += e.R*e.R + e.B*e.B
		oo += o.R*o.R + o.B*o.B
	}
	if ee > 0 && oo > 0 {
		res.Light.Correlation = eo / math.Sqrt(ee*oo)
	}
	if ee > 0 {
		res.Light.Gain = eo / ee
	}
	if res.Light.Correlation < lim.MinLightCorrelation || res.Light.Gain < lim.MinLightGain {
		fail(LivenessNoLight, "the face did not take the screen's colours: correlation %.2f (at least %.2f), gain %.3f (at least %.3f)",
			res.Light.Correlation, lim.MinLightCorrelation, res.Light.Gain, lim.MinLightGain)
	}
}

// UnmarshalText decodes the String form.
func (f *LivenessFailure) UnmarshalText(b []byte) error {
	for v := LivenessPassed; v <= LivenessNoLight; v++ {
		if v.String() == string(b) {
			*f = v
			return nil
		}
	}
	return fmt.Errorf("unknown liveness failure %q", b)
}
