// Package facematch is the face engine's vocabulary, without dlib: what a
// face check is asked (references, descriptors, liveness challenges) and
// what it answers (statuses, decisions, match and liveness results), the
// pinned model hashes, and calibrations: the score distributions of a
// population (CalibratePopulation), the operating point they give under a
// policy (threshold from a target false-match rate, weak evidence) and
// the assessment of each score (the chance a different customer scores
// that close, with its bound). The workflow (verify) and the HTTP layer
// use these types; the engine that computes them (verify/face, cgo) is
// wired in by cmd/idv, so both build and test without cgo.
package facematch

import (
	"encoding/binary"
	"fmt"
	"image"
	"log/slog"
	"math"
	"time"
)

// Descriptor is dlib's 128-dimensional face descriptor. It is biometric
// data: never log it (LogValue redacts it).
type Descriptor [128]float32

// LogValue redacts the descriptor in structured logs.
func (Descriptor) LogValue() slog.Value { return slog.StringValue("[descriptor redacted]") }

// SquaredDistance is the squared Euclidean distance between two
// descriptors; dlib's usual 0.6 Euclidean threshold is 0.36 here.
func SquaredDistance(a, b Descriptor) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s
}

// DefaultThreshold is the default squared-distance threshold (0.6²).
const DefaultThreshold = 0.36

// Point is a pixel position.
type Point struct{ X, Y int }

// Timings break down one check.
type Timings struct {
	Gate      time.Duration `json:"gate"`      // pure-Go gates and re-encoding
	Wait      time.Duration `json:"wait"`      // waiting for a free recognizer
	Recognize time.Duration `json:"recognize"` // dlib detection, landmarks, descriptor
	Total     time.Duration `json:"total"`
}

// Enrollment is a reference photo's descriptor, ready to store.
type Enrollment struct {
	Descriptor Descriptor
	// ModelHash must be stored with the descriptor; a descriptor whose
	// hash differs from the engine's ModelHash must be recomputed.
	ModelHash ModelHash
	Quality   Quality
}

// Reference is a stored descriptor of an account's reference photo.
type Reference struct {
	// ID identifies the reference photo to the caller (e.g. its evidence key).
	ID         string
	Descriptor Descriptor
	ModelHash  ModelHash
}

// Decision is the matcher's verdict on one capture.
type Decision int

// Decision values.
const (
	// DecisionUnusable: the capture was rejected (see MatchResult.Status).
	DecisionUnusable Decision = iota
	// DecisionMatch: the best distance is at or under the threshold.
	DecisionMatch
	// DecisionNoMatch: the best distance is over the threshold.
	DecisionNoMatch
)

// String returns "UNUSABLE", "MATCH" or "NO_MATCH".
func (d Decision) String() string {
	switch d {
	case DecisionUnusable:
		return "UNUSABLE"
	case DecisionMatch:
		return "MATCH"
	case DecisionNoMatch:
		return "NO_MATCH"
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// MarshalText encodes the decision as its String form.
func (d Decision) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses the String form of a decision.
func (d *Decision) UnmarshalText(b []byte) error {
	for _, v := range []Decision{DecisionUnusable, DecisionMatch, DecisionNoMatch} {
		if v.String() == string(b) {
			*d = v
			return nil
		}
	}
	return fmt.Errorf("unknown face decision %q", b)
}

// ReferenceDistance is the distance from the capture to one reference.
type ReferenceDistance struct {
	ID       string  `json:"id"`
	Distance float64 `json:"distance"`
}

// MatchResult is everything a check records about one capture.
type MatchResult struct {
	Status   Status   `json:"status"`
	Detail   string   `json:"detail,omitempty"`
	Decision Decision `json:"decision"`
	// Distance is the smallest squared distance to any reference; +Inf
	// when the capture was unusable.
	Distance  float64 `json:"distance"`
	Threshold float64 `json:"threshold"`
	// References lists the distance to each reference, in input order.
	References []ReferenceDistance `json:"references"`
	// ExpectedFMR is the calibrated false-match rate at Threshold and at
	// Distance; nil when no calibration is loaded.
	ExpectedFMR *FMR `json:"expected_fmr,omitempty"`
	// Assessment is what the calibration in force says about Distance:
	// the chance a different customer scores this close, its bound, the
	// calibration's number, and whether the score is weak evidence. Set by
	// the workflow (Operating.Apply); nil from the engine alone.
	Assessment *Assessment `json:"assessment,omitempty"`
	// Fusion, when set, says this result fuses several captures: Distance
	// is their mean best distance and References the mean per reference.
	Fusion     *Fused            `json:"fusion,omitempty"`
	ModelHash  ModelHash         `json:"model_hash"`
	ModelFiles map[string]string `json:"model_files"`
	// Engine names the code that made the result: the go-face and dlib
	// versions, e.g. "go-face v0.0.0-..., dlib 19.24.0".
	Engine  string  `json:"engine"`
	Quality Quality `json:"quality"`
	Timings Timings `json:"timings"`
	// Descriptor of the capture, for liveness cross-checks; never logged.
	Descriptor Descriptor `json:"-"`
}

// Quality holds what was measured on an image. Fields after a failing
// gate stay zero.
type Quality struct {
	Bytes     int     `json:"bytes"`
	Format    string  `json:"format,omitempty"`
	Width     int     `json:"width,omitempty"`
	Height    int     `json:"height,omitempty"`
	Luminance float64 `json:"luminance"` // mean luma, 0..255
	Sharpness float64 `json:"sharpness"` // variance of the Laplacian
	Faces     int     `json:"faces"`     // faces found by the detector
	// FaceBox is the detected face, in pixels of the image.
	FaceBox image.Rectangle `json:"face_box"`
	// FaceSide is the shorter side of FaceBox.
	FaceSide int `json:"face_side"`
	// Yaw is the head-turn estimate from the landmarks (see EstimateYaw).
	Yaw float64 `json:"yaw"`
}

// LogValue logs a match result without its descriptor.
func (r MatchResult) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("status", r.Status.String()),
		slog.String("decision", r.Decision.String()),
		slog.Float64("distance", r.Distance),
		slog.Float64("threshold", r.Threshold),
		slog.Int("references", len(r.References)),
		slog.Duration("total", r.Timings.Total),
	)
}

// LogValue logs an enrollment without its descriptor.
func (e Enrollment) LogValue() slog.Value {
	return slog.GroupValue(slog.String("model_hash", string(e.ModelHash)), slog.Int("face_side", e.Quality.FaceSide))
}

// LogValue logs a reference without its descriptor.
func (r Reference) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", r.ID), slog.String("model_hash", string(r.ModelHash)))
}

// MarshalBinary encodes the descriptor as 128 little-endian float32
// (512 bytes), for storage next to its ModelHash.
func (d Descriptor) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 4*len(d))
	for _, v := range d {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b, nil
}

// UnmarshalBinary decodes the MarshalBinary form.
func (d *Descriptor) UnmarshalBinary(b []byte) error {
	if len(b) != 4*len(d) {
		return fmt.Errorf("decode descriptor: %d bytes, want %d", len(b), 4*len(d))
	}
	for i := range d {
		d[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return nil
}

// Settings are an engine's effective settings, defaults applied, as an
// administrator reads them.
type Settings struct {
	Recognizers int
	Jitter      int
	Threshold   float64
	ModelHash   ModelHash
	Yaw         YawLimits
}
