package storagetest

import (
	"context"
	"testing"
	"time"

	"remoteidv/models"
)

// testIdempotency covers IdempotencyRepo: a key is taken once, its answer
// is read back (in the same transaction as the refused begin) and it can
// be forgotten.
func testIdempotency(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	at := t0.Add(time.Hour)

	rec := &models.IdempotencyRecord{Key: "k1", RequestHash: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", CreatedAt: t0}
	tx(t, s, func(tx models.Tx) error { return tx.BeginIdempotent(ctx, rec) })
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.BeginIdempotent(ctx, rec) })
	wantCode(t, "BeginIdempotent twice", err, models.ECONFLICT)
	tx(t, s, func(tx models.Tx) error { return tx.CompleteIdempotent(ctx, "k1", 200, []byte(`{"ok":true}`), at) })
	tx(t, s, func(tx models.Tx) error {
		// A replay finds the key taken and reads it in the same transaction.
		wantCode(t, "BeginIdempotent(taken key)", tx.BeginIdempotent(ctx, rec), models.ECONFLICT)
		got, err := tx.IdempotencyByKey(ctx, "k1")
		if err != nil {
			return err
		}
		if got.Status != 200 || string(got.Response) != `{"ok":true}` || got.CompletedAt == nil {
			t.Errorf("IdempotencyByKey = %+v, want the completed answer", got)
		}
		if err := tx.DeleteIdempotent(ctx, "k1"); err != nil {
			return err
		}
		_, err = tx.IdempotencyByKey(ctx, "k1")
		wantCode(t, "IdempotencyByKey after delete", err, models.ENOTFOUND)
		return nil
	})
}
