package storagetest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"testing"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/storage/localfs"
)

// testPublished: checkpoints signed and published as the workflow does
// after a seal or decision (CheckpointAndPublish), the proof a bundle
// carries (ProveFrom), and VerifyPublished telling deleted checkpoint
// rows, a rolled-back and a forked database apart, each naming the
// published note it contradicts.
func testPublished(t *testing.T, s models.Store) {
	ctx := context.Background()
	now := func() time.Time { return t0 }
	chain := audit.Chain{Now: now}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := localfs.New(localfs.Config{Root: t.TempDir(), Now: now}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cpr := audit.Checkpointer{Store: s, Key: key, Now: now, Publish: ev}
	verifyPublished := func(what string, wantN int, wantNewest int64, wantProblem string) {
		t.Helper()
		n, newest, err := audit.VerifyPublished(ctx, s, pub, ev)
		if wantProblem == "" {
			if err != nil || n != wantN || newest != wantNewest {
				t.Fatalf("VerifyPublished(%s) = %d, %d, %v; want %d notes, newest %d", what, n, newest, err, wantN, wantNewest)
			}
			return
		}
		if models.ErrorCodeOf(err) != models.ECONFLICT || !strings.Contains(err.Error(), wantProblem) || n != wantN {
			t.Fatalf("VerifyPublished(%s) = %d, %v; want %d notes passing and a conflict naming %q", what, n, err, wantN, wantProblem)
		}
	}

	appendEvents(t, s, chain, 3, 1)
	if err := cpr.CheckpointAndPublish(ctx); err != nil {
		t.Fatalf("CheckpointAndPublish(3) = %v", err)
	}
	appendEvents(t, s, chain, 5, 2)
	if err := cpr.CheckpointAndPublish(ctx); err != nil {
		t.Fatalf("CheckpointAndPublish(8) = %v", err)
	}
	if err := cpr.CheckpointAndPublish(ctx); err != nil {
		t.Fatalf("CheckpointAndPublish(nothing new) = %v", err)
	}
	appendEvents(t, s, chain, 2, 1)
	if _, err := cpr.Checkpoint(ctx); err != nil { // signed, not published
		t.Fatal(err)
	}
	verifyPublished("honest", 2, 8, "")

	// The proof a bundle of a case sealed at 3 carries.
	hs := chainHashes(t, s)
	for _, size := range []int64{3, 10, 11} {
		if size == 11 {
			appendEvents(t, s, chain, 1, 1) // no checkpoint covers it: ProveFrom signs one
			hs = chainHashes(t, s)
		}
		b, cp, err := cpr.ProveFrom(ctx, size)
		if err != nil {
			t.Fatalf("ProveFrom(%d) = %v", size, err)
		}
		old, proof, note, err := audit.ParseConsistency(b)
		if err != nil || old != size || cp == nil || cp.Note != string(note) {
			t.Fatalf("ProveFrom(%d) = old %d, checkpoint %+v, %v; want a proof from %d ending with the checkpoint returned", size, old, cp, err, size)
		}
		signed, err := audit.OpenCheckpointNote(pub, note)
		if err != nil {
			t.Fatal(err)
		}
		older := signed // a tree of the same type, at the old size and root
		older.N = size
		copy(older.Hash[:], mustHex(t, audit.RootOf(hs[:size])))
		if err := audit.CheckConsistency(older, signed, proof); err != nil || signed.N != int64(len(hs)) {
			t.Fatalf("ProveFrom(%d): proof to size %d: %v; want a valid proof to the newest checkpoint (%d)", size, signed.N, err, len(hs))
		}
	}

	// Someone with database access deletes the checkpoint rows of size 8
	// and up, whose note of size 8 was published.
	var gone []*models.Checkpoint
	tx(t, s, func(tx models.Tx) error {
		cps, err := tx.Checkpoints(ctx)
		for _, cp := range cps {
			if cp.Seq >= 8 {
				gone = append(gone, cp)
			}
		}
		return err
	})
	sqlDB := sqlOf(t, s)
	if _, err := sqlDB.ExecContext(ctx, `DELETE FROM audit_checkpoints WHERE seq >= 8`); err != nil {
		t.Fatal(err)
	}
	if rep, err := audit.VerifyStore(ctx, s, pub); err != nil || !rep.OK() {
		t.Fatalf("VerifyStore(checkpoint rows deleted) = %v, %v; want the database to look fine on its own", rep.Problems, err)
	}
	verifyPublished("checkpoint rows deleted", 1, 3, audit.CheckpointKey(8)+": the database has no checkpoint of size 8 though it was published (checkpoint rows deleted)")
	tx(t, s, func(tx models.Tx) error {
		for _, cp := range gone {
			if err := tx.InsertCheckpoint(ctx, cp); err != nil {
				return err
			}
		}
		return nil
	})
	verifyPublished("checkpoint rows put back", 2, 8, "")

	// The database is rolled back to 5 events, its log rebuilt and its
	// checkpoints re-signed: consistent on its own.
	for _, q := range []string{
		`DELETE FROM audit_events WHERE seq > 5`,
		`UPDATE audit_head SET seq = 5, hash = (SELECT hash FROM audit_events WHERE seq = 5) WHERE id = 1`,
		`DELETE FROM audit_tree_hashes`,
		`DELETE FROM audit_checkpoints`,
	} {
		if _, err := sqlDB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := audit.SyncStore(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := cpr.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if rep, err := audit.VerifyStore(ctx, s, pub); err != nil || !rep.OK() {
		t.Fatalf("VerifyStore(rolled back) = %v, %v; want the database to look fine on its own", rep.Problems, err)
	}
	verifyPublished("rolled back", 0, 0, audit.CheckpointKey(8)+": the log has 5 leaves, fewer than the 8 this checkpoint signed (database rolled back)")
	// And forked: other events in place of the ones removed.
	appendEvents(t, s, chain, 4, 1)
	if err := cpr.CheckpointAndPublish(ctx); err != nil {
		t.Fatalf("CheckpointAndPublish(forked, size 9) = %v", err)
	}
	verifyPublished("forked", 1, 9, audit.CheckpointKey(8)+": the log's root at size 8 differs from the one published (history rewritten: a forked log)")
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
