package verify

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/verify/facematch"
)

// This file lists what the workflow takes from outside: the dependencies
// of New, NewDesk, NewCalls and NewAccounts, the interfaces they satisfy,
// and the values that stand for what a deployment may leave out (face
// models, a registry, a mail server). Every dependency is required; the
// constructors name what is missing.

// Core is what every part of the workflow needs.
type Core struct {
	Store models.Store
	Chain audit.Chain
	Now   func() time.Time
	Rand  io.Reader
	Log   *slog.Logger
}

func (c Core) missing() []string {
	var m []string
	if c.Store == nil {
		m = append(m, "Store")
	}
	if c.Chain.Now == nil {
		m = append(m, "Chain.Now")
	}
	if c.Now == nil {
		m = append(m, "Now")
	}
	if c.Rand == nil {
		m = append(m, "Rand")
	}
	if c.Log == nil {
		m = append(m, "Log")
	}
	return m
}

// Deps are the Service's dependencies.
type Deps struct {
	Core
	Config Config
	// Face is the face engine (verify/face); NoFaceEngine{} where no
	// models are loaded: face checks and liveness then answer EUNAVAILABLE.
	Face FaceEngine
	// Stager keeps artifacts until the archiver stores them.
	Stager Stager
	// Evidence is the write-once evidence store (sealing, auditor reads,
	// expiry).
	Evidence models.EvidenceStore
	// Key signs case manifests (the same key signs audit checkpoints).
	Key ed25519.PrivateKey
	// ReadBLAS tells which BLAS and LAPACK the process loaded, for the
	// admin's face report (verify/face.ReadBLASInfo).
	ReadBLAS func() (facematch.BLASInfo, error)
	// FaceChecks, when set, learns of every face check the engine ran (the
	// domain metrics); nil: nobody does.
	FaceChecks models.FaceCheckObserver
}

// DeskDeps are the Desk's dependencies beyond its Service.
type DeskDeps struct {
	// Registry is the national ID registry; NoRegistry{} where none is
	// configured (registry checks then record UNAVAILABLE).
	Registry models.Registry
	// Mailer sends what the outbox holds; NoMailer{} leaves mail queued.
	Mailer models.MailSender
	// MailFrom is the sender address of every message.
	MailFrom string
	// ReturnPath is the envelope sender (MAIL FROM) of every message: the
	// mailbox delivery reports come back to, which the bank's mail server
	// hands to the bounce intake. "" uses MailFrom's address.
	ReturnPath string
	// StatementFont is a TrueType CJK font embedded in statements for
	// their Chinese text (headings, labels, names, descriptions); nil
	// prints such characters as placeholders.
	StatementFont []byte
	// StatementSigner signs each statement at submission with the bank's
	// certificate (*pades.Signer of statement/pades: a PAdES signature), so
	// the file the supervisor approves and the release sends is the signed
	// one. idv serve always gives one (it refuses to start without a signing
	// certificate outside demo mode); nil leaves statements unsigned (tests
	// of other parts).
	StatementSigner StatementSigner
	// StepUpWindow is how recent the supervisor's password re-entry must be
	// (0: 5 minutes).
	StepUpWindow time.Duration
	// RegistryCaptureMaxAge is how recent the live capture the registry
	// photo is compared with must be (0: 30 minutes).
	RegistryCaptureMaxAge time.Duration
	// RegistryMaxDataAge is the oldest registry data (by its data_as_of)
	// that may pass (0: 10 minutes).
	RegistryMaxDataAge time.Duration
}

// StatementSigner signs a statement PDF. Sign returns pdf with a signature
// claiming the signing time at; it fails rather than return an unsigned
// document (a time-stamping authority that does not answer is an error).
type StatementSigner interface {
	Sign(ctx context.Context, pdf []byte, at time.Time) ([]byte, error)
}

// CallsConfig configures Calls.
type CallsConfig struct {
	// SessionTTL is how long a customer session outlives its invite's
	// window (0: 2 hours, the longest call).
	SessionTTL time.Duration
	// StatusTTL is how long after it started a customer session may read
	// its case's status page (0: 30 days), however long ago its call
	// ended.
	StatusTTL time.Duration
	// ContinueWithin is how soon after its node went away an unfinished
	// call is continued by the case's next call (0: 15 minutes): the
	// pages rejoin within seconds, a customer who reloads within
	// minutes. A later call ends it and starts a new call record.
	ContinueWithin time.Duration
}

// missingError names the missing dependencies of what.
func missingError(what string, missing []string) error {
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%s: missing %s", what, strings.Join(missing, ", "))
}

// FaceEngine is the face engine as the workflow uses it: enrolling
// reference photos, matching captures, judging liveness challenges.
// *face.Engine (dlib through go-face, cgo) implements it; NoFaceEngine
// stands in without models. Everything it takes and returns is in
// verify/facematch, which builds without cgo, so the workflow, the pages
// and the calibration never see the engine's library.
//
// A second engine (for instance a licensed model a bank buys) implements
// the same four methods, wired in by cmd/idv only, and must keep this
// contract:
//   - ModelHash names the engine and its weights: every stored descriptor
//     and every calibration carries it, descriptors of another hash are
//     recomputed (References) and calibrations of another hash are never
//     used. A new engine or new weights start uncalibrated (weak evidence)
//     until `idv face calibrate --accounts` measures them.
//   - Enroll returns a descriptor (facematch.Descriptor, 128 float32:
//     an engine with another size needs that type widened) or a
//     *facematch.RejectedError for a photo without exactly one usable face.
//   - Match returns, for a usable capture, a squared distance per
//     reference, smaller meaning more alike, Distance their minimum, and
//     Threshold/Decision at the engine's configured threshold; rejections
//     are results (Status), not errors. The scale is the engine's own:
//     only a calibration made with the same ModelHash turns it into a
//     false-match rate (facematch.Operating.Apply, done by the workflow).
//   - CheckLiveness judges a challenge's captures (poses from the engine's
//     landmarks) and matches each against the references.
//
// Errors are models errors (EUNAVAILABLE without an engine) or faults.
type FaceEngine interface {
	Enroll(ctx context.Context, img []byte) (facematch.Enrollment, error)
	Match(ctx context.Context, img []byte, refs []facematch.Reference) (facematch.MatchResult, error)
	CheckLiveness(ctx context.Context, ch facematch.Challenge, caps []facematch.Capture, refs []facematch.Reference) (facematch.LivenessResult, error)
	// ModelHash is the hash reference descriptors and calibrations must
	// carry.
	ModelHash() facematch.ModelHash
}

// engineInfo is what a loaded engine (*face.Engine) tells the admin's
// report beyond FaceEngine.
type engineInfo interface {
	Settings() facematch.Settings
	Calibration() *facematch.Calibration
}

// Stager keeps an artifact's bytes until the archiver stores them, and
// returns the evidence row the caller inserts in the same transaction as
// the event that produced the artifact (storage/archiver implements it;
// the workflow uses it only through recordEvidence).
type Stager interface {
	Stage(ctx context.Context, c models.CaseID, kind models.EvidenceKind, contentType string, data []byte, actor string) (*models.Evidence, error)
	// StageStream stages what r holds without holding it in memory
	// (recordings).
	StageStream(ctx context.Context, c models.CaseID, kind models.EvidenceKind, contentType string, r io.Reader, actor string) (*models.Evidence, error)
	// Discard removes a staged file whose row was not kept.
	Discard(e *models.Evidence) error
	// Open returns the plaintext of a staged file (staged files may be
	// encrypted at rest).
	Open(e *models.Evidence) (io.ReadCloser, error)
}

// PhotoChecker tells whether a reference photo has exactly one usable face.
// The face engine implements it; a nil checker skips the check.
type PhotoChecker interface {
	// CheckReference returns "" for a usable photo, else why not.
	CheckReference(ctx context.Context, img []byte) (problem string, err error)
}

// ReferenceEnroller is a PhotoChecker that also returns the descriptor it
// computed for a usable photo. The import stores it with the photo, so the
// account is enrolled for those models at once rather than at its first
// face check (References), and the admin page shows it ready.
type ReferenceEnroller interface {
	PhotoChecker
	// EnrollReference returns "" and the descriptor (ModelHash and
	// Descriptor set) for a usable photo, else why it is not usable.
	EnrollReference(ctx context.Context, img []byte) (problem string, ref *models.FaceReference, err error)
}

// errNoFace answers every face check and liveness challenge of a server
// without face models.
var errNoFace = models.Errorf(models.EUNAVAILABLE, "the face engine is not loaded")

// NoFaceEngine is the FaceEngine of a server whose face models are missing
// (and not required): every call answers EUNAVAILABLE, and its ModelHash is
// the pinned models'.
type NoFaceEngine struct{}

// Enroll answers EUNAVAILABLE.
func (NoFaceEngine) Enroll(context.Context, []byte) (facematch.Enrollment, error) {
	return facematch.Enrollment{}, errNoFace
}

// Match answers EUNAVAILABLE.
func (NoFaceEngine) Match(context.Context, []byte, []facematch.Reference) (facematch.MatchResult, error) {
	return facematch.MatchResult{}, errNoFace
}

// CheckLiveness answers EUNAVAILABLE.
func (NoFaceEngine) CheckLiveness(context.Context, facematch.Challenge, []facematch.Capture, []facematch.Reference) (facematch.LivenessResult, error) {
	return facematch.LivenessResult{}, errNoFace
}

// ModelHash is the pinned models' hash, the only one an engine accepts.
func (NoFaceEngine) ModelHash() facematch.ModelHash { return facematch.PinnedModelHash() }

// faceLoaded returns nil when f is a loaded engine, else errNoFace: the
// workflow asks before work that is pointless without one (a liveness
// challenge the customer would act out for nothing).
func faceLoaded(f FaceEngine) error {
	if _, none := f.(NoFaceEngine); none {
		return errNoFace
	}
	return nil
}

// NoRegistry is the registry of a deployment without one: every lookup
// answers EUNAVAILABLE, which the registry check records as UNAVAILABLE.
type NoRegistry struct{}

// Lookup answers EUNAVAILABLE.
func (NoRegistry) Lookup(context.Context, models.RegistryQuery) (*models.RegistryAnswer, error) {
	return nil, models.Errorf(models.EUNAVAILABLE, "no registry is configured")
}

// NoMailer is the mail sender of a deployment without a mail server: the
// outbox keeps its mail queued (and still drops what expires).
type NoMailer struct{}

// errNoMailer is what NoMailer.Send answers; the outbox never calls it.
var errNoMailer = errors.New("no mail server is configured")

// Send fails: no mail server is configured.
func (NoMailer) Send(context.Context, string, []string, []byte) (string, error) {
	return "", errNoMailer
}

// mailQueued reports whether m leaves mail queued (NoMailer).
func mailQueued(m models.MailSender) bool {
	_, none := m.(NoMailer)
	return none
}
