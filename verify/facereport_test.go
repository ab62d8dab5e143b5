package verify_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"remoteidv/verify"
	"remoteidv/verify/face"
	"remoteidv/verify/facematch"
	"remoteidv/verify/verifytest"
)

func TestFaceReport(t *testing.T) {
	ctx := context.Background()
	imp := make([]float64, 5000)
	for i := range imp {
		imp[i] = 0.3 + float64(i)/50000
	}
	cal := facematch.NewCalibration(facematch.PinnedModelHash(), "bank cohort", 120, 360, imp, 1e-3, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	liveness := verify.LivenessSettings{Poses: []string{"left", "right"}, WindowSeconds: 60, CenterMaxYaw: facematch.DefaultCenterMax, TurnMinYaw: facematch.DefaultTurnMin}
	// With the calibration (5,000 pairs support 1e-3) the threshold in
	// force follows the target, whatever the configured one.
	op := func(c *facematch.Calibration, threshold float64) facematch.Operating {
		return facematch.OperatingFor(c, facematch.Policy{Threshold: threshold})
	}
	summary := func() *facematch.CalibrationSummary {
		s := cal.Summary(op(cal, 0.3).Threshold, facematch.PinnedModelHash())
		return &s
	}
	tests := []struct {
		name   string
		cfg    verify.FaceConfig
		engine bool
		want   verify.FaceReport
	}{
		{"not loaded, no calibration", verify.FaceConfig{Threshold: 0.4, Recognizers: 3},
			false, verify.FaceReport{Threshold: 0.4, Recognizers: 3, ModelHash: facematch.PinnedModelHash(), Liveness: liveness, Operating: op(nil, 0.4)}},
		{"not loaded, default threshold", verify.FaceConfig{},
			false, verify.FaceReport{Threshold: facematch.DefaultThreshold, ModelHash: facematch.PinnedModelHash(), Liveness: liveness, Operating: op(nil, 0.36)}},
		{"not loaded, calibrated", verify.FaceConfig{Threshold: 0.31, CalibrationFile: "/etc/idv/cal.json", Calibration: cal},
			false, verify.FaceReport{Threshold: 0.31, ModelHash: facematch.PinnedModelHash(), Liveness: liveness,
				CalibrationFile: "/etc/idv/cal.json", Calibration: summary(), Operating: op(cal, 0.31)}},
		{"loaded and calibrated", verify.FaceConfig{Threshold: 0.32, Recognizers: 0, CalibrationFile: "cal.json", Calibration: cal},
			true, verify.FaceReport{Loaded: true, Threshold: 0.32, Recognizers: 1, ModelHash: facematch.PinnedModelHash(), Liveness: liveness,
				CalibrationFile: "cal.json", Calibration: summary(), Operating: op(cal, 0.32)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := verifytest.DefaultConfig()
			cfg.Face = tt.cfg
			o := verifytest.Options{Config: cfg, ReadBLAS: face.ReadBLASInfo}
			if tt.engine {
				eng, err := face.New(ctx, face.Config{ModelsDir: modelsDir(t), Recognizers: 1, Threshold: tt.cfg.Threshold, Calibration: tt.cfg.Calibration,
					Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatalf("face engine: %v (run `go run ./cmd/idv models fetch`)", err)
				}
				t.Cleanup(func() { eng.Close() })
				o.Face = eng
			}
			f := newFixtureWith(t, o)
			got := f.svc.FaceReport(ctx)
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreFields(verify.FaceReport{}, "BLAS")); diff != "" {
				t.Errorf("FaceReport (-want +got):\n%s", diff)
			}
			// The process links dlib, so its libraries are always mapped.
			if got.BLAS.Error != "" || len(got.BLAS.Libraries) == 0 {
				t.Errorf("FaceReport().BLAS = %+v, want the mapped libraries", got.BLAS)
			}
		})
	}
}
