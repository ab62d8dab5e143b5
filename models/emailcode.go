package models

import (
	"context"
	"time"
)

// EmailCode is a customer's one-time code. Only a keyed hash of the code is
// stored; Failures counts wrong guesses against it.
type EmailCode struct {
	ID        string
	CaseID    CaseID
	InviteID  InviteID
	CodeHash  string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	Failures  int
}

// EmailCodeRepo stores the customers' one-time email codes (their hashes)
// and the wrong guesses against them. Methods return ENOTFOUND for missing
// rows and ECONFLICT for uniqueness violations or lost races.
type EmailCodeRepo interface {
	CreateEmailCode(ctx context.Context, c *EmailCode) error
	// EmailCodesByInvite lists an invite's codes, newest first.
	EmailCodesByInvite(ctx context.Context, id InviteID) ([]*EmailCode, error)
	// AddEmailCodeFailure counts one wrong guess.
	AddEmailCodeFailure(ctx context.Context, id string) error
	// UseEmailCode marks the code used if it is still unused; ECONFLICT
	// otherwise.
	UseEmailCode(ctx context.Context, id string, at time.Time) error
	// EmailCodeVerified reports whether any code of the case was used.
	EmailCodeVerified(ctx context.Context, id CaseID) (bool, error)
}
