package verify

import (
	"strings"
	"testing"

	"remoteidv/models"
)

// TestStatusOf maps every case state to the status page's steps: what is
// done (d), the step in progress (c) and what is ahead (-), in the order
// scheduled, consent, call, review, decision, statement.
func TestStatusOf(t *testing.T) {
	tests := []struct {
		state     models.CaseState
		consented bool
		steps     string
		outcome   string
		sent      bool
	}{
		{models.StateScheduled, false, "dc----", "", false},
		{models.StateScheduled, true, "ddc---", "", false},
		{models.StateInSession, true, "ddc---", "", false},
		{models.StatePendingReview, true, "dddc--", "", false},
		{models.StateApproved, true, "dddddc", "approved", false},
		{models.StateSealed, true, "dddddc", "approved", false},
		{models.StateReleased, true, "dddddc", "approved", false},
		{models.StateClosed, true, "dddddd", "approved", true},
		{models.StateRejected, true, "ddddd", "rejected", false},
		{models.StateCancelled, false, "d-----", "cancelled", false},
		{models.StateExpired, false, "d-----", "expired", false},
		{models.StateAborted, true, "dd----", "aborted", false},
	}
	for _, tt := range tests {
		st := statusOf(&models.Case{ID: "case_x", State: tt.state}, tt.consented)
		var b strings.Builder
		for _, s := range st.Steps {
			switch {
			case s.Done:
				b.WriteByte('d')
			case s.Current:
				b.WriteByte('c')
			default:
				b.WriteByte('-')
			}
		}
		if b.String() != tt.steps || st.Outcome != tt.outcome || st.StatementSent != tt.sent {
			t.Errorf("statusOf(%s, consented %v) = %s %q sent %v, want %s %q sent %v", tt.state, tt.consented, b.String(), st.Outcome, st.StatementSent, tt.steps, tt.outcome, tt.sent)
		}
	}
}
