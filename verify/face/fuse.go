package face

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
)

// Fused is the combined score of several captures of one session.
type Fused struct {
	// Captures is how many usable captures were combined.
	Captures int `json:"captures"`
	// Distance is the mean of the usable captures' best distances.
	Distance  float64  `json:"distance"`
	Threshold float64  `json:"threshold"`
	Decision  Decision `json:"decision"`
}

// Fuse combines the results of several captures of one session against
// the same references by averaging their best distances. On the johns
// photos, three captures averaged widened the gap between genuine and
// impostor scores from 0.90 to 1.30 pooled standard deviations (see
// SeparationStudy), so the video session should take several captures
// and record the fused score next to each capture's own. Unusable
// captures are skipped; with none usable the decision is Unusable.
func Fuse(results []MatchResult) (Fused, error) {
	if len(results) == 0 {
		return Fused{}, errors.New("fuse captures: no results")
	}
	f := Fused{Threshold: results[0].Threshold, Decision: DecisionUnusable, Distance: math.Inf(1)}
	var sum float64
	for _, r := range results {
		if r.Threshold != f.Threshold || r.ModelHash != results[0].ModelHash {
			return Fused{}, errors.New("fuse captures: results from different thresholds or models")
		}
		if r.Status != StatusOK {
			continue
		}
		f.Captures++
		sum += r.Distance
	}
	if f.Captures == 0 {
		return f, nil
	}
	f.Distance = sum / float64(f.Captures)
	if f.Distance <= f.Threshold {
		f.Decision = DecisionMatch
	} else {
		f.Decision = DecisionNoMatch
	}
	return f, nil
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

// LogValue logs a face without its descriptor or landmarks.
func (f Face) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("face_side", f.Quality.FaceSide), slog.Float64("yaw", f.Quality.Yaw))
}

// LogValue logs a sample without its descriptor.
func (s Sample) LogValue() slog.Value {
	return slog.GroupValue(slog.String("person", s.Person), slog.String("path", s.Path), slog.String("status", s.Status.String()))
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

// Verifier is what the video session needs from the engine: matching
// single frames and judging a liveness challenge. *Engine implements it.
type Verifier interface {
	Matcher
	CheckLiveness(ctx context.Context, ch Challenge, caps []Capture, refs []Reference) (LivenessResult, error)
}

var _ Verifier = (*Engine)(nil)
