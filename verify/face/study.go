package face

import (
	"fmt"
	"math"
	"sort"

	"remoteidv/verify/facematch"
)

// StudyRow is one way of scoring, evaluated on the same photos.
type StudyRow struct {
	Method   string
	Genuine  int     // genuine comparisons
	Impostor int     // impostor comparisons
	DPrime   float64 // separation of the score distributions
	// Gap is (smallest impostor score - largest genuine score) divided by
	// the pooled standard deviation; > 0 means no overlap. Unlike raw
	// distances it compares across score scales.
	Gap float64
	EER float64
}

func (r StudyRow) String() string {
	return fmt.Sprintf("%-48s %5d %6d  d'=%5.2f  gap=%+5.2f  EER=%.4f", r.Method, r.Genuine, r.Impostor, r.DPrime, r.Gap, r.EER)
}

func studyRow(method string, gen, imp []float64) StudyRow {
	ev := Evaluate(gen, imp, facematch.DefaultThreshold)
	_, sg := meanStd(ev.Genuine)
	_, si := meanStd(ev.Impostor)
	return StudyRow{
		Method: method, Genuine: len(gen), Impostor: len(imp), DPrime: ev.DPrime,
		Gap: (ev.MinImpostor - ev.MaxGenuine) / math.Sqrt((sg*sg+si*si)/2), EER: ev.EER,
	}
}

// byPerson groups the accepted samples by person, in input order.
func byPerson(samples []Sample) (names []string, groups map[string][]Sample) {
	groups = map[string][]Sample{}
	for _, s := range samples {
		if s.Status != facematch.StatusOK {
			continue
		}
		if _, ok := groups[s.Person]; !ok {
			names = append(names, s.Person)
		}
		groups[s.Person] = append(groups[s.Person], s)
	}
	return names, groups
}

// SeparationStudy compares scoring methods on labelled samples: single
// photo pairs (the baseline), jittered descriptors (if jittered is not
// nil: the same photos described with dlib's jitter averaging), several
// reference photos scored by minimum, mean and centroid distance,
// several captures per session, and cohort (z-) normalisation of the
// distance by the reference's distances to other people.
func SeparationStudy(samples, jittered []Sample) []StudyRow {
	var rows []StudyRow
	gen, imp := PairDistances(samples)
	rows = append(rows, studyRow("single photo vs single photo (baseline)", gen, imp))
	if jittered != nil {
		g, i := PairDistances(jittered)
		rows = append(rows, studyRow("single vs single, jitter-averaged descriptors", g, i))
		rows = append(rows, mixedJitter(samples, jittered))
	}

	names, groups := byPerson(samples)
	// Several references: a probe against up to k photos of a person
	// (never itself), scored by min, mean, or distance to the centroid.
	for _, k := range []int{3, 10} {
		var gMin, iMin, gMean, iMean, gCen, iCen []float64
		for _, p := range names {
			for pi, probe := range groups[p] {
				for _, q := range names {
					var refs []facematch.Descriptor
					for ri, r := range groups[q] {
						if q == p && ri == pi {
							continue
						}
						if len(refs) < k {
							refs = append(refs, r.Descriptor)
						}
					}
					if len(refs) == 0 {
						// The probe's person has no other photo: there is
						// no genuine comparison to make (scoring it would
						// put +Inf and NaN into the row).
						continue
					}
					mn, mean := math.Inf(1), 0.0
					var cen facematch.Descriptor
					for _, r := range refs {
						d := facematch.SquaredDistance(probe.Descriptor, r)
						mn = math.Min(mn, d)
						mean += d / float64(len(refs))
						for i := range cen {
							cen[i] += r[i] / float32(len(refs))
						}
					}
					dc := facematch.SquaredDistance(probe.Descriptor, cen)
					if q == p {
						gMin, gMean, gCen = append(gMin, mn), append(gMean, mean), append(gCen, dc)
					} else {
						iMin, iMean, iCen = append(iMin, mn), append(iMean, mean), append(iCen, dc)
					}
				}
			}
		}
		rows = append(rows,
			studyRow(fmt.Sprintf("%d references, minimum distance", k), gMin, iMin),
			studyRow(fmt.Sprintf("%d references, mean distance", k), gMean, iMean),
			studyRow(fmt.Sprintf("%d references, distance to centroid", k), gCen, iCen))
	}

	// Several captures: 3 captures of a person against one reference
	// photo, fused by the mean, the median or the minimum of their
	// distances (score fusion). The median is also the 2-of-3 vote: it is
	// under a threshold exactly when two of the three captures are.
	var gMean, iMean, gMed, iMed, gMin3, iMin3 []float64
	for _, p := range names {
		ps := groups[p]
		for start := 0; start+3 <= len(ps)-1; start += 3 {
			caps := ps[start : start+3]
			for _, q := range names {
				for ri, r := range groups[q] {
					if q == p && ri >= start && ri < start+3 {
						continue
					}
					var ds [3]float64
					for i, c := range caps {
						ds[i] = facematch.SquaredDistance(c.Descriptor, r.Descriptor)
					}
					sort.Float64s(ds[:])
					mean := (ds[0] + ds[1] + ds[2]) / 3
					if q == p {
						gMean, gMed, gMin3 = append(gMean, mean), append(gMed, ds[1]), append(gMin3, ds[0])
					} else {
						iMean, iMed, iMin3 = append(iMean, mean), append(iMed, ds[1]), append(iMin3, ds[0])
					}
				}
			}
		}
	}
	rows = append(rows,
		studyRow("3 captures (mean distance) vs 1 reference", gMean, iMean),
		studyRow("3 captures (median, 2-of-3 vote) vs 1 reference", gMed, iMed),
		studyRow("3 captures (minimum distance) vs 1 reference", gMin3, iMin3))

	// Cohort normalisation: z = (d - mean) / std of the reference's
	// distances to photos of people other than the reference and probe.
	var gZ, iZ []float64
	all := []Sample{}
	for _, p := range names {
		all = append(all, groups[p]...)
	}
	for i, a := range all {
		var cohort []float64
		for j, b := range all {
			if j != i && b.Person != a.Person {
				cohort = append(cohort, facematch.SquaredDistance(a.Descriptor, b.Descriptor))
			}
		}
		for j, b := range all {
			if j == i {
				continue
			}
			var c []float64
			for k, x := range all {
				if k != i && x.Person != a.Person && x.Person != b.Person {
					c = append(c, cohort[cohortIndex(all, i, k)])
				}
			}
			m, sd := meanStd(c)
			z := (facematch.SquaredDistance(a.Descriptor, b.Descriptor) - m) / sd
			if a.Person == b.Person {
				gZ = append(gZ, z)
			} else {
				iZ = append(iZ, z)
			}
		}
	}
	rows = append(rows, studyRow("single vs single, cohort z-normalised", gZ, iZ))
	return rows
}

// cohortIndex maps sample k to its position in sample i's cohort list
// (all samples except i and those of i's person, in order).
func cohortIndex(all []Sample, i, k int) int {
	n := 0
	for j := 0; j < k; j++ {
		if j != i && all[j].Person != all[i].Person {
			n++
		}
	}
	return n
}

// mixedJitter scores jittered references against plain captures: the
// cost of jitter paid only once, at enrollment.
func mixedJitter(plain, jittered []Sample) StudyRow {
	var gen, imp []float64
	for i := range jittered {
		for j := range plain {
			if i == j || jittered[i].Status != facematch.StatusOK || plain[j].Status != facematch.StatusOK {
				continue
			}
			d := facematch.SquaredDistance(jittered[i].Descriptor, plain[j].Descriptor)
			if jittered[i].Person == plain[j].Person {
				gen = append(gen, d)
			} else {
				imp = append(imp, d)
			}
		}
	}
	return studyRow("jittered reference vs plain capture", gen, imp)
}
