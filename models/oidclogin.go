package models

import (
	"context"
	"time"
)

// OIDCLogin is a sign-in sent to the bank's identity provider and not yet
// back: what the callback needs to finish it. The browser holds the state
// in a cookie; the store holds its hash, so the two must meet.
type OIDCLogin struct {
	StateHash string // hex SHA-256 of the state
	Nonce     string // goes into the ID token; checked on return
	Verifier  string // PKCE code verifier; only its S256 challenge left this service
	// SessionHash is the session a step-up is for; "" for a sign-in.
	SessionHash string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// OIDCLoginRepo keeps sign-ins under way at the identity provider.
type OIDCLoginRepo interface {
	// CreateOIDCLogin stores l and deletes every sign-in expired by its
	// CreatedAt.
	CreateOIDCLogin(ctx context.Context, l *OIDCLogin) error
	// TakeOIDCLogin deletes and returns the sign-in of stateHash, so a
	// state works once: ENOTFOUND when there is none, or it expired by now.
	TakeOIDCLogin(ctx context.Context, stateHash string, now time.Time) (*OIDCLogin, error)
}
