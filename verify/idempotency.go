package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"remoteidv/models"
)

// Idempotency limits.
const (
	idempotencyTTL   = 24 * time.Hour  // a key is remembered this long
	idempotencyStale = 2 * time.Minute // an in-flight key older than this was abandoned

	// Storing an answer is tried again from idempotencyRetryMin, doubling
	// up to idempotencyRetryMax, for idempotencyRetryFor in all.
	idempotencyRetryMin = 100 * time.Millisecond
	idempotencyRetryMax = 2 * time.Second
	idempotencyRetryFor = 30 * time.Second
)

// IdempotentResult is the answer a decision request gave.
type IdempotentResult struct {
	Status int
	Body   []byte
	Replay bool // the stored answer of an earlier request with the key
}

// Idempotent runs fn once per key: the same key with the same request
// gives the stored answer again; with a different request EUNPROCESSABLE;
// while the first request still runs ECONFLICT. Answers with a status of
// 500 or more are not kept, so a retry runs again. Keys expire after 24
// hours. key should already name the caller and the endpoint.
func (s *Service) Idempotent(ctx context.Context, key string, request []byte, fn func() (int, []byte)) (*IdempotentResult, error) {
	if l := len(key); l == 0 || l > 400 {
		return nil, models.Errorf(models.EINVALID, "an Idempotency-Key header of 1 to 255 characters is required")
	}
	sum := sha256.Sum256(request)
	hash := hex.EncodeToString(sum[:])
	var replay *IdempotentResult
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		now := s.now().UTC()
		err := tx.BeginIdempotent(ctx, &models.IdempotencyRecord{Key: key, RequestHash: hash, CreatedAt: now})
		if models.ErrorCodeOf(err) != models.ECONFLICT {
			return err
		}
		rec, err := tx.IdempotencyByKey(ctx, key)
		if err != nil {
			return err
		}
		expired := now.Sub(rec.CreatedAt) > idempotencyTTL
		abandoned := rec.Status == 0 && now.Sub(rec.CreatedAt) > idempotencyStale
		switch {
		case expired || abandoned:
			if err := tx.DeleteIdempotent(ctx, key); err != nil {
				return err
			}
			return tx.BeginIdempotent(ctx, &models.IdempotencyRecord{Key: key, RequestHash: hash, CreatedAt: now})
		case rec.RequestHash != hash:
			return models.Errorf(models.EUNPROCESSABLE, "this Idempotency-Key was used with a different request")
		case rec.Status == 0:
			return models.Errorf(models.ECONFLICT, "a request with this Idempotency-Key is still being processed")
		}
		replay = &IdempotentResult{Status: rec.Status, Body: rec.Response, Replay: true}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("idempotency key: %w", err)
	}
	if replay != nil {
		return replay, nil
	}
	status, body := fn()
	// The answer is stored even when the caller has gone away, and tried
	// again for a while when the database is away (a restart, a failover:
	// the very outage that made fn fail): a key left in flight would
	// answer "still being processed" to every retry for idempotencyStale.
	ctx = context.WithoutCancel(ctx)
	store := func() error {
		return s.store.Transact(ctx, func(tx models.Tx) error {
			if status >= 500 {
				return tx.DeleteIdempotent(ctx, key)
			}
			return tx.CompleteIdempotent(ctx, key, status, body, s.now().UTC())
		})
	}
	wait := idempotencyRetryMin
	for give := time.Now().Add(idempotencyRetryFor); ; wait = min(2*wait, idempotencyRetryMax) {
		err := store()
		if err == nil {
			break
		}
		if time.Now().Add(wait).After(give) {
			s.log.ErrorContext(ctx, "store idempotent answer", "err", err)
			break
		}
		s.log.WarnContext(ctx, "store idempotent answer, trying again", "err", err, "in", wait)
		time.Sleep(wait)
	}
	return &IdempotentResult{Status: status, Body: body}, nil
}
