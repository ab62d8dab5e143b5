package facematch

import (
	"container/heap"
	"errors"
	"math/rand/v2"
	"sort"
	"time"
)

// HistBin is the width of a calibration histogram bin (squared distance).
const HistBin = 0.001

// histBins covers squared distances 0..4 (two unit vectors are at most 4
// apart); anything farther lands in the last bin.
const histBins = 4000

func histBin(d float64) int {
	if d <= 0 {
		return 0
	}
	return min(int(d/HistBin), histBins-1)
}

// DefaultMaxPairs is how many impostor pairs a calibration measures at
// most. A population with more pairs (2,001 accounts of one photo each
// already have 2,001,000) is sampled: this many pairs drawn uniformly,
// with replacement, from all pairs of photos of different people. The
// bounds are then computed on the sample's size, so they widen to what
// the sample supports (a rule-of-three bound of 1.5e-6 with none seen).
const DefaultMaxPairs = 2_000_000

// Person is one person's (one account's) usable face descriptors.
type Person struct {
	// ID names the person in the population (an account number); it is
	// never stored with the calibration.
	ID          string       `json:"id"`
	Descriptors []Descriptor `json:"descriptors"`
}

// PopulationOptions say how CalibratePopulation measures a population.
type PopulationOptions struct {
	ModelHash ModelHash
	// Cohort describes the population to a reader ("enrolled accounts").
	Cohort string
	// Source is Calibration.Source ("accounts", "demo", "folder").
	Source string
	// TargetFMR is the false-match rate the threshold aims at
	// (DefaultTargetFMR when 0).
	TargetFMR float64
	// MaxPairs caps the impostor pairs measured (DefaultMaxPairs when 0).
	MaxPairs int
	// Seed seeds the sampling (injected randomness: the caller draws it).
	Seed uint64
	// LiveGenuine are the best distances of live captures that clerks
	// confirmed as the account's holder: genuine scores from real calls.
	LiveGenuine []float64
	Now         time.Time
}

// CalibratePopulation measures the impostor distribution of a population
// (every pair of descriptors of two different people, or a uniform sample
// of MaxPairs of them) and its genuine distribution (every pair of
// descriptors of one person, plus opts.LiveGenuine). It fails when the
// population holds no impostor pair.
func CalibratePopulation(people []Person, opts PopulationOptions) (*Calibration, error) {
	if opts.TargetFMR <= 0 {
		opts.TargetFMR = DefaultTargetFMR
	}
	if opts.MaxPairs <= 0 {
		opts.MaxPairs = DefaultMaxPairs
	}
	var flat []Descriptor
	var owner []int32
	var genuine []float64
	var sumSq int64
	persons := 0
	for i, p := range people {
		if len(p.Descriptors) == 0 {
			continue
		}
		persons++
		for a, d := range p.Descriptors {
			flat = append(flat, d)
			owner = append(owner, int32(i))
			for _, e := range p.Descriptors[a+1:] {
				genuine = append(genuine, SquaredDistance(d, e))
			}
		}
		sumSq += int64(len(p.Descriptors)) * int64(len(p.Descriptors))
	}
	n := int64(len(flat))
	total := (n*n - sumSq) / 2
	if total == 0 {
		return nil, errors.New("calibrate population: no impostor pairs (need usable photos of at least two people)")
	}
	c := &Calibration{
		Version: 1, Source: opts.Source, ModelHash: opts.ModelHash, Created: opts.Now.UTC(), Cohort: opts.Cohort,
		People: persons, Photos: len(flat), PopulationPairs: total, TargetFMR: opts.TargetFMR,
		Hist: make([]int32, histBins), GenuinePhotoPairs: len(genuine), GenuineLive: len(opts.LiveGenuine),
	}
	tail := &maxHeap{}
	add := func(d float64) {
		c.Hist[histBin(d)]++
		c.Impostors++
		if tail.Len() < calibrationTail {
			heap.Push(tail, d)
		} else if d < (*tail)[0] {
			(*tail)[0] = d
			heap.Fix(tail, 0)
		}
	}
	if total <= int64(opts.MaxPairs) {
		for i := range flat {
			for j := i + 1; j < len(flat); j++ {
				if owner[i] != owner[j] {
					add(SquaredDistance(flat[i], flat[j]))
				}
			}
		}
	} else {
		c.SampleSeed = opts.Seed
		r := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
		for c.Impostors < opts.MaxPairs {
			i, j := r.IntN(len(flat)), r.IntN(len(flat))
			if owner[i] == owner[j] {
				continue
			}
			add(SquaredDistance(flat[i], flat[j]))
		}
	}
	c.Tail = []float64(*tail)
	sort.Float64s(c.Tail)
	c.Genuine = append(genuine, opts.LiveGenuine...)
	sort.Float64s(c.Genuine)
	c.Supported = float64(c.Impostors) >= 3/opts.TargetFMR
	c.ProposedThreshold = c.ThresholdFor(opts.TargetFMR)
	return c, nil
}

// maxHeap keeps the smallest distances seen, largest on top.
type maxHeap []float64

func (h maxHeap) Len() int           { return len(h) }
func (h maxHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h maxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *maxHeap) Push(x any)        { *h = append(*h, x.(float64)) }
func (h *maxHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
