package metrics_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"remoteidv/internal/testenv"
	"remoteidv/metrics"
	"remoteidv/models"
	"remoteidv/registry"
	"remoteidv/storage/postgres"
	"remoteidv/storage/sqlite"
)

var t0 = time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)

// scrape gathers the collectors through a registry, as /metrics does, and
// returns the families by name.
func scrape(t testing.TB, cs ...prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			t.Fatalf("register: %v", err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// sample returns the metric of family name whose labels are labels
// (name=value pairs), or nil.
func sample(mfs map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	mf := mfs[name]
	if mf == nil {
		return nil
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		return m
	}
	return nil
}

func value(t testing.TB, mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	m := sample(mfs, name, labels...)
	switch {
	case m == nil:
		t.Fatalf("no metric %s%v", name, labels)
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	t.Fatalf("metric %s%v has no value", name, labels)
	return 0
}

func openSQLite(t testing.TB) models.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "idv.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openPostgres(t testing.TB) models.Store {
	t.Helper()
	db, err := postgres.Open(context.Background(), testenv.PostgresURL(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newDomain(t testing.TB, s models.Store, now func() time.Time) *metrics.Domain {
	t.Helper()
	d, err := metrics.New(metrics.Config{Store: s, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestFaceCheckMetrics: each observed face check moves the latency
// histogram and exactly its outcome's counter.
func TestFaceCheckMetrics(t *testing.T) {
	d := newDomain(t, openSQLite(t), time.Now)
	tests := []struct {
		outcome models.FaceOutcome
		took    time.Duration
	}{
		{models.FaceOutcomeMatch, 800 * time.Millisecond},
		{models.FaceOutcomeNoMatch, 1200 * time.Millisecond},
		{models.FaceOutcomeNoFace, 300 * time.Millisecond},
		{models.FaceOutcomeError, 20 * time.Second},
		{models.FaceOutcomeMatch, 600 * time.Millisecond},
	}
	want := map[models.FaceOutcome]float64{}
	sum := 0.0
	for i, tt := range tests {
		d.ObserveFaceCheck(tt.outcome, tt.took)
		want[tt.outcome]++
		sum += tt.took.Seconds()
		mfs := scrape(t, d.Collectors()...)
		for _, o := range models.FaceOutcomes {
			if got := value(t, mfs, "idv_face_checks_total", "outcome", string(o)); got != want[o] {
				t.Errorf("after %d checks: idv_face_checks_total{outcome=%q} = %v, want %v", i+1, o, got, want[o])
			}
		}
		h := sample(mfs, "idv_face_check_duration_seconds").GetHistogram()
		if h.GetSampleCount() != uint64(i+1) || h.GetSampleSum() < sum-1e-9 || h.GetSampleSum() > sum+1e-9 {
			t.Errorf("after %d checks: histogram count %d sum %v, want %d and %v", i+1, h.GetSampleCount(), h.GetSampleSum(), i+1, sum)
		}
	}
	// The 20 s error lies above the 16 s bucket: 4 of 5 are at most 16 s.
	h := sample(scrape(t, d.Collectors()...), "idv_face_check_duration_seconds").GetHistogram()
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == 16 && b.GetCumulativeCount() != 4 {
			t.Errorf("bucket le=16: %d, want 4", b.GetCumulativeCount())
		}
	}
}

// TestRegistryMetrics wraps the real registry client over the reference
// registry on loopback: answers, a refused key and a timeout are counted
// with their latency; only the two failures are errors.
func TestRegistryMetrics(t *testing.T) {
	srv := registry.NewServer([]registry.Record{{IDNumber: "110101199003070000", Name: "Li Wei", Status: "valid", UpdatedAt: t0}}, "right-key", slog.New(slog.DiscardHandler))
	slow := registry.NewServer(nil, "", slog.New(slog.DiscardHandler))
	slow.Delay = 2 * time.Second
	hs, hslow := httptest.NewServer(srv), httptest.NewServer(slow)
	t.Cleanup(hs.Close)
	t.Cleanup(hslow.Close)
	d := newDomain(t, openSQLite(t), time.Now)
	tests := []struct {
		name    string
		url     string
		key     string
		wantErr bool
	}{
		{"answer", hs.URL, "right-key", false},
		{"unknown person", hs.URL, "right-key", false},
		{"wrong key", hs.URL, "wrong-key", true},
		{"timeout", hslow.URL, "", true},
	}
	var lookups, errs float64
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := d.Registry(&registry.Client{BaseURL: tt.url, APIKey: tt.key, Timeout: 300 * time.Millisecond, AllowHTTP: true})
			id := "110101199003070000"
			if tt.name == "unknown person" {
				id = "110101199003079999"
			}
			_, err := r.Lookup(context.Background(), models.RegistryQuery{NationalID: id, Name: "Li Wei"})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Lookup() error = %v, want error %v", err, tt.wantErr)
			}
			lookups++
			if tt.wantErr {
				errs++
			}
			mfs := scrape(t, d.Collectors()...)
			if got := value(t, mfs, "idv_registry_lookups_total"); got != lookups {
				t.Errorf("idv_registry_lookups_total = %v, want %v", got, lookups)
			}
			if got := value(t, mfs, "idv_registry_lookup_errors_total"); got != errs {
				t.Errorf("idv_registry_lookup_errors_total = %v, want %v", got, errs)
			}
			if got := value(t, mfs, "idv_registry_lookup_duration_seconds"); got != lookups {
				t.Errorf("idv_registry_lookup_duration_seconds count = %v, want %v", got, lookups)
			}
		})
	}
	h := sample(scrape(t, d.Collectors()...), "idv_registry_lookup_duration_seconds").GetHistogram()
	if h.GetSampleSum() < 0.3 {
		t.Errorf("registry latency sum = %v s, want at least the 0.3 s timeout", h.GetSampleSum())
	}
}

// TestStoreMetrics: cases by state and the mail outbox's depth and oldest
// age follow the store, on SQLite and PostgreSQL; a store that cannot be
// read sets the scrape error and reports nothing else.
func TestStoreMetrics(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(testing.TB) models.Store
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := tt.open(t)
			now := t0.Add(10 * time.Minute)
			d := newDomain(t, s, func() time.Time { return now })
			check := func(what string, want map[models.CaseState]float64, depth, oldest float64) {
				t.Helper()
				mfs := scrape(t, d.Collectors()...)
				for _, st := range models.CaseStates {
					if got := value(t, mfs, "idv_cases", "state", string(st)); got != want[st] {
						t.Errorf("%s: idv_cases{state=%q} = %v, want %v", what, st, got, want[st])
					}
				}
				if got := value(t, mfs, "idv_mail_outbox_depth"); got != depth {
					t.Errorf("%s: idv_mail_outbox_depth = %v, want %v", what, got, depth)
				}
				if got := value(t, mfs, "idv_mail_outbox_oldest_pending_seconds"); got != oldest {
					t.Errorf("%s: idv_mail_outbox_oldest_pending_seconds = %v, want %v", what, got, oldest)
				}
				if got := value(t, mfs, "idv_domain_scrape_error"); got != 0 {
					t.Errorf("%s: idv_domain_scrape_error = %v, want 0", what, got)
				}
			}
			check("empty", nil, 0, 0)
			err := s.Transact(ctx, func(tx models.Tx) error {
				if err := tx.CreateStaff(ctx, &models.Staff{ID: "stf_clerk", Username: "clerk", DisplayName: "Clerk", Roles: []models.Role{models.RoleClerk},
					PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA", CreatedAt: t0}); err != nil {
					return err
				}
				if err := tx.UpsertAccount(ctx, &models.Account{No: "6222000011112222", HolderName: "Li Wei", NationalID: "110101199003070000",
					Email: "li.wei@example.com", Phone: "+1 212 555 0100", TimeZone: "America/New_York", Language: "zh-CN", ImportedAt: t0}); err != nil {
					return err
				}
				for i, st := range []models.CaseState{models.StateScheduled, models.StateScheduled, models.StateInSession, models.StatePendingReview, models.StateCancelled} {
					c := &models.Case{ID: models.CaseID("case_" + string(rune('a'+i))), AccountNo: "6222000011112222", Purpose: models.PurposeStatement,
						PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", State: st, ClerkID: "stf_clerk", SlotAt: t0.Add(time.Hour),
						CustomerTZ: "America/New_York", CreatedAt: t0, UpdatedAt: t0}
					if err := tx.CreateCase(ctx, c); err != nil {
						return err
					}
				}
				for i, at := range []time.Time{t0.Add(4 * time.Minute), t0.Add(7 * time.Minute)} {
					id := "mail_" + string(rune('a'+i))
					if err := tx.EnqueueMail(ctx, &models.OutboundMail{ID: id, CaseID: "case_a", Kind: "invite", To: "li.wei@example.com", From: "noreply@bank.example",
						MessageID: id + "@bank.example", Raw: []byte("raw"), CreatedAt: at, NextAttemptAt: at, EnvelopeID: "env_" + id}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			check("seeded", map[models.CaseState]float64{models.StateScheduled: 2, models.StateInSession: 1, models.StatePendingReview: 1, models.StateCancelled: 1}, 2, 6*60)

			s.Close() // a store that cannot be read
			mfs := scrape(t, d.Collectors()...)
			if got := value(t, mfs, "idv_domain_scrape_error"); got != 1 {
				t.Errorf("closed store: idv_domain_scrape_error = %v, want 1", got)
			}
			if m := sample(mfs, "idv_cases"); m != nil {
				t.Errorf("closed store: idv_cases reported %v, want nothing", m)
			}
		})
	}
}

// TestCallMetrics: calls running, customers waiting alone and the worst
// loss and jitter follow the hub's live calls.
func TestCallMetrics(t *testing.T) {
	var live []models.LiveCall
	cs := metrics.CallCollectors(func() []models.LiveCall { return live })
	tests := []struct {
		name                           string
		live                           []models.LiveCall
		running, waiting, loss, jitter float64
	}{
		{"none", nil, 0, 0, 0, 0},
		{"customer alone, not sampled", []models.LiveCall{{CaseID: "case_a", Customer: true}}, 1, 1, 0, 0},
		{"two calls", []models.LiveCall{
			{CaseID: "case_a", Customer: true, Clerks: []string{"staff:stf_clerk"}, Sampled: true, LossPercent: 2, JitterMS: 30},
			{CaseID: "case_b", Customer: true, Sampled: true, LossPercent: 12.5, JitterMS: 10},
		}, 2, 1, 0.125, 0.03},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live = tt.live
			mfs := scrape(t, cs...)
			for name, want := range map[string]float64{"idv_calls_running": tt.running, "idv_calls_customer_waiting": tt.waiting,
				"idv_call_video_loss_ratio_max": tt.loss, "idv_call_video_jitter_seconds_max": tt.jitter} {
				if got := value(t, mfs, name); got < want-1e-9 || got > want+1e-9 {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
		})
	}
}
