package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"remoteidv/models"
)

// Problem is one thing wrong with a chain.
type Problem struct {
	Seq  int64 // the row or checkpoint sequence it concerns
	What string
}

func (p Problem) String() string { return fmt.Sprintf("seq %d: %s", p.Seq, p.What) }

// Report is the result of Verify.
type Report struct {
	Events      int
	Checkpoints int
	Head        models.AuditHead
	// TreeSize and Root are the Merkle log recomputed from the events'
	// hashes (Root in hex).
	TreeSize int64
	Root     string
	// Latest is the newest checkpoint with a valid note, nil when none.
	Latest   *models.Checkpoint `json:",omitempty"`
	Problems []Problem
}

// OK reports whether nothing was found wrong.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify checks, offline, that events (as read, in the order given) form one
// unbroken chain from the zero hash: sequence numbers 1..n without gaps or
// repeats, every prev_hash equal to the previous row's hash, every hash equal
// to the recomputed one. It recomputes the Merkle log from the events'
// hashes. Then each checkpoint (in the order given, oldest first) must carry
// a valid signature by pub and name a (seq, hash) that is in the chain; a
// checkpoint with a note must have a note signed by pub whose size and root
// are the row's and equal the recomputed log's at that size; and each note
// must be consistent (CheckConsistency, with a proof from the recomputed
// log) with the note before it: an older or alternate (forked) checkpoint
// listed as newer is refused. Finally head (the database's head row; pass a
// zero AuditHead to skip) must be the last event.
//
// Verify cannot see rows removed from the end after the newest checkpoint
// together with the head row: callers should keep checkpoints frequent and
// outside the database too (the evidence store, an auditor's copy of the
// latest note, checked with VerifyNewer).
func Verify(events []*models.AuditEvent, cps []*models.Checkpoint, pub ed25519.PublicKey, head models.AuditHead) Report {
	r, _ := verify(events, cps, pub, head)
	return r
}

func verify(events []*models.AuditEvent, cps []*models.Checkpoint, pub ed25519.PublicKey, head models.AuditHead) (Report, *memTree) {
	r := Report{Events: len(events), Checkpoints: len(cps)}
	bad := func(seq int64, format string, args ...any) {
		r.Problems = append(r.Problems, Problem{Seq: seq, What: fmt.Sprintf(format, args...)})
	}
	prev := ZeroHash
	hashAt := make(map[int64]string, len(events))
	leaves := make([]string, 0, len(events))
	for i, e := range events {
		want := int64(i + 1)
		if e.Seq != want {
			bad(e.Seq, "out of sequence: row %d of the chain has seq %d (missing, inserted or reordered rows)", want, e.Seq)
		}
		if e.PrevHash != prev {
			bad(e.Seq, "prev_hash does not match the hash of the row before it")
		}
		if got := Hash(e.PrevHash, e); got != e.Hash {
			bad(e.Seq, "content does not match its hash (row edited)")
		}
		hashAt[e.Seq] = e.Hash
		leaves = append(leaves, e.Hash)
		prev = e.Hash
	}
	var last models.AuditHead
	if n := len(events); n > 0 {
		last = models.AuditHead{Seq: events[n-1].Seq, Hash: events[n-1].Hash}
	} else {
		last = models.AuditHead{Hash: ZeroHash}
	}
	r.Head = last
	if head.Hash != "" && head != last {
		bad(head.Seq, "head row says seq %d, the chain ends at %d (rows removed or head edited)", head.Seq, last.Seq)
	}
	tree := newMemTree(leaves)
	root := tree.root(tree.n)
	r.TreeSize, r.Root = tree.n, hex.EncodeToString(root[:])
	wantKey := KeyID(pub)
	var prevNote *tlog.Tree
	var prevSeq int64
	for _, cp := range cps {
		if cp.KeyID != wantKey {
			bad(cp.Seq, "checkpoint signed by key %s, expected %s", cp.KeyID, wantKey)
			continue
		}
		if !VerifyCheckpoint(pub, cp) {
			bad(cp.Seq, "checkpoint signature invalid")
			continue
		}
		h, ok := hashAt[cp.Seq]
		switch {
		case !ok:
			bad(cp.Seq, "checkpoint names seq %d, which is not in the chain (rows removed)", cp.Seq)
		case h != cp.Hash:
			bad(cp.Seq, "checkpoint hash differs from the chain's hash at seq %d (history rewritten)", cp.Seq)
		}
		if cp.Note == "" {
			// Written before the Merkle log existed, unless something
			// says the log did exist: a root on the row, or an earlier
			// checkpoint with a note. The row's own signature does not
			// cover the note, so a removed note must be caught here.
			switch {
			case cp.Root != "":
				bad(cp.Seq, "checkpoint has a Merkle root but no signed note (note removed)")
			case prevNote != nil:
				bad(cp.Seq, "checkpoint has no signed note though the one of seq %d has (note removed)", prevSeq)
			}
			continue
		}
		t, ok := checkNote(cp, pub, tree, bad)
		if !ok {
			continue
		}
		if prevNote != nil {
			if err := checkSuccessor(*prevNote, t, tree); err != nil {
				bad(cp.Seq, "checkpoint after the one of seq %d: %s", prevSeq, problemText(err))
				continue
			}
		}
		prevNote, prevSeq, r.Latest = &t, cp.Seq, cp
	}
	return r, tree
}

// checkNote checks cp's note against the row and the recomputed log.
func checkNote(cp *models.Checkpoint, pub ed25519.PublicKey, tree *memTree, bad func(int64, string, ...any)) (tlog.Tree, bool) {
	t, err := OpenCheckpointNote(pub, []byte(cp.Note))
	if err != nil {
		bad(cp.Seq, "%s", problemText(err))
		return t, false
	}
	if t.N != cp.Seq || hex.EncodeToString(t.Hash[:]) != cp.Root {
		bad(cp.Seq, "checkpoint note says size %d root %x, the row says %d %s", t.N, t.Hash[:], cp.Seq, cp.Root)
		return t, false
	}
	if t.N > tree.n {
		bad(cp.Seq, "checkpoint covers %d leaves, the log has %d (rolled back: rows removed)", t.N, tree.n)
		return t, false
	}
	if tree.root(t.N) != t.Hash {
		bad(cp.Seq, "checkpoint root differs from the root recomputed from the events at size %d (history rewritten or forked)", t.N)
		return t, false
	}
	return t, true
}

// checkSuccessor checks that next extends prev, with a consistency proof
// made from the recomputed log.
func checkSuccessor(prev, next tlog.Tree, tree *memTree) error {
	var proof tlog.TreeProof
	if prev.N >= 1 && prev.N < next.N && next.N <= tree.n {
		p, err := tlog.ProveTree(next.N, prev.N, tree)
		if err != nil {
			return fmt.Errorf("prove size %d extends %d: %w", next.N, prev.N, err)
		}
		proof = p
	}
	return CheckConsistency(prev, next, proof)
}

// VerifyNewer checks, offline, what an auditor who kept an earlier
// checkpoint note (older) is now served: newer must be a note signed by
// pub, and proof must show that it extends older. It refuses a bad
// signature, a smaller (rolled-back) or alternate (forked) log, and a
// tampered proof, and returns the newer tree.
func VerifyNewer(pub ed25519.PublicKey, older, newer []byte, proof tlog.TreeProof) (tlog.Tree, error) {
	o, err := OpenCheckpointNote(pub, older)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("older checkpoint: %w", err)
	}
	n, err := OpenCheckpointNote(pub, newer)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("newer checkpoint: %w", err)
	}
	if err := CheckConsistency(o, n, proof); err != nil {
		return tlog.Tree{}, err
	}
	return n, nil
}

// VerifyStore reads the whole chain, its checkpoints, the head row and the
// stored Merkle log from store in one transaction and verifies them with
// pub: Verify, and every stored tree hash must equal the one recomputed
// from the events.
func VerifyStore(ctx context.Context, store models.Store, pub ed25519.PublicKey) (Report, error) {
	var evs []*models.AuditEvent
	var cps []*models.Checkpoint
	var head models.AuditHead
	var stored [][]byte
	var treeErr error
	err := store.Transact(ctx, func(tx models.Tx) (err error) {
		if head, err = tx.AuditHeadForUpdate(ctx); err != nil {
			return err
		}
		if evs, err = tx.AuditEvents(ctx, models.AuditFilter{}); err != nil {
			return err
		}
		if cps, err = tx.Checkpoints(ctx); err != nil {
			return err
		}
		// A damaged log is a finding, not a failure to read.
		var n int64
		if n, treeErr = tx.TreeHashCount(ctx); treeErr == nil {
			idx := make([]int64, n)
			for i := range idx {
				idx[i] = int64(i)
			}
			stored, treeErr = tx.TreeHashes(ctx, idx)
		}
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("read audit chain: %w", err)
	}
	r, tree := verify(evs, cps, pub, head)
	bad := func(format string, args ...any) {
		r.Problems = append(r.Problems, Problem{Seq: head.Seq, What: fmt.Sprintf(format, args...)})
	}
	if treeErr != nil {
		bad("stored merkle log unreadable: %s", problemText(treeErr))
		return r, nil
	}
	if size, ok := treeSize(int64(len(stored))); !ok || size != tree.n {
		bad("stored merkle log has %d hashes, the chain's log needs %d (leaves missing or added)", len(stored), len(tree.hashes))
	}
	for i := range min(len(stored), len(tree.hashes)) {
		if string(stored[i]) != string(tree.hashes[i][:]) {
			lvl, n := tlog.SplitStoredHashIndex(int64(i))
			bad("stored merkle log hash %d (level %d, node %d) differs from the one recomputed from the events (tree hashes edited)", i, lvl, n)
			break
		}
	}
	return r, nil
}

// problemText is err's domain message, or its text when it has none.
func problemText(err error) string {
	var me *models.Error
	if errors.As(err, &me) {
		return me.Message
	}
	return err.Error()
}

// VerifyKept checks that the store's newest checkpoint extends kept, a
// checkpoint note an auditor saved earlier (from GET
// /api/audit/checkpoints/latest, or a bundle): a consistency proof is made
// from the stored log and checked with VerifyNewer against both signed
// roots. It returns the newest tree, or ECONFLICT for a log that was
// rolled back or forked since kept.
func VerifyKept(ctx context.Context, store models.Store, pub ed25519.PublicKey, kept []byte) (tlog.Tree, error) {
	old, err := OpenCheckpointNote(pub, kept)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("kept checkpoint: %w", err)
	}
	var latest *models.Checkpoint
	var proof tlog.TreeProof
	err = store.Transact(ctx, func(tx models.Tx) error {
		cps, err := tx.Checkpoints(ctx)
		if err != nil {
			return err
		}
		if latest = LatestCheckpoint(cps); latest == nil {
			return models.Errorf(models.ECONFLICT, "the log has no signed checkpoint, the kept one is of size %d (rolled back)", old.N)
		}
		if old.N < 1 || old.N >= latest.Seq {
			return nil // nothing to prove: CheckConsistency judges equal or smaller sizes
		}
		proof, err = ProveConsistency(ctx, tx, old.N, latest.Seq)
		return err
	})
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("check kept checkpoint of size %d: %w", old.N, err)
	}
	t, err := VerifyNewer(pub, kept, []byte(latest.Note), proof)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("check kept checkpoint of size %d: %w", old.N, err)
	}
	return t, nil
}
