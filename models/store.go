package models

import (
	"context"
	"time"
)

// Store is the relational database: storage/sqlite (embedded default) and
// storage/postgres implement it and pass storage/storagetest.
type Store interface {
	// Transact runs fn in one transaction: committed when fn returns nil,
	// rolled back otherwise. Writers are serialized where the audit chain
	// needs it (AuditHeadForUpdate).
	Transact(ctx context.Context, fn func(tx Tx) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the connections.
	Close() error
}

// Tx is everything a transaction can read and write. Methods return
// ENOTFOUND for missing rows and ECONFLICT for uniqueness violations.
type Tx interface {
	StaffRepo
	AccountRepo
	CaseRepo
	AuditRepo
	EvidenceRepo
	CheckRepo
	CallRepo              // customer sessions, consent, calls and segments (call.go)
	LetterRepo            // authorization letters and their scope (letter.go)
	EmailCodeRepo         // customers' one-time email codes (emailcode.go)
	ApprovalRepo          // supervisors' decisions (approval.go)
	IdempotencyRepo       // Idempotency-Key records of decisions (idempotency.go)
	LedgerRepo            // booked transactions for statements (ledger.go)
	MailOutboxRepo        // the mail outbox (mail.go)
	InvariantRepo         // checks of the data as a whole (invariant.go)
	AuthLimitRepo         // counters of failed logins and suppressed security events (authlimit.go)
	StatementRepo         // generated statement files, approved by hash (statement.go)
	EnvelopePasswordRepo  // customers' passwords for the emailed statement, until the release (envelope.go)
	AccountFlagRepo       // fraud flags against accounts (flag.go)
	StatsRepo             // counts for the domain metrics (stats.go)
	WebhookRepo           // webhook endpoints, deliveries and attempts (webhook.go)
	CommsRepo             // calendar entries, reminders and intake records (comms.go)
	NotifyRepo            // staff notification preferences, notifications and slot alerts (notify.go)
	OIDCLoginRepo         // sign-ins under way at the bank's identity provider (oidclogin.go)
	NodeRepo              // the node registry (node.go)
	JobLeaseRepo          // named leases of background work (node.go)
	WebAuthnRepo          // staff security keys and their ceremonies (webauthn.go)
	WebAuthnEnrolmentRepo // one-time codes for a first security key (webauthn.go)
}

// StaffRepo stores staff, their sessions and API tokens.
type StaffRepo interface {
	CreateStaff(ctx context.Context, s *Staff) error
	UpdateStaff(ctx context.Context, s *Staff) error
	StaffByID(ctx context.Context, id StaffID) (*Staff, error)
	StaffByUsername(ctx context.Context, username string) (*Staff, error)
	ListStaff(ctx context.Context) ([]*Staff, error)

	CreateSession(ctx context.Context, s *StaffSession) error
	SessionByHash(ctx context.Context, idHash string) (*StaffSession, error)
	TouchSession(ctx context.Context, idHash string, lastSeen time.Time) error
	SetSessionStepUp(ctx context.Context, idHash string, at time.Time) error
	DeleteSession(ctx context.Context, idHash string) error
	DeleteStaffSessions(ctx context.Context, id StaffID) error

	// WorkingHours returns a member's weekly working hours in the branch's
	// zone, Sunday first; empty when none are recorded.
	WorkingHours(ctx context.Context, id StaffID) (WorkingHours, error)
	// SetWorkingHours replaces them (EINVALID for hours that do not
	// validate, ENOTFOUND for an unknown member); empty hours clear them.
	SetWorkingHours(ctx context.Context, id StaffID, h WorkingHours) error

	// CreateAPIToken stores a token and its scope (EINVALID for an empty
	// scope).
	CreateAPIToken(ctx context.Context, t *APIToken) error
	// APITokenByHash and APITokenByID return one token (ENOTFOUND).
	APITokenByHash(ctx context.Context, hash string) (*APIToken, error)
	APITokenByID(ctx context.Context, id TokenID) (*APIToken, error)
	// APITokensByStaff lists every token acting as the staff member,
	// revoked ones included, oldest first.
	APITokensByStaff(ctx context.Context, id StaffID) ([]*APIToken, error)
	// ListAPITokens lists every token, revoked and expired ones included,
	// oldest first.
	ListAPITokens(ctx context.Context) ([]*APIToken, error)
	TouchAPIToken(ctx context.Context, id TokenID, at time.Time) error
	// RevokeAPIToken revokes a live token (ENOTFOUND when it does not exist
	// or is already revoked).
	RevokeAPIToken(ctx context.Context, id TokenID, at time.Time) error
}

// AccountRepo stores the account projection, its images and the runs of
// the account import.
type AccountRepo interface {
	// UpsertAccount inserts or replaces an account's fields (not its images).
	UpsertAccount(ctx context.Context, a *Account) error
	AccountByNo(ctx context.Context, no AccountNo) (*Account, error)
	// SearchAccounts finds accounts whose number starts with q or whose
	// holder name (in either script) contains q.
	SearchAccounts(ctx context.Context, q string, limit int) ([]*Account, error)
	// AddAccountImage stores an image unless one with the same account, kind
	// and SHA-256 exists (then it returns that one's ID).
	AddAccountImage(ctx context.Context, img *AccountImage) error
	AccountImages(ctx context.Context, no AccountNo, kind ImageKind) ([]*AccountImage, error)
	// AccountStatuses returns one page of accounts, by number, with the
	// state of their images (flagged photos, signature specimen, photos
	// enrolled for f.ModelHash), and how many accounts match f in all.
	AccountStatuses(ctx context.Context, f AccountStatusFilter) ([]*AccountStatus, int, error)

	// CreateImportRun records a finished import run with its rows;
	// ECONFLICT when the ID exists.
	CreateImportRun(ctx context.Context, r *ImportRun) error
	// ImportRuns returns one page of import runs, newest first, and how
	// many there are in all.
	ImportRuns(ctx context.Context, limit, offset int) ([]*ImportRun, int, error)
}

// CaseRepo stores cases and invites.
type CaseRepo interface {
	CreateCase(ctx context.Context, c *Case) error
	// UpdateCase writes c (state, clerks, slot, reason) if its stored
	// Version equals c.Version, and bumps it; ECONFLICT otherwise.
	UpdateCase(ctx context.Context, c *Case) error
	CaseByID(ctx context.Context, id CaseID) (*Case, error)
	ListCases(ctx context.Context, f CaseFilter) ([]*Case, int, error)

	CreateInvite(ctx context.Context, inv *Invite) error
	InviteByHash(ctx context.Context, tokenHash string) (*Invite, error)
	InvitesByCase(ctx context.Context, id CaseID) ([]*Invite, error)
	// MarkInviteUsed sets UsedAt if it is still unset; ECONFLICT when another
	// use won the race.
	MarkInviteUsed(ctx context.Context, id InviteID, at time.Time) error
	// RevokeInvites revokes every unrevoked invite of the case.
	RevokeInvites(ctx context.Context, id CaseID, at time.Time) error
}

// AuditRepo stores the audit chain and its checkpoints. Hashing is the audit
// package's job; the repository only keeps rows and serializes appenders.
type AuditRepo interface {
	// AuditHeadForUpdate returns the chain head and locks it until the
	// transaction ends, so appends are serialized.
	AuditHeadForUpdate(ctx context.Context) (AuditHead, error)
	// InsertAuditEvent appends e and moves the head to it. e.Seq must be
	// head+1 (ECONFLICT otherwise).
	InsertAuditEvent(ctx context.Context, e *AuditEvent) error
	// AuditEvents lists events in sequence order.
	AuditEvents(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)
	InsertCheckpoint(ctx context.Context, cp *Checkpoint) error
	Checkpoints(ctx context.Context) ([]*Checkpoint, error)

	// The Merkle log over the chain keeps RFC 6962 "stored hashes" (the
	// audit package computes them with golang.org/x/mod/sumdb/tlog): hash
	// number i is at index i, and they are only ever added in whole
	// batches, one per event, in the event's transaction.

	// AddTreeHashes stores hashes (32 bytes each) at indexes start,
	// start+1, ...; start must be TreeHashCount (ECONFLICT otherwise).
	AddTreeHashes(ctx context.Context, start int64, hashes [][]byte) error
	// TreeHashes returns the stored hashes at indexes, in that order;
	// ENOTFOUND when one is missing.
	TreeHashes(ctx context.Context, indexes []int64) ([][]byte, error)
	// TreeHashCount returns how many hashes are stored.
	TreeHashCount(ctx context.Context) (int64, error)
}

// EvidenceRepo stores evidence rows, which are also the archiver's outbox.
type EvidenceRepo interface {
	// AddEvidence records an artifact; if the case already has an item with
	// the same key, it returns that one (filled into e) without error.
	AddEvidence(ctx context.Context, e *Evidence) error
	EvidenceByID(ctx context.Context, id EvidenceID) (*Evidence, error)
	EvidenceByCase(ctx context.Context, id CaseID) ([]*Evidence, error)
	// DueForExpiry returns up to limit archived, not yet expired items whose
	// retention ended at or before now, in (retain-until, id) order after
	// the item after (nil: from the start), so a run pages past the items
	// a legal hold keeps.
	DueForExpiry(ctx context.Context, now time.Time, after *Evidence, limit int) ([]*Evidence, error)
	// MarkExpired records that the item's bytes were deleted after its
	// retention; ECONFLICT if it is not archived or already expired.
	MarkExpired(ctx context.Context, id EvidenceID, at time.Time) error
	EvidenceQueue
}

// EvidenceQueue is the archiver's view of the outbox.
type EvidenceQueue interface {
	// ClaimEvidence leases to owner, until leaseUntil, up to limit items that
	// are not archived, are due (NextAttemptAt <= now) and are not leased by
	// another owner whose lease is still running.
	ClaimEvidence(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*Evidence, error)
	// RenewEvidenceLease extends owner's lease of an item being uploaded
	// to until: ECONFLICT if owner no longer holds it (it ran out and
	// another owner claimed it) or the item is archived.
	RenewEvidenceLease(ctx context.Context, id EvidenceID, owner string, until time.Time) error
	// MarkArchived records the stored object's version and retention and
	// clears the lease. ECONFLICT if owner no longer holds the lease.
	MarkArchived(ctx context.Context, id EvidenceID, owner string, info ObjectInfo, at time.Time) error
	// MarkFailed records an attempt's error and when to retry, and clears
	// the lease.
	MarkFailed(ctx context.Context, id EvidenceID, owner, errMsg string, next time.Time) error
	// ReleaseLeases clears every lease held by owner (at shutdown).
	ReleaseLeases(ctx context.Context, owner string) error
	// EvidenceBacklog returns how many items wait and the oldest one's
	// creation time (zero when none wait).
	EvidenceBacklog(ctx context.Context) (pending int, oldest time.Time, err error)
}

// CheckRepo stores check outcomes and face reference descriptors.
type CheckRepo interface {
	CreateCheck(ctx context.Context, c *Check) error
	// ConfirmCheck records the clerk's visual confirmation once; ECONFLICT
	// when it was already recorded.
	ConfirmCheck(ctx context.Context, id CheckID, by, confirmation, note string, at time.Time) error
	CheckByID(ctx context.Context, id CheckID) (*Check, error)
	ChecksByCase(ctx context.Context, id CaseID) ([]*Check, error)

	// PutFaceReference stores (or replaces) the descriptor of an image for
	// a model hash.
	PutFaceReference(ctx context.Context, r *FaceReference) error
	// FaceReferences returns the descriptors of an account's photos made
	// with modelHash.
	FaceReferences(ctx context.Context, no AccountNo, modelHash string) ([]*FaceReference, error)
	// AllFaceReferences returns every usable reference descriptor made
	// with modelHash, of every account, with AccountNo set, ordered by
	// account and image: the population a calibration measures.
	AllFaceReferences(ctx context.Context, modelHash string) ([]*FaceReference, error)
	// ConfirmedLiveFaceChecks returns every face check of a live capture
	// that its clerk confirmed as the account holder, oldest first: the
	// genuine scores of real calls.
	ConfirmedLiveFaceChecks(ctx context.Context) ([]*Check, error)

	// CreateFaceCalibration stores c and sets c.ID to its number.
	CreateFaceCalibration(ctx context.Context, c *FaceCalibration) error
	// LatestFaceCalibration returns the newest calibration made with
	// modelHash; ENOTFOUND when there is none.
	LatestFaceCalibration(ctx context.Context, modelHash string) (*FaceCalibration, error)
	// FaceCalibrationByID returns calibration id; ENOTFOUND when missing.
	FaceCalibrationByID(ctx context.Context, id int64) (*FaceCalibration, error)
}
