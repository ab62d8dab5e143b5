package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"remoteidv/models"
)

// checkpointMessage is what a checkpoint signature covers.
func checkpointMessage(seq int64, hash string, at time.Time) []byte {
	return fmt.Appendf(nil, "remoteidv audit checkpoint v1\n%d\n%s\n%s\n", seq, hash, at.UTC().Format("2006-01-02T15:04:05.000000Z"))
}

// SignCheckpoint signs the head at time at.
func SignCheckpoint(key ed25519.PrivateKey, head models.AuditHead, at time.Time) *models.Checkpoint {
	at = at.UTC().Truncate(time.Microsecond)
	return &models.Checkpoint{
		Seq: head.Seq, Hash: head.Hash, At: at,
		KeyID:     KeyID(key.Public().(ed25519.PublicKey)),
		Signature: ed25519.Sign(key, checkpointMessage(head.Seq, head.Hash, at)),
	}
}

// VerifyCheckpoint checks cp's signature with pub. It does not check that
// the chain contains cp's head: Verify does.
func VerifyCheckpoint(pub ed25519.PublicKey, cp *models.Checkpoint) bool {
	return ed25519.Verify(pub, checkpointMessage(cp.Seq, cp.Hash, cp.At), cp.Signature)
}

// Checkpointer writes signed checkpoints of the chain head.
type Checkpointer struct {
	Store models.Store
	Key   ed25519.PrivateKey
	Now   func() time.Time
}

// Checkpoint signs and stores the current head unless the newest checkpoint
// already covers it. It returns the checkpoint written, or nil.
func (c Checkpointer) Checkpoint(ctx context.Context) (*models.Checkpoint, error) {
	var out *models.Checkpoint
	err := c.Store.Transact(ctx, func(tx models.Tx) error {
		head, err := tx.AuditHeadForUpdate(ctx)
		if err != nil {
			return err
		}
		if head.Seq == 0 {
			return nil
		}
		cps, err := tx.Checkpoints(ctx)
		if err != nil {
			return err
		}
		if n := len(cps); n > 0 && cps[n-1].Seq == head.Seq {
			return nil
		}
		out = SignCheckpoint(c.Key, head, c.Now())
		return tx.InsertCheckpoint(ctx, out)
	})
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint: %w", err)
	}
	return out, nil
}

// Run writes a checkpoint at once, then every interval until ctx ends, and
// a last one then.
func (c Checkpointer) Run(ctx context.Context, interval time.Duration, onErr func(error)) {
	if _, err := c.Checkpoint(ctx); err != nil {
		onErr(err)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if _, err := c.Checkpoint(final); err != nil {
				onErr(err)
			}
			cancel()
			return
		case <-t.C:
			if _, err := c.Checkpoint(ctx); err != nil {
				onErr(err)
			}
		}
	}
}
