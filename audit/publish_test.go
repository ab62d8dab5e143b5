package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/storage/localfs"
	"remoteidv/storage/sqldb"
	"remoteidv/storage/sqlite"
)

// newPublishing opens a SQLite store and a local evidence folder, and a
// checkpointer signing with a new key that publishes to that folder.
func newPublishing(t *testing.T) (*sqldb.DB, *localfs.Store, ed25519.PublicKey, audit.Checkpointer) {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "idv.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ev, err := localfs.New(localfs.Config{Root: t.TempDir()}, log)
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(nil)
	now := func() time.Time { return time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC) }
	return db, ev, pub, audit.Checkpointer{Store: db, Key: key, Now: now, Publish: ev}
}

// The newest checkpoint note is copied to the write-once evidence store,
// which keeps it even if the database is rewritten, and refuses another
// note of the same size.
func TestPublishLatest(t *testing.T) {
	ctx := context.Background()
	db, ev, _, cpr := newPublishing(t)
	now := cpr.Now
	if err := cpr.PublishLatest(ctx); err != nil {
		t.Fatalf("PublishLatest(no checkpoint) = %v, want nil", err)
	}
	appendN := func(n int) {
		for range n {
			if err := db.Transact(ctx, func(tx models.Tx) error {
				return audit.Chain{Now: now}.Append(ctx, tx, &models.AuditEvent{Actor: "system", Action: "test.publish"})
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendN(3)
	cp, err := cpr.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second time is a no-op
		if err := cpr.PublishLatest(ctx); err != nil {
			t.Fatalf("PublishLatest = %v", err)
		}
	}
	r, _, err := ev.Get(ctx, audit.CheckpointKey(3))
	if err != nil {
		t.Fatalf("Get(%s) = %v", audit.CheckpointKey(3), err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if string(got) != cp.Note {
		t.Fatalf("published note = %q, want %q", got, cp.Note)
	}

	// The database is rewritten: another history of the same size, signed
	// again. The store keeps the first note and refuses the fork.
	if _, err := db.SQL().ExecContext(ctx, `DELETE FROM audit_checkpoints`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `UPDATE audit_events SET actor = 'mallory' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `DELETE FROM audit_tree_hashes`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `UPDATE audit_events SET hash = CASE WHEN substr(hash, 1, 1) = 'f' THEN 'e' ELSE 'f' END || substr(hash, 2) WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `UPDATE audit_head SET hash = (SELECT hash FROM audit_events WHERE seq = 3)`); err != nil {
		t.Fatal(err)
	}
	if _, err := cpr.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cpr.PublishLatest(ctx); models.ErrorCodeOf(err) != models.ECONFLICT {
		t.Fatalf("PublishLatest(forked note of size 3) = %v, want ECONFLICT", err)
	}
	if audit.CheckpointKey(12) >= audit.CheckpointKey(100) || audit.CheckpointKey(3) != "checkpoints/audit/00000000000000000003.note" {
		t.Errorf("CheckpointKey does not sort by size: %s, %s", audit.CheckpointKey(12), audit.CheckpointKey(100))
	}
}

// Run is the checkpointer as a job: a checkpoint at once, published; a
// last one when its context ends, covering what was appended meanwhile;
// then it returns nil. Without an interval it refuses to start.
func TestCheckpointerRun(t *testing.T) {
	ctx := context.Background()
	db, ev, _, cpr := newPublishing(t)
	appendOne := func() {
		t.Helper()
		if err := db.Transact(ctx, func(tx models.Tx) error {
			return audit.Chain{Now: cpr.Now}.Append(ctx, tx, &models.AuditEvent{Actor: "system", Action: "test.run"})
		}); err != nil {
			t.Fatal(err)
		}
	}
	published := func(n int64) bool {
		r, _, err := ev.Get(ctx, audit.CheckpointKey(n))
		if err != nil {
			return false
		}
		r.Close()
		return true
	}
	if err := cpr.Run(ctx); err == nil {
		t.Fatal("Run(no interval) = nil, want an error")
	}
	appendOne()
	appendOne()
	var errs []error
	var mu sync.Mutex
	cpr.Interval = time.Hour
	cpr.OnError = func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cpr.Run(runCtx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !published(2) {
		if time.Now().After(deadline) {
			t.Fatal("Run wrote no checkpoint of size 2 at start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	appendOne()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if !published(3) {
		t.Error("no checkpoint of size 3 published when Run stopped, want a last one covering the head")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 0 {
		t.Errorf("OnError got %v, want nothing", errs)
	}
}

// VerifyPublished checks every published note against the log: all fine
// while the log extends them; a note of another history (a fork the
// database no longer shows) or under another key fails it.
func TestVerifyPublished(t *testing.T) {
	ctx := context.Background()
	db, ev, pub, cpr := newPublishing(t)
	key, now := cpr.Key, cpr.Now
	log := slog.New(slog.DiscardHandler)
	step := func(events int, publish bool) {
		t.Helper()
		for range events {
			if err := db.Transact(ctx, func(tx models.Tx) error {
				return audit.Chain{Now: now}.Append(ctx, tx, &models.AuditEvent{Actor: "system", Action: "test.published"})
			}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := cpr.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		if publish {
			if err := cpr.PublishLatest(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, newest, err := audit.VerifyPublished(ctx, db, pub, ev); err != nil || n != 0 || newest != 0 {
		t.Fatalf("VerifyPublished(nothing published) = %d, %d, %v", n, newest, err)
	}
	step(3, true)
	step(2, true)
	step(1, false) // a newer checkpoint not yet published
	if n, newest, err := audit.VerifyPublished(ctx, db, pub, ev); err != nil || n != 2 || newest != 5 {
		t.Fatalf("VerifyPublished = %d, %d, %v; want 2 notes, newest of size 5", n, newest, err)
	}

	putNote := func(size int64, k ed25519.PrivateKey) {
		t.Helper()
		var root tlog.Hash
		root[0] = 0x42 // not this log's root at that size
		note, err := audit.SignCheckpointNote(k, tlog.Tree{N: size, Hash: root})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ev.Put(ctx, audit.CheckpointKey(size), bytes.NewReader(note), int64(len(note)), audit.SHA256Hex(note), "text/plain"); err != nil {
			t.Fatal(err)
		}
	}
	// A note of another history at size 4 (published before the database was rewritten).
	putNote(4, key)
	if _, _, err := audit.VerifyPublished(ctx, db, pub, ev); models.ErrorCodeOf(err) != models.ECONFLICT || !strings.Contains(err.Error(), audit.CheckpointKey(4)) {
		t.Errorf("VerifyPublished with a forked note = %v, want a conflict naming %s", err, audit.CheckpointKey(4))
	}
	// A note under another key.
	ev2, err := localfs.New(localfs.Config{Root: t.TempDir()}, log)
	if err != nil {
		t.Fatal(err)
	}
	ev = ev2
	_, other, _ := ed25519.GenerateKey(nil)
	putNote(2, other)
	if _, _, err := audit.VerifyPublished(ctx, db, pub, ev); models.ErrorCodeOf(err) != models.ECONFLICT {
		t.Errorf("VerifyPublished with a note under another key = %v, want a conflict", err)
	}
}
