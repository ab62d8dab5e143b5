package facematch

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"time"
)

// DefaultTargetFMR is the false-match rate calibrate aims for: 1 in 1,000.
const DefaultTargetFMR = 1e-3

// calibrationTail is how many of the smallest impostor distances a
// calibration file keeps; low thresholds only need the low tail.
const calibrationTail = 20000

// Calibration is the impostor distance distribution of a cohort of
// enrolled reference photos (the bank's own customers), used to state the
// expected false-match rate of a threshold. It is JSON-encoded on disk.
type Calibration struct {
	Version   int       `json:"version"`
	ModelHash ModelHash `json:"model_hash"`
	Created   time.Time `json:"created"`
	Cohort    string    `json:"cohort"`
	People    int       `json:"people"`
	Photos    int       `json:"photos"`
	// Impostors is the number of impostor pairs (photos of different
	// people) measured.
	Impostors int `json:"impostors"`
	// Tail holds the smallest impostor distances, ascending (at most
	// 20,000 of them, enough for any threshold a bank would use).
	Tail []float64 `json:"tail"`
	// TargetFMR and ProposedThreshold: the largest threshold whose
	// measured false-match rate is at most TargetFMR.
	TargetFMR         float64 `json:"target_fmr"`
	ProposedThreshold float64 `json:"proposed_threshold"`
	// Supported is false when the cohort has fewer than 3/TargetFMR
	// impostor pairs, too few to claim the target (rule of three).
	Supported bool `json:"supported"`
}

// FMR is an expected false-match rate from a calibration.
type FMR struct {
	// Threshold the rate is computed at.
	Threshold float64 `json:"threshold"`
	// Rate is the fraction of cohort impostor pairs at or under Threshold.
	Rate float64 `json:"rate"`
	// Upper95 is a 95% upper bound on Rate: 3/N when none were seen (rule
	// of three), else the Wilson score bound.
	Upper95 float64 `json:"upper95"`
	// Matches and Impostors are the counts behind Rate.
	Matches   int `json:"matches"`
	Impostors int `json:"impostors"`
	// AtDistance is the rate at the capture's own distance (how often an
	// impostor scores this close); set by Match.
	AtDistance float64 `json:"at_distance"`
}

// NewCalibration builds a calibration from the impostor distances of a
// cohort, proposing the threshold for target (DefaultTargetFMR if <= 0).
func NewCalibration(hash ModelHash, cohort string, people, photos int, impostors []float64, target float64, now time.Time) *Calibration {
	if target <= 0 {
		target = DefaultTargetFMR
	}
	d := append([]float64(nil), impostors...)
	sort.Float64s(d)
	n := len(d)
	if len(d) > calibrationTail {
		d = d[:calibrationTail]
	}
	c := &Calibration{
		Version: 1, ModelHash: hash, Created: now.UTC(), Cohort: cohort,
		People: people, Photos: photos, Impostors: n, Tail: d, TargetFMR: target,
		Supported: float64(n) >= 3/target,
	}
	c.ProposedThreshold = c.ThresholdFor(target)
	return c
}

// ThresholdFor returns the largest threshold at which at most
// target x Impostors impostor pairs match: midway between the largest
// allowed impostor distance and the next larger one.
func (c *Calibration) ThresholdFor(target float64) float64 {
	if len(c.Tail) == 0 {
		return 0
	}
	k := int(math.Floor(target * float64(c.Impostors)))
	if k >= len(c.Tail) {
		k = len(c.Tail) - 1
	}
	// Distances at or under the threshold match, so stay below Tail[k],
	// also past any ties with it.
	j := k - 1
	for j >= 0 && c.Tail[j] == c.Tail[k] {
		j--
	}
	if j < 0 {
		return math.Max(c.Tail[k]-1e-6, 0)
	}
	return (c.Tail[j] + c.Tail[k]) / 2
}

// FMRAt returns the expected false-match rate at threshold t.
func (c *Calibration) FMRAt(t float64) FMR {
	m := sort.Search(len(c.Tail), func(i int) bool { return c.Tail[i] > t })
	f := FMR{Threshold: t, Matches: m, Impostors: c.Impostors}
	if c.Impostors == 0 {
		f.Rate, f.Upper95 = math.NaN(), 1
		return f
	}
	n := float64(c.Impostors)
	f.Rate = float64(m) / n
	if m == 0 {
		f.Upper95 = math.Min(1, 3/n)
	} else {
		z := 1.96
		p := f.Rate
		f.Upper95 = math.Max(p, math.Min(1, (p+z*z/(2*n)+z*math.Sqrt(p*(1-p)/n+z*z/(4*n*n)))/(1+z*z/n)))
	}
	return f
}

// LoadCalibration reads a calibration file written by Save.
func LoadCalibration(path string) (*Calibration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load calibration: %w", err)
	}
	var c Calibration
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("load calibration %s: %w", path, err)
	}
	if c.Version != 1 || !sort.Float64sAreSorted(c.Tail) || c.Impostors < len(c.Tail) {
		return nil, fmt.Errorf("load calibration %s: malformed (version %d)", path, c.Version)
	}
	return &c, nil
}

// Save writes the calibration as indented JSON.
func (c *Calibration) Save(path string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("save calibration: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("save calibration: %w", err)
	}
	return nil
}

// CalibrationSummary is a calibration without its distance tail (which
// would tell the bank's customers' distance distribution to anyone who
// reads it), judged against a threshold and the running models.
type CalibrationSummary struct {
	Version           int       `json:"version"`
	Created           time.Time `json:"created"`
	Cohort            string    `json:"cohort"`
	People            int       `json:"people"`
	Photos            int       `json:"photos"`
	Impostors         int       `json:"impostor_pairs"`
	TargetFMR         float64   `json:"target_fmr"`
	ProposedThreshold float64   `json:"proposed_threshold"`
	// Supported is false when the cohort is too small to claim the
	// target (see Calibration.Supported).
	Supported bool      `json:"supported"`
	ModelHash ModelHash `json:"model_hash"`
	// ModelMatches tells whether the calibration was made with the
	// running models; its rates mean nothing for other models.
	ModelMatches bool `json:"model_matches"`
	// AtThreshold is the expected false-match rate at the threshold
	// asked for; nil when the cohort has no impostor pairs.
	AtThreshold *FMR `json:"at_threshold,omitempty"`
}

// Summary describes c at threshold (the configured one) for the models
// with hash running.
func (c *Calibration) Summary(threshold float64, running ModelHash) CalibrationSummary {
	s := CalibrationSummary{Version: c.Version, Created: c.Created, Cohort: c.Cohort, People: c.People, Photos: c.Photos,
		Impostors: c.Impostors, TargetFMR: c.TargetFMR, ProposedThreshold: c.ProposedThreshold, Supported: c.Supported,
		ModelHash: c.ModelHash, ModelMatches: c.ModelHash == running}
	if c.Impostors > 0 {
		f := c.FMRAt(threshold)
		s.AtThreshold = &f
	}
	return s
}
