package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"remoteidv/audit"
	"remoteidv/models"
)

// crashPoint is where `idv serve` kills itself (SIGKILL, as a power cut or
// the OOM killer would) when the test-only variable IDV_TEST_CRASH_AT
// names it, so that the crash tests (crash_test.go) hit each point every
// time rather than by luck. It is not a setting: production never sets it,
// and serve warns loudly when it is set.
type crashPoint string

// The crash points.
const (
	// crashStage: an artifact's staged file is written and synced, and its
	// evidence row is being inserted; the transaction has not committed.
	crashStage crashPoint = "stage"
	// crashArchive: the archiver has stored an object in the evidence
	// store and not yet marked its row archived.
	crashArchive crashPoint = "archive"
	// crashSeal: the sealer has stored a case's manifest and is appending
	// the seal event in the seal's transaction (manifest row added, state
	// not yet moved); the transaction has not committed.
	crashSeal crashPoint = "seal"
	// crashDecideCommitted: a supervisor's decision is committed; its
	// checkpoint, the seal attempt and the idempotent answer are not.
	crashDecideCommitted crashPoint = "decide-committed"
)

func crashPoints() []crashPoint {
	return []crashPoint{crashStage, crashArchive, crashSeal, crashDecideCommitted}
}

// crashKey carries serve's crasher in its context to openStore and
// openEvidenceStore, which wrap what they open; no other command has one.
type crashKey struct{}

// withCrasher returns ctx carrying c.
func withCrasher(ctx context.Context, c *crasher) context.Context {
	if c == nil {
		return ctx
	}
	return context.WithValue(ctx, crashKey{}, c)
}

// crasherOf returns the crasher ctx carries, nil when none.
func crasherOf(ctx context.Context) *crasher {
	c, _ := ctx.Value(crashKey{}).(*crasher)
	return c
}

// crasher kills the process at its point; nil does nothing.
type crasher struct {
	at  crashPoint
	log *slog.Logger
}

// newCrasher returns the crasher IDV_TEST_CRASH_AT asks for, nil when it
// is unset; an unknown point is an error.
func newCrasher(at string, log *slog.Logger) (*crasher, error) {
	if at == "" {
		return nil, nil
	}
	for _, p := range crashPoints() {
		if string(p) == at {
			log.Warn("TEST HOOK: this process kills itself at a crash point (IDV_TEST_CRASH_AT); never set it in production", "point", at)
			return &crasher{at: p, log: log}, nil
		}
	}
	return nil, usageError("IDV_TEST_CRASH_AT=" + at + ": not a crash point (stage, archive, seal, decide-committed)")
}

// reached kills the process if p is its point.
func (c *crasher) reached(p crashPoint, what string) {
	if c == nil || c.at != p {
		return
	}
	c.log.Warn("TEST HOOK: crash point reached; killing this process", "point", p, "at", what)
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way; go no further
}

// store wraps the database so that the stage, seal and decide-committed
// points are reached.
func (c *crasher) store(s models.Store) models.Store {
	if c == nil {
		return s
	}
	return crashStore{Store: s, c: c}
}

// evidence wraps the evidence store so that the archive point is reached.
func (c *crasher) evidence(s models.EvidenceStore) models.EvidenceStore {
	if c == nil {
		return s
	}
	return crashEvidence{EvidenceStore: s, c: c}
}

type crashStore struct {
	models.Store
	c *crasher
}

func (s crashStore) Transact(ctx context.Context, fn func(tx models.Tx) error) error {
	var decided string
	err := s.Store.Transact(ctx, func(tx models.Tx) error { return fn(crashTx{Tx: tx, c: s.c, decided: &decided}) })
	if err == nil && decided != "" {
		s.c.reached(crashDecideCommitted, decided)
	}
	return err
}

type crashTx struct {
	models.Tx
	c       *crasher
	decided *string
}

func (t crashTx) AddEvidence(ctx context.Context, e *models.Evidence) error {
	if e.Staged != "" {
		t.c.reached(crashStage, e.Key)
	}
	return t.Tx.AddEvidence(ctx, e)
}

func (t crashTx) InsertAuditEvent(ctx context.Context, e *models.AuditEvent) error {
	if e.Action == audit.SealAction {
		t.c.reached(crashSeal, e.Detail[audit.DetailManifestKey])
	}
	if e.Action == "case."+string(models.EventApprove) || e.Action == "case."+string(models.EventReject) {
		*t.decided = e.Action + " " + string(e.CaseID)
	}
	return t.Tx.InsertAuditEvent(ctx, e)
}

type crashEvidence struct {
	models.EvidenceStore
	c *crasher
}

func (s crashEvidence) Put(ctx context.Context, key string, r io.Reader, size int64, sum, contentType string) (models.ObjectInfo, error) {
	info, err := s.EvidenceStore.Put(ctx, key, r, size, sum, contentType)
	// Checkpoint notes and manifests are stored by their producers; the
	// archiver stores the rest of cases/.
	if err == nil && strings.HasPrefix(key, "cases/") && !strings.Contains(key, "/"+string(models.EvidenceManifest)+"/") {
		s.c.reached(crashArchive, key)
	}
	return info, err
}
