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

// CheckSource says where the image of a face check came from. Only a
// live-call capture can meet the face-match requirement or serve as the
// registry check's comparison photo.
type CheckSource string

// Check sources.
const (
	// SourceNone is a check without a capture (liveness, signature,
	// registry) or a face check recorded before sources were kept.
	SourceNone CheckSource = ""
	// SourceLiveCall is a key frame the server took from the customer's
	// video during a call whose recording was running, after consent.
	SourceLiveCall CheckSource = "live_call"
	// SourceUpload is a photo a clerk uploaded: a comparison aid that
	// never meets a requirement.
	SourceUpload CheckSource = "upload"
)

func (s CheckSource) String() string { return string(s) }

// CheckResult is the outcome a check records.
type CheckResult string

// Check results. A face check records the engine's decision (MATCH,
// NO_MATCH or UNUSABLE); liveness, signature and registry checks PASS or
// FAIL; a signature may be INCONCLUSIVE and a registry check UNAVAILABLE.
const (
	ResultMatch        CheckResult = "MATCH"
	ResultNoMatch      CheckResult = "NO_MATCH"
	ResultUnusable     CheckResult = "UNUSABLE"
	ResultPass         CheckResult = "PASS"
	ResultFail         CheckResult = "FAIL"
	ResultInconclusive CheckResult = "INCONCLUSIVE"
	ResultUnavailable  CheckResult = "UNAVAILABLE"
)

func (r CheckResult) String() string { return string(r) }

// CheckID identifies a check.
type CheckID string

// Check is the recorded outcome of one verification step. Detail is the
// engine's full answer as JSON (distances, thresholds, model hashes, ...).
type Check struct {
	ID        CheckID
	CaseID    CaseID
	Kind      CheckKind
	Result    CheckResult
	Detail    []byte // JSON
	Evidence  EvidenceID
	Actor     string
	CreatedAt time.Time
	// Source says where a face check's image came from; the workflow
	// sets it, never the caller.
	Source CheckSource
	// Call, Segment and MediaMS locate a live-call capture in the
	// recording: the call, the Seq of the customer's video segment being
	// recorded, and the frame's time in that segment's file (milliseconds
	// from its first frame, the IVF timestamp / 90). Zero otherwise.
	Call    CallID
	Segment int
	MediaMS int64
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
	ImageID int64
	// AccountNo is the photo's account; set by AllFaceReferences only.
	AccountNo  AccountNo
	ModelHash  string
	Descriptor []byte // 128 float32, little-endian
	CreatedAt  time.Time
}

// FaceCalibration is a stored calibration of the face scores: the score
// distributions of a population (the enrolled accounts, or the demo
// photos) for one set of model files. ID numbers the calibrations of a
// database (1, 2, ...); the newest for the running models' hash is in force.
type FaceCalibration struct {
	ID        int64
	ModelHash string
	CreatedAt time.Time
	// Source is "accounts", "demo" or "folder".
	Source string
	Actor  string
	People int
	Photos int
	// ImpostorPairs were measured, of PopulationPairs in the population
	// (more: they were sampled).
	ImpostorPairs   int
	PopulationPairs int64
	GenuinePairs    int
	// Body is the calibration as JSON (verify/facematch.Calibration).
	Body []byte
}
