package storagetest

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/audit"
	"remoteidv/models"
)

func testTreeHashes(t *testing.T, s models.Store) {
	ctx := context.Background()
	hash := func(i int) []byte { h := sha256.Sum256(fmt.Append(nil, i)); return h[:] }
	var want [][]byte
	for i := range 1200 { // more than one IN batch
		want = append(want, hash(i))
	}
	tx(t, s, func(tx models.Tx) error { return tx.AddTreeHashes(ctx, 0, want[:2]) })
	tx(t, s, func(tx models.Tx) error { return tx.AddTreeHashes(ctx, 2, want[2:]) })
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.AddTreeHashes(ctx, 5, want[:1]) })
	wantCode(t, "AddTreeHashes(not at the end)", err, models.ECONFLICT)
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.AddTreeHashes(ctx, 1200, [][]byte{[]byte("short")}) })
	if err == nil {
		t.Fatalf("AddTreeHashes(5-byte hash) = nil, want the schema to refuse it")
	}
	var n int64
	var got [][]byte
	idx := make([]int64, len(want))
	for i := range idx {
		idx[i] = int64(len(idx) - 1 - i) // reversed: the order asked is the order returned
	}
	tx(t, s, func(tx models.Tx) (err error) {
		if n, err = tx.TreeHashCount(ctx); err != nil {
			return err
		}
		got, err = tx.TreeHashes(ctx, idx)
		return err
	})
	if n != int64(len(want)) {
		t.Fatalf("TreeHashCount = %d, want %d", n, len(want))
	}
	for i, x := range idx {
		if string(got[i]) != string(want[x]) {
			t.Fatalf("TreeHashes()[%d] (index %d) = %x, want %x", i, x, got[i], want[x])
		}
	}
	err = s.Transact(ctx, func(tx models.Tx) error { _, err := tx.TreeHashes(ctx, []int64{3, 1200}); return err })
	wantCode(t, "TreeHashes(missing index)", err, models.ENOTFOUND)
}

func appendEvents(t testing.TB, s models.Store, chain audit.Chain, n int, perTx int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i += perTx {
		tx(t, s, func(tx models.Tx) error {
			for j := i; j < min(i+perTx, n); j++ {
				if err := chain.Append(ctx, tx, &models.AuditEvent{Actor: "system", Action: "test.merkle", Detail: map[string]string{"i": fmt.Sprint(j)}}); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

func chainHashes(t testing.TB, s models.Store) []string {
	t.Helper()
	var evs []*models.AuditEvent
	tx(t, s, func(tx models.Tx) (err error) {
		evs, err = tx.AuditEvents(context.Background(), models.AuditFilter{})
		return
	})
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Hash
	}
	return out
}

func storedRoot(t testing.TB, s models.Store, n int64) string {
	t.Helper()
	var r string
	tx(t, s, func(tx models.Tx) error {
		h, err := audit.TreeRoot(context.Background(), tx, n)
		r = fmt.Sprintf("%x", h[:])
		return err
	})
	return r
}

// sqlOf reaches under the Store interface, to play an attacker with
// database access or a database from before the Merkle log.
func sqlOf(t testing.TB, s models.Store) *sql.DB {
	t.Helper()
	h, ok := s.(interface{ SQL() *sql.DB })
	if !ok {
		t.Fatalf("%T has no SQL() handle", s)
	}
	return h.SQL()
}

func testMerkleLog(t *testing.T, s models.Store) {
	ctx := context.Background()
	now := t0
	clock := func() time.Time { now = now.Add(time.Second); return now }
	chain := audit.Chain{Now: clock}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	cpr := audit.Checkpointer{Store: s, Key: priv, Now: clock}
	appendEvents(t, s, chain, 9, 1)
	appendEvents(t, s, chain, 11, 4) // several events in one transaction
	hs := chainHashes(t, s)
	if len(hs) != 20 {
		t.Fatalf("chain has %d events, want 20", len(hs))
	}
	for _, n := range []int{1, 2, 7, 8, 13, 20} {
		if got, want := storedRoot(t, s, int64(n)), audit.RootOf(hs[:n]); got != want {
			t.Errorf("stored root at %d = %s, want %s (recomputed from the chain)", n, got, want)
		}
	}
	// A transaction that fails takes its leaf with it.
	boom := errors.New("boom")
	err = s.Transact(ctx, func(tx models.Tx) error {
		if err := chain.Append(ctx, tx, &models.AuditEvent{Actor: "system", Action: "test.rolled_back"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Transact = %v, want boom", err)
	}
	var size int64
	tx(t, s, func(tx models.Tx) (err error) { size, err = audit.StoredTreeSize(ctx, tx); return })
	if size != 20 {
		t.Fatalf("StoredTreeSize after a rolled-back append = %d, want 20", size)
	}

	cp, err := cpr.Checkpoint(ctx)
	if err != nil || cp == nil || cp.Seq != 20 || cp.Root != audit.RootOf(hs) || cp.Note == "" {
		t.Fatalf("Checkpoint() = %+v, %v; want size 20 with the log's root and a note", cp, err)
	}
	if again, err := cpr.Checkpoint(ctx); again != nil || err != nil {
		t.Fatalf("Checkpoint(nothing new) = %+v, %v; want nil, nil", again, err)
	}
	rep, err := audit.VerifyStore(ctx, s, pub)
	if err != nil || !rep.OK() || rep.TreeSize != 20 || rep.Latest == nil || rep.Latest.Seq != 20 {
		t.Fatalf("VerifyStore = %+v, %v; want OK, size 20, latest checkpoint 20", rep, err)
	}

	// Inclusion and consistency proofs from the stored log.
	tree, err := audit.OpenCheckpointNote(pub, []byte(cp.Note))
	if err != nil {
		t.Fatalf("OpenCheckpointNote: %v", err)
	}
	for _, seq := range []int64{1, 8, 13, 20} {
		tx(t, s, func(tx models.Tx) error {
			p, err := audit.ProveInclusion(ctx, tx, 20, seq)
			if err != nil {
				return err
			}
			if err := audit.CheckInclusion(tree, seq-1, hs[seq-1], p); err != nil {
				t.Errorf("CheckInclusion(seq %d, stored proof) = %v", seq, err)
			}
			return nil
		})
	}
	err = s.Transact(ctx, func(tx models.Tx) error { _, err := audit.ProveInclusion(ctx, tx, 20, 21); return err })
	wantCode(t, "ProveInclusion(seq past the size)", err, models.EINVALID)

	// Prove writes the checkpoint a new event needs.
	appendEvents(t, s, chain, 3, 1)
	b, err := cpr.Prove(ctx, 22)
	if err != nil {
		t.Fatalf("Prove(22): %v", err)
	}
	index, p, note, err := audit.ParseProof(b)
	if err != nil {
		t.Fatalf("ParseProof: %v", err)
	}
	newer, err := audit.OpenCheckpointNote(pub, note)
	if err != nil || newer.N != 23 || index != 21 {
		t.Fatalf("Prove(22) = index %d, checkpoint %+v, %v; want index 21 against a new checkpoint of 23", index, newer, err)
	}
	hs = chainHashes(t, s)
	if err := audit.CheckInclusion(newer, index, hs[21], p); err != nil {
		t.Fatalf("CheckInclusion(Prove(22)) = %v", err)
	}
	tx(t, s, func(tx models.Tx) error {
		p, err := audit.ProveConsistency(ctx, tx, 20, 23)
		if err != nil {
			return err
		}
		if _, err := audit.VerifyNewer(pub, []byte(cp.Note), note, p); err != nil {
			t.Errorf("VerifyNewer(checkpoint 20 -> 23, stored proof) = %v", err)
		}
		return nil
	})

	// A head moved back behind the newest checkpoint is not signed over.
	sqlDB := sqlOf(t, s)
	if _, err := sqlDB.ExecContext(ctx, rebindFor(s, `UPDATE audit_head SET seq = 21, hash = ? WHERE id = 1`), hs[20]); err != nil {
		t.Fatalf("move head back: %v", err)
	}
	_, err = cpr.Checkpoint(ctx)
	wantCode(t, "Checkpoint(head behind the newest checkpoint)", err, models.ECONFLICT)
	if _, err := sqlDB.ExecContext(ctx, rebindFor(s, `UPDATE audit_head SET seq = 23, hash = ? WHERE id = 1`), hs[22]); err != nil {
		t.Fatalf("restore head: %v", err)
	}

	// Someone with database access edits a stored tree hash.
	if _, err := sqlOf(t, s).ExecContext(ctx, rebindFor(s, `UPDATE audit_tree_hashes SET hash = ? WHERE idx = 0`), make([]byte, 32)); err != nil {
		t.Fatalf("edit tree hash: %v", err)
	}
	rep, err = audit.VerifyStore(ctx, s, pub)
	if err != nil || rep.OK() || !strings.Contains(fmt.Sprint(rep.Problems), "tree hashes edited") {
		t.Fatalf("VerifyStore(edited tree hash) = %v, %v; want a problem naming the edited tree", rep.Problems, err)
	}
	if _, err := sqlOf(t, s).ExecContext(ctx, rebindFor(s, `UPDATE audit_tree_hashes SET hash = ?`), make([]byte, 32)); err != nil {
		t.Fatalf("edit tree hashes: %v", err)
	}
	appendEvents(t, s, chain, 1, 1)
	_, err = cpr.Checkpoint(ctx)
	wantCode(t, "Checkpoint(log no longer extends the signed root)", err, models.ECONFLICT)
}

// rebindFor writes "?" placeholders as the store's driver wants them.
func rebindFor(s models.Store, q string) string {
	if d, ok := s.(interface{ Dialect() string }); ok && d.Dialect() == "postgres" {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	return q
}

// testMerkleBackfill plays a database from before the Merkle log (events,
// no tree hashes: what migration 009 leaves) and checks that both the
// start-up backfill and the first append build exactly the log that
// appending with the log in place built.
func testMerkleBackfill(t *testing.T, s models.Store) {
	ctx := context.Background()
	chain := audit.Chain{Now: func() time.Time { return t0 }}
	const n = 1100 // more than one backfill page
	appendEvents(t, s, chain, n, n)
	stored := func() [][]byte {
		var out [][]byte
		tx(t, s, func(tx models.Tx) error {
			c, err := tx.TreeHashCount(ctx)
			if err != nil {
				return err
			}
			idx := make([]int64, c)
			for i := range idx {
				idx[i] = int64(i)
			}
			out, err = tx.TreeHashes(ctx, idx)
			return err
		})
		return out
	}
	fresh := stored()
	hs := chainHashes(t, s)
	forget := func() {
		t.Helper()
		if _, err := sqlOf(t, s).ExecContext(ctx, `DELETE FROM audit_tree_hashes`); err != nil {
			t.Fatalf("forget the log: %v", err)
		}
	}

	forget()
	var size int64
	tx(t, s, func(tx models.Tx) error {
		head, err := tx.AuditHeadForUpdate(ctx)
		if err != nil {
			return err
		}
		size, err = audit.SyncTree(ctx, tx, head)
		return err
	})
	if size != n {
		t.Fatalf("SyncTree = %d, want %d", size, n)
	}
	if diff := cmp.Diff(fresh, stored()); diff != "" {
		t.Fatalf("backfilled tree hashes differ from the ones built event by event (-fresh +backfilled):\n%s", diff)
	}
	if got := storedRoot(t, s, n); got != audit.RootOf(hs) {
		t.Fatalf("backfilled root = %s, want %s", got, audit.RootOf(hs))
	}

	// Without the start-up step, the first append backfills too.
	forget()
	appendEvents(t, s, chain, 1, 1)
	hs = chainHashes(t, s)
	if got := storedRoot(t, s, n+1); got != audit.RootOf(hs) {
		t.Fatalf("root after an append to an old database = %s, want %s", got, audit.RootOf(hs))
	}
}

// Migrator is a store that can apply a chosen set of migrations, as the
// SQL stores can.
type Migrator interface {
	models.Store
	Migrate(ctx context.Context, fsys fs.FS) (int, error)
	SQL() *sql.DB
	Dialect() string
}

// RunLegacyLog migrates db (empty, unmigrated) only up to before the
// Merkle log (migration 009), writes a chain and a checkpoint the way the
// service did then, applies the rest of migrations, and checks that the
// start-up backfill gives the log built fresh and that verification and
// new checkpoints work on top of the old one.
func RunLegacyLog(t *testing.T, db Migrator, migrations fs.FS) {
	ctx := context.Background()
	migrateBefore(t, db, migrations, "009")
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 25
	head := models.AuditHead{Hash: audit.ZeroHash}
	var hashes []string
	for i := range n {
		e := &models.AuditEvent{Seq: head.Seq + 1, At: t0.Add(time.Duration(i) * time.Second), Actor: "system", Action: "test.legacy",
			Detail: map[string]string{"i": fmt.Sprint(i)}, PrevHash: head.Hash}
		e.Hash = audit.Hash(head.Hash, e)
		if _, err := db.SQL().ExecContext(ctx, rebindFor(db, `INSERT INTO audit_events (seq, at, actor, action, case_id, detail, prev_hash, hash) VALUES (?, ?, ?, ?, '', ?, ?, ?)`),
			e.Seq, e.At.UnixMicro(), e.Actor, e.Action, fmt.Sprintf(`{"i":"%d"}`, i), e.PrevHash, e.Hash); err != nil {
			t.Fatalf("insert legacy event: %v", err)
		}
		head = models.AuditHead{Seq: e.Seq, Hash: e.Hash}
		hashes = append(hashes, e.Hash)
	}
	if _, err := db.SQL().ExecContext(ctx, rebindFor(db, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`), head.Seq, head.Hash); err != nil {
		t.Fatal(err)
	}
	// The old checkpoint: signature over (seq, hash, time), no root, no note.
	cp, err := audit.SignCheckpoint(priv, head, audit.RootOf(hashes), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, rebindFor(db, `INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES (?, ?, ?, ?, ?)`),
		cp.Seq, cp.Hash, cp.At.UnixMicro(), cp.KeyID, cp.Signature); err != nil {
		t.Fatalf("insert legacy checkpoint: %v", err)
	}

	if n, err := db.Migrate(ctx, migrations); err != nil || n == 0 {
		t.Fatalf("Migrate(all) = %d, %v; want 009 applied", n, err)
	}
	if added, err := audit.SyncStore(ctx, db); err != nil || added != n {
		t.Fatalf("SyncStore = %d, %v; want %d leaves backfilled", added, err, n)
	}
	if added, err := audit.SyncStore(ctx, db); err != nil || added != 0 {
		t.Fatalf("SyncStore(again) = %d, %v; want 0", added, err)
	}
	if got := storedRoot(t, db, n); got != audit.RootOf(hashes) {
		t.Fatalf("backfilled root = %s, want %s", got, audit.RootOf(hashes))
	}
	// VerifyStore compares every stored hash with the log recomputed
	// from the events, i.e. with the log built fresh.
	rep, err := audit.VerifyStore(ctx, db, pub)
	if err != nil || !rep.OK() || rep.Latest != nil || rep.TreeSize != n {
		t.Fatalf("VerifyStore(backfilled) = %+v, %v; want OK, size %d, no noted checkpoint yet", rep, err, n)
	}
	cpr := audit.Checkpointer{Store: db, Key: priv, Now: func() time.Time { return t0.Add(2 * time.Hour) }}
	if got, err := cpr.Checkpoint(ctx); got != nil || err != nil {
		t.Fatalf("Checkpoint(head already checkpointed before the log) = %+v, %v; want nil, nil", got, err)
	}
	appendEvents(t, db, audit.Chain{Now: func() time.Time { return t0.Add(3 * time.Hour) }}, 1, 1)
	if got, err := cpr.Checkpoint(ctx); err != nil || got == nil || got.Seq != n+1 {
		t.Fatalf("Checkpoint(after an append) = %+v, %v; want one of size %d", got, err, n+1)
	}
	rep, err = audit.VerifyStore(ctx, db, pub)
	if err != nil || !rep.OK() || rep.Checkpoints != 2 || rep.Latest == nil || rep.Latest.Seq != n+1 {
		t.Fatalf("VerifyStore(old and new checkpoints) = %+v, %v; want OK with 2 checkpoints, latest %d", rep, err, n+1)
	}
}
