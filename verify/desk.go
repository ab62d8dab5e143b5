package verify

import (
	"time"

	"remoteidv/models"
)

// Desk is the review half of the workflow: the authorization letter, the
// signature and registry checks, the customer's email code, submission,
// the supervisor's decision, and the statement's release by mail. It works
// through its Service's store, audit chain, clock, randomness, stager and
// evidence store.
type Desk struct {
	svc           *Service
	registry      models.Registry
	mailer        models.MailSender
	mailFrom      string
	returnPath    string // the envelope sender, where delivery reports go
	statementFont []byte
	signer        StatementSigner
	stepUp        time.Duration
	captureMaxAge time.Duration // of the registry check's live capture
	maxDataAge    time.Duration // of the registry's data
}

// NewDesk returns the review desk over svc. The registry and the mailer
// are required (NoRegistry{} and NoMailer{} stand in for none); zero
// durations take their defaults.
func NewDesk(svc *Service, d DeskDeps) (*Desk, error) {
	var missing []string
	if svc == nil {
		missing = append(missing, "Service")
	}
	if d.Registry == nil {
		missing = append(missing, "Registry (NoRegistry{} without one)")
	}
	if d.Mailer == nil {
		missing = append(missing, "Mailer (NoMailer{} without a mail server)")
	}
	if err := missingError("new review desk", missing); err != nil {
		return nil, err
	}
	desk := &Desk{svc: svc, registry: d.Registry, mailer: d.Mailer, mailFrom: d.MailFrom, returnPath: d.ReturnPath, statementFont: d.StatementFont,
		signer: d.StatementSigner, stepUp: d.StepUpWindow, captureMaxAge: d.RegistryCaptureMaxAge, maxDataAge: d.RegistryMaxDataAge}
	if desk.stepUp <= 0 {
		desk.stepUp = defaultStepUp
	}
	svc.notify = desk.customerNotice
	if desk.captureMaxAge <= 0 {
		desk.captureMaxAge = defaultRegistryCaptureMaxAge
	}
	if desk.maxDataAge <= 0 {
		desk.maxDataAge = defaultRegistryMaxDataAge
	}
	return desk, nil
}
