package models

import (
	"context"
	"time"
)

// IdempotencyRecord remembers a decision request by its Idempotency-Key:
// the hash of its body and, once done, the answer given.
type IdempotencyRecord struct {
	Key         string // scoped by the caller, e.g. actor + route + header value
	RequestHash string
	Status      int // 0 while in flight
	Response    []byte
	CreatedAt   time.Time
	CompletedAt *time.Time
}

// IdempotencyRepo stores the Idempotency-Key records of decision requests.
// Methods return ENOTFOUND for missing rows and ECONFLICT for uniqueness
// violations.
type IdempotencyRepo interface {
	// BeginIdempotent stores an in-flight record; ECONFLICT when the key
	// exists (read it with IdempotencyByKey).
	BeginIdempotent(ctx context.Context, r *IdempotencyRecord) error
	IdempotencyByKey(ctx context.Context, key string) (*IdempotencyRecord, error)
	CompleteIdempotent(ctx context.Context, key string, status int, response []byte, at time.Time) error
	DeleteIdempotent(ctx context.Context, key string) error
}
