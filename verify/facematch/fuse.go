package facematch

import (
	"errors"
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
	// Agree is how many of the usable captures match on their own.
	Agree int `json:"agree"`
	// Rule names how the distances were combined ("mean").
	Rule string `json:"rule"`
	// Taken is how many captures were taken (usable or not), and Each
	// what each one scored, in the order they were taken.
	Taken int            `json:"taken"`
	Each  []FusedCapture `json:"each,omitempty"`
}

// FusedCapture is one capture of a fused result.
type FusedCapture struct {
	// Evidence is the stored frame (its evidence ID) and MediaMS its time
	// in the recorded segment.
	Evidence string `json:"evidence"`
	MediaMS  int64  `json:"media_ms"`
	Status   Status `json:"status"`
	// Distance is the capture's best distance (0 when unusable).
	Distance float64  `json:"distance"`
	Decision Decision `json:"decision"`
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
	f := Fused{Threshold: results[0].Threshold, Decision: DecisionUnusable, Distance: math.Inf(1), Rule: "mean", Taken: len(results)}
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
		if r.Distance <= f.Threshold {
			f.Agree++
		}
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
