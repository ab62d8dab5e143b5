package archiver_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/archiver/archivertest"
	"remoteidv/storage/localfs"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// faulty wraps a real store: it fails the first failPuts Puts as an
// outage would, and counts the Puts that reached the real store per key.
type faulty struct {
	models.EvidenceStore
	failPuts atomic.Int64
	mu       sync.Mutex
	puts     map[string]int
}

func newFaulty(s models.EvidenceStore, fail int64) *faulty {
	f := &faulty{EvidenceStore: s, puts: map[string]int{}}
	f.failPuts.Store(fail)
	return f
}

func (f *faulty) Put(ctx context.Context, key string, r io.Reader, size int64, sum, ct string) (models.ObjectInfo, error) {
	if f.failPuts.Add(-1) >= 0 {
		return models.ObjectInfo{}, models.Errorf(models.EUNAVAILABLE, "injected outage")
	}
	f.mu.Lock()
	f.puts[key]++
	f.mu.Unlock()
	return f.EvidenceStore.Put(ctx, key, r, size, sum, ct)
}

func (f *faulty) count(key string) int { f.mu.Lock(); defer f.mu.Unlock(); return f.puts[key] }

type env struct {
	db     models.Store
	store  *localfs.Store
	stager *archiver.Stager
	clock  *clock
}

func newEnv(t *testing.T, open func(testing.TB) models.Store) *env {
	t.Helper()
	c := &clock{t: time.Now().UTC()}
	store, err := localfs.New(localfs.Config{Root: t.TempDir(), Now: c.Now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := archiver.NewStager(filepath.Join(t.TempDir(), "staging"), c.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &env{db: open(t), store: store, stager: st, clock: c}
}

func (e *env) archiver(t *testing.T, store models.EvidenceStore, owner string) *archiver.Archiver {
	t.Helper()
	a, err := archiver.New(e.db, store, archiver.Config{Owner: owner, Now: e.clock.Now, Rand: rand.Reader,
		Poll: 10 * time.Millisecond, MinBackoff: time.Second, MaxBackoff: 8 * time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func forEachDB(t *testing.T, fn func(t *testing.T, open func(testing.TB) models.Store)) {
	for _, d := range archivertest.Databases() {
		t.Run(d.Name, func(t *testing.T) { fn(t, d.Open) })
	}
}

func TestArchiveVerifiesAndCleansUp(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) models.Store) {
		e := newEnv(t, open)
		c := archivertest.SeedCase(t, e.db, models.StateInSession)
		staged := archivertest.Stage(t, e.db, e.stager, c.ID, models.EvidenceCapture, 3, 100<<10, 1)
		a := e.archiver(t, e.store, "w")
		n, err := a.Drain(context.Background(), "w/0")
		if err != nil || n != 3 {
			t.Fatalf("Drain() = %d, %v; want 3, nil", n, err)
		}
		for _, it := range archivertest.Items(t, e.db, c.ID) {
			if it.ArchivedAt == nil || it.RetainUntil == nil || it.LeaseOwner != "" {
				t.Errorf("item %s after Drain: archived %v, retain %v, lease %q; want archived, retained, unleased", it.Key, it.ArchivedAt, it.RetainUntil, it.LeaseOwner)
			}
			info, err := e.store.Stat(context.Background(), it.Key)
			if err != nil || info.SHA256 != it.SHA256 || info.Size != it.Size {
				t.Errorf("Stat(%s) = %+v, %v; want the staged size and hash", it.Key, info, err)
			}
		}
		for _, s := range staged {
			if _, err := os.Stat(s.Staged); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("staged file %s still there after archiving (err %v)", s.Staged, err)
			}
		}
	})
}

// An outage fails attempts; each failure is recorded with a backoff, the
// item stays queued, and once the store is back and the backoff passed it
// lands exactly once.
func TestRetryWithBackoffNeverDrops(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) models.Store) {
		e := newEnv(t, open)
		c := archivertest.SeedCase(t, e.db, models.StateInSession)
		archivertest.Stage(t, e.db, e.stager, c.ID, models.EvidenceLetter, 2, 10<<10, 10)
		f := newFaulty(e.store, 3)
		a := e.archiver(t, f, "w")
		ctx := context.Background()
		for attempt := 1; ; attempt++ {
			if _, err := a.Drain(ctx, "w/0"); err != nil {
				t.Fatalf("Drain: %v", err)
			}
			items := archivertest.Items(t, e.db, c.ID)
			done := 0
			for _, it := range items {
				if it.ArchivedAt != nil {
					done++
					continue
				}
				if it.LastError == "" || !it.NextAttemptAt.After(e.clock.Now()) {
					t.Fatalf("failed item %s: last_error %q, next %v (now %v); want an error and a future retry", it.Key, it.LastError, it.NextAttemptAt, e.clock.Now())
				}
			}
			if done == len(items) {
				break
			}
			if attempt > 10 {
				t.Fatalf("items not archived after %d rounds", attempt)
			}
			e.clock.Add(10 * time.Second) // past the largest backoff
		}
		for _, it := range archivertest.Items(t, e.db, c.ID) {
			if got := f.count(it.Key); got != 1 {
				t.Errorf("Puts reaching the store for %s = %d, want 1", it.Key, got)
			}
		}
		var failures float64
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(a.Collectors()...)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatalf("Gather: %v", err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				if m.GetCounter() != nil {
					got[mf.GetName()] = m.GetCounter().GetValue()
				} else {
					got[mf.GetName()] = m.GetGauge().GetValue()
				}
			}
		}
		failures = got["idv_evidence_archive_failures_total"]
		if failures != 3 || got["idv_evidence_queue_depth"] != 0 || got["idv_evidence_archived_total"] != 2 {
			t.Errorf("metrics = %v; want 3 failures, depth 0, 2 archived", got)
		}
	})
}

// Two archivers on one queue (as two processes would be) never upload an
// item twice.
func TestTwoArchiversNoDoubleUpload(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) models.Store) {
		e := newEnv(t, open)
		c := archivertest.SeedCase(t, e.db, models.StateInSession)
		items := archivertest.Stage(t, e.db, e.stager, c.ID, models.EvidenceCapture, 12, 64<<10, 100)
		f := newFaulty(e.store, 0)
		a1, a2 := e.archiver(t, f, "proc1"), e.archiver(t, f, "proc2")
		a1.Start()
		a2.Start()
		archivertest.WaitArchived(t, e.db, c.ID, 30*time.Second)
		for _, it := range items {
			if got := f.count(it.Key); got != 1 {
				t.Errorf("Puts of %s = %d, want 1", it.Key, got)
			}
		}
		if err := a1.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := a1.Close(); err != nil {
			t.Errorf("Close (again): %v", err)
		}
	})
}

// The process dies after committing the rows (and even after claiming
// them): a fresh archiver takes over once the lease has run out.
func TestResumeAfterCrash(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) models.Store) {
		e := newEnv(t, open)
		c := archivertest.SeedCase(t, e.db, models.StateInSession)
		archivertest.Stage(t, e.db, e.stager, c.ID, models.EvidenceRecording, 2, 1<<20, 200)
		ctx := context.Background()
		// The dead process claimed both and vanished.
		err := e.db.Transact(ctx, func(tx models.Tx) error {
			got, err := tx.ClaimEvidence(ctx, "dead/0", e.clock.Now(), e.clock.Now().Add(archiver.DefaultLease), 10)
			if err == nil && len(got) != 2 {
				t.Fatalf("ClaimEvidence = %d items, want 2", len(got))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		a := e.archiver(t, e.store, "fresh")
		if n, err := a.Drain(ctx, "fresh/0"); err != nil || n != 0 {
			t.Fatalf("Drain(while leased) = %d, %v; want 0, nil", n, err)
		}
		e.clock.Add(archiver.DefaultLease + time.Second)
		if n, err := a.Drain(ctx, "fresh/0"); err != nil || n != 2 {
			t.Fatalf("Drain(after lease expiry) = %d, %v; want 2, nil", n, err)
		}
		archivertest.WaitArchived(t, e.db, c.ID, time.Second)
	})
}

// An item already in the store (its upload finished but the process died
// before marking it) is confirmed by read-back, not uploaded again.
func TestAlreadyStoredIsConfirmed(t *testing.T) {
	e := newEnv(t, archivertest.Databases()[0].Open)
	c := archivertest.SeedCase(t, e.db, models.StateInSession)
	items := archivertest.Stage(t, e.db, e.stager, c.ID, models.EvidenceCheck, 1, 4096, 300)
	b, _ := os.ReadFile(items[0].Staged)
	if _, err := e.store.Put(context.Background(), items[0].Key, bytes.NewReader(b), items[0].Size, items[0].SHA256, "application/octet-stream"); err != nil {
		t.Fatal(err)
	}
	f := newFaulty(e.store, 0)
	a := e.archiver(t, f, "w")
	if n, err := a.Drain(context.Background(), "w/0"); err != nil || n != 1 {
		t.Fatalf("Drain() = %d, %v; want 1, nil", n, err)
	}
	if got := f.count(items[0].Key); got != 0 {
		t.Errorf("Puts of an already stored item = %d, want 0", got)
	}
	archivertest.WaitArchived(t, e.db, c.ID, time.Second)
}

// Close releases the leases of items in flight so another process can go
// on at once.
func TestCloseReleasesLeases(t *testing.T) {
	e := newEnv(t, archivertest.Databases()[0].Open)
	c := archivertest.SeedCase(t, e.db, models.StateInSession)
	archivertest.Stage(t, e.db, e.stager, c.ID, models.EvidenceCheck, 1, 10, 400)
	a := e.archiver(t, e.store, "w")
	ctx := context.Background()
	err := e.db.Transact(ctx, func(tx models.Tx) error {
		_, err := tx.ClaimEvidence(ctx, "w/1", e.clock.Now(), e.clock.Now().Add(time.Hour), 1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if it := archivertest.Items(t, e.db, c.ID)[0]; it.LeaseOwner != "" {
		t.Errorf("lease owner after Close = %q, want none", it.LeaseOwner)
	}
}

// stuck is a store whose uploads hang until they are cancelled.
type stuck struct {
	models.EvidenceStore
	entered chan struct{}
}

func (s *stuck) Put(ctx context.Context, key string, r io.Reader, size int64, sum, ct string) (models.ObjectInfo, error) {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return models.ObjectInfo{}, ctx.Err()
}

// Run is the archiver as a job: it works until its context ends, then
// returns nil, its upload in flight cancelled and its lease released.
func TestRunUntilCancelled(t *testing.T) {
	e := newEnv(t, archivertest.Databases()[0].Open)
	c := archivertest.SeedCase(t, e.db, models.StateInSession)
	archivertest.Stage(t, e.db, e.stager, c.ID, models.EvidenceCheck, 1, 10, 500)
	st := &stuck{EvidenceStore: e.store, entered: make(chan struct{}, 1)}
	a := e.archiver(t, st, "job")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-st.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not start uploading")
	}
	if it := archivertest.Items(t, e.db, c.ID)[0]; it.LeaseOwner == "" {
		t.Fatalf("item during its upload: no lease owner, want a worker of job")
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned %v before its context ended", err)
	default:
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if it := archivertest.Items(t, e.db, c.ID)[0]; it.LeaseOwner != "" || it.ArchivedAt != nil {
		t.Errorf("item after Run: lease owner %q, archived %v; want no lease, not archived", it.LeaseOwner, it.ArchivedAt)
	}
}

func TestBackoff(t *testing.T) {
	a, err := archiver.New(nil, nil, archiver.Config{Rand: rand.Reader, MinBackoff: time.Second, MaxBackoff: 5 * time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		attempts int
		full     time.Duration
	}{
		{0, time.Second}, {1, 2 * time.Second}, {3, 8 * time.Second}, {8, 256 * time.Second}, {9, 5 * time.Minute}, {60, 5 * time.Minute}, {1000, 5 * time.Minute},
	} {
		for range 20 {
			if got := a.Backoff(tc.attempts); got > tc.full || got < tc.full/2 {
				t.Fatalf("Backoff(%d) = %s, want in [%s, %s]", tc.attempts, got, tc.full/2, tc.full)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	e := &models.Evidence{Key: "k", Size: 5, SHA256: "aa"}
	retain := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name string
		info models.ObjectInfo
		ok   bool
	}{
		{"match, no retention reported", models.ObjectInfo{Size: 5, SHA256: "aa"}, true},
		{"match, compliance", models.ObjectInfo{Size: 5, SHA256: "aa", Mode: models.RetentionCompliance, RetainUntil: retain}, true},
		{"size", models.ObjectInfo{Size: 6, SHA256: "aa"}, false},
		{"hash", models.ObjectInfo{Size: 5, SHA256: "ab"}, false},
		{"governance", models.ObjectInfo{Size: 5, SHA256: "aa", Mode: models.RetentionGovernance, RetainUntil: retain}, false},
		{"compliance without date", models.ObjectInfo{Size: 5, SHA256: "aa", Mode: models.RetentionCompliance}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := archiver.Check(e, tc.info); (err == nil) != tc.ok {
				t.Errorf("Check(%+v) = %v, want ok %v", tc.info, err, tc.ok)
			}
		})
	}
}

func TestStageRejectsBadCaseAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	st, err := archiver.NewStager(dir, time.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stage(context.Background(), "../etc", models.EvidenceCheck, "text/plain", []byte("x"), "system"); err == nil {
		t.Fatal("Stage(bad case id) = nil error")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("staging folder after a refused stage has %d files, want 0", len(ents))
	}
	ev, err := st.Stage(context.Background(), "case_x", models.EvidenceCheck, "application/json", []byte(`{"ok":true}`), "system")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Size != 11 || ev.Key != "cases/case_x/check/"+ev.SHA256 {
		t.Errorf("Stage = %+v; want size 11 and the deterministic key", ev)
	}
	if err := st.Discard(ev); err != nil {
		t.Errorf("Discard: %v", err)
	}
}

// slow is a store whose uploads take a while.
type slow struct {
	models.EvidenceStore
	took    time.Duration
	entered chan struct{}
	mu      sync.Mutex
	puts    int
}

func (s *slow) Put(ctx context.Context, key string, r io.Reader, size int64, sum, ct string) (models.ObjectInfo, error) {
	s.mu.Lock()
	s.puts++
	s.mu.Unlock()
	select {
	case s.entered <- struct{}{}:
	default:
	}
	select {
	case <-time.After(s.took):
	case <-ctx.Done():
		return models.ObjectInfo{}, ctx.Err()
	}
	return s.EvidenceStore.Put(ctx, key, r, size, sum, ct)
}

// TestLongUploadKeepsItsLease: an upload more than twice as long as the
// lease keeps its lease: a second
// archiver polling all along never claims the item, and it is uploaded
// once.
func TestLongUploadKeepsItsLease(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) models.Store) {
		e := newEnv(t, open)
		c := archivertest.SeedCase(t, e.db, models.StateInSession)
		archivertest.Stage(t, e.db, e.stager, c.ID, models.EvidenceCheck, 1, 10, 500)
		// Renewed every second, the lease has two seconds to spare: a
		// loaded machine does not make it lapse.
		const lease = 3 * time.Second
		st := &slow{EvidenceStore: e.store, took: 7 * time.Second, entered: make(chan struct{}, 1)}
		cfg := archiver.Config{Owner: "first", Lease: lease, Workers: 1, Poll: 50 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Rand: rand.Reader}
		first, err := archiver.New(e.db, st, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- first.Run(ctx) }()
		select {
		case <-st.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the first archiver did not start uploading")
		}
		cfg.Owner = "second"
		second, err := archiver.New(e.db, st, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for archivertest.Items(t, e.db, c.ID)[0].ArchivedAt == nil {
			if n, err := second.RunOnce(context.Background(), "second/0"); err != nil || n != 0 {
				t.Fatalf("the second archiver's RunOnce during the upload = %d, %v; want nothing to claim", n, err)
			}
			if time.Now().After(deadline) {
				t.Fatal("not archived after 20 s")
			}
			time.Sleep(100 * time.Millisecond)
		}
		cancel()
		<-done
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.puts != 1 {
			t.Errorf("uploads = %d, want 1", st.puts)
		}
	})
}
