package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"remoteidv/access"
	"remoteidv/audit"
	"remoteidv/metrics"
	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/encfile"
	"remoteidv/storage/postgres"
	"remoteidv/storage/sqldb"
	"remoteidv/storage/sqlite"
	"remoteidv/verify"
	"remoteidv/verify/face"
)

// app is what every command opens: the store, the signing key, the audit
// chain, staff access and the accounts import. `idv serve` builds the
// workflow over it (newWorkflow).
type app struct {
	cfg     Config
	log     *slog.Logger
	store   models.Store
	key     ed25519.PrivateKey
	staging *encfile.Key // encrypts the staging folder
	chain   audit.Chain
	access  *access.Service
	// idp is the bank's OpenID Connect provider; nil when not configured.
	idp      models.IdentityProvider
	accounts *verify.Accounts
	// signer signs statements (loadStatementSigner); idv serve sets it
	// before newWorkflow.
	signer verify.StatementSigner
	// meter counts face checks and registry lookups (the domain metrics);
	// idv serve sets it before newWorkflow, nil counts nothing.
	meter *metrics.Domain
	// node is this node's ID (idv serve sets it before newWorkflow): the
	// owner of the workflow's job leases, so that a node restarted after a
	// crash takes its own leases back at once. "": a random owner.
	node models.NodeID
}

// leaseOwner is the owner of job's leases: the node's, or "" (random).
func (a *app) leaseOwner(job string) string {
	if a.node == "" {
		return ""
	}
	return leaseOwner(a.node, job)
}

// workflow is the service graph of `idv serve`, built at once: the
// evidence store, and the workflow service with its desk and its calls,
// each given everything it needs.
type workflow struct {
	evidence     models.EvidenceStore
	evidenceName string // for the log
	verify       *verify.Service
	desk         *verify.Desk
	calls        *verify.Calls
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(cfg.Log.Level)))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens (and migrates) the configured database; face
// descriptors are stored encrypted with key.
func openStore(ctx context.Context, cfg Config, key *encfile.Key, log *slog.Logger) (models.Store, error) {
	kind, addr, err := cfg.database()
	if err != nil {
		return nil, err
	}
	var db *sqldb.DB
	if kind == "postgres" {
		db, err = postgres.Open(ctx, addr, log)
	} else {
		db, err = sqlite.Open(ctx, addr, log)
	}
	if err != nil {
		return nil, err
	}
	db.SealDescriptors(key, rand.Reader)
	return crasherOf(ctx).store(db), nil // a test hook; see crash.go
}

// openApp opens the store, loads the signing key and builds the services.
func openApp(ctx context.Context, cfg Config, log *slog.Logger) (*app, error) {
	staging, err := loadStagingKey(cfg, log)
	if err != nil {
		return nil, err
	}
	store, err := openStore(ctx, cfg, staging, log)
	if err != nil {
		return nil, err
	}
	key, err := audit.LoadOrCreateKey(cfg.SigningKey, rand.Reader)
	if err != nil {
		store.Close()
		return nil, err
	}
	// A database from before the Merkle log gets its leaves now. A broken
	// chain cannot be backfilled: say so and go on, so that `idv audit
	// verify` can still show what is wrong (appends then fail closed).
	if n, err := audit.SyncStore(ctx, store); err != nil {
		log.Error("audit merkle log backfill failed; run idv audit verify", "err", err)
	} else if n > 0 {
		log.Info("audit merkle log backfilled", "leaves", n)
	}
	chain := audit.Chain{Now: time.Now}
	a := &app{cfg: cfg, log: log, store: store, key: key, staging: staging, chain: chain}
	a.access = &access.Service{Store: store, Chain: chain, Now: time.Now, Rand: rand.Reader, Idle: cfg.SessionIdle, Absolute: cfg.SessionMax,
		TokenLifetime: cfg.TokenLifetime, Log: log, Limits: authLimits(cfg.Auth), NameKey: access.DeriveKey(key.Seed(), "login names")}
	if a.access.Keys, err = cfg.keyPolicy(); err != nil {
		store.Close()
		return nil, fmt.Errorf("security keys: %w", err)
	}
	if !a.access.KeysOn() && len(cfg.WebAuthn.RequiredRoles) > 0 {
		log.Warn("security keys are off: the public URL's host is an IP address (set IDV_PUBLIC_URL to a host name or IDV_WEBAUTHN_RP_ID)",
			"public_url", cfg.PublicURL, "required_roles", cfg.WebAuthn.RequiredRoles)
	}
	if cfg.LDAP.URL != "" {
		d, err := cfg.LDAP.directory()
		if err != nil {
			store.Close()
			return nil, fmt.Errorf("directory sign-in: %w", err)
		}
		a.access.Directory = d
	}
	if cfg.OIDC.Issuer != "" {
		p, err := cfg.OIDC.provider(cfg.PublicURL, log)
		if err != nil {
			store.Close()
			return nil, fmt.Errorf("OIDC sign-in: %w", err)
		}
		a.idp = p
	}
	if a.accounts, err = verify.NewAccounts(a.core()); err != nil {
		store.Close()
		return nil, err
	}
	return a, nil
}

// authLimits turns the settings into the access service's limits.
func authLimits(c AuthConfig) access.Limits {
	return access.Limits{Checks: int(c.Checks), CheckWait: c.CheckWait, DelayAfter: int(c.DelayAfter), LockAfter: int(c.LockAfter), LockFor: c.LockFor,
		AddrMax: int(c.AddrMax), AddrLockFor: c.AddrLockFor, StepUpLockAfter: int(c.StepUpLockAfter), AuditWindow: c.AuditWindow}
}

// core is what every part of the workflow works with.
func (a *app) core() verify.Core {
	return verify.Core{Store: a.store, Chain: a.chain, Now: time.Now, Rand: rand.Reader, Log: a.log}
}

// newWorkflow opens the evidence store and the staging folder and builds
// the workflow's services over them, with the face engine eng (nil: the
// models are missing and not required, so face checks answer
// "unavailable"), and the desk's statement signer a.signer.
func (a *app) newWorkflow(ctx context.Context, eng *face.Engine) (*workflow, error) {
	ev, name, err := openEvidenceStore(ctx, a.cfg, a.log)
	if err != nil {
		return nil, err
	}
	stager, err := archiver.NewStager(stagingDir(a.cfg), time.Now, rand.Reader, archiver.WithKey(a.staging))
	if err != nil {
		return nil, err
	}
	if foreign, err := stager.ForeignFiles(); err != nil {
		return nil, err
	} else if len(foreign) > 0 {
		return nil, models.Errorf(models.EPRECONDITION, "%d staged evidence files (e.g. %s) are encrypted with another staging key than %s (id %s): set IDV_STAGING_KEY_FILE to the key they were written with; nothing was changed",
			len(foreign), foreign[0], stagingKeyPath(a.cfg), a.staging.ID())
	}
	fc, err := faceConfig(a.cfg, eng)
	if err != nil {
		return nil, err
	}
	branch, _ := time.LoadLocation(a.cfg.BranchTZ)
	registry, _ := time.LoadLocation(a.cfg.Registry.TZ)
	open, close, _ := parseHours(a.cfg.Registry.Hours)
	svc, err := verify.New(verify.Deps{Core: a.core(), Config: verify.Config{
		PublicURL: a.cfg.PublicURL, BankName: a.cfg.BankName, BankNameZH: a.cfg.BankNameZH, BankAddress: a.cfg.BankAddress,
		BranchName: a.cfg.BranchName, BranchAddress: a.cfg.BranchAddress, BranchTZ: branch, RegistryTZ: registry,
		RegistryOpen: open, RegistryClose: close, MaxLead: a.cfg.SlotMaxLead, CallLength: 30 * time.Minute, Face: fc,
		Quotas: a.cfg.Quotas.workflow(), LeaseOwner: a.leaseOwner("workflow"),
	}, Face: workflowEngine(eng), Stager: stager, Evidence: ev, Key: a.key, ReadBLAS: face.ReadBLASInfo, FaceChecks: a.faceChecks()})
	if err != nil {
		return nil, err
	}
	dd, err := a.deskDeps()
	if err != nil {
		return nil, err
	}
	dd.StatementSigner = a.signer
	desk, err := verify.NewDesk(svc, dd)
	if err != nil {
		return nil, err
	}
	calls, err := verify.NewCalls(svc, verify.CallsConfig{SessionTTL: a.cfg.CallMaxDuration, StatusTTL: a.cfg.CustomerStatusTTL})
	if err != nil {
		return nil, err
	}
	return &workflow{evidence: ev, evidenceName: name, verify: svc, desk: desk, calls: calls}, nil
}

// faceChecks is the observer of face checks: the domain metrics, or nil
// (never a nil *metrics.Domain in an interface).
func (a *app) faceChecks() models.FaceCheckObserver {
	if a.meter == nil {
		return nil
	}
	return a.meter
}

func (a *app) Close() error { return a.store.Close() }

// withApp loads the configuration from args and runs fn with the app.
func withApp(ctx context.Context, e *cliEnv, name string, args []string, fn func(a *app, fs []string) error) error {
	cfg, fs, err := loadConfig(name, args, e.getenv, e.stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, e.stderr)
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer a.Close()
	return fn(a, fs.Args())
}
