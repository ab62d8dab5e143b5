package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"

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
	Problems    []Problem
}

// OK reports whether nothing was found wrong.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify checks, offline, that events (as read, in the order given) form one
// unbroken chain from the zero hash: sequence numbers 1..n without gaps or
// repeats, every prev_hash equal to the previous row's hash, every hash equal
// to the recomputed one. Then each checkpoint must carry a valid signature by
// pub and name a (seq, hash) that is in the chain, and head (the database's
// head row; pass a zero AuditHead to skip) must be the last event.
//
// Verify cannot see rows removed from the end after the newest checkpoint
// together with the head row: callers should keep checkpoints frequent and
// outside the database too (the evidence store).
func Verify(events []*models.AuditEvent, cps []*models.Checkpoint, pub ed25519.PublicKey, head models.AuditHead) Report {
	r := Report{Events: len(events), Checkpoints: len(cps)}
	bad := func(seq int64, format string, args ...any) {
		r.Problems = append(r.Problems, Problem{Seq: seq, What: fmt.Sprintf(format, args...)})
	}
	prev := ZeroHash
	hashAt := make(map[int64]string, len(events))
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
	wantKey := KeyID(pub)
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
	}
	return r
}

// VerifyStore reads the whole chain, its checkpoints and the head row from
// store in one transaction and verifies them with pub.
func VerifyStore(ctx context.Context, store models.Store, pub ed25519.PublicKey) (Report, error) {
	var evs []*models.AuditEvent
	var cps []*models.Checkpoint
	var head models.AuditHead
	err := store.Transact(ctx, func(tx models.Tx) (err error) {
		if head, err = tx.AuditHeadForUpdate(ctx); err != nil {
			return err
		}
		if evs, err = tx.AuditEvents(ctx, models.AuditFilter{}); err != nil {
			return err
		}
		cps, err = tx.Checkpoints(ctx)
		return err
	})
	if err != nil {
		return Report{}, fmt.Errorf("read audit chain: %w", err)
	}
	return Verify(evs, cps, pub, head), nil
}
