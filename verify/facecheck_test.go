package verify_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/verify"
	"remoteidv/verify/face"
	"remoteidv/verify/verifytest"
)

const johns = "/usr/share/doc/libdlib19.1/examples/johns"

var _ verify.Stager = (*archiver.Stager)(nil)

func modelsDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("IDV_MODELS_DIR"); d != "" {
		return d
	}
	dir, _ := os.Getwd()
	for ; dir != "/"; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "var", "models")
		}
	}
	t.Fatal("no go.mod above the test")
	return ""
}

var (
	engineOnce sync.Once
	engine     *face.Engine
	engineErr  error
)

// sharedEngine is one face engine (real dlib models) for the package's
// tests; it lives as long as the test process.
func sharedEngine(t testing.TB) *face.Engine {
	t.Helper()
	engineOnce.Do(func() {
		engine, engineErr = face.New(context.Background(), face.Config{ModelsDir: modelsDir(t), Recognizers: 1, Logger: slog.New(slog.DiscardHandler)})
	})
	if engineErr != nil {
		t.Fatalf("face engine: %v (run `go run ./cmd/idv models fetch`)", engineErr)
	}
	return engine
}

func johnsPhoto(t testing.TB, person string, i int) []byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(johns, person, "*.jpg"))
	if err != nil || len(files) <= i {
		t.Fatalf("johns photos of %s missing in %s: install Debian package libdlib-dev (libdlib19.1)", person, johns)
	}
	b, err := os.ReadFile(files[i])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFaceCheck matches live captures (the server's key frames of the
// customer's video, in a recorded call after consent) against the
// account's reference photos with the real engine.
func TestFaceCheck(t *testing.T) {
	ctx := context.Background()
	eng := sharedEngine(t)
	st, err := archiver.NewStager(t.TempDir(), time.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	seen := &faceOutcomes{}
	f := newFixtureWith(t, verifytest.Options{Face: eng, Stager: st, FaceChecks: seen})
	// An account whose reference photos are two of John Salley's.
	dir := t.TempDir()
	for i, name := range []string{"a.jpg", "b.jpg"} {
		if err := os.WriteFile(filepath.Join(dir, name), johnsPhoto(t, "John_Salley", i), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "s.png"), pngBytes(t, 80, 30), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := f.accounts.Import(ctx, "system", strings.NewReader(csvHead+
		"6222333344445555,John Salley,A12345678,js@example.com,+1 555,America/Chicago,en,a.jpg;b.jpg,s.png\n"), os.DirFS(dir), nil)
	if err != nil || rep.Imported != 1 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	in := goodCase()
	in.AccountNo = "6222333344445555"
	c, err := f.svc.CreateCase(ctx, f.clerk, in)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := f.svc.IssueInvite(ctx, f.clerk, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.t = time.Date(2026, 12, 1, 13, 50, 0, 0, time.UTC) // in the invite's window
	f.g.Consent(t, inv.Link)
	call := f.g.StartCall(t, c.ID, f.clerk.Name)
	tests := []struct {
		name     string
		img      []byte
		decision models.CheckResult
		code     models.ErrorCode
		outcome  models.FaceOutcome // what the metrics count
	}{
		{"same person, another photo", johnsPhoto(t, "John_Salley", 5), "MATCH", "", models.FaceOutcomeMatch},
		{"another person", johnsPhoto(t, "John_Simm", 0), "NO_MATCH", "", models.FaceOutcomeNoMatch},
		{"not an image", []byte("%PDF-1.4 not a photo"), "", models.EUNSUPPORTED, models.FaceOutcomeNoFace},
		{"blank frame", pngBytes(t, 200, 200), "UNUSABLE", "", models.FaceOutcomeNoFace},
	}
	var matched models.CheckID
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(seen.all())
			chk, err := call.TryCapture(f.clerk.Name, tt.img)
			if got := seen.all()[before:]; len(got) != 1 || got[0] != tt.outcome {
				t.Errorf("observed face checks = %v, want [%s]", got, tt.outcome)
			}
			if tt.code != "" {
				if models.ErrorCodeOf(err) != tt.code {
					t.Fatalf("FaceCapture = %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := chk.Result; got != tt.decision {
				t.Fatalf("FaceCapture decision = %s (%s), want %s", got, chk.Detail, tt.decision)
			}
			if chk.Evidence == "" || len(chk.Detail) == 0 || chk.Source != models.SourceLiveCall || chk.Call != call.ID || chk.Segment != 1 {
				t.Fatalf("check lacks evidence, detail or its place in the recording: %+v", chk)
			}
			if tt.decision == "MATCH" {
				matched = chk.ID
			}
		})
	}
	// Descriptors were computed once and stored with the model hash.
	var refs []*models.FaceReference
	_ = f.g.Store.Transact(ctx, func(tx models.Tx) (err error) {
		refs, err = tx.FaceReferences(ctx, "6222333344445555", string(eng.ModelHash()))
		return
	})
	if len(refs) != 2 {
		t.Fatalf("stored references = %d, want 2", len(refs))
	}
	if _, err := f.svc.ConfirmFace(ctx, f.other, c.ID, matched, true, ""); models.ErrorCodeOf(err) != models.ENOTFOUND {
		t.Fatalf("ConfirmFace(other clerk) = %v, want not found", err)
	}
	if _, err := f.svc.ConfirmFace(ctx, f.clerk, c.ID, matched, false, ""); models.ErrorCodeOf(err) != models.EINVALID {
		t.Fatalf("ConfirmFace(reject without note) = %v, want invalid", err)
	}
	chk, err := f.svc.ConfirmFace(ctx, f.clerk, c.ID, matched, true, "same person side by side")
	if err != nil || chk.Confirmation != "confirmed" {
		t.Fatalf("ConfirmFace = %+v, %v", chk, err)
	}
	if _, err := f.svc.ConfirmFace(ctx, f.clerk, c.ID, matched, false, "changed my mind"); models.ErrorCodeOf(err) != models.ECONFLICT {
		t.Fatalf("ConfirmFace(twice) = %v, want conflict", err)
	}
	all, err := f.svc.Checks(ctx, f.sup, c.ID)
	if err != nil || len(all) != 3 {
		t.Fatalf("Checks = %d, %v; want 3 (the refused frame left none)", len(all), err)
	}
	var evs []*models.Evidence
	_ = f.g.Store.Transact(ctx, func(tx models.Tx) (err error) { evs, err = tx.EvidenceByCase(ctx, c.ID); return })
	if len(evs) != 3 {
		t.Fatalf("evidence rows = %d, want 3 captures", len(evs))
	}
	for _, e := range evs {
		if e.Kind != models.EvidenceCapture {
			t.Errorf("evidence %s is a %s, want capture", e.ID, e.Kind)
		}
	}
}

// faceOutcomes records what a FaceCheckObserver is told.
type faceOutcomes struct {
	mu  sync.Mutex
	got []models.FaceOutcome
}

func (o *faceOutcomes) ObserveFaceCheck(outcome models.FaceOutcome, took time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if took > 0 {
		o.got = append(o.got, outcome)
	}
}

func (o *faceOutcomes) all() []models.FaceOutcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]models.FaceOutcome(nil), o.got...)
}
