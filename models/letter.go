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

// LetterRepo stores authorization letters and the scope the clerk recorded
// from them. Methods return ENOTFOUND for missing rows and ECONFLICT for
// uniqueness violations or lost races.
type LetterRepo interface {
	CreateLetter(ctx context.Context, l *Letter) error
	// SetLetterScope records the scope once; ECONFLICT when already set.
	SetLetterScope(ctx context.Context, id LetterID, s LetterScope, by string, at time.Time) error
	LettersByCase(ctx context.Context, id CaseID) ([]*Letter, error)
}
