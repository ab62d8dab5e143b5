package models

import (
	"context"
	"time"
)

// Decision is a supervisor's verdict on a submitted case.
type Decision string

// Decisions.
const (
	DecisionApprove Decision = "approve"
	DecisionReject  Decision = "reject"
)

// ApprovalAction is the one action an approval allows: this statement
// file (by its SHA-256), of this account, for this period, to this
// (registered) address. A rejection names no statement.
type ApprovalAction struct {
	Purpose         Purpose     `json:"purpose"`
	AccountNo       AccountNo   `json:"account_no"`
	PeriodFrom      string      `json:"period_from"`
	PeriodTo        string      `json:"period_to"`
	Email           string      `json:"email"`
	StatementID     StatementID `json:"statement_id,omitempty"`
	StatementSHA256 string      `json:"statement_sha256,omitempty"`
}

// Approval is a supervisor's decision on a case. A case has at most one;
// an approval is used once, by the release it allows.
type Approval struct {
	ID         string
	CaseID     CaseID
	Supervisor StaffID
	Actor      string
	Decision   Decision
	Reason     string
	Action     ApprovalAction
	CreatedAt  time.Time
	UsedAt     *time.Time
}

// ApprovalRepo stores the supervisors' decisions, one per case, and their
// single use by a release. Methods return ENOTFOUND for missing rows and
// ECONFLICT for uniqueness violations or lost races.
type ApprovalRepo interface {
	// CreateApproval stores the case's decision; ECONFLICT when the case
	// already has one.
	CreateApproval(ctx context.Context, a *Approval) error
	ApprovalByCase(ctx context.Context, id CaseID) (*Approval, error)
	// UseApproval marks the approval used if it is unused; ECONFLICT
	// otherwise.
	UseApproval(ctx context.Context, id string, at time.Time) error
}
