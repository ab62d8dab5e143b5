package facematch

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCalibrationSummary(t *testing.T) {
	imp := make([]float64, 10000)
	for i := range imp {
		imp[i] = 0.3 + float64(i)/100000 // 0.3 .. 0.39999
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	c := NewCalibration(PinnedModelHash(), "synthetic", 100, 200, imp, 1e-3, now)
	other := ModelHash(strings.Repeat("0", 64))
	empty := NewCalibration(PinnedModelHash(), "empty", 1, 1, nil, 1e-3, now)
	at := func(f FMR) *FMR { return &f }
	tests := []struct {
		name      string
		c         *Calibration
		threshold float64
		running   ModelHash
		want      CalibrationSummary
	}{
		{"same models", c, 0.35, PinnedModelHash(), CalibrationSummary{Version: 1, Source: "folder", Created: now, Cohort: "synthetic", People: 100, Photos: 200,
			Impostors: 10000, PopulationPairs: 10000, TargetFMR: 1e-3, ProposedThreshold: c.ProposedThreshold, Supported: true, ModelHash: PinnedModelHash(),
			ModelMatches: true, AtThreshold: at(c.FMRAt(0.35))}},
		{"other models", c, 0.2, other, CalibrationSummary{Version: 1, Source: "folder", Created: now, Cohort: "synthetic", People: 100, Photos: 200,
			Impostors: 10000, PopulationPairs: 10000, TargetFMR: 1e-3, ProposedThreshold: c.ProposedThreshold, Supported: true, ModelHash: PinnedModelHash(),
			AtThreshold: at(c.FMRAt(0.2))}},
		{"no impostor pairs", empty, 0.36, PinnedModelHash(), CalibrationSummary{Version: 1, Source: "folder", Created: now, Cohort: "empty", People: 1, Photos: 1,
			TargetFMR: 1e-3, ModelHash: PinnedModelHash(), ModelMatches: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.c.Summary(tt.threshold, tt.running)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Summary(%v, %.8s) (-want +got):\n%s", tt.threshold, tt.running, diff)
			}
			// The summary is what the admin page shows: valid JSON
			// (no NaN) and never the distance tail.
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatalf("json.Marshal(summary): %v", err)
			}
			if strings.Contains(string(b), "tail") {
				t.Errorf("summary JSON %s contains the tail", b)
			}
		})
	}
	if f := c.Summary(0.35, PinnedModelHash()).AtThreshold; f.Matches != 5001 || f.Upper95 < f.Rate {
		t.Errorf("Summary(0.35).AtThreshold = %+v, want 5001 matches", f)
	}
}
