package models

import (
	"context"
	"log/slog"
	"time"
)

// EnvelopePassword is the password a customer chose during the call to
// protect the emailed copy of their statement (an AES-256 envelope,
// statement.Envelope). It is a secret: it rests in the database only from
// the call until the release seals the envelope (or the case ends without
// one) and is never logged, audited, shown or kept as evidence; String and
// LogValue redact it.
type EnvelopePassword struct {
	CaseID   CaseID
	Password string
	SetAt    time.Time
}

// String redacts the password.
func (p EnvelopePassword) String() string {
	return "envelope password of " + string(p.CaseID) + " (redacted)"
}

// LogValue redacts the password.
func (p EnvelopePassword) LogValue() slog.Value {
	return slog.GroupValue(slog.String("case_id", string(p.CaseID)), slog.Time("set_at", p.SetAt), slog.String("password", "[redacted]"))
}

// EnvelopePasswordRepo stores at most one envelope password per case.
type EnvelopePasswordRepo interface {
	// PutEnvelopePassword stores the case's password, replacing an earlier
	// one.
	PutEnvelopePassword(ctx context.Context, p *EnvelopePassword) error
	// EnvelopePasswordOf returns the case's password; ENOTFOUND when none
	// is set.
	EnvelopePasswordOf(ctx context.Context, id CaseID) (*EnvelopePassword, error)
	// DeleteEnvelopePassword removes the case's password and reports
	// whether there was one.
	DeleteEnvelopePassword(ctx context.Context, id CaseID) (bool, error)
}

// GoString redacts the password from %#v too.
func (p EnvelopePassword) GoString() string { return p.String() }
