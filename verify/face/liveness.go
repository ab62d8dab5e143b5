package face

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"remoteidv/verify/facematch"
)

// stillDistance: two captures whose descriptors are closer than this are
// the same image of a face (re-encodings of one frame), not a moving head.
const stillDistance = 1e-3

// CheckLiveness judges a challenge from one capture per prompt, in
// order. It passes only if every capture lies within the window (in
// order), matches the references, shows its prompted pose, and no two
// captures are the same frame. Errors are faults, as for Match.
func (e *Engine) CheckLiveness(ctx context.Context, ch facematch.Challenge, caps []facematch.Capture, refs []facematch.Reference) (facematch.LivenessResult, error) {
	var res facematch.LivenessResult
	fail := func(f facematch.LivenessFailure, format string, args ...any) {
		if res.Failure == facematch.LivenessPassed {
			res.Failure, res.Reason = f, fmt.Sprintf(format, args...)
		}
	}
	if len(caps) != len(ch.Poses) || len(caps) == 0 {
		fail(facematch.LivenessWrongCount, "%d captures for %d prompts", len(caps), len(ch.Poses))
		return res, nil
	}
	seen := map[[32]byte]int{}
	for i, c := range caps {
		cc := facematch.CaptureCheck{Prompt: ch.Poses[i], At: c.At}
		switch {
		case c.At.Before(ch.Issued) || c.At.After(ch.Expires):
			fail(facematch.LivenessOutOfWindow, "capture %d at %s outside %s..%s", i+1, c.At.Format(time.RFC3339), ch.Issued.Format(time.RFC3339), ch.Expires.Format(time.RFC3339))
		case i > 0 && c.At.Before(caps[i-1].At):
			fail(facematch.LivenessOutOfWindow, "capture %d earlier than capture %d", i+1, i)
		}
		sum := sha256.Sum256(c.JPEG)
		if j, ok := seen[sum]; ok {
			fail(facematch.LivenessStill, "capture %d is the same frame as capture %d", i+1, j+1)
		}
		seen[sum] = i
		m, err := e.Match(ctx, c.JPEG, refs)
		if err != nil {
			return facematch.LivenessResult{}, fmt.Errorf("check liveness: capture %d: %w", i+1, err)
		}
		cc.Match = m
		if m.Status != facematch.StatusOK {
			fail(facematch.LivenessUnusable, "capture %d: %s %s", i+1, m.Status, m.Detail)
			res.Captures = append(res.Captures, cc)
			continue
		}
		cc.Yaw = m.Quality.Yaw
		cc.Observed = e.cfg.Yaw.Pose(cc.Yaw)
		if m.Decision != facematch.DecisionMatch {
			fail(facematch.LivenessNotSame, "capture %d: distance %.3f over threshold %.3f", i+1, m.Distance, m.Threshold)
		}
		if cc.Observed != cc.Prompt {
			fail(facematch.LivenessWrongPose, "capture %d: prompted %s, yaw %+.2f looks %s", i+1, cc.Prompt, cc.Yaw, cc.Observed)
		}
		for j, prev := range res.Captures {
			if prev.Match.Status == facematch.StatusOK && facematch.SquaredDistance(prev.Match.Descriptor, m.Descriptor) < stillDistance {
				fail(facematch.LivenessStill, "capture %d shows the same face image as capture %d", i+1, j+1)
			}
		}
		res.Captures = append(res.Captures, cc)
	}
	res.Passed = res.Failure == facematch.LivenessPassed
	return res, nil
}
