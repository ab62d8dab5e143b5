package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"remoteidv/models"
)

// BeginIdempotent stores an in-flight record. A taken key is reported
// without failing the statement (ON CONFLICT DO NOTHING): PostgreSQL aborts
// a transaction at a unique violation, and the caller goes on to read the
// stored answer in the same transaction.
func (t *Tx) BeginIdempotent(ctx context.Context, r *models.IdempotencyRecord) error {
	res, err := t.exec(ctx, `INSERT INTO idempotency_keys (key, request_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		r.Key, r.RequestHash, us(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("begin idempotency key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "idempotency key is taken")
	}
	return nil
}

// IdempotencyByKey returns a stored record.
func (t *Tx) IdempotencyByKey(ctx context.Context, key string) (*models.IdempotencyRecord, error) {
	var r models.IdempotencyRecord
	var created int64
	var completed sql.NullInt64
	err := t.queryRow(ctx, `SELECT key, request_hash, status, response, created_at, completed_at FROM idempotency_keys WHERE key = ?`, key).
		Scan(&r.Key, &r.RequestHash, &r.Status, &r.Response, &created, &completed)
	if err != nil {
		return nil, fmt.Errorf("idempotency key: %w", t.db.translate(err))
	}
	r.CreatedAt, r.CompletedAt = fromUS(created), fromNullUS(completed)
	return &r, nil
}

// CompleteIdempotent stores the answer given.
func (t *Tx) CompleteIdempotent(ctx context.Context, key string, status int, response []byte, at time.Time) error {
	if response == nil {
		response = []byte{}
	}
	r, err := t.exec(ctx, `UPDATE idempotency_keys SET status = ?, response = ?, completed_at = ? WHERE key = ?`, status, response, us(at), key)
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return mustAffect(r, "idempotency key")
}

// DeleteIdempotent forgets a key (an abandoned or expired request).
func (t *Tx) DeleteIdempotent(ctx context.Context, key string) error {
	if _, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE key = ?`, key); err != nil {
		return fmt.Errorf("delete idempotency key: %w", err)
	}
	return nil
}
