package main

import (
	"strings"
	"testing"

	"remoteidv/internal/testenv"
)

// TestFaceCalibrateAccounts: on SQLite and on PostgreSQL, idv demo load
// calibrates from every usable face of the demo photos and says how many
// pairs that gave (too few for 1 in 1,000: weak evidence); idv face
// calibrate --accounts then calibrates from the five enrolled demo
// accounts (two photos each) as the next calibration.
func TestFaceCalibrateAccounts(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			extra := map[string]string{}
			if db == "postgres" {
				extra["IDV_DATABASE_URL"] = testenv.PostgresURL(t)
			}
			idv := newE2EIDV(t, extra)
			out, err := idv.cli("demo", "load")
			if err != nil {
				t.Fatalf("demo load: %v\n%s", err, out)
			}
			for _, want := range []string{
				"face calibration 1 (demo): 12 people, 62 photos: 1616 impostor pairs, 275 genuine pairs (275 photo pairs, 0 confirmed live captures)",
				"[bald_guys.jpg] left out", "threshold 0.3600 (the configured threshold)", "WEAK EVIDENCE", "[few_impostor_pairs]",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("demo load output lacks %q:\n%s", want, out)
				}
			}
			out, err = idv.cli("face", "calibrate", "--accounts")
			if err != nil {
				t.Fatalf("face calibrate --accounts: %v\n%s", err, out)
			}
			want := "face calibration 2 (accounts): 5 people, 10 photos: 40 impostor pairs, 5 genuine pairs (5 photo pairs, 0 confirmed live captures)"
			if !strings.Contains(out, want) || !strings.Contains(out, "[few_impostor_pairs few_genuine_pairs]") {
				t.Errorf("face calibrate --accounts output lacks %q and both reasons:\n%s", want, out)
			}
		})
	}
}
