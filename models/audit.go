package models

import "time"

// AuditEvent is one entry of the hash-chained audit trail. Hash is
// SHA-256(PrevHash || canonical JSON of the event); the audit package owns
// that computation and its verification.
type AuditEvent struct {
	Seq      int64 // 1, 2, 3, ... without gaps
	At       time.Time
	Actor    string // "staff:<id>", "customer:<case>", "token:<id>", "system", "anonymous"
	Action   string // e.g. "case.created", "auth.login_failed"
	CaseID   CaseID // empty when the event is not about a case
	Detail   map[string]string
	PrevHash string // hex
	Hash     string // hex
}

// AuditHead is the latest event's sequence number and hash; Seq 0 and the
// all-zero hash for an empty chain.
type AuditHead struct {
	Seq  int64
	Hash string
}

// Checkpoint is a signed statement of the audit chain's head at a time.
// Seq is also the size of the Merkle log (one leaf per event), Root its
// RFC 6962 root hash at that size, and Note the same (size, root) as a
// C2SP signed note (tlog-checkpoint). Checkpoints written before the log
// existed have an empty Root and Note.
type Checkpoint struct {
	Seq       int64
	Hash      string
	At        time.Time
	KeyID     string // hex SHA-256 of the Ed25519 public key, first 16 chars
	Signature []byte // over (Seq, Hash, At); see audit.SignCheckpoint
	Root      string // hex
	Note      string // signed note text
}

// AuditFilter selects audit events.
type AuditFilter struct {
	CaseID   CaseID
	AfterSeq int64
	Limit    int
}
