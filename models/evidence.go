package models

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"time"
)

// EvidenceKind says what an artifact is; it is part of the object key.
type EvidenceKind string

// Evidence kinds.
const (
	EvidenceRecording  EvidenceKind = "recording"
	EvidenceCapture    EvidenceKind = "capture" // a frame the server took from the live call
	EvidenceUpload     EvidenceKind = "upload"  // a photo a clerk uploaded for comparison (never a live capture)
	EvidenceLetter     EvidenceKind = "letter"
	EvidenceSignature  EvidenceKind = "signature"
	EvidenceSpecimen   EvidenceKind = "specimen"
	EvidenceRegistry   EvidenceKind = "registry"
	EvidenceCheck      EvidenceKind = "check"
	EvidenceConsent    EvidenceKind = "consent"
	EvidenceQuality    EvidenceKind = "quality"
	EvidenceApproval   EvidenceKind = "approval"
	EvidenceManifest   EvidenceKind = "manifest"
	EvidenceStatement  EvidenceKind = "statement"
	EvidenceReceipt    EvidenceKind = "receipt"
	EvidenceCheckpoint EvidenceKind = "checkpoint"
)

var keyPart = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// EvidenceKey returns the deterministic object key
// cases/<case-id>/<kind>/<sha256> of an artifact.
func EvidenceKey(c CaseID, kind EvidenceKind, sum string) (string, error) {
	if !keyPart.MatchString(string(c)) || !keyPart.MatchString(string(kind)) || !sha256Hex.MatchString(sum) {
		return "", Errorf(EINVALID, "bad evidence key parts %q/%q/%q", c, kind, sum)
	}
	return fmt.Sprintf("cases/%s/%s/%s", c, kind, sum), nil
}

// ValidSHA256 reports whether s is a lower-case hex SHA-256.
func ValidSHA256(s string) bool { return sha256Hex.MatchString(s) }

// Evidence is the database record of one artifact. The row is written in the
// same transaction as the event that produced the artifact and doubles as the
// archiver's outbox entry until ArchivedAt is set.
type Evidence struct {
	ID          EvidenceID
	CaseID      CaseID
	Kind        EvidenceKind
	Key         string
	SHA256      string
	Size        int64
	ContentType string
	Actor       string
	CreatedAt   time.Time
	// Staged is where the bytes wait until archived (a path in the local
	// staging folder).
	Staged string

	ArchivedAt    *time.Time
	VersionID     string
	RetainUntil   *time.Time
	Attempts      int
	NextAttemptAt time.Time
	LeaseOwner    string
	LeaseUntil    *time.Time
	LastError     string
	// ExpiredAt is when the expiry job deleted the bytes from the store
	// after their retention; the row and its hash stay.
	ExpiredAt *time.Time
}

// RetentionMode is an S3 Object Lock retention mode.
type RetentionMode string

// Retention modes.
const (
	RetentionCompliance RetentionMode = "COMPLIANCE"
	RetentionGovernance RetentionMode = "GOVERNANCE"
	RetentionNone       RetentionMode = ""
)

// ObjectInfo describes a stored evidence object.
type ObjectInfo struct {
	Key         string
	VersionID   string // empty where the store has no versions
	Size        int64
	SHA256      string // hex, as verified by the store
	ContentType string
	RetainUntil time.Time
	Mode        RetentionMode
	LegalHold   bool
}

// EvidenceStore keeps artifacts write-once. Implementations: storage/localfs
// (embedded default) and storage/s3 (MinIO, AWS), both passing
// storage/evidencetest.
type EvidenceStore interface {
	// Put stores size bytes from r under key. The bytes must hash to
	// sha256Hex, else EINVALID and nothing is kept. Putting the same bytes
	// again returns the existing object's info; putting other bytes under an
	// existing key is ECONFLICT. Store outages are EUNAVAILABLE.
	Put(ctx context.Context, key string, r io.Reader, size int64, sha256Hex, contentType string) (ObjectInfo, error)
	// Stat returns what the store holds under key: ENOTFOUND when absent.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Get opens the object for reading: ENOTFOUND when absent. The caller
	// closes the reader and should re-hash what it reads.
	Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)
	// SetLegalHold sets or clears a legal hold on the object.
	SetLegalHold(ctx context.Context, key string, on bool) error
	// List returns the keys of the objects directly in folder (a key
	// prefix ending in "/", e.g. "checkpoints/audit/"), sorted.
	List(ctx context.Context, folder string) ([]string, error)
	// Expire deletes the object once its retention has passed and no legal
	// hold is set: ECONFLICT while it is retained or held (on S3 the
	// bucket's Object Lock refuses as well), ENOTFOUND when absent.
	Expire(ctx context.Context, key string) error
}
