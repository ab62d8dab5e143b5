package facematch

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// randomPeople makes n people with photos descriptors each: random unit
// vectors, each person's photos scattered around their own centre by
// spread (0: independent vectors).
func randomPeople(r *rand.Rand, n, photos int, spread float64) []Person {
	unit := func(base *Descriptor, s float64) Descriptor {
		var d Descriptor
		var norm float64
		for i := range d {
			v := r.NormFloat64()
			if base != nil {
				v = float64(base[i]) + s*v/math.Sqrt(128)
			}
			d[i] = float32(v)
			norm += v * v
		}
		for i := range d {
			d[i] /= float32(math.Sqrt(norm))
		}
		return d
	}
	out := make([]Person, n)
	for i := range out {
		c := unit(nil, 0)
		out[i].ID = fmt.Sprint(i)
		for range photos {
			if spread == 0 {
				out[i].Descriptors = append(out[i].Descriptors, unit(nil, 0))
			} else {
				out[i].Descriptors = append(out[i].Descriptors, unit(&c, spread))
			}
		}
	}
	return out
}

// bruteForce counts every impostor pair at distance t or closer.
func bruteForce(people []Person, t float64) (matches, pairs int) {
	for i, p := range people {
		for _, q := range people[i+1:] {
			for _, a := range p.Descriptors {
				for _, b := range q.Descriptors {
					pairs++
					if SquaredDistance(a, b) <= t {
						matches++
					}
				}
			}
		}
	}
	return matches, pairs
}

func TestCalibratePopulationMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	people := randomPeople(r, 40, 2, 0.9)
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	c, err := CalibratePopulation(people, PopulationOptions{ModelHash: "h", Source: "accounts", Now: now, LiveGenuine: []float64{0.1, 0.05}})
	if err != nil {
		t.Fatal(err)
	}
	_, pairs := bruteForce(people, 0)
	if c.Impostors != pairs || c.PopulationPairs != int64(pairs) || c.People != 40 || c.Photos != 80 {
		t.Fatalf("CalibratePopulation = %d of %d pairs, %d people, %d photos; want %d pairs, 40, 80", c.Impostors, c.PopulationPairs, c.People, c.Photos, pairs)
	}
	if c.GenuinePhotoPairs != 40 || c.GenuineLive != 2 || len(c.Genuine) != 42 || c.Genuine[0] != 0.05 {
		t.Errorf("genuine: %d photo pairs, %d live, %v...; want 40, 2, 0.05 first", c.GenuinePhotoPairs, c.GenuineLive, c.Genuine[:1])
	}
	// Every measured distance and points between them: the count equals
	// the brute-force count, and the rate never falls as the distance grows.
	probes := append([]float64{0, 0.5, 1, 1.5, 2, 2.5, 4}, c.Tail...)
	sort.Float64s(probes)
	last := FMR{}
	for _, d := range probes {
		f := c.FMRAt(d)
		want, _ := bruteForce(people, d)
		if f.Matches != want {
			t.Fatalf("FMRAt(%v).Matches = %d, want brute-force count %d", d, f.Matches, want)
		}
		if f.Rate < last.Rate || f.Upper95 < last.Upper95 || f.Upper95 < f.Rate {
			t.Fatalf("FMRAt(%v) = %+v after %+v: not monotone in the distance", d, f, last)
		}
		last = f
	}
}

func TestFMRMonotoneBeyondTail(t *testing.T) {
	// More pairs than the tail keeps: past it the histogram counts (a
	// whole bin, never fewer than brute force), still monotone.
	r := rand.New(rand.NewPCG(3, 4))
	people := randomPeople(r, 230, 1, 0) // 26,335 pairs > 20,000 kept
	c, err := CalibratePopulation(people, PopulationOptions{ModelHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Tail) != calibrationTail || c.Impostors <= calibrationTail {
		t.Fatalf("tail %d of %d pairs, want the tail full", len(c.Tail), c.Impostors)
	}
	var all []float64 // every pair's distance, counted by brute force
	for i, p := range people {
		for _, q := range people[i+1:] {
			all = append(all, SquaredDistance(p.Descriptors[0], q.Descriptors[0]))
		}
	}
	sort.Float64s(all)
	count := func(t float64) int { return sort.Search(len(all), func(i int) bool { return all[i] > t }) }
	last := -1
	for d := 1.5; d <= 2.6; d += 0.0007 {
		f := c.FMRAt(d)
		want := count(d)
		if f.Matches < want || f.Matches < last {
			t.Fatalf("FMRAt(%v).Matches = %d (previous %d), brute force %d", d, f.Matches, last, want)
		}
		if d < c.Tail[len(c.Tail)-1] && f.Matches != want {
			t.Fatalf("FMRAt(%v).Matches = %d inside the tail, want exactly %d", d, f.Matches, want)
		}
		if d >= c.Tail[len(c.Tail)-1] {
			binEnd := (math.Floor(d/HistBin) + 1) * HistBin
			if upTo := count(binEnd); f.Matches > upTo {
				t.Fatalf("FMRAt(%v).Matches = %d, more than the %d up to its bin's end", d, f.Matches, upTo)
			}
		}
		last = f.Matches
	}
}

func TestCalibratePopulationSamples(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	people := randomPeople(r, 300, 1, 0) // 44,850 pairs
	full, err := CalibratePopulation(people, PopulationOptions{ModelHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	s1, err := CalibratePopulation(people, PopulationOptions{ModelHash: "h", MaxPairs: 5000, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := CalibratePopulation(people, PopulationOptions{ModelHash: "h", MaxPairs: 5000, Seed: 7})
	if s1.Impostors != 5000 || s1.PopulationPairs != 44850 || s1.SampleSeed != 7 {
		t.Fatalf("sampled: %d of %d pairs, seed %d; want 5000 of 44850, seed 7", s1.Impostors, s1.PopulationPairs, s1.SampleSeed)
	}
	if fmt.Sprint(s1.Tail) != fmt.Sprint(s2.Tail) {
		t.Errorf("the same seed sampled different pairs")
	}
	// The sample's bound is computed on 5,000 pairs: wider than the full
	// population's, and it covers the population's rate.
	for _, d := range []float64{1.6, 1.7, 1.8} {
		f, s := full.FMRAt(d), s1.FMRAt(d)
		if s.Upper95-s.Rate <= f.Upper95-f.Rate {
			t.Errorf("at %v the sampled bound %v-%v is not wider than the full %v-%v", d, s.Rate, s.Upper95, f.Rate, f.Upper95)
		}
		if f.Rate > s.Upper95 {
			t.Errorf("at %v the population's rate %v exceeds the sample's bound %v", d, f.Rate, s.Upper95)
		}
	}
	if _, err := CalibratePopulation([]Person{{ID: "a", Descriptors: people[0].Descriptors}}, PopulationOptions{}); err == nil {
		t.Errorf("CalibratePopulation(one person) = nil error")
	}
}

// genuineCal is a calibration with 4,000 impostor pairs spread over 0.2..0.6
// and the given genuine scores.
func genuineCal(genuine []float64) *Calibration {
	imp := make([]float64, 4000)
	for i := range imp {
		imp[i] = 0.2 + 0.4*float64(i)/4000
	}
	c := NewCalibration("h", "t", 100, 100, imp, 1e-3, time.Time{})
	c.Genuine = genuine
	sort.Float64s(c.Genuine)
	return c
}

func TestWeakEvidenceLimits(t *testing.T) {
	// At target 1e-3 of 4,000 pairs, 4 may match: the threshold sits
	// between the 4th and 5th smallest impostor distances (0.2003..0.2004).
	spread := func(fail, n int) []float64 { // n genuine scores, fail of them over 0.25
		g := make([]float64, n)
		for i := range g {
			g[i] = 0.1
			if i < fail {
				g[i] = 0.3
			}
		}
		return g
	}
	tests := []struct {
		name    string
		c       *Calibration
		policy  Policy
		weak    bool
		reasons []string
	}{
		{"no calibration", nil, Policy{}, true, []string{WeakNotCalibrated}},
		{"20% of genuine fail: at the limit", genuineCal(spread(20, 100)), Policy{}, false, nil},
		{"21% fail", genuineCal(spread(21, 100)), Policy{}, true, []string{WeakGenuineFail}},
		{"21% fail, limit 25%", genuineCal(spread(21, 100)), Policy{MaxGenuineFail: 0.25}, false, nil},
		{"10 genuine pairs: enough", genuineCal(spread(0, 10)), Policy{}, false, nil},
		{"9 genuine pairs", genuineCal(spread(0, 9)), Policy{}, true, []string{WeakFewGenuinePairs}},
		{"9 genuine pairs, minimum 5", genuineCal(spread(0, 9)), Policy{MinGenuinePairs: 5}, false, nil},
		{"4,000 pairs cannot support 1e-4", genuineCal(spread(0, 50)), Policy{TargetFMR: 1e-4}, true, []string{WeakFewImpostorPairs}},
		{"3,000 pairs support 1e-3", genuineCal(spread(0, 50)), Policy{TargetFMR: 1e-3}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := OperatingFor(tt.c, tt.policy)
			if o.Weak != tt.weak || fmt.Sprint(o.WeakReasons) != fmt.Sprint(tt.reasons) {
				t.Errorf("OperatingFor = weak %v %v, want %v %v", o.Weak, o.WeakReasons, tt.weak, tt.reasons)
			}
		})
	}
	// Supported: the threshold follows the target; not: the configured one.
	o := OperatingFor(genuineCal(spread(0, 50)), Policy{Threshold: 0.36})
	if !o.FromTarget || o.Threshold < 0.2003 || o.Threshold > 0.2004 {
		t.Errorf("OperatingFor(1e-3).Threshold = %v from target %v, want 0.2003..0.2004 from the target", o.Threshold, o.FromTarget)
	}
	if o := OperatingFor(genuineCal(nil), Policy{Threshold: 0.36, TargetFMR: 1e-4}); o.FromTarget || o.Threshold != 0.36 {
		t.Errorf("OperatingFor(unsupported).Threshold = %v from target %v, want the configured 0.36", o.Threshold, o.FromTarget)
	}
}

func TestApplyDecidesAtTheOperatingThreshold(t *testing.T) {
	c := genuineCal([]float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1})
	c.ID = 3
	o := OperatingFor(c, Policy{Threshold: 0.36})
	res := MatchResult{Status: StatusOK, Decision: DecisionMatch, Distance: 0.3, Threshold: 0.36,
		References: []ReferenceDistance{{ID: "a", Distance: 0.3}, {ID: "b", Distance: 0.4}}}
	o.Apply(c, &res)
	a := res.Assessment
	// 0.3 is under the configured 0.36 but over the target's threshold.
	if res.Decision != DecisionNoMatch || res.Threshold != o.Threshold || a == nil || a.Calibration != 3 || a.Weak {
		t.Fatalf("Apply = %v at %v, assessment %+v", res.Decision, res.Threshold, a)
	}
	// 1,000 of 4,000 pairs are at 0.3 or closer (plus one at 0.3 exactly).
	f := c.FMRAt(0.3)
	if a.PairRate != f.Rate || math.Abs(a.Rate-(1-(1-f.Rate)*(1-f.Rate))) > 1e-12 || a.Upper95 != math.Min(1, 2*f.Upper95) || a.References != 2 {
		t.Errorf("assessment %+v, want pair rate %v over 2 references", a, f.Rate)
	}
	bad := MatchResult{Status: StatusNoFace, Decision: DecisionUnusable, Distance: math.Inf(1)}
	o.Apply(c, &bad)
	if bad.Decision != DecisionUnusable || bad.Assessment.Scored || bad.Assessment.Rate != 0 {
		t.Errorf("Apply(unusable) = %v, %+v", bad.Decision, bad.Assessment)
	}
}

// BenchmarkCalibratePopulation measures a calibration of n synthetic
// accounts (one random unit vector each). baseline is the bare distance
// loop over the 1k population's 499,500 pairs, so the other rows read as
// ratios: 1k is exhaustive (499,500 pairs), 10k (49,995,000 pairs) is
// sampled down to DefaultMaxPairs.
func BenchmarkCalibratePopulation(b *testing.B) {
	r := rand.New(rand.NewPCG(11, 12))
	pop := map[int][]Person{1000: randomPeople(r, 1000, 1, 0), 10000: randomPeople(r, 10000, 1, 0)}
	b.Run("baseline/distances-1k", func(b *testing.B) {
		p := pop[1000]
		b.ReportAllocs()
		var s float64
		for b.Loop() {
			for i := range p {
				for j := i + 1; j < len(p); j++ {
					s += SquaredDistance(p[i].Descriptors[0], p[j].Descriptors[0])
				}
			}
		}
		_ = s
	})
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("accounts-%dk", n/1000), func(b *testing.B) {
			b.ReportAllocs()
			var c *Calibration
			for b.Loop() {
				var err error
				if c, err = CalibratePopulation(pop[n], PopulationOptions{ModelHash: "h", Seed: 1}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.Impostors), "pairs")
		})
	}
}
