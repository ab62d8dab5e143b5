package models

import (
	"context"
	"time"
)

// StatementID names one generated statement file ("stm_..."); it is
// printed on every page and is what a recipient looks up.
type StatementID string

// StatementRecord is one statement file a case generated at submission:
// the PDF is evidence (EvidenceID, SHA256); the supervisor approves that
// hash, the seal covers it, the release sends exactly those bytes and sets
// ReleasedAt. A revoked statement stays on file with the reason.
type StatementRecord struct {
	ID           StatementID
	CaseID       CaseID
	EvidenceID   EvidenceID
	SHA256       string
	CreatedAt    time.Time
	ReleasedAt   *time.Time
	RevokedAt    *time.Time
	RevokeReason string
}

// StatementRepo stores generated statements. Methods return ENOTFOUND for
// missing rows and ECONFLICT for a second row with the same ID or hash.
type StatementRepo interface {
	CreateStatement(ctx context.Context, s *StatementRecord) error
	StatementByID(ctx context.Context, id StatementID) (*StatementRecord, error)
	// StatementBySHA256 finds the statement whose file has this hash.
	StatementBySHA256(ctx context.Context, sum string) (*StatementRecord, error)
	// StatementsByCase lists the case's statements, oldest first.
	StatementsByCase(ctx context.Context, id CaseID) ([]*StatementRecord, error)
	// ReleaseStatement sets ReleasedAt once; ECONFLICT when already set.
	ReleaseStatement(ctx context.Context, id StatementID, at time.Time) error
	// RevokeStatement sets RevokedAt and the reason once, on a released
	// statement; ECONFLICT otherwise.
	RevokeStatement(ctx context.Context, id StatementID, at time.Time, reason string) error
}
