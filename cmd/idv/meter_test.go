package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"remoteidv/metrics"
	"remoteidv/models"
	"remoteidv/storage/sqlite"
)

// TestServeWiresDomainMetrics: with the domain metrics set (as idv serve
// sets them), the desk's registry is counted and the workflow's face-check
// observer is the meter; without, there is no observer at all (not a nil
// pointer in an interface).
func TestServeWiresDomainMetrics(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "idv.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	meter, err := metrics.New(metrics.Config{Store: db, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	a := &app{log: log, meter: meter}
	d, err := a.deskDeps()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Registry.Lookup(ctx, models.RegistryQuery{NationalID: "110101199003070000", Name: "Li Wei"}); models.ErrorCodeOf(err) != models.EUNAVAILABLE {
		t.Fatalf("Lookup without a registry = %v, want unavailable", err)
	}
	reg := prometheus.NewRegistry()
	for _, c := range meter.Collectors() {
		reg.MustRegister(c)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.Counter != nil {
				got[mf.GetName()] += m.Counter.GetValue()
			}
		}
	}
	if got["idv_registry_lookups_total"] != 1 || got["idv_registry_lookup_errors_total"] != 1 {
		t.Errorf("registry counters = %v, want one lookup and one error", got)
	}
	if obs := a.faceChecks(); obs != meter {
		t.Errorf("faceChecks() = %v, want the meter", obs)
	}
	if obs := (&app{log: log}).faceChecks(); obs != nil {
		t.Errorf("faceChecks() without metrics = %#v, want nil", obs)
	}
}
