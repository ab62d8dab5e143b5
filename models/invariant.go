package models

import "context"

// Invariant names a rule the stored data satisfies at every commit, so
// also after a crash at any point: each is one SQL query returning the
// rows that break it (InvariantRepo.Violations), and `idv check` runs them
// all. An empty answer means the rule holds.
type Invariant string

// The invariants.
const (
	// InvReleasedUnsealed: a released (or closed) case has a seal event, a
	// manifest row, every earlier evidence item archived (confirmed by
	// read-back) and its approval marked used.
	InvReleasedUnsealed Invariant = "released_without_sealed_evidence"
	// InvEvidenceObject: every evidence row can have its bytes somewhere:
	// archived, or staged (a manifest is written to the store by the
	// sealer); no letter, segment or check names an evidence row that does
	// not exist. Whether the bytes are really there needs the stores, which
	// `idv check` also asks.
	InvEvidenceObject Invariant = "evidence_without_object"
	// InvSealedNoManifest: a sealed, released or closed case has exactly
	// one seal event and the manifest row it names (key and SHA-256); no
	// other case has a manifest.
	InvSealedNoManifest Invariant = "sealed_without_manifest"
	// InvApprovalReused: an approval allows one release: no case released
	// twice or holding two statements, no approval used without its
	// release, no release naming another approval.
	InvApprovalReused Invariant = "approval_used_twice"
	// InvStatementPasswordKept: a customer's statement password is held
	// only while the release may still use it: no row of
	// envelope_passwords for a case that is released, closed or ended
	// otherwise (the release or the ending event deletes it).
	InvStatementPasswordKept Invariant = "statement_password_kept"
)

// Invariants lists every invariant in the order `idv check` runs them.
func Invariants() []Invariant {
	return []Invariant{InvReleasedUnsealed, InvEvidenceObject, InvSealedNoManifest, InvApprovalReused, InvStatementPasswordKept}
}

func (i Invariant) String() string { return string(i) }

// Violation is one row breaking an invariant.
type Violation struct {
	Invariant Invariant
	CaseID    CaseID
	Subject   string // the row at fault: a case, evidence, approval, letter or audit event
	Problem   string // what is wrong, for an operator
}

// InvariantRepo checks the stored data as a whole, for `idv check`.
type InvariantRepo interface {
	// Violations runs inv's query and returns the rows that break it,
	// none when it holds. EINVALID for an unknown invariant.
	Violations(ctx context.Context, inv Invariant) ([]Violation, error)
	// IntegrityCheck runs the database's own consistency checks (SQLite:
	// PRAGMA integrity_check and foreign_key_check) and returns their
	// complaints, none when the file is sound. PostgreSQL checks its pages
	// itself and has none to run.
	IntegrityCheck(ctx context.Context) ([]string, error)
}
