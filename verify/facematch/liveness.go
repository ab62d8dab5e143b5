package facematch

import (
	"fmt"
	"math"
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

// UnmarshalText decodes the String form.
func (p *Pose) UnmarshalText(b []byte) error {
	for v := PoseUnknown; v <= PoseRight; v++ {
		if v.String() == string(b) {
			*p = v
			return nil
		}
	}
	return fmt.Errorf("unknown pose %q", b)
}
