package models

import (
	"context"
	"time"
)

// WebAuthnKey is a staff member's security key or passkey (a WebAuthn
// credential). Credential is the verified credential as the access
// package's WebAuthn library keeps it (public key, sign count, flags),
// opaque to everyone else.
type WebAuthnKey struct {
	ID         string // the credential ID, unpadded base64url
	StaffID    StaffID
	Name       string // the owner's name for it ("blue key")
	Credential []byte
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// WebAuthn ceremony purposes (WebAuthnChallenge.Purpose).
const (
	KeyRegister = "register" // adding a key
	KeySignIn   = "signin"   // the second factor after the password
	KeyDecision = "decision" // a supervisor's decision, bound to case and decision
)

// WebAuthnChallenge is a WebAuthn ceremony under way: the challenge sent
// to the browser (only its SHA-256 is the key), for whom, in which
// session, for what (Purpose, and for a decision the Binding it covers),
// the library's ceremony state and when it expires. It is taken (read and
// deleted) once.
type WebAuthnChallenge struct {
	Hash        string // hex SHA-256 of the raw challenge
	StaffID     StaffID
	SessionHash string
	Purpose     string
	Binding     string
	Ceremony    []byte
	ExpiresAt   time.Time
}

// WebAuthnRepo stores security keys and their ceremonies.
type WebAuthnRepo interface {
	// CreateWebAuthnKey stores a key (ECONFLICT for a credential ID
	// already stored, for anyone).
	CreateWebAuthnKey(ctx context.Context, k *WebAuthnKey) error
	// WebAuthnKeys lists a member's keys, oldest first.
	WebAuthnKeys(ctx context.Context, id StaffID) ([]*WebAuthnKey, error)
	// UpdateWebAuthnKeyUse records a use: the credential as it is now
	// (its sign count) and when (ENOTFOUND).
	UpdateWebAuthnKeyUse(ctx context.Context, keyID string, credential []byte, at time.Time) error
	// DeleteWebAuthnKey removes one key of the member (ENOTFOUND when
	// the member has no key of that ID).
	DeleteWebAuthnKey(ctx context.Context, id StaffID, keyID string) error
	// DeleteWebAuthnKeys removes every key of the member and returns how
	// many there were.
	DeleteWebAuthnKeys(ctx context.Context, id StaffID) (int, error)

	// CreateWebAuthnChallenge stores a ceremony and deletes the expired
	// ones (ECONFLICT for a hash already stored).
	CreateWebAuthnChallenge(ctx context.Context, c *WebAuthnChallenge) error
	// TakeWebAuthnChallenge returns the ceremony of that hash and deletes
	// it, so it is used once (ENOTFOUND: unknown or already taken).
	TakeWebAuthnChallenge(ctx context.Context, hash string) (*WebAuthnChallenge, error)

	// SetSessionKey records that a key was presented in the session.
	SetSessionKey(ctx context.Context, idHash string, at time.Time) error
}

// WebAuthnEnrolment is a one-time code an admin issued for a member's
// first security key: only its SHA-256 (Hash) is stored; it is used once
// (UsedAt) before ExpiresAt.
type WebAuthnEnrolment struct {
	Hash      string // hex SHA-256 of the code
	StaffID   StaffID
	IssuedBy  string // the issuer as an audit actor (staff:..., system:cli)
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// WebAuthnEnrolmentRepo stores enrolment codes.
type WebAuthnEnrolmentRepo interface {
	// CreateWebAuthnEnrolment stores a code for e.StaffID and deletes the
	// member's codes not yet used (one live code per member).
	CreateWebAuthnEnrolment(ctx context.Context, e *WebAuthnEnrolment) error
	// WebAuthnEnrolment returns the code of that hash (ENOTFOUND when none).
	WebAuthnEnrolment(ctx context.Context, hash string) (*WebAuthnEnrolment, error)
	// UseWebAuthnEnrolment marks the code of that hash used at at, once:
	// ECONFLICT when it was used already (two takers at once: one wins).
	UseWebAuthnEnrolment(ctx context.Context, hash string, at time.Time) error
}
