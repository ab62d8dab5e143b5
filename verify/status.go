package verify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"remoteidv/models"
)

// DefaultStatusTTL is how long a customer session may read its status
// page when CallsConfig.StatusTTL is zero.
const DefaultStatusTTL = 30 * 24 * time.Hour

// Status steps, in the order the customer's request goes through them.
const (
	StepScheduled = "scheduled"
	StepConsent   = "consent"
	StepCall      = "call"
	StepReview    = "review"
	StepDecision  = "decision"
	StepStatement = "statement"
)

// StatusStep is one step of the customer's request: done, the one it
// stands at (Current), or still ahead.
type StatusStep struct {
	Key     string
	Done    bool
	Current bool
}

// CustomerStatus is where a customer's request stands, as their status
// page shows it: nothing the customer was not already shown (no account
// number, no names, no reasons, no staff notes).
type CustomerStatus struct {
	CaseRef    models.CaseID
	SlotAt     time.Time // UTC
	CustomerTZ string
	// Outcome is "" while the request is open, else approved, rejected,
	// cancelled, expired or aborted.
	Outcome string
	// StatementSent says the document was delivered to the registered
	// address.
	StatementSent bool
	Steps         []StatusStep
}

// StatusUntil is when the session's cookie stops opening the status page:
// the later of the session's end and StatusTTL after it started. The
// cookie lives as long (the call page still ends with the session).
func (c *Calls) StatusUntil(sess *models.CustomerSession) time.Time {
	if t := sess.CreatedAt.Add(c.statusTTL); t.After(sess.ExpiresAt) {
		return t
	}
	return sess.ExpiresAt
}

// CustomerStatus returns the status of the case of the customer session
// whose cookie secret is secret. Unlike the call page it outlives the call
// (StatusUntil) and a revoked invite, so the customer can follow the
// review, the decision and the statement; every refusal (malformed,
// unknown or expired session) is the one EGONE.
func (c *Calls) CustomerStatus(ctx context.Context, secret string) (*CustomerStatus, error) {
	if !strings.HasPrefix(secret, "cs1_") || len(secret) != 47 {
		return nil, models.ErrInviteGone
	}
	var out *CustomerStatus
	err := c.svc.store.Transact(ctx, func(tx models.Tx) error {
		sess, err := tx.CustomerSessionByHash(ctx, secretHash(secret))
		if models.ErrorCodeOf(err) == models.ENOTFOUND {
			return models.ErrInviteGone
		}
		if err != nil {
			return err
		}
		if c.svc.now().After(c.StatusUntil(sess)) {
			return models.ErrInviteGone
		}
		cs, err := tx.CaseByID(ctx, sess.CaseID)
		if err != nil {
			return err
		}
		out = statusOf(cs, sess.ConsentAt != nil)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("customer status: %w", err)
	}
	return out, nil
}

// statusOf maps a case's state (and whether the customer consented) to the
// steps of its status page.
func statusOf(cs *models.Case, consented bool) *CustomerStatus {
	st := &CustomerStatus{CaseRef: cs.ID, SlotAt: cs.SlotAt, CustomerTZ: cs.CustomerTZ}
	// reached is how many steps are done; the next one is current while
	// the request is open.
	reached := 1 // scheduled
	switch cs.State {
	case models.StateScheduled:
		if consented {
			reached = 2
		}
	case models.StateInSession:
		reached = 2
	case models.StatePendingReview:
		reached = 3
	case models.StateApproved, models.StateSealed, models.StateReleased:
		reached, st.Outcome = 5, "approved"
	case models.StateClosed:
		reached, st.Outcome, st.StatementSent = 6, "approved", true
	case models.StateRejected:
		reached, st.Outcome = 5, "rejected"
	case models.StateCancelled, models.StateExpired, models.StateAborted:
		st.Outcome = string(cs.State)
		if consented {
			reached = 2
		}
	}
	keys := []string{StepScheduled, StepConsent, StepCall, StepReview, StepDecision, StepStatement}
	if st.Outcome == "rejected" {
		keys = keys[:5] // no statement follows a rejection
	}
	ended := st.Outcome != "" && st.Outcome != "approved"
	for i, k := range keys {
		st.Steps = append(st.Steps, StatusStep{Key: k, Done: i < reached, Current: i == reached && !ended})
	}
	return st
}
