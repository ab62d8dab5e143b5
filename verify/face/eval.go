package face

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"remoteidv/verify/facematch"
)

// Photo is one labelled photo of a dataset.
type Photo struct {
	Person string
	Path   string
}

// LoadDataset lists the JPEG and PNG photos under dir. Each sub-folder is
// one person; files directly in dir belong to the person named by the
// file name up to its last underscore ("Jane_Doe_03.jpg" is Jane_Doe).
// Photos are sorted by person, then path.
func LoadDataset(dir string) ([]Photo, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load dataset: %w", err)
	}
	var out []Photo
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			sub, err := os.ReadDir(p)
			if err != nil {
				return nil, fmt.Errorf("load dataset: %w", err)
			}
			for _, s := range sub {
				if !s.IsDir() && isPhoto(s.Name()) {
					out = append(out, Photo{Person: e.Name(), Path: filepath.Join(p, s.Name())})
				}
			}
			continue
		}
		if !isPhoto(e.Name()) {
			continue
		}
		stem := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		person := stem
		if i := strings.LastIndex(stem, "_"); i > 0 {
			person = stem[:i]
		}
		out = append(out, Photo{Person: person, Path: p})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Person != out[j].Person {
			return out[i].Person < out[j].Person
		}
		return out[i].Path < out[j].Path
	})
	if len(out) == 0 {
		return nil, fmt.Errorf("load dataset %s: no .jpg, .jpeg or .png photos", dir)
	}
	return out, nil
}

func isPhoto(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".png":
		return true
	}
	return false
}

// Sample is a photo with its analysis.
type Sample struct {
	Photo
	Status     facematch.Status
	Detail     string
	Descriptor facematch.Descriptor
	Quality    facematch.Quality
}

// DescribeAll analyses every photo using the whole pool concurrently.
// progress, if not nil, is called after each photo with the count done.
// Photos that fail a gate keep their Status; only faults are errors.
func (e *Engine) DescribeAll(ctx context.Context, photos []Photo, progress func(done, total int)) ([]Sample, error) {
	out := make([]Sample, len(photos))
	jobs := make(chan int)
	errs := make(chan error, len(photos))
	doneCh := make(chan struct{}, len(photos))
	workers := cap(e.pool)
	for w := 0; w < workers; w++ {
		go func() {
			for i := range jobs {
				s := Sample{Photo: photos[i]}
				b, err := os.ReadFile(photos[i].Path)
				if err != nil {
					errs <- fmt.Errorf("describe %s: %w", photos[i].Path, err)
					doneCh <- struct{}{}
					continue
				}
				a, err := e.Analyze(ctx, b)
				if err != nil {
					errs <- fmt.Errorf("describe %s: %w", photos[i].Path, err)
				}
				s.Status, s.Detail, s.Descriptor, s.Quality = a.Status, a.Detail, a.Face.Descriptor, a.Face.Quality
				out[i] = s
				doneCh <- struct{}{}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range photos {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var all []error
	for n := 1; n <= len(photos); n++ {
		select {
		case <-doneCh:
		case <-ctx.Done():
			return nil, fmt.Errorf("describe photos: %w", ctx.Err())
		}
		if progress != nil {
			progress(n, len(photos))
		}
	}
	close(errs)
	for err := range errs {
		all = append(all, err)
	}
	if len(all) > 0 {
		return nil, errors.Join(all...)
	}
	return out, nil
}

// PairDistances returns the squared distances of every genuine pair (same
// person) and impostor pair (different people) among the accepted samples.
func PairDistances(samples []Sample) (genuine, impostor []float64) {
	for i := range samples {
		if samples[i].Status != facematch.StatusOK {
			continue
		}
		for j := i + 1; j < len(samples); j++ {
			if samples[j].Status != facematch.StatusOK {
				continue
			}
			d := facematch.SquaredDistance(samples[i].Descriptor, samples[j].Descriptor)
			if samples[i].Person == samples[j].Person {
				genuine = append(genuine, d)
			} else {
				impostor = append(impostor, d)
			}
		}
	}
	return genuine, impostor
}

// Operating is the error rates at one threshold.
type Operating struct {
	Threshold float64 `json:"threshold"`
	// FAR is the fraction of impostor pairs at or under the threshold
	// (false matches); FRR the fraction of genuine pairs over it.
	FAR          float64 `json:"far"`
	FRR          float64 `json:"frr"`
	FalseAccepts int     `json:"false_accepts"`
	FalseRejects int     `json:"false_rejects"`
}

// Evaluation summarises genuine and impostor distances.
type Evaluation struct {
	Genuine  []float64   `json:"-"` // ascending
	Impostor []float64   `json:"-"` // ascending
	Curve    []Operating `json:"-"` // thresholds 0..1.2 by 0.005
	// EER is the equal error rate; EERThreshold where it occurs (the
	// middle of the gap when the distributions do not overlap).
	EER          float64   `json:"eer"`
	EERThreshold float64   `json:"eer_threshold"`
	At           Operating `json:"at"`
	MaxGenuine   float64   `json:"max_genuine"`
	MinImpostor  float64   `json:"min_impostor"`
	// DPrime is the separation (difference of means over the pooled
	// standard deviation).
	DPrime float64 `json:"d_prime"`
}

// Evaluate computes FAR/FRR across thresholds, the EER and the operating
// point at threshold.
func Evaluate(genuine, impostor []float64, threshold float64) Evaluation {
	ev := Evaluation{
		Genuine:  append([]float64(nil), genuine...),
		Impostor: append([]float64(nil), impostor...),
	}
	sort.Float64s(ev.Genuine)
	sort.Float64s(ev.Impostor)
	if len(ev.Genuine) == 0 || len(ev.Impostor) == 0 {
		return ev
	}
	ev.MaxGenuine = ev.Genuine[len(ev.Genuine)-1]
	ev.MinImpostor = ev.Impostor[0]
	mg, sg := meanStd(ev.Genuine)
	mi, si := meanStd(ev.Impostor)
	ev.DPrime = (mi - mg) / math.Sqrt((sg*sg+si*si)/2)
	ev.At = ev.OperatingAt(threshold)
	for i := 0; i <= 240; i++ {
		ev.Curve = append(ev.Curve, ev.OperatingAt(float64(i)*0.005))
	}
	if ev.MaxGenuine < ev.MinImpostor {
		ev.EER, ev.EERThreshold = 0, (ev.MaxGenuine+ev.MinImpostor)/2
		return ev
	}
	// Scan every observed distance as a threshold.
	best := math.Inf(1)
	cands := append(append([]float64(nil), ev.Genuine...), ev.Impostor...)
	sort.Float64s(cands)
	for _, t := range cands {
		o := ev.OperatingAt(t)
		if diff := math.Abs(o.FAR - o.FRR); diff < best {
			best = diff
			ev.EER, ev.EERThreshold = (o.FAR+o.FRR)/2, t
		}
	}
	return ev
}

// OperatingAt returns FAR and FRR at threshold t.
func (ev Evaluation) OperatingAt(t float64) Operating {
	fa := sort.Search(len(ev.Impostor), func(i int) bool { return ev.Impostor[i] > t })
	fr := len(ev.Genuine) - sort.Search(len(ev.Genuine), func(i int) bool { return ev.Genuine[i] > t })
	o := Operating{Threshold: t, FalseAccepts: fa, FalseRejects: fr}
	if len(ev.Impostor) > 0 {
		o.FAR = float64(fa) / float64(len(ev.Impostor))
	}
	if len(ev.Genuine) > 0 {
		o.FRR = float64(fr) / float64(len(ev.Genuine))
	}
	return o
}

func meanStd(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)))
}

// WriteCSV writes the curve: threshold, far, frr, false_accepts,
// false_rejects.
func (ev Evaluation) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"threshold", "far", "frr", "false_accepts", "false_rejects", "impostor_pairs", "genuine_pairs"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for _, o := range ev.Curve {
		cw.Write([]string{f(o.Threshold), f(o.FAR), f(o.FRR), strconv.Itoa(o.FalseAccepts), strconv.Itoa(o.FalseRejects),
			strconv.Itoa(len(ev.Impostor)), strconv.Itoa(len(ev.Genuine))})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write evaluation csv: %w", err)
	}
	return nil
}

// TargetPoint is the operating point a target false-match rate picks on
// an evaluation set: the same rule as a calibration's threshold.
type TargetPoint struct {
	TargetFMR float64 `json:"target_fmr"`
	Threshold float64 `json:"threshold"`
	// FMR is the measured false-match rate at Threshold, with its bound.
	FMR facematch.FMR `json:"fmr"`
	// FRR is the share of the set's genuine pairs over Threshold.
	FRR float64 `json:"frr"`
	// Supported is false with fewer than 3/TargetFMR impostor pairs.
	Supported bool `json:"supported"`
}

// AtTarget returns the threshold target picks on this set and the FRR
// there.
func (ev Evaluation) AtTarget(target float64) TargetPoint {
	cal := facematch.NewCalibration("", "eval", 0, 0, ev.Impostor, target, time.Time{})
	p := TargetPoint{TargetFMR: target, Threshold: cal.ProposedThreshold, Supported: cal.Supported}
	p.FMR = cal.FMRAt(p.Threshold)
	p.FRR = ev.OperatingAt(p.Threshold).FRR
	return p
}
