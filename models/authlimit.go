package models

import (
	"context"
	"time"
)

// AuthLimit is one counter of what unauthenticated or failing callers
// cost: failed password checks against a login name, from a client
// address or at a staff member's step-up, or security events of one
// source that were not written to the audit chain one by one.
type AuthLimit struct {
	Scope   string // "account", "addr", "stepup", "client:<kind>" or "audit:<action>"
	Subject string // keyed hash of a login name, address, staff ID or source
	// Failures counts attempts reserved before the check in the current
	// run (or events suppressed in the current window).
	Failures    int
	WindowStart time.Time // start of the run or window; zero: none
	LastAt      time.Time // last counted attempt; zero: none
	LockedUntil time.Time // end of a temporary lock; zero: none
	// Unseen and UnseenLockedAt are the failures and the last lock the
	// account's owner has not been told of yet.
	Unseen         int
	UnseenLockedAt time.Time
}

// AuthLimitRepo keeps the counters of auth_limits.
type AuthLimitRepo interface {
	// AuthLimitForUpdate returns the counter (a zero one, created, when
	// there was none) and locks it until the transaction ends, so that
	// concurrent attempts are counted one after the other.
	AuthLimitForUpdate(ctx context.Context, scope, subject string) (*AuthLimit, error)
	// AuthLimit reads a counter without creating or locking it; ENOTFOUND
	// when there is none.
	AuthLimit(ctx context.Context, scope, subject string) (*AuthLimit, error)
	// PutAuthLimit writes a counter read with AuthLimitForUpdate.
	PutAuthLimit(ctx context.Context, l *AuthLimit) error
	// AuthLimitsDue lists, oldest window first and at most limit, the
	// counters whose scope starts with scopePrefix and whose window started
	// before before with failures counted in it.
	AuthLimitsDue(ctx context.Context, scopePrefix string, before time.Time, limit int) ([]*AuthLimit, error)
	// DeleteIdleAuthLimits deletes counters last used before before that
	// hold no lock after it and nothing the owner must still be told.
	DeleteIdleAuthLimits(ctx context.Context, before time.Time) (int64, error)
}
