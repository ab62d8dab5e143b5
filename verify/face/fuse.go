package face

import (
	"context"
	"log/slog"

	"remoteidv/verify/facematch"
)

// LogValue logs a face without its descriptor or landmarks.
func (f Face) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("face_side", f.Quality.FaceSide), slog.Float64("yaw", f.Quality.Yaw))
}

// LogValue logs a sample without its descriptor.
func (s Sample) LogValue() slog.Value {
	return slog.GroupValue(slog.String("person", s.Person), slog.String("path", s.Path), slog.String("status", s.Status.String()))
}

// Verifier is what the video session needs from the engine: matching
// single frames and judging a liveness challenge. *Engine implements it.
type Verifier interface {
	Matcher
	CheckLiveness(ctx context.Context, ch facematch.Challenge, caps []facematch.Capture, refs []facematch.Reference) (facematch.LivenessResult, error)
}

var _ Verifier = (*Engine)(nil)
