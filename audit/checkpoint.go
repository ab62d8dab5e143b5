package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"remoteidv/models"
)

// checkpointMessage is what a checkpoint signature covers.
func checkpointMessage(seq int64, hash string, at time.Time) []byte {
	return fmt.Appendf(nil, "remoteidv audit checkpoint v1\n%d\n%s\n%s\n", seq, hash, at.UTC().Format("2006-01-02T15:04:05.000000Z"))
}

// SignCheckpoint signs the head at time at, together with root, the hex
// root hash of the Merkle log of the chain's first head.Seq events: once
// over (seq, head hash, time) as before the log existed, and once as a
// C2SP checkpoint note (SignCheckpointNote) of (head.Seq, root).
func SignCheckpoint(key ed25519.PrivateKey, head models.AuditHead, root string, at time.Time) (*models.Checkpoint, error) {
	r, err := hex.DecodeString(root)
	if err != nil || len(r) != tlog.HashSize {
		return nil, fmt.Errorf("sign checkpoint %d: root %q is not a hex SHA-256 hash", head.Seq, root)
	}
	n, err := SignCheckpointNote(key, tlog.Tree{N: head.Seq, Hash: tlog.Hash(r)})
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint %d: %w", head.Seq, err)
	}
	at = at.UTC().Truncate(time.Microsecond)
	return &models.Checkpoint{
		Seq: head.Seq, Hash: head.Hash, At: at,
		KeyID:     KeyID(key.Public().(ed25519.PublicKey)),
		Signature: ed25519.Sign(key, checkpointMessage(head.Seq, head.Hash, at)),
		Root:      root, Note: string(n),
	}, nil
}

// VerifyCheckpoint checks cp's signature over (seq, hash, time) with pub.
// It checks neither the note (OpenCheckpointNote) nor that the chain
// contains cp's head: Verify does both.
func VerifyCheckpoint(pub ed25519.PublicKey, cp *models.Checkpoint) bool {
	return ed25519.Verify(pub, checkpointMessage(cp.Seq, cp.Hash, cp.At), cp.Signature)
}

// Checkpointer writes signed checkpoints of the chain head and the Merkle
// log's root.
type Checkpointer struct {
	Store models.Store
	Key   ed25519.PrivateKey
	Now   func() time.Time
	// Publish, when set, receives a copy of each newest checkpoint note
	// (Run calls PublishLatest): a write-once store outside the database,
	// which refuses a second, different note of the same size.
	Publish models.EvidenceStore
	// Interval is how often Run writes a checkpoint.
	Interval time.Duration
	// OnError receives Run's failures to write or publish a checkpoint
	// (nil: they are dropped); Run goes on and tries again.
	OnError func(error)
}

// PublishedFolder is where PublishLatest puts checkpoint notes.
const PublishedFolder = "checkpoints/audit/"

// CheckpointKey is where PublishLatest puts the note of a log of size n;
// the size is zero-padded so that keys sort by size.
func CheckpointKey(n int64) string {
	return fmt.Sprintf("%s%020d.note", PublishedFolder, n)
}

// PublishLatest puts the newest checkpoint note into c.Publish, under
// CheckpointKey. Putting the same note again is harmless, so a failed
// publication is made good by the next call; a different note already
// published for that size is an ECONFLICT (a forked log).
func (c Checkpointer) PublishLatest(ctx context.Context) error {
	if c.Publish == nil {
		return nil
	}
	var cps []*models.Checkpoint
	if err := c.Store.Transact(ctx, func(tx models.Tx) (err error) { cps, err = tx.Checkpoints(ctx); return }); err != nil {
		return fmt.Errorf("publish checkpoint: %w", err)
	}
	cp := LatestCheckpoint(cps)
	if cp == nil {
		return nil
	}
	key, note := CheckpointKey(cp.Seq), []byte(cp.Note)
	if _, err := c.Publish.Put(ctx, key, bytes.NewReader(note), int64(len(note)), SHA256Hex(note), "text/plain; charset=utf-8"); err != nil {
		if models.ErrorCodeOf(err) == models.ECONFLICT {
			return fmt.Errorf("publish checkpoint %d: %w", cp.Seq, models.Errorf(models.ECONFLICT, "%s already holds another checkpoint of size %d (forked log); run idv audit verify", key, cp.Seq))
		}
		return fmt.Errorf("publish checkpoint %d: %w", cp.Seq, err)
	}
	return nil
}

// Checkpoint signs and stores the current head unless the newest checkpoint
// already covers it. It returns the checkpoint written, or nil. It first
// brings the log up to the head (SyncTree) and refuses (ECONFLICT) to sign
// a head behind the newest checkpoint or a log that does not extend the
// newest signed root.
func (c Checkpointer) Checkpoint(ctx context.Context) (*models.Checkpoint, error) {
	var out *models.Checkpoint
	err := c.Store.Transact(ctx, func(tx models.Tx) error {
		head, err := tx.AuditHeadForUpdate(ctx)
		if err != nil {
			return err
		}
		if _, err := SyncTree(ctx, tx, head); err != nil {
			return err
		}
		if head.Seq == 0 {
			return nil
		}
		cps, err := tx.Checkpoints(ctx)
		if err != nil {
			return err
		}
		if n := len(cps); n > 0 {
			switch newest := cps[n-1].Seq; {
			case newest == head.Seq:
				return nil
			case newest > head.Seq:
				return models.Errorf(models.ECONFLICT, "the chain head %d is behind the newest checkpoint %d (rolled back); run idv audit verify", head.Seq, newest)
			}
		}
		if last := LatestCheckpoint(cps); last != nil {
			r, err := TreeRoot(ctx, tx, last.Seq)
			if err != nil {
				return err
			}
			if hex.EncodeToString(r[:]) != last.Root {
				return models.Errorf(models.ECONFLICT, "the stored merkle log at size %d no longer has the signed root %s; run idv audit verify", last.Seq, last.Root)
			}
		}
		root, err := TreeRoot(ctx, tx, head.Seq)
		if err != nil {
			return err
		}
		if out, err = SignCheckpoint(c.Key, head, hex.EncodeToString(root[:]), c.Now()); err != nil {
			return err
		}
		return tx.InsertCheckpoint(ctx, out)
	})
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint: %w", err)
	}
	return out, nil
}

// LatestCheckpoint returns the last of cps (in their order, oldest first)
// that carries a note, or nil.
func LatestCheckpoint(cps []*models.Checkpoint) *models.Checkpoint {
	for i := len(cps) - 1; i >= 0; i-- {
		if cps[i].Note != "" {
			return cps[i]
		}
	}
	return nil
}

// Prove returns a C2SP tlog-proof (FormatProof) that the event seq is in
// the log: its inclusion proof against the newest checkpoint note, which
// ends the proof. When no checkpoint covers seq yet, it writes one first.
func (c Checkpointer) Prove(ctx context.Context, seq int64) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		var out []byte
		err := c.Store.Transact(ctx, func(tx models.Tx) error {
			cps, err := tx.Checkpoints(ctx)
			if err != nil {
				return err
			}
			cp := LatestCheckpoint(cps)
			if cp == nil || cp.Seq < seq {
				return nil
			}
			p, err := ProveInclusion(ctx, tx, cp.Seq, seq)
			if err != nil {
				return err
			}
			out = FormatProof(seq-1, p, []byte(cp.Note))
			return nil
		})
		switch {
		case err != nil:
			return nil, fmt.Errorf("prove audit seq %d: %w", seq, err)
		case out != nil:
			return out, nil
		case attempt > 0:
			return nil, models.Errorf(models.ECONFLICT, "prove audit seq %d: no signed checkpoint covers it", seq)
		}
		if _, err := c.Checkpoint(ctx); err != nil {
			return nil, fmt.Errorf("prove audit seq %d: %w", seq, err)
		}
	}
}

// ProveFrom returns the proof (FormatConsistency) that the log of the
// newest signed checkpoint extends the log of the first size events, and
// that checkpoint. When no checkpoint covers size yet, it writes one
// first. A bundle carries it: with the bundled leaves 1..size, it binds
// every one of them to a note signed with the service key.
func (c Checkpointer) ProveFrom(ctx context.Context, size int64) ([]byte, *models.Checkpoint, error) {
	for attempt := 0; ; attempt++ {
		var out []byte
		var cp *models.Checkpoint
		err := c.Store.Transact(ctx, func(tx models.Tx) error {
			cps, err := tx.Checkpoints(ctx)
			if err != nil {
				return err
			}
			latest := LatestCheckpoint(cps)
			if latest == nil || latest.Seq < size {
				return nil
			}
			var p tlog.TreeProof
			if size < latest.Seq {
				if p, err = ProveConsistency(ctx, tx, size, latest.Seq); err != nil {
					return err
				}
			}
			out, cp = FormatConsistency(size, p, []byte(latest.Note)), latest
			return nil
		})
		switch {
		case err != nil:
			return nil, nil, fmt.Errorf("prove the log extends size %d: %w", size, err)
		case out != nil:
			return out, cp, nil
		case attempt > 0:
			return nil, nil, models.Errorf(models.ECONFLICT, "prove the log extends size %d: no signed checkpoint covers it", size)
		}
		if _, err := c.Checkpoint(ctx); err != nil {
			return nil, nil, fmt.Errorf("prove the log extends size %d: %w", size, err)
		}
	}
}

// CheckpointAndPublish signs a checkpoint of the current head unless one
// covers it (Checkpoint) and publishes the newest note (PublishLatest),
// trying both; the errors are joined. The workflow calls it after every
// seal and decision, so a rewrite of the database can go unsigned and
// unpublished for one such event at most, not for a whole interval of Run.
func (c Checkpointer) CheckpointAndPublish(ctx context.Context) error {
	_, err := c.Checkpoint(ctx)
	return errors.Join(err, c.PublishLatest(ctx))
}

// Run writes (and publishes, see PublishLatest) a checkpoint at once,
// then every Interval until ctx ends, and a last one then; it returns nil.
// A failed checkpoint goes to OnError and is tried again at the next
// interval; only an Interval that is not positive is an error.
func (c Checkpointer) Run(ctx context.Context) error {
	if c.Interval <= 0 {
		return fmt.Errorf("audit checkpointer: interval %v must be above 0", c.Interval)
	}
	once := func(ctx context.Context) {
		if _, err := c.Checkpoint(ctx); err != nil && c.OnError != nil {
			c.OnError(err)
		}
		if err := c.PublishLatest(ctx); err != nil && c.OnError != nil {
			c.OnError(err)
		}
	}
	once(ctx)
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			once(final)
			cancel()
			return nil
		case <-t.C:
			once(ctx)
		}
	}
}

// maxNote caps a published checkpoint note read back.
const maxNote = 64 << 10

// VerifyPublished checks every checkpoint note published to the
// write-once store against the log in store: each must be signed with pub
// and stored under its size; the stored log must still have that many
// leaves (else the database was rolled back) with that root at that size
// (else its history was rewritten: a fork); and the database must still
// hold that very checkpoint (else checkpoint rows were deleted or
// re-signed). A database rewritten after a note was published fails here
// even when its own checkpoints were rewritten to match. It returns how
// many notes passed and the largest size among them; ECONFLICT names
// each note that did not.
//
// It compares with the stored log: VerifyStore checks that the stored log
// is the one recomputed from the events, and callers run both (as `idv
// audit verify` and GET /api/audit/verify do).
func VerifyPublished(ctx context.Context, store models.Store, pub ed25519.PublicKey, published models.EvidenceStore) (n int, newest int64, err error) {
	keys, err := published.List(ctx, PublishedFolder)
	if err != nil {
		return 0, 0, fmt.Errorf("published checkpoints: %w", err)
	}
	notes := make([][]byte, len(keys))
	for i, key := range keys {
		r, _, err := published.Get(ctx, key)
		if err != nil {
			return 0, 0, fmt.Errorf("published checkpoint %s: %w", key, err)
		}
		notes[i], err = io.ReadAll(io.LimitReader(r, maxNote))
		r.Close()
		if err != nil {
			return 0, 0, fmt.Errorf("published checkpoint %s: %w", key, err)
		}
	}
	var bad []error
	err = store.Transact(ctx, func(tx models.Tx) error {
		size, err := StoredTreeSize(ctx, tx)
		if err != nil {
			return err
		}
		cps, err := tx.Checkpoints(ctx)
		if err != nil {
			return err
		}
		rows := make(map[int64]*models.Checkpoint, len(cps))
		for _, cp := range cps {
			rows[cp.Seq] = cp
		}
		for i, key := range keys {
			t, problem, err := checkPublished(ctx, tx, pub, key, notes[i], size, rows)
			if err != nil {
				return err
			}
			if problem != "" {
				bad = append(bad, fmt.Errorf("published checkpoint %s: %s", key, problem))
				continue
			}
			n++
			newest = max(newest, t.N)
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("published checkpoints: %w", err)
	}
	if len(bad) > 0 {
		return n, newest, models.Errorf(models.ECONFLICT, "%d of %d published checkpoints do not match the log: %v", len(bad), len(keys), errors.Join(bad...))
	}
	return n, newest, nil
}

// checkPublished judges one published note; problem is "" when it holds.
func checkPublished(ctx context.Context, tx models.Tx, pub ed25519.PublicKey, key string, note []byte, size int64, rows map[int64]*models.Checkpoint) (tlog.Tree, string, error) {
	t, err := OpenCheckpointNote(pub, note)
	switch {
	case err != nil:
		return t, problemText(err), nil
	case key != CheckpointKey(t.N):
		return t, fmt.Sprintf("holds the checkpoint of size %d, which belongs under %s", t.N, CheckpointKey(t.N)), nil
	case t.N > size:
		return t, fmt.Sprintf("the log has %d leaves, fewer than the %d this checkpoint signed (database rolled back)", size, t.N), nil
	}
	root, err := TreeRoot(ctx, tx, t.N)
	if err != nil {
		return t, "", err
	}
	row := rows[t.N]
	switch {
	case root != t.Hash:
		return t, fmt.Sprintf("the log's root at size %d differs from the one published (history rewritten: a forked log)", t.N), nil
	case row == nil:
		return t, fmt.Sprintf("the database has no checkpoint of size %d though it was published (checkpoint rows deleted)", t.N), nil
	case row.Note != string(note):
		return t, fmt.Sprintf("the database's checkpoint of size %d is not the note published (checkpoint rows rewritten)", t.N), nil
	}
	return t, "", nil
}
