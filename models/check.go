package models

import "time"

// CheckKind names one of the verification checks of a case.
type CheckKind string

// Check kinds.
const (
	CheckFaceMatch CheckKind = "face_match" // capture against the account's reference photos
	CheckLiveness  CheckKind = "liveness"   // active head-pose challenge
	CheckSignature CheckKind = "signature"  // letter signature against the specimen
	CheckRegistry  CheckKind = "registry"   // national ID registry
)

// CheckID identifies a check.
type CheckID string

// Check is the recorded outcome of one verification step. Detail is the
// engine's full answer as JSON (distances, thresholds, model hashes, ...).
type Check struct {
	ID        CheckID
	CaseID    CaseID
	Kind      CheckKind
	Result    string // e.g. MATCH, NO_MATCH, UNUSABLE, PASS, FAIL
	Detail    []byte // JSON
	Evidence  EvidenceID
	Actor     string
	CreatedAt time.Time
	// ConfirmedBy and ConfirmedAt record the clerk's own visual
	// confirmation; a face score alone never moves a case forward.
	ConfirmedBy  string
	ConfirmedAt  *time.Time
	Confirmation string // "confirmed" or "rejected", with Note
	Note         string
}

// FaceReference is the stored descriptor of one reference photo, valid for
// the model files whose combined hash it carries.
type FaceReference struct {
	ImageID    int64
	ModelHash  string
	Descriptor []byte // 128 float32, little-endian
	CreatedAt  time.Time
}
