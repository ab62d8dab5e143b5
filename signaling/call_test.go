package signaling_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/signaling"
	"remoteidv/storage/archiver"
	"remoteidv/storage/sqlite"
	"remoteidv/verify"
	"remoteidv/verify/face"
	"remoteidv/verify/verifytest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Opened once per process by the SQLite driver and the face engine's pool.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
		goleak.IgnoreAnyFunction("github.com/Kagami/go-face.(*Recognizer).Close"),
	)
}

// fixture is a real workflow (SQLite, audit chain, staging, face engine) with
// a hub and an HTTP server whose /ws/<case>/<role> joins as that role.
type fixture struct {
	t     testing.TB
	store models.Store
	g     *verifytest.Graph
	svc   *verify.Service
	calls *verify.Calls
	hub   *signaling.Hub
	srv   *httptest.Server
	stage *archiver.Stager
	now   time.Time
	mu    sync.Mutex
	parts map[string]signaling.Participant
	clerk verify.Actor
}

const csvHead = "account_no,holder_name,national_id,email,phone,time_zone,language,photos,signature\n"

var (
	engineOnce sync.Once
	engine     *face.Engine
	engineErr  error
)

func faceEngine(t testing.TB) *face.Engine {
	t.Helper()
	engineOnce.Do(func() {
		dir := os.Getenv("IDV_MODELS_DIR")
		if dir == "" {
			dir = "../var/models"
		}
		engine, engineErr = face.New(context.Background(), face.Config{ModelsDir: dir, Recognizers: 1, Logger: slog.New(slog.DiscardHandler)})
	})
	if engineErr != nil {
		t.Fatalf("face engine: %v (run `go run ./cmd/idv models fetch`; needs Debian libdlib-dev)", engineErr)
	}
	return engine
}

func newFixture(t testing.TB, cfg signaling.Config) *fixture {
	t.Helper()
	return newFixtureQuotas(t, cfg, verify.Quotas{})
}

// newFixtureQuotas is newFixture with the workflow's case quotas q.
func newFixtureQuotas(t testing.TB, cfg signaling.Config, q verify.Quotas) *fixture {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "idv.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, store: db, now: time.Date(2026, 12, 1, 13, 55, 0, 0, time.UTC), parts: map[string]signaling.Participant{}}
	now := func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
	f.stage, err = archiver.NewStager(t.TempDir(), time.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	vcfg := verifytest.DefaultConfig()
	vcfg.PublicURL = "https://idv.example"
	vcfg.Quotas = q
	f.g = verifytest.New(t, verifytest.Options{Store: db, Now: now, Log: log, Config: vcfg, Face: faceEngine(t), Stager: f.stage})
	f.svc, f.calls = f.g.Service, f.g.Calls
	err = db.Transact(ctx, func(tx models.Tx) error {
		return tx.CreateStaff(ctx, &models.Staff{ID: "stf_c1", Username: "c1", DisplayName: "Clerk Wang", Roles: []models.Role{models.RoleClerk}, PasswordHash: "$argon2id$x", CreatedAt: f.now})
	})
	if err != nil {
		t.Fatal(err)
	}
	f.clerk = verify.Actor{Name: "staff:stf_c1", StaffID: "stf_c1", Roles: []models.Role{models.RoleClerk}}
	// Two accounts: John Salley's and John Savage's reference photos.
	dir := t.TempDir()
	var rows strings.Builder
	rows.WriteString(csvHead)
	for i, person := range []string{"John_Salley", "John_Savage"} {
		for j := 0; j < 2; j++ {
			b, err := os.ReadFile(testenv.JohnsPhoto(t, person, j))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, person+string(rune('a'+j))+".jpg"), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		rows.WriteString("622233334444555" + string(rune('0'+i)) + "," + strings.ReplaceAll(person, "_", " ") + ",A1234567" + string(rune('0'+i)) +
			",x@example.com,+1 555,America/New_York,en," + person + "a.jpg;" + person + "b.jpg," + person + "a.jpg\n")
	}
	if rep, err := f.g.Accounts.Import(ctx, "system", strings.NewReader(rows.String()), os.DirFS(dir), nil); err != nil || rep.Imported != 2 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	if cfg.RecordDir == "" {
		cfg.RecordDir = t.TempDir()
	}
	cfg.Loopback = true
	f.hub, err = signaling.New(cfg, f.calls, log)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		p, ok := f.parts[r.URL.Path]
		hub := f.hub // a test may start another hub ("node") on the same workflow
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		hub.Serve(w, r, p)
	}))
	t.Cleanup(func() {
		f.mu.Lock()
		hub := f.hub
		f.mu.Unlock()
		hub.Close()
		f.srv.Close()
	})
	return f
}

// openCase opens a case for account i (0 John Salley, 1 John Savage) and
// returns it with its invite token; the clock is then in the invite's window.
func (f *fixture) openCase(i int) (models.CaseID, string) {
	f.t.Helper()
	ctx := context.Background()
	f.mu.Lock()
	f.now = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	f.mu.Unlock()
	c, err := f.svc.CreateCase(ctx, f.clerk, verify.NewCase{AccountNo: models.AccountNo("622233334444555" + string(rune('0'+i))), Purpose: models.PurposeStatement,
		PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", Slot: verify.Slot{Local: "2026-12-01T09:00", TimeZone: "America/New_York"}})
	if err != nil {
		f.t.Fatal(err)
	}
	inv, err := f.svc.IssueInvite(ctx, f.clerk, c.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	f.now = time.Date(2026, 12, 1, 13, 55, 0, 0, time.UTC)
	f.mu.Unlock()
	f.mu.Lock()
	f.parts["/ws/"+string(c.ID)+"/clerk"] = signaling.Participant{Role: signaling.RoleClerk, CaseID: c.ID, Actor: f.clerk.Name}
	f.mu.Unlock()
	return c.ID, inv.Link[strings.LastIndex(inv.Link, "/")+1:]
}

// newCall opens a case for account i, spends its invite with consent, and
// returns the case and the socket paths of customer, clerk and observer.
func (f *fixture) newCall(i int) (models.CaseID, string, string, string) {
	f.t.Helper()
	ctx := context.Background()
	id, tok := f.openCase(i)
	sess, _, err := f.calls.StartCustomerSession(ctx, tok)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.calls.RecordConsent(ctx, sess, verify.ConsentText("en").Version, "en"); err != nil {
		f.t.Fatal(err)
	}
	base := "/ws/" + string(id)
	f.mu.Lock()
	f.parts[base+"/customer"] = signaling.Participant{Role: signaling.RoleCustomer, CaseID: id, Actor: verify.CustomerActor(sess.ID), Customer: sess.ID}
	f.parts[base+"/observer"] = signaling.Participant{Role: signaling.RoleObserver, CaseID: id, Actor: "staff:stf_sup"}
	f.mu.Unlock()
	return id, wsURL(f.srv.URL, base+"/customer"), wsURL(f.srv.URL, base+"/clerk"), wsURL(f.srv.URL, base+"/observer")
}

func (f *fixture) calls_(id models.CaseID) []*models.Call {
	f.t.Helper()
	var out []*models.Call
	if err := f.store.Transact(context.Background(), func(tx models.Tx) (err error) { out, err = tx.CallsByCase(context.Background(), id); return }); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// waitEnded waits until the case's calls have all ended.
func (f *fixture) waitEnded(id models.CaseID, d time.Duration) []*models.Call {
	f.t.Helper()
	return f.waitCalls(id, d, false)
}

// waitStopped waits until no node runs a call of case id: each ended, or
// suspended by its node's shutdown.
func (f *fixture) waitStopped(id models.CaseID, d time.Duration) []*models.Call {
	f.t.Helper()
	return f.waitCalls(id, d, true)
}

func (f *fixture) waitCalls(id models.CaseID, d time.Duration, suspended bool) []*models.Call {
	f.t.Helper()
	deadline := time.Now().Add(d)
	for {
		calls := f.calls_(id)
		ended := len(calls) > 0
		for _, c := range calls {
			ended = ended && (c.EndedAt != nil || suspended && c.SuspendedAt != nil)
		}
		if ended {
			return calls
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("calls of %s not ended after %s: %+v", id, d, calls)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitCount(t testing.TB, what string, get func() int64, min int64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for get() < min {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %d after %s, want >= %d", what, get(), d, min)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sha256File(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
