package audit_test

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/storage/localfs"
	"remoteidv/storage/sqlite"
)

// The newest checkpoint note is copied to the write-once evidence store,
// which keeps it even if the database is rewritten, and refuses another
// note of the same size.
func TestPublishLatest(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "idv.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ev, err := localfs.New(localfs.Config{Root: t.TempDir()}, log)
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	now := func() time.Time { return time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC) }
	cpr := audit.Checkpointer{Store: db, Key: key, Now: now, Publish: ev}
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
	if _, err := db.SQL().ExecContext(ctx, `UPDATE audit_events SET hash = 'f' || substr(hash, 2) WHERE seq = 3`); err != nil {
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
