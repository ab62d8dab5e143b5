package facematch

import (
	"math"
	"time"
)

// Defaults of a Policy.
const (
	// DefaultMaxGenuineFail: when more than this share of the
	// calibration's genuine pairs would fail at the target's threshold,
	// the model cannot tell this population's faces apart well enough.
	DefaultMaxGenuineFail = 0.20
	// DefaultMinGenuinePairs: with fewer genuine scores nobody can say how
	// many genuine pairs the threshold turns away.
	DefaultMinGenuinePairs = 10
)

// Policy says how a calibration sets the threshold and when its scores are
// weak evidence.
type Policy struct {
	// TargetFMR: with a calibration that supports it (at least 3/TargetFMR
	// impostor pairs), the threshold is the largest whose measured
	// false-match rate is at most TargetFMR. Default DefaultTargetFMR.
	TargetFMR float64
	// MaxGenuineFail: a larger share of genuine scores over the threshold
	// makes every score weak evidence. Default DefaultMaxGenuineFail.
	MaxGenuineFail float64
	// MinGenuinePairs: fewer genuine scores make every score weak
	// evidence. Default DefaultMinGenuinePairs.
	MinGenuinePairs int
	// Threshold is the configured threshold, used without a calibration
	// or with one too small for the target. Default DefaultThreshold.
	Threshold float64
}

// WithDefaults returns p with its zero fields set to their defaults.
func (p Policy) WithDefaults() Policy {
	if p.TargetFMR <= 0 {
		p.TargetFMR = DefaultTargetFMR
	}
	if p.MaxGenuineFail <= 0 {
		p.MaxGenuineFail = DefaultMaxGenuineFail
	}
	if p.MinGenuinePairs <= 0 {
		p.MinGenuinePairs = DefaultMinGenuinePairs
	}
	if p.Threshold <= 0 {
		p.Threshold = DefaultThreshold
	}
	return p
}

// Reasons a score is weak evidence (stable codes; the pages translate them).
const (
	WeakNotCalibrated    = "not_calibrated"     // no calibration for the running models
	WeakFewImpostorPairs = "few_impostor_pairs" // fewer than 3/TargetFMR impostor pairs: the target cannot be claimed
	WeakFewGenuinePairs  = "few_genuine_pairs"  // fewer than MinGenuinePairs genuine scores
	WeakGenuineFail      = "genuine_fail"       // more than MaxGenuineFail of the genuine scores fail at the threshold
)

// Operating is where a calibration puts the decision and how much a score
// from it can carry.
type Operating struct {
	// Calibration is the calibration's number (Calibration.ID; 0 for a
	// file) and Calibrated whether there is one at all.
	Calibration int64     `json:"calibration"`
	Calibrated  bool      `json:"calibrated"`
	Created     time.Time `json:"calibrated_at,omitempty"`
	Source      string    `json:"source,omitempty"`
	// Threshold decides MATCH; FromTarget tells whether it follows
	// TargetFMR (true) or is the configured one.
	Threshold  float64 `json:"threshold"`
	FromTarget bool    `json:"from_target"`
	TargetFMR  float64 `json:"target_fmr"`
	// ImpostorPairs measured, of PopulationPairs in the population.
	ImpostorPairs   int   `json:"impostor_pairs"`
	PopulationPairs int64 `json:"population_pairs"`
	// GenuinePairs and GenuineFail: the genuine scores and the share of
	// them over Threshold (-1 without genuine scores).
	GenuinePairs int     `json:"genuine_pairs"`
	GenuineFail  float64 `json:"genuine_fail"`
	// Weak is true when a score from this calibration cannot carry a
	// decision: the registry photo and the clerk's own comparison must.
	Weak        bool     `json:"weak"`
	WeakReasons []string `json:"weak_reasons,omitempty"`
}

// OperatingFor returns the operating point of calibration c (nil: none)
// under policy p.
func OperatingFor(c *Calibration, p Policy) Operating {
	p = p.WithDefaults()
	o := Operating{Threshold: p.Threshold, TargetFMR: p.TargetFMR, GenuineFail: -1}
	if c == nil {
		o.Weak, o.WeakReasons = true, []string{WeakNotCalibrated}
		return o
	}
	o.Calibration, o.Calibrated, o.Created, o.Source = c.ID, true, c.Created, c.Source
	o.ImpostorPairs, o.PopulationPairs, o.GenuinePairs = c.Impostors, c.PopulationPairs, len(c.Genuine)
	if o.PopulationPairs == 0 {
		o.PopulationPairs = int64(c.Impostors)
	}
	if float64(c.Impostors) >= 3/p.TargetFMR {
		o.Threshold, o.FromTarget = c.ThresholdFor(p.TargetFMR), true
	} else {
		o.WeakReasons = append(o.WeakReasons, WeakFewImpostorPairs)
	}
	if len(c.Genuine) < p.MinGenuinePairs {
		o.WeakReasons = append(o.WeakReasons, WeakFewGenuinePairs)
	}
	if len(c.Genuine) > 0 {
		o.GenuineFail = c.GenuineFail(o.Threshold)
		if o.GenuineFail > p.MaxGenuineFail {
			o.WeakReasons = append(o.WeakReasons, WeakGenuineFail)
		}
	}
	o.Weak = len(o.WeakReasons) > 0
	return o
}

// Assessment is what a calibration says about one score: how often a
// different customer of the bank would score at least this close, from
// which calibration, and whether the score can carry anything.
type Assessment struct {
	Operating
	// Scored is false for an unusable capture (no distance to judge).
	Scored   bool    `json:"scored"`
	Distance float64 `json:"distance"`
	// References is how many reference photos the capture was compared
	// with (its distance is the smallest).
	References int `json:"references"`
	// PairRate is the share of measured impostor pairs at Distance or
	// closer (PairMatches of ImpostorPairs).
	PairRate    float64 `json:"pair_rate"`
	PairMatches int     `json:"pair_matches"`
	// Rate is the chance that a different customer would score at least
	// this close against the References photos: 1-(1-PairRate)^References.
	// Upper95 bounds it at 95% (the pair bound times References, a union
	// bound that needs no independence). Both are 0 when not calibrated.
	Rate    float64 `json:"rate"`
	Upper95 float64 `json:"upper95"`
}

// Assess judges a score at distance d against refs reference photos.
func (o Operating) Assess(c *Calibration, d float64, refs int) Assessment {
	a := Assessment{Operating: o, References: refs}
	if math.IsInf(d, 0) || math.IsNaN(d) {
		return a
	}
	a.Scored, a.Distance = true, d
	if c == nil || c.Impostors == 0 {
		return a
	}
	k := float64(max(refs, 1))
	f := c.FMRAt(d)
	a.PairRate, a.PairMatches = f.Rate, f.Matches
	a.Rate = 1 - math.Pow(1-f.Rate, k)
	a.Upper95 = math.Min(1, k*f.Upper95)
	return a
}

// Apply decides res at the operating point's threshold and attaches the
// assessment of its distance (and, with a calibration, the expected rate
// at the threshold). c must be the calibration o was made from.
func (o Operating) Apply(c *Calibration, res *MatchResult) {
	res.Threshold = o.Threshold
	if res.Status == StatusOK {
		if res.Distance <= o.Threshold {
			res.Decision = DecisionMatch
		} else {
			res.Decision = DecisionNoMatch
		}
	}
	if c != nil && c.Impostors > 0 {
		f := c.FMRAt(o.Threshold)
		if res.Status == StatusOK {
			f.AtDistance = c.FMRAt(res.Distance).Rate
		}
		res.ExpectedFMR = &f
	} else {
		res.ExpectedFMR = nil
	}
	a := o.Assess(c, res.Distance, len(res.References))
	if res.Status != StatusOK {
		a = o.Assess(c, math.Inf(1), len(res.References))
	}
	res.Assessment = &a
}
