package verify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/localfs"
	"remoteidv/storage/sqlite"
	"remoteidv/verify"
	"remoteidv/verify/facematch"
	"remoteidv/verify/verifytest"
)

// completeDeps returns a Deps with every dependency set.
func completeDeps(t *testing.T) verify.Deps {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "idv.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := archiver.NewStager(t.TempDir(), time.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := localfs.New(localfs.Config{Root: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	return verify.Deps{
		Core:   verify.Core{Store: db, Chain: audit.Chain{Now: time.Now}, Now: time.Now, Rand: rand.Reader, Log: slog.New(slog.DiscardHandler)},
		Config: verifytest.DefaultConfig(), Face: verify.NoFaceEngine{}, Stager: st, Evidence: ev, Key: key,
		ReadBLAS: func() (facematch.BLASInfo, error) { return facematch.BLASInfo{}, nil },
	}
}

// TestConstructorsNameWhatIsMissing: every dependency is required; a
// constructor refuses to build without one and names it.
func TestConstructorsNameWhatIsMissing(t *testing.T) {
	tests := []struct {
		name string
		edit func(*verify.Deps)
	}{
		{"Store", func(d *verify.Deps) { d.Store = nil }},
		{"Chain.Now", func(d *verify.Deps) { d.Chain = audit.Chain{} }},
		{"Now", func(d *verify.Deps) { d.Now = nil }},
		{"Rand", func(d *verify.Deps) { d.Rand = nil }},
		{"Log", func(d *verify.Deps) { d.Log = nil }},
		{"Config.BranchTZ", func(d *verify.Deps) { d.Config.BranchTZ = nil }},
		{"Config.RegistryTZ", func(d *verify.Deps) { d.Config.RegistryTZ = nil }},
		{"Face", func(d *verify.Deps) { d.Face = nil }},
		{"Stager", func(d *verify.Deps) { d.Stager = nil }},
		{"Evidence", func(d *verify.Deps) { d.Evidence = nil }},
		{"Key", func(d *verify.Deps) { d.Key = nil }},
		{"ReadBLAS", func(d *verify.Deps) { d.ReadBLAS = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := completeDeps(t)
			tt.edit(&d)
			if svc, err := verify.New(d); err == nil || !strings.Contains(err.Error(), tt.name) {
				t.Fatalf("New(without %s) = %v, %v; want an error naming %s", tt.name, svc, err, tt.name)
			}
		})
	}
	d := completeDeps(t)
	if _, err := verify.NewAccounts(verify.Core{Store: d.Store, Chain: d.Chain, Now: d.Now, Log: d.Log}); err == nil || !strings.Contains(err.Error(), "Rand") {
		t.Errorf("NewAccounts(without Rand) = %v, want an error naming Rand", err)
	}
	svc, err := verify.New(d)
	if err != nil {
		t.Fatalf("New(every dependency) = %v", err)
	}
	desk := verify.DeskDeps{Registry: verify.NoRegistry{}, Mailer: verify.NoMailer{}}
	for _, tt := range []struct {
		name string
		svc  *verify.Service
		edit func(*verify.DeskDeps)
	}{
		{"Service", nil, func(*verify.DeskDeps) {}},
		{"Registry", svc, func(d *verify.DeskDeps) { d.Registry = nil }},
		{"Mailer", svc, func(d *verify.DeskDeps) { d.Mailer = nil }},
	} {
		dd := desk
		tt.edit(&dd)
		if _, err := verify.NewDesk(tt.svc, dd); err == nil || !strings.Contains(err.Error(), tt.name) {
			t.Errorf("NewDesk(without %s) = %v, want an error naming %s", tt.name, err, tt.name)
		}
	}
	if _, err := verify.NewDesk(svc, desk); err != nil {
		t.Errorf("NewDesk(every dependency) = %v", err)
	}
	if _, err := verify.NewCalls(nil, verify.CallsConfig{}); err == nil || !strings.Contains(err.Error(), "Service") {
		t.Errorf("NewCalls(without a service) = %v, want an error naming Service", err)
	}
}

// TestWithoutFaceModels: a server whose face models are missing runs on
// verify.NoFaceEngine: face checks answer EUNAVAILABLE after the consent
// check, a liveness challenge is refused before it is issued, the admin's
// report says not loaded with the pinned models' hash, and descriptors are
// looked for under that hash.
func TestWithoutFaceModels(t *testing.T) {
	ctx := context.Background()
	f := newDeskFixtureWith(t, verify.NoFaceEngine{})
	f.liveCall()
	if _, err := f.svc.RunFaceCheck(ctx, f.clerk, f.caseID, jpegBytes(t)); models.ErrorCodeOf(err) != models.EUNAVAILABLE {
		t.Errorf("RunFaceCheck(no engine) = %v, want EUNAVAILABLE", err)
	}
	if _, err := f.calls.StartLiveness(ctx, f.caseID); models.ErrorCodeOf(err) != models.EUNAVAILABLE {
		t.Errorf("StartLiveness(no engine) = %v, want EUNAVAILABLE", err)
	}
	if r := f.svc.FaceReport(ctx); r.Loaded || r.ModelHash != facematch.PinnedModelHash() {
		t.Errorf("FaceReport(no engine) = loaded %v, hash %s; want not loaded, the pinned hash", r.Loaded, r.ModelHash)
	}
	if got := f.svc.ModelHash(); got != facematch.PinnedModelHash() {
		t.Errorf("ModelHash(no engine) = %s, want the pinned models' %s", got, facematch.PinnedModelHash())
	}
	if len(f.checks()) != 0 {
		t.Errorf("checks recorded without an engine: %d, want none", len(f.checks()))
	}
}
