package audit

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"remoteidv/models"
)

// The Merkle log: every event's chain hash is also a leaf of an RFC 6962
// tree (leaf index seq-1, leaf hash SHA-256(0x00 || the 32 hash bytes)).
// The tree math is golang.org/x/mod/sumdb/tlog's; the store keeps tlog's
// "stored hashes", written in the same transaction as the event.

// LeafData returns the bytes of a leaf: the 32 raw bytes of a chain hash.
// A malformed hash (a tampered row) is taken as its text, so it still
// yields a (wrong) leaf rather than an error, as in Hash.
func LeafData(chainHash string) []byte {
	if b, err := hex.DecodeString(chainHash); err == nil && len(b) == tlog.HashSize {
		return b
	}
	return []byte(chainHash)
}

// storeHashes reads the log's stored hashes from tx. tlog's reader has no
// context: the closure carries the transaction's.
func storeHashes(ctx context.Context, tx models.AuditRepo) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		bs, err := tx.TreeHashes(ctx, indexes)
		if err != nil {
			return nil, err
		}
		return toHashes(bs)
	})
}

func toHashes(bs [][]byte) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(bs))
	for i, b := range bs {
		if len(b) != tlog.HashSize {
			return nil, models.Errorf(models.ECONFLICT, "stored tree hash has %d bytes, want %d", len(b), tlog.HashSize)
		}
		out[i] = tlog.Hash(b)
	}
	return out, nil
}

func fromHashes(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// treeSize returns the number of leaves whose stored hashes number count,
// or false when count is not such a number (a partial batch).
func treeSize(count int64) (int64, bool) {
	lo, hi := int64(0), count // StoredHashCount(n) >= n
	for lo < hi {
		mid := lo + (hi-lo)/2
		if tlog.StoredHashCount(mid) < count {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, tlog.StoredHashCount(lo) == count
}

// StoredTreeSize returns how many leaves the stored log has.
func StoredTreeSize(ctx context.Context, tx models.AuditRepo) (int64, error) {
	count, err := tx.TreeHashCount(ctx)
	if err != nil {
		return 0, fmt.Errorf("merkle log size: %w", err)
	}
	n, ok := treeSize(count)
	if !ok {
		return 0, models.Errorf(models.ECONFLICT, "merkle log: %d stored hashes is not a whole number of leaves", count)
	}
	return n, nil
}

// syncPage is how many events the backfill reads at a time.
const syncPage = 1000

// SyncTree adds to the log every event of the chain it does not hold yet
// (events appended before the log existed), up to the head, and returns
// the log's size. The caller's transaction must hold the head
// (AuditHeadForUpdate). The result depends only on the events' hashes, so
// a backfilled log equals one built event by event. It returns ECONFLICT
// when the chain has a gap, which `idv audit verify` then explains.
func SyncTree(ctx context.Context, tx models.AuditRepo, head models.AuditHead) (int64, error) {
	n, err := StoredTreeSize(ctx, tx)
	if err != nil {
		return 0, err
	}
	if n >= head.Seq {
		return n, nil
	}
	for n < head.Seq {
		evs, err := tx.AuditEvents(ctx, models.AuditFilter{AfterSeq: n, Limit: syncPage})
		if err != nil {
			return n, fmt.Errorf("merkle log backfill: %w", err)
		}
		if len(evs) == 0 {
			return n, models.Errorf(models.ECONFLICT, "merkle log backfill: the chain ends at %d, its head says %d", n, head.Seq)
		}
		// Hashes computed in this page are read back from memory.
		base := tlog.StoredHashCount(n)
		var pending []tlog.Hash
		db := storeHashes(ctx, tx)
		r := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(indexes))
			var miss []int64
			for _, x := range indexes {
				if x < base {
					miss = append(miss, x)
				}
			}
			fromDB, err := db.ReadHashes(miss)
			if err != nil {
				return nil, err
			}
			for i, x := range indexes {
				if x < base {
					out[i], fromDB = fromDB[0], fromDB[1:]
				} else if x-base < int64(len(pending)) {
					out[i] = pending[x-base]
				} else {
					return nil, fmt.Errorf("merkle log backfill: hash %d not yet computed", x)
				}
			}
			return out, nil
		})
		for _, e := range evs {
			if e.Seq != n+1 {
				return n, models.Errorf(models.ECONFLICT, "merkle log backfill: the chain jumps from seq %d to %d; run idv audit verify", n, e.Seq)
			}
			hs, err := tlog.StoredHashes(n, LeafData(e.Hash), r)
			if err != nil {
				return n, fmt.Errorf("merkle log backfill at seq %d: %w", e.Seq, err)
			}
			pending = append(pending, hs...)
			n++
		}
		if err := tx.AddTreeHashes(ctx, base, fromHashes(pending)); err != nil {
			return n, fmt.Errorf("merkle log backfill: %w", err)
		}
	}
	return n, nil
}

// appendLeaf adds the event e (just inserted as the new head) to the log.
func appendLeaf(ctx context.Context, tx models.AuditRepo, e *models.AuditEvent) error {
	hs, err := tlog.StoredHashes(e.Seq-1, LeafData(e.Hash), storeHashes(ctx, tx))
	if err != nil {
		return fmt.Errorf("merkle log leaf %d: %w", e.Seq-1, err)
	}
	if err := tx.AddTreeHashes(ctx, tlog.StoredHashIndex(0, e.Seq-1), fromHashes(hs)); err != nil {
		return fmt.Errorf("merkle log leaf %d: %w", e.Seq-1, err)
	}
	return nil
}

// TreeRoot returns the stored log's root hash at size n (at most the
// stored size).
func TreeRoot(ctx context.Context, tx models.AuditRepo, n int64) (tlog.Hash, error) {
	h, err := tlog.TreeHash(n, storeHashes(ctx, tx))
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("merkle root at %d: %w", n, err)
	}
	return h, nil
}

// ProveInclusion returns the proof that leaf seq-1 is in the stored log of
// size size.
func ProveInclusion(ctx context.Context, tx models.AuditRepo, size, seq int64) (tlog.RecordProof, error) {
	if seq < 1 || seq > size {
		return nil, models.Errorf(models.EINVALID, "inclusion of seq %d in a log of size %d: out of range", seq, size)
	}
	p, err := tlog.ProveRecord(size, seq-1, storeHashes(ctx, tx))
	if err != nil {
		return nil, fmt.Errorf("prove seq %d in size %d: %w", seq, size, err)
	}
	return p, nil
}

// ProveConsistency returns the proof that the stored log of size newSize
// extends the one of size oldSize.
func ProveConsistency(ctx context.Context, tx models.AuditRepo, oldSize, newSize int64) (tlog.TreeProof, error) {
	if oldSize < 1 || oldSize > newSize {
		return nil, models.Errorf(models.EINVALID, "consistency of size %d with size %d: out of range", oldSize, newSize)
	}
	p, err := tlog.ProveTree(newSize, oldSize, storeHashes(ctx, tx))
	if err != nil {
		return nil, fmt.Errorf("prove size %d extends %d: %w", newSize, oldSize, err)
	}
	return p, nil
}

// memTree is a log held in memory, for verifiers that recompute the tree
// from the leaves instead of trusting stored hashes.
type memTree struct {
	n      int64
	hashes []tlog.Hash
}

// newMemTree builds the log of the given chain hashes, in order.
func newMemTree(chainHashes []string) *memTree {
	t := &memTree{}
	for _, h := range chainHashes {
		hs, err := tlog.StoredHashes(t.n, LeafData(h), t)
		if err != nil {
			// The reader serves every index below StoredHashCount(n).
			panic(fmt.Sprintf("merkle log in memory: %v", err))
		}
		t.hashes = append(t.hashes, hs...)
		t.n++
	}
	return t
}

var errOutOfTree = errors.New("hash index beyond the tree")

func (t *memTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(t.hashes)) {
			return nil, errOutOfTree
		}
		out[i] = t.hashes[x]
	}
	return out, nil
}

// root returns the root at size n <= t.n.
func (t *memTree) root(n int64) tlog.Hash {
	h, err := tlog.TreeHash(n, t)
	if err != nil {
		panic(fmt.Sprintf("merkle root in memory at %d of %d: %v", n, t.n, err))
	}
	return h
}

// RootOf returns the hex root hash of the log whose leaves are the given
// chain hashes, computed in memory.
func RootOf(chainHashes []string) string {
	t := newMemTree(chainHashes)
	h := t.root(t.n)
	return hex.EncodeToString(h[:])
}

// CheckInclusion checks, offline, that proof shows the chain hash
// chainHash as leaf number index (seq-1) of the tree (size, root). It
// refuses an index outside the tree. It does not check that the tree is
// signed: the caller gets it from OpenCheckpointNote.
func CheckInclusion(tree tlog.Tree, index int64, chainHash string, proof tlog.RecordProof) error {
	if index < 0 || index >= tree.N {
		return models.Errorf(models.ECONFLICT, "inclusion proof: leaf %d is outside a tree of size %d", index, tree.N)
	}
	if err := tlog.CheckRecord(proof, tree.N, tree.Hash, index, tlog.RecordHash(LeafData(chainHash))); err != nil {
		return models.Errorf(models.ECONFLICT, "inclusion proof of leaf %d in tree size %d does not verify: %v", index, tree.N, err)
	}
	return nil
}

// CheckConsistency checks, offline, that proof shows the tree newer
// extends the tree older: same leaves, more of them or as many. It refuses
// a newer tree that is smaller (a rolled-back log) and two trees of one
// size with different roots (a fork). It does not check signatures.
func CheckConsistency(older, newer tlog.Tree, proof tlog.TreeProof) error {
	switch {
	case newer.N < older.N:
		return models.Errorf(models.ECONFLICT, "log rolled back: size %d offered after size %d", newer.N, older.N)
	case newer.N == older.N:
		if newer.Hash != older.Hash {
			return models.Errorf(models.ECONFLICT, "log forked: two roots at size %d", newer.N)
		}
		if len(proof) != 0 {
			return models.Errorf(models.ECONFLICT, "consistency proof between equal trees must be empty")
		}
		return nil
	case older.N == 0:
		return nil // the empty tree is a prefix of every tree
	}
	if err := tlog.CheckTree(proof, newer.N, newer.Hash, older.N, older.Hash); err != nil {
		return models.Errorf(models.ECONFLICT, "log forked: size %d does not extend size %d: %v", newer.N, older.N, err)
	}
	return nil
}

// InclusionProof returns, computed in memory from the chain hashes of the
// first size events, the proof that event seq is in that log.
func InclusionProof(chainHashes []string, size, seq int64) (tlog.RecordProof, error) {
	if size > int64(len(chainHashes)) || seq < 1 || seq > size {
		return nil, models.Errorf(models.EINVALID, "inclusion of seq %d in a log of size %d (of %d): out of range", seq, size, len(chainHashes))
	}
	p, err := tlog.ProveRecord(size, seq-1, newMemTree(chainHashes[:size]))
	if err != nil {
		return nil, fmt.Errorf("prove seq %d in size %d: %w", seq, size, err)
	}
	return p, nil
}

// ConsistencyProof returns, computed in memory from the chain hashes, the
// proof that the log of size newSize extends the one of size oldSize.
func ConsistencyProof(chainHashes []string, oldSize, newSize int64) (tlog.TreeProof, error) {
	if newSize > int64(len(chainHashes)) || oldSize < 1 || oldSize > newSize {
		return nil, models.Errorf(models.EINVALID, "consistency of size %d with size %d (of %d): out of range", oldSize, newSize, len(chainHashes))
	}
	p, err := tlog.ProveTree(newSize, oldSize, newMemTree(chainHashes[:newSize]))
	if err != nil {
		return nil, fmt.Errorf("prove size %d extends %d: %w", newSize, oldSize, err)
	}
	return p, nil
}

// SyncStore runs SyncTree in a transaction of its own: the start-up step
// that backfills the log of a database from before it. It returns how many
// leaves it added.
func SyncStore(ctx context.Context, store models.Store) (int64, error) {
	var before, after int64
	err := store.Transact(ctx, func(tx models.Tx) error {
		head, err := tx.AuditHeadForUpdate(ctx)
		if err != nil {
			return err
		}
		if before, err = StoredTreeSize(ctx, tx); err != nil {
			return err
		}
		after, err = SyncTree(ctx, tx, head)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sync audit merkle log: %w", err)
	}
	return after - before, nil
}
