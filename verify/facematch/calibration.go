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
	Version int `json:"version"`
	// ID is the calibration's number in the database (1, 2, ...: each new
	// calibration of a model gets the next); 0 for a file.
	ID int64 `json:"id,omitempty"`
	// Source says where the population came from: "accounts" (the
	// enrolled accounts' stored descriptors), "folder" (a folder per
	// person, idv face calibrate DIR) or "demo" (the demo photos).
	Source    string    `json:"source,omitempty"`
	ModelHash ModelHash `json:"model_hash"`
	Created   time.Time `json:"created"`
	Cohort    string    `json:"cohort"`
	People    int       `json:"people"`
	Photos    int       `json:"photos"`
	// Impostors is the number of impostor pairs (photos of different
	// people) measured. With sampling (PopulationPairs > Impostors) it is
	// the sample's size, and every bound is computed on it, so a sampled
	// calibration's bounds are as wide as its sample, not its population.
	Impostors int `json:"impostors"`
	// PopulationPairs is how many impostor pairs the population holds
	// (0 in files written before it was recorded: then all were measured).
	PopulationPairs int64 `json:"population_pairs,omitempty"`
	// SampleSeed seeds the pair sampling, so a sampled calibration can be
	// recomputed exactly.
	SampleSeed uint64 `json:"sample_seed,omitempty"`
	// Tail holds the smallest impostor distances, ascending (at most
	// 20,000 of them, enough for any threshold a bank would use).
	Tail []float64 `json:"tail"`
	// Hist counts every measured impostor distance in bins of HistBin
	// (the last bin holds everything beyond), so the rate at a distance
	// past the tail is still known (rounded up to a whole bin).
	Hist []int32 `json:"hist,omitempty"`
	// Genuine holds the genuine scores, ascending: distances between two
	// photos of one person (account), and the best distances of live
	// captures a clerk confirmed.
	Genuine []float64 `json:"genuine,omitempty"`
	// GenuinePhotoPairs and GenuineLive count the two kinds in Genuine.
	GenuinePhotoPairs int `json:"genuine_photo_pairs,omitempty"`
	GenuineLive       int `json:"genuine_live,omitempty"`
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
	hist := make([]int32, histBins)
	for _, x := range d {
		hist[histBin(x)]++
	}
	if len(d) > calibrationTail {
		d = d[:calibrationTail]
	}
	c := &Calibration{
		Version: 1, Source: "folder", ModelHash: hash, Created: now.UTC(), Cohort: cohort,
		People: people, Photos: photos, Impostors: n, PopulationPairs: int64(n), Tail: d, Hist: hist, TargetFMR: target,
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

// FMRAt returns the expected false-match rate at threshold t: the share
// of measured impostor pairs at distance t or closer, and its 95% upper
// bound.
func (c *Calibration) FMRAt(t float64) FMR {
	m := c.matches(t)
	f := FMR{Threshold: t, Matches: m, Impostors: c.Impostors}
	if c.Impostors == 0 {
		f.Rate, f.Upper95 = math.NaN(), 1
		return f
	}
	f.Rate = float64(m) / float64(c.Impostors)
	f.Upper95 = upper95(m, c.Impostors)
	return f
}

// matches counts the measured impostor pairs at distance t or closer:
// exactly while t is under the largest kept tail distance (every pair not
// kept is at least that far), else from the histogram, counting t's whole
// bin (an over-count of at most one bin, so the rate errs high).
func (c *Calibration) matches(t float64) int {
	m := sort.Search(len(c.Tail), func(i int) bool { return c.Tail[i] > t })
	if m < len(c.Tail) || c.Impostors <= len(c.Tail) || len(c.Hist) == 0 {
		return m
	}
	b := min(histBin(t), len(c.Hist)-1)
	n := 0
	for _, v := range c.Hist[:b+1] {
		n += int(v)
	}
	return min(max(n, m), c.Impostors)
}

// upper95 is a 95% upper bound on a rate of m in n: 3/n when none were
// seen (rule of three), else the Wilson score bound.
func upper95(m, n int) float64 {
	if n == 0 {
		return 1
	}
	nf := float64(n)
	if m == 0 {
		return math.Min(1, 3/nf)
	}
	z := 1.96
	p := float64(m) / nf
	return math.Max(p, math.Min(1, (p+z*z/(2*nf)+z*math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)))/(1+z*z/nf)))
}

// GenuineFail is the share of genuine scores over threshold t: the
// genuine pairs the threshold would turn away. NaN without genuine scores.
func (c *Calibration) GenuineFail(t float64) float64 {
	if len(c.Genuine) == 0 {
		return math.NaN()
	}
	ok := sort.Search(len(c.Genuine), func(i int) bool { return c.Genuine[i] > t })
	return float64(len(c.Genuine)-ok) / float64(len(c.Genuine))
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
	if err := c.Valid(); err != nil {
		return nil, fmt.Errorf("load calibration %s: %w", path, err)
	}
	return &c, nil
}

// Valid reports a calibration that cannot have been written by this
// package: unknown version, unsorted distances, counts that disagree.
func (c *Calibration) Valid() error {
	if c.Version != 1 || !sort.Float64sAreSorted(c.Tail) || !sort.Float64sAreSorted(c.Genuine) || c.Impostors < len(c.Tail) ||
		(len(c.Hist) != 0 && len(c.Hist) != histBins) {
		return fmt.Errorf("malformed calibration (version %d)", c.Version)
	}
	return nil
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
	Version int `json:"version"`
	// ID is the calibration's number in the database (0: a file).
	ID                int64     `json:"id,omitempty"`
	Source            string    `json:"source,omitempty"`
	Created           time.Time `json:"created"`
	Cohort            string    `json:"cohort"`
	People            int       `json:"people"`
	Photos            int       `json:"photos"`
	Impostors         int       `json:"impostor_pairs"`
	PopulationPairs   int64     `json:"population_pairs"`
	GenuinePairs      int       `json:"genuine_pairs"`
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
	s := CalibrationSummary{Version: c.Version, ID: c.ID, Source: c.Source, PopulationPairs: c.PopulationPairs, GenuinePairs: len(c.Genuine), Created: c.Created, Cohort: c.Cohort, People: c.People, Photos: c.Photos,
		Impostors: c.Impostors, TargetFMR: c.TargetFMR, ProposedThreshold: c.ProposedThreshold, Supported: c.Supported,
		ModelHash: c.ModelHash, ModelMatches: c.ModelHash == running}
	if c.Impostors > 0 {
		f := c.FMRAt(threshold)
		s.AtThreshold = &f
	}
	return s
}
