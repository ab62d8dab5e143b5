package models

import (
	"context"
	"time"
)

// LetterID identifies an uploaded authorization letter.
type LetterID string

// LetterScope is what the customer's authorization letter allows, as the
// clerk read it from the letter. It must match the case exactly.
type LetterScope struct {
	AccountNo AccountNo `json:"account_no"`
	Service   Purpose   `json:"service"`
	// PeriodFrom and PeriodTo are the statement period, YYYY-MM-DD.
	PeriodFrom string `json:"period_from"`
	PeriodTo   string `json:"period_to"`
	// RegisteredEmail is true when the letter asks for delivery to the
	// email address the bank has on record (the only delivery offered).
	RegisteredEmail bool `json:"registered_email"`
}

// Letter is an authorization letter on file for a case. The bytes are
// evidence (kind letter); Scope is set once the clerk has recorded it.
type Letter struct {
	ID          LetterID
	CaseID      CaseID
	Evidence    EvidenceID
	ContentType string // image/jpeg, image/png or application/pdf
	Width       int    // pixels; 0 for PDF
	Height      int
	Source      string // "clerk" or "customer"
	Actor       string
	CreatedAt   time.Time
	Scope       *LetterScope
	ScopeBy     string
	ScopeAt     *time.Time
}

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

// Decision is a supervisor's verdict on a submitted case.
type Decision string

// Decisions.
const (
	DecisionApprove Decision = "approve"
	DecisionReject  Decision = "reject"
)

// ApprovalAction is the one action an approval allows: this statement, of
// this account, for this period, to this (registered) address.
type ApprovalAction struct {
	Purpose    Purpose   `json:"purpose"`
	AccountNo  AccountNo `json:"account_no"`
	PeriodFrom string    `json:"period_from"`
	PeriodTo   string    `json:"period_to"`
	Email      string    `json:"email"`
}

// Approval is a supervisor's decision on a case. A case has at most one;
// an approval is used once, by the release it allows.
type Approval struct {
	ID         string
	CaseID     CaseID
	Supervisor StaffID
	Actor      string
	Decision   Decision
	Reason     string
	Action     ApprovalAction
	CreatedAt  time.Time
	UsedAt     *time.Time
}

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

// LedgerEntry is one booked transaction of an account. Amount is in minor
// units (cents); negative amounts are debits.
type LedgerEntry struct {
	ID          int64
	AccountNo   AccountNo
	BookedAt    time.Time
	Description string
	Amount      int64
	Currency    string
}

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

// ReviewRepo stores what the review half of the workflow needs: letters,
// email codes, approvals, idempotency keys, the ledger and the mail outbox.
// Methods return ENOTFOUND for missing rows and ECONFLICT for uniqueness
// violations or lost races.
type ReviewRepo interface {
	CreateLetter(ctx context.Context, l *Letter) error
	// SetLetterScope records the scope once; ECONFLICT when already set.
	SetLetterScope(ctx context.Context, id LetterID, s LetterScope, by string, at time.Time) error
	LettersByCase(ctx context.Context, id CaseID) ([]*Letter, error)

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

	// CreateApproval stores the case's decision; ECONFLICT when the case
	// already has one.
	CreateApproval(ctx context.Context, a *Approval) error
	ApprovalByCase(ctx context.Context, id CaseID) (*Approval, error)
	// UseApproval marks the approval used if it is unused; ECONFLICT
	// otherwise.
	UseApproval(ctx context.Context, id string, at time.Time) error

	// BeginIdempotent stores an in-flight record; ECONFLICT when the key
	// exists (read it with IdempotencyByKey).
	BeginIdempotent(ctx context.Context, r *IdempotencyRecord) error
	IdempotencyByKey(ctx context.Context, key string) (*IdempotencyRecord, error)
	CompleteIdempotent(ctx context.Context, key string, status int, response []byte, at time.Time) error
	DeleteIdempotent(ctx context.Context, key string) error

	// AddLedgerEntries inserts entries, skipping exact duplicates (same
	// account, time, description, amount and currency); it returns how many
	// were new.
	AddLedgerEntries(ctx context.Context, es []*LedgerEntry) (int, error)
	// LedgerEntries lists an account's entries booked in [from, to), in
	// booking order.
	LedgerEntries(ctx context.Context, no AccountNo, from, to time.Time) ([]*LedgerEntry, error)
	// LedgerBalance sums an account's entries booked before t, per currency.
	LedgerBalance(ctx context.Context, no AccountNo, before time.Time) (map[string]int64, error)

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
