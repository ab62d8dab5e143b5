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
	"remoteidv/models"
	"remoteidv/storage/postgres"
	"remoteidv/storage/sqlite"
	"remoteidv/verify"
)

// app is the wired service: the store and the services over it.
type app struct {
	cfg    Config
	log    *slog.Logger
	store  models.Store
	key    ed25519.PrivateKey
	chain  audit.Chain
	access *access.Service
	verify *verify.Service
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

// openStore opens (and migrates) the configured database.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (models.Store, error) {
	kind, addr, err := cfg.database()
	if err != nil {
		return nil, err
	}
	var db models.Store
	if kind == "postgres" {
		db, err = postgres.Open(ctx, addr, log)
	} else {
		db, err = sqlite.Open(ctx, addr, log)
	}
	if err != nil {
		return nil, err
	}
	return crasherOf(ctx).store(db), nil // a test hook; see crash.go
}

// openApp opens the store, loads the signing key and builds the services.
func openApp(ctx context.Context, cfg Config, log *slog.Logger) (*app, error) {
	store, err := openStore(ctx, cfg, log)
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
	branch, _ := time.LoadLocation(cfg.BranchTZ)
	registry, _ := time.LoadLocation(cfg.Registry.TZ)
	open, close, _ := parseHours(cfg.Registry.Hours)
	chain := audit.Chain{Now: time.Now}
	a := &app{cfg: cfg, log: log, store: store, key: key, chain: chain}
	a.access = &access.Service{Store: store, Chain: chain, Now: time.Now, Rand: rand.Reader, Idle: cfg.SessionIdle, Absolute: cfg.SessionMax, Log: log}
	a.verify = &verify.Service{Store: store, Chain: chain, Now: time.Now, Rand: rand.Reader, Log: log, Cfg: verify.Config{
		PublicURL: cfg.PublicURL, BankName: cfg.BankName, BranchTZ: branch, RegistryTZ: registry,
		RegistryOpen: open, RegistryClose: close, MaxLead: cfg.SlotMaxLead, CallLength: 30 * time.Minute,
	}}
	return a, nil
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
