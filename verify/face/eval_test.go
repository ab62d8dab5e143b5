package face

import (
	"bytes"
	"context"
	"encoding/csv"
	"image/png"
	"math"
	"testing"
	"time"

	"remoteidv/verify/facematch"
)

// TestEvalJohns is the bar of the issue: on dlib's johns photos, all
// genuine and impostor pairs, FAR = 0 and FRR <= 2% at 0.36.
func TestEvalJohns(t *testing.T) {
	samples := testJohnsSamples(t)
	for _, s := range samples {
		if s.Status != facematch.StatusOK {
			t.Errorf("johns photo %s = %v %s, want OK", s.Path, s.Status, s.Detail)
		}
	}
	gen, imp := PairDistances(samples)
	if len(gen) != 5*55 || len(imp) != 55*54/2-5*55 {
		t.Fatalf("PairDistances(johns) = %d genuine, %d impostor, want 275, 1210", len(gen), len(imp))
	}
	ev := Evaluate(gen, imp, facematch.DefaultThreshold)
	t.Logf("johns: FAR %.4f FRR %.4f at %.2f; EER %.4f at %.3f; max genuine %.3f, min impostor %.3f, d' %.2f",
		ev.At.FAR, ev.At.FRR, ev.At.Threshold, ev.EER, ev.EERThreshold, ev.MaxGenuine, ev.MinImpostor, ev.DPrime)
	if ev.At.FAR != 0 || ev.At.FRR > 0.02 {
		t.Errorf("Evaluate(johns) at 0.36 = FAR %v FRR %v, want 0 and <= 0.02", ev.At.FAR, ev.At.FRR)
	}

	var csvBuf, pngBuf bytes.Buffer
	if err := ev.WriteCSV(&csvBuf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&csvBuf).ReadAll()
	if err != nil || len(rows) != 242 || rows[0][0] != "threshold" {
		t.Errorf("WriteCSV: %d rows, %v", len(rows), err)
	}
	if err := ev.WritePNG(&pngBuf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&pngBuf)
	if err != nil || img.Bounds().Dx() != 1000 {
		t.Errorf("WritePNG: %v, %v", img.Bounds(), err)
	}
}

func TestEvaluateSynthetic(t *testing.T) {
	tests := []struct {
		name             string
		gen, imp         []float64
		t                float64
		far, frr, eer    float64
		eerThreshold     float64
		falseA, falseRej int
	}{
		{"separated", []float64{0.1, 0.2}, []float64{0.5, 0.6}, 0.36, 0, 0, 0, 0.35, 0, 0},
		{"one false accept", []float64{0.1, 0.2}, []float64{0.3, 0.6}, 0.36, 0.5, 0, 0, 0, 1, 0},
		{"overlap", []float64{0.1, 0.4}, []float64{0.3, 0.6}, 0.35, 0.5, 0.5, 0.5, 0.3, 1, 1},
	}
	for _, tt := range tests {
		ev := Evaluate(tt.gen, tt.imp, tt.t)
		if ev.At.FAR != tt.far || ev.At.FRR != tt.frr || ev.At.FalseAccepts != tt.falseA || ev.At.FalseRejects != tt.falseRej {
			t.Errorf("Evaluate(%s).At = %+v, want FAR %v FRR %v", tt.name, ev.At, tt.far, tt.frr)
		}
		if tt.eerThreshold != 0 && (ev.EER != tt.eer || math.Abs(ev.EERThreshold-tt.eerThreshold) > 1e-9) {
			t.Errorf("Evaluate(%s) EER = %v at %v, want %v at %v", tt.name, ev.EER, ev.EERThreshold, tt.eer, tt.eerThreshold)
		}
	}
}

func TestMatchCarriesExpectedFMR(t *testing.T) {
	samples := testJohnsSamples(t)
	_, imp := PairDistances(samples)
	cal := facematch.NewCalibration(facematch.PinnedModelHash(), "johns", 5, 55, imp, facematch.DefaultTargetFMR, time.Now())
	t.Logf("johns cohort: %d impostor pairs, proposed threshold %.4f for facematch.FMR 1e-3, facematch.FMR at 0.36 = %+v",
		cal.Impostors, cal.ProposedThreshold, cal.FMRAt(facematch.DefaultThreshold))
	ctx := context.Background()
	e, err := New(ctx, Config{ModelsDir: testModelsDir(t), Recognizers: 1, Calibration: cal})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ref := facematch.Reference{ID: "r", Descriptor: samples[0].Descriptor, ModelHash: e.ModelHash()}
	m, err := e.Match(ctx, readFile(t, samples[1].Path), []facematch.Reference{ref})
	if err != nil {
		t.Fatal(err)
	}
	if m.ExpectedFMR == nil || m.ExpectedFMR.Impostors != len(imp) || m.ExpectedFMR.Threshold != facematch.DefaultThreshold {
		t.Fatalf("Match with calibration: ExpectedFMR = %+v", m.ExpectedFMR)
	}

	wrong := *cal
	wrong.ModelHash = "other"
	if _, err := New(ctx, Config{ModelsDir: testModelsDir(t), Recognizers: 1, Calibration: &wrong}); err == nil {
		t.Errorf("New(calibration of other models) = nil error")
	}
}

// TestSeparationStudyFewPhotos: people with fewer photos than references
// (one has a single photo, so no genuine comparison against "the others")
// must not turn the study's rows into NaN.
func TestSeparationStudyFewPhotos(t *testing.T) {
	desc := func(person, photo int) facematch.Descriptor {
		var d facematch.Descriptor
		d[person] = 0.5
		d[100+photo] = 0.05 * float32(photo+1)
		return d
	}
	var samples []Sample
	for p, photos := range []int{1, 2, 4, 7} {
		for i := range photos {
			samples = append(samples, Sample{Photo: Photo{Person: string(rune('a' + p))}, Status: facematch.StatusOK, Descriptor: desc(p, i)})
		}
	}
	rows := SeparationStudy(samples, nil)
	if len(rows) != 11 {
		t.Fatalf("SeparationStudy gave %d rows, want 11", len(rows))
	}
	for _, r := range rows {
		if math.IsNaN(r.DPrime) || math.IsNaN(r.Gap) || math.IsInf(r.DPrime, 0) || math.IsInf(r.Gap, 0) || math.IsNaN(r.EER) {
			t.Errorf("%s: d' %v gap %v EER %v, want numbers", r.Method, r.DPrime, r.Gap, r.EER)
		}
	}
}

func TestEvaluationAtTarget(t *testing.T) {
	imp := make([]float64, 4000)
	for i := range imp {
		imp[i] = 0.2 + float64(i)/10000
	}
	gen := []float64{0.1, 0.15, 0.2003, 0.25}
	p := Evaluate(gen, imp, 0.36).AtTarget(1e-3)
	// 4 of 4,000 may match: between 0.2003 and 0.2004.
	if !p.Supported || p.Threshold <= 0.2003 || p.Threshold >= 0.2004 || p.FMR.Matches != 4 || p.FRR != 0.25 {
		t.Errorf("AtTarget(1e-3) = %+v, want threshold in (0.2003, 0.2004), 4 matches, FRR 0.25", p)
	}
	if p := Evaluate(gen, imp, 0.36).AtTarget(1e-4); p.Supported {
		t.Errorf("AtTarget(1e-4) on 4,000 pairs = supported, want not")
	}
}
