package verifytest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/localfs"
	"remoteidv/storage/sqlite"
	"remoteidv/verify"
	"remoteidv/verify/facematch"
)

// Options choose the parts of the service graph a test cares about; New
// gives every other part a working test value.
type Options struct {
	Store models.Store     // default: a new SQLite database in a temporary folder
	Now   func() time.Time // default: time.Now
	Rand  io.Reader        // default: crypto/rand.Reader
	Log   *slog.Logger     // default: discards
	// Config defaults to DefaultConfig().
	Config verify.Config
	// Face defaults to verify.NoFaceEngine{} (tests of face checks pass
	// the real engine).
	Face verify.FaceEngine
	// ReadBLAS defaults to a report of no libraries.
	ReadBLAS func() (facematch.BLASInfo, error)
	// Stager defaults to a staging folder in a temporary folder, on Now
	// and Rand.
	Stager *archiver.Stager
	// Evidence defaults to a local evidence folder in a temporary folder.
	Evidence models.EvidenceStore
	// Key defaults to a new key.
	Key ed25519.PrivateKey
	// Desk: a nil Registry is verify.NoRegistry{}, a nil Mailer
	// verify.NoMailer{}, an empty MailFrom noreply@bank.example.
	Desk  verify.DeskDeps
	Calls verify.CallsConfig
	// FaceChecks, when set, learns of every face check (nil: nobody).
	FaceChecks models.FaceCheckObserver
}

// Graph is the workflow's services built at once, as cmd/idv builds them,
// with what they were built from.
type Graph struct {
	Store    models.Store
	Now      func() time.Time
	Stager   *archiver.Stager
	Evidence models.EvidenceStore
	Key      ed25519.PrivateKey
	Accounts *verify.Accounts
	Service  *verify.Service
	Desk     *verify.Desk
	Calls    *verify.Calls

	deskDeps verify.DeskDeps
}

// DefaultConfig is the workflow configuration of the tests: Demo Bank in
// Shanghai, the registry open 07:30-19:00 there, slots up to 90 days ahead.
func DefaultConfig() verify.Config {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return verify.Config{PublicURL: "https://idv.bank.example/", BankName: "Demo Bank", BankNameZH: "演示银行", BankAddress: "1 Century Avenue, Pudong, Shanghai",
		BranchName: "Lujiazui Branch", BranchAddress: "88 Yincheng Road, Pudong, Shanghai", BranchTZ: shanghai, RegistryTZ: shanghai,
		RegistryOpen: 7*time.Hour + 30*time.Minute, RegistryClose: 19 * time.Hour, MaxLead: 90 * 24 * time.Hour, CallLength: 30 * time.Minute}
}

// New builds the accounts import, the service, its desk and its calls from
// o, failing the test if a constructor refuses.
func New(tb testing.TB, o Options) *Graph {
	tb.Helper()
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Store == nil {
		db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "idv.db"), o.Log)
		if err != nil {
			tb.Fatalf("verifytest: open database: %v", err)
		}
		tb.Cleanup(func() { db.Close() })
		o.Store = db
	}
	if o.Config == (verify.Config{}) {
		o.Config = DefaultConfig()
	}
	if o.Face == nil {
		o.Face = verify.NoFaceEngine{}
	}
	if o.ReadBLAS == nil {
		o.ReadBLAS = func() (facematch.BLASInfo, error) { return facematch.BLASInfo{}, nil }
	}
	if o.Stager == nil {
		st, err := archiver.NewStager(filepath.Join(tb.TempDir(), "staging"), o.Now, o.Rand)
		if err != nil {
			tb.Fatalf("verifytest: staging folder: %v", err)
		}
		o.Stager = st
	}
	if o.Evidence == nil {
		ev, err := localfs.New(localfs.Config{Root: filepath.Join(tb.TempDir(), "evidence")}, o.Log)
		if err != nil {
			tb.Fatalf("verifytest: evidence folder: %v", err)
		}
		o.Evidence = ev
	}
	if o.Key == nil {
		_, key, err := ed25519.GenerateKey(o.Rand)
		if err != nil {
			tb.Fatalf("verifytest: key: %v", err)
		}
		o.Key = key
	}
	if o.Desk.Registry == nil {
		o.Desk.Registry = verify.NoRegistry{}
	}
	if o.Desk.Mailer == nil {
		o.Desk.Mailer = verify.NoMailer{}
	}
	if o.Desk.MailFrom == "" {
		o.Desk.MailFrom = "noreply@bank.example"
	}
	core := verify.Core{Store: o.Store, Chain: audit.Chain{Now: o.Now}, Now: o.Now, Rand: o.Rand, Log: o.Log}
	g := &Graph{Store: o.Store, Now: o.Now, Stager: o.Stager, Evidence: o.Evidence, Key: o.Key, deskDeps: o.Desk}
	var err error
	if g.Accounts, err = verify.NewAccounts(core); err != nil {
		tb.Fatalf("verifytest: %v", err)
	}
	g.Service, err = verify.New(verify.Deps{Core: core, Config: o.Config, Face: o.Face, Stager: o.Stager, Evidence: o.Evidence, Key: o.Key, ReadBLAS: o.ReadBLAS, FaceChecks: o.FaceChecks})
	if err != nil {
		tb.Fatalf("verifytest: %v", err)
	}
	if g.Desk, err = verify.NewDesk(g.Service, o.Desk); err != nil {
		tb.Fatalf("verifytest: %v", err)
	}
	if g.Calls, err = verify.NewCalls(g.Service, o.Calls); err != nil {
		tb.Fatalf("verifytest: %v", err)
	}
	return g
}

// EditDesk changes g's desk dependencies with edit (a test that switches
// registries or limits) and replaces g.Desk by a desk built on g's service
// with them; later edits start from these.
func (g *Graph) EditDesk(tb testing.TB, edit func(*verify.DeskDeps)) *verify.Desk {
	tb.Helper()
	deps := g.deskDeps
	edit(&deps)
	d, err := verify.NewDesk(g.Service, deps)
	if err != nil {
		tb.Fatalf("verifytest: %v", err)
	}
	g.Desk, g.deskDeps = d, deps
	return d
}
