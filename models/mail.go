package models

import (
	"context"
	"time"
)

// OutboundMail is one message in the mail outbox: composed once (Raw, with
// its Message-ID), sent by a worker that retries until the server accepts
// it. An SMTP outage delays delivery; it never loses the message. Raw holds
// secrets (invite links, codes, statements), so it is kept only while it
// may still be sent: delivery drops it, and so does the expiry of what it
// carries (ExpiresAt); the row keeps RawSHA256, the addresses, the times
// and the server's answer.
type OutboundMail struct {
	ID        string
	CaseID    CaseID // "" for mail outside a case
	Kind      string // invite, code, statement
	To        string
	From      string
	MessageID string
	Raw       []byte // RFC 5322 message; nil once sent or expired
	RawSHA256 string // hex SHA-256 of Raw, kept after Raw is dropped
	CreatedAt time.Time
	// ExpiresAt is when what the message carries stops being usable (the
	// invite link's end, the code's expiry); nil keeps it until delivery.
	ExpiresAt     *time.Time
	Attempts      int
	NextAttemptAt time.Time
	LeaseOwner    string
	LeaseUntil    *time.Time
	SentAt        *time.Time
	// ExpiredAt is set when the message was dropped undelivered because
	// its payload expired.
	ExpiredAt *time.Time
	Reply     string // the server's answer to DATA
	LastError string
}

// MailState is where an outbox message stands.
type MailState string

// Mail states.
const (
	MailQueued  MailState = "queued"  // waiting to be sent (Raw kept)
	MailSent    MailState = "sent"    // accepted by the server (Raw dropped)
	MailExpired MailState = "expired" // payload expired undelivered (Raw dropped)
)

// String returns the state's name.
func (s MailState) String() string { return string(s) }

// State tells whether m is queued, sent or expired.
func (m *OutboundMail) State() MailState {
	switch {
	case m.SentAt != nil:
		return MailSent
	case m.ExpiredAt != nil:
		return MailExpired
	}
	return MailQueued
}

// MailOutboxRepo stores the mail outbox: messages waiting to be sent,
// leased by a worker while it sends them, and what became of them.
// Methods return ENOTFOUND for missing rows and ECONFLICT for uniqueness
// violations or lost leases.
type MailOutboxRepo interface {
	EnqueueMail(ctx context.Context, m *OutboundMail) error
	MailByID(ctx context.Context, id string) (*OutboundMail, error)
	MailByCase(ctx context.Context, id CaseID) ([]*OutboundMail, error)
	// ClaimMail leases up to limit queued, due messages whose payload has
	// not expired and whose lease (if any) has run out.
	ClaimMail(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*OutboundMail, error)
	// MarkMailSent records the server's reply and the SHA-256 of what was
	// sent, and drops the message body; ECONFLICT if owner lost the lease.
	MarkMailSent(ctx context.Context, id, owner, reply, rawSHA256 string, at time.Time) error
	MarkMailFailed(ctx context.Context, id, owner, errMsg string, next time.Time) error
	// ExpireMail drops the body of every queued message whose payload
	// expired by now (and that no worker holds a live lease on), marks it
	// expired and returns those messages (without bodies).
	ExpireMail(ctx context.Context, now time.Time) ([]*OutboundMail, error)
}
