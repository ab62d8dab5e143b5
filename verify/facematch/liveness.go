package facematch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// Pose is a head pose prompted in a liveness challenge. Left and right
// are the customer's own: turning to their left moves the nose towards
// the right of an unmirrored camera frame.
type Pose int

// Pose values.
const (
	PoseUnknown Pose = iota // between the centre and turn thresholds
	PoseCenter
	PoseLeft
	PoseRight
)

// String returns "center", "left", "right" or "unknown".
func (p Pose) String() string {
	switch p {
	case PoseCenter:
		return "center"
	case PoseLeft:
		return "left"
	case PoseRight:
		return "right"
	case PoseUnknown:
		return "unknown"
	}
	return fmt.Sprintf("Pose(%d)", int(p))
}

// MarshalText encodes the pose as its String form.
func (p Pose) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// YawLimits map a yaw estimate to a pose.
type YawLimits struct {
	// CenterMax: |yaw| at or under it is PoseCenter. Default 0.06.
	CenterMax float64
	// TurnMin: yaw at or over it is PoseLeft, at or under -TurnMin
	// PoseRight. Default 0.10. Between the two the pose is unknown.
	TurnMin float64
}

// Default yaw limits, measured on the johns photos and their mirror
// images: frontal photos measure |yaw| <= 0.07, visibly turned ones
// 0.11..0.17 and their mirror images the same with the sign flipped. A
// customer asked to turn turns further than these press photos, so the
// limits err towards accepting a real turn.
const (
	DefaultCenterMax = 0.06
	DefaultTurnMin   = 0.10
)

// WithDefaults returns y with its zero fields set to their defaults.
func (y YawLimits) WithDefaults() YawLimits {
	if y.CenterMax <= 0 {
		y.CenterMax = DefaultCenterMax
	}
	if y.TurnMin <= 0 {
		y.TurnMin = DefaultTurnMin
	}
	return y
}

// Pose classifies a yaw estimate.
func (y YawLimits) Pose(yaw float64) Pose {
	y = y.WithDefaults()
	switch {
	case math.Abs(yaw) <= y.CenterMax:
		return PoseCenter
	case yaw >= y.TurnMin:
		return PoseLeft
	case yaw <= -y.TurnMin:
		return PoseRight
	}
	return PoseUnknown
}

// EstimateYaw estimates the head's yaw from dlib's five landmarks: the
// offset of the nose base from the midpoint of the two eye centres, along
// the eye axis (so head roll does not count), divided by the distance
// between the eye centres. 0 is frontal; positive means the nose points to
// the right of the image (the customer turned to their left). Roughly
// sin(yaw) scaled by the nose's depth; only the sign and size matter here.
// ok is false without five landmarks or with coincident eyes.
func EstimateYaw(p []Point) (yaw float64, ok bool) {
	if len(p) != 5 {
		return 0, false
	}
	ax, ay := float64(p[0].X+p[1].X)/2, float64(p[0].Y+p[1].Y)/2
	bx, by := float64(p[2].X+p[3].X)/2, float64(p[2].Y+p[3].Y)/2
	if ax < bx { // make a the eye on the image's right
		ax, ay, bx, by = bx, by, ax, ay
	}
	dx, dy := ax-bx, ay-by
	iod := math.Hypot(dx, dy)
	if iod < 1 {
		return 0, false
	}
	mx, my := (ax+bx)/2, (ay+by)/2
	nx, ny := float64(p[4].X)-mx, float64(p[4].Y)-my
	return (nx*dx + ny*dy) / (iod * iod), true
}

// Challenge is an active liveness challenge: poses to show, in order,
// within a time window.
type Challenge struct {
	Poses   []Pose    `json:"poses"`
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
}

// DefaultChallengeWindow is how long a challenge's captures may take.
const DefaultChallengeWindow = time.Minute

// ChallengePoses returns the poses a challenge prompts (Issue shuffles
// them).
func ChallengePoses() []Pose { return []Pose{PoseLeft, PoseRight, PoseCenter} }

// Challenger issues challenges. Rand and Now are injected for tests.
type Challenger struct {
	Rand   io.Reader        // e.g. crypto/rand.Reader
	Now    func() time.Time // e.g. time.Now
	Window time.Duration    // default DefaultChallengeWindow
}

// Issue returns left, right and center in a uniformly random order.
func (c Challenger) Issue() (Challenge, error) {
	if c.Rand == nil || c.Now == nil {
		return Challenge{}, errors.New("issue challenge: Rand and Now are required")
	}
	w := c.Window
	if w <= 0 {
		w = DefaultChallengeWindow
	}
	poses := ChallengePoses()
	for i := len(poses) - 1; i > 0; i-- {
		j, err := uniform(c.Rand, uint32(i+1))
		if err != nil {
			return Challenge{}, fmt.Errorf("issue challenge: %w", err)
		}
		poses[i], poses[j] = poses[j], poses[i]
	}
	now := c.Now()
	return Challenge{Poses: poses, Issued: now, Expires: now.Add(w)}, nil
}

// uniform returns an unbiased value in [0, n) read from r.
func uniform(r io.Reader, n uint32) (int, error) {
	limit := math.MaxUint32 - math.MaxUint32%n
	var b [4]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, err
		}
		if v := binary.BigEndian.Uint32(b[:]); v < limit {
			return int(v % n), nil
		}
	}
}

// Capture is a frame taken by the server while a pose was prompted.
type Capture struct {
	JPEG []byte
	At   time.Time
}

// LivenessFailure says why a challenge failed.
type LivenessFailure int

// LivenessFailure values.
const (
	LivenessPassed      LivenessFailure = iota
	LivenessWrongCount                  // not one capture per prompt
	LivenessOutOfWindow                 // a capture outside the window or out of order
	LivenessUnusable                    // a capture was rejected (no face, too dark, ...)
	LivenessNotSame                     // a capture does not match the reference
	LivenessWrongPose                   // a capture does not show its prompted pose
	LivenessStill                       // captures are the same frame or the same face image
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
	}
	return fmt.Sprintf("LivenessFailure(%d)", int(f))
}

// MarshalText encodes the failure as its String form.
func (f LivenessFailure) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// CaptureCheck is the outcome for one capture of a challenge.
type CaptureCheck struct {
	Prompt   Pose        `json:"prompt"`
	Observed Pose        `json:"observed"`
	Yaw      float64     `json:"yaw"`
	At       time.Time   `json:"at"`
	Match    MatchResult `json:"match"`
}

// LivenessResult is the outcome of a challenge. Failure is the first
// reason found; Reason explains it; Captures report every capture.
type LivenessResult struct {
	Passed   bool            `json:"passed"`
	Failure  LivenessFailure `json:"failure"`
	Reason   string          `json:"reason,omitempty"`
	Captures []CaptureCheck  `json:"captures"`
}
