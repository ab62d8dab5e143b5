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
	// EnvelopeID is the delivery status notification envelope id (RFC
	// 3461 ENVID) the message is sent with: random, unlike the
	// Message-ID the recipient sees, so a report naming it came through
	// the mail system. "" for mail queued before DSN support.
	EnvelopeID string
	// DSN says whether the server was asked for delivery status
	// notifications (DSNRequested) or did not offer them (DSNNotOffered);
	// "" until sent.
	DSN string
	// RcptReply is the server's answer to the recipient (RCPT TO).
	RcptReply string
	// Delivery is the latest delivery status reported back for the
	// recipient ("" while none came).
	Delivery MailDelivery
}

// DSN request states of a sent message.
const (
	DSNRequested  = "requested"   // NOTIFY=SUCCESS,FAILURE asked for
	DSNNotOffered = "not_offered" // the server did not offer DSN
)

// DeliveryAction is a recipient's Action in a delivery status
// notification (RFC 3464 section 2.3.3).
type DeliveryAction string

// Delivery actions.
const (
	DeliveryDelivered DeliveryAction = "delivered" // in the recipient's mailbox
	DeliveryFailed    DeliveryAction = "failed"    // will not be delivered
	DeliveryDelayed   DeliveryAction = "delayed"   // not yet delivered, still tried
	DeliveryRelayed   DeliveryAction = "relayed"   // passed to a system that sends no reports
	DeliveryExpanded  DeliveryAction = "expanded"  // delivered and forwarded on
)

// String returns the action's name.
func (a DeliveryAction) String() string { return string(a) }

// Final reports whether no later report can change what a is about: the
// message reached the mailbox (or a system beyond reports), or failed.
func (a DeliveryAction) Final() bool { return a != "" && a != DeliveryDelayed }

// MailDelivery is what a delivery report said about the recipient.
type MailDelivery struct {
	Action     DeliveryAction
	Status     string // RFC 3463 status, e.g. 5.1.1
	Diagnostic string // the Diagnostic-Code, e.g. "smtp; 550 5.1.1 no such user"
	RemoteMTA  string
	ReportedAt *time.Time // when idv received the report
}

// MailEnvelope is what a message is sent with.
type MailEnvelope struct {
	From string
	To   []string
	// EnvelopeID asks the server for delivery status notifications
	// (ENVID) where it offers them; "" sends without.
	EnvelopeID string
}

// MailReceipt is what the mail server answered to one message.
type MailReceipt struct {
	DSN   string   // DSNRequested or DSNNotOffered
	Rcpt  []string // the answer to each recipient, in order
	Reply string   // the answer to the message data
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
	// MarkMailSent records the server's answers (r) and the SHA-256 of
	// what was sent, and drops the message body; ECONFLICT if owner lost
	// the lease.
	MarkMailSent(ctx context.Context, id, owner string, r MailReceipt, rawSHA256 string, at time.Time) error
	// MailByEnvelopeID and MailByMessageID find a message by what a
	// delivery report names; ENOTFOUND when none has it.
	MailByEnvelopeID(ctx context.Context, envID string) (*OutboundMail, error)
	MailByMessageID(ctx context.Context, messageID string) (*OutboundMail, error)
	// SetMailDelivery records the latest delivery report for a sent
	// message; ENOTFOUND if it is not a sent message.
	SetMailDelivery(ctx context.Context, id string, d MailDelivery) error
	MarkMailFailed(ctx context.Context, id, owner, errMsg string, next time.Time) error
	// ExpireMail drops the body of every queued message whose payload
	// expired by now (and that no worker holds a live lease on), marks it
	// expired and returns those messages (without bodies).
	ExpireMail(ctx context.Context, now time.Time) ([]*OutboundMail, error)
}
