package models

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTransition(t *testing.T) {
	// Every legal edge; every other (state, event) pair must be a conflict.
	legal := map[[2]string]CaseState{
		{"scheduled", "join"}:         StateInSession,
		{"scheduled", "reschedule"}:   StateScheduled,
		{"scheduled", "cancel"}:       StateCancelled,
		{"scheduled", "expire"}:       StateExpired,
		{"scheduled", "abort"}:        StateAborted,
		{"in_session", "join"}:        StateInSession,
		{"in_session", "reschedule"}:  StateScheduled,
		{"in_session", "submit"}:      StatePendingReview,
		{"in_session", "cancel"}:      StateCancelled,
		{"in_session", "abort"}:       StateAborted,
		{"pending_review", "approve"}: StateApproved,
		{"pending_review", "reject"}:  StateRejected,
		{"pending_review", "cancel"}:  StateCancelled,
		{"pending_review", "abort"}:   StateAborted,
		{"approved", "seal"}:          StateSealed,
		{"sealed", "release"}:         StateReleased,
		{"released", "close"}:         StateClosed,
	}
	seen := 0
	for _, from := range CaseStates {
		for _, ev := range CaseEvents {
			t.Run(fmt.Sprintf("%s/%s", from, ev), func(t *testing.T) {
				got, err := Transition(from, ev)
				want, ok := legal[[2]string{string(from), string(ev)}]
				if ok {
					seen++
					if err != nil || got != want {
						t.Fatalf("Transition(%s, %s) = %q, %v; want %q", from, ev, got, err, want)
					}
					return
				}
				if ErrorCodeOf(err) != ECONFLICT {
					t.Fatalf("Transition(%s, %s) = %q, %v; want a conflict", from, ev, got, err)
				}
				if msg := err.Error(); !strings.Contains(msg, string(from)) || !strings.Contains(msg, string(ev)) {
					t.Fatalf("Transition(%s, %s) error %q does not name the state and event", from, ev, msg)
				}
			})
		}
	}
	if seen != len(legal) {
		t.Fatalf("%d legal edges exercised, want %d (a state or event is missing from CaseStates/CaseEvents)", seen, len(legal))
	}
	for _, s := range CaseStates {
		if s.Terminal() && len(transitions[s]) > 0 {
			t.Errorf("%s is terminal but has transitions", s)
		}
	}
}

// TestTakesChecks: only a case awaiting or in its call takes checks,
// captures, letters and customer sessions; every state is listed.
func TestTakesChecks(t *testing.T) {
	want := map[CaseState]bool{StateScheduled: true, StateInSession: true}
	for _, s := range CaseStates {
		if got := s.TakesChecks(); got != want[s] {
			t.Errorf("%s.TakesChecks() = %v, want %v", s, got, want[s])
		}
	}
}

func TestRequirements(t *testing.T) {
	all := Requirements{true, true, true, true, true, true, true, true, true, "", ""}
	if err := CheckSubmit(all); err != nil {
		t.Fatalf("CheckSubmit(all met) = %v, want nil", err)
	}
	tests := []struct {
		name string
		r    Requirements
		want []string
	}{
		{"nothing", Requirements{}, []string{"consent", "face_match", "liveness", "signature", "authorization_letter", "registry_check", "email_code", "recording", "statement"}},
		{"no liveness", func() Requirements { r := all; r.LivenessPassed = false; return r }(), []string{"liveness"}},
		{"no registry or code", func() Requirements { r := all; r.RegistryPassed, r.OTPVerified = false, false; return r }(), []string{"registry_check", "email_code"}},
		{"no statement", func() Requirements {
			r := all
			r.StatementReady, r.StatementProblem = false, "no ledger data"
			return r
		}(), []string{"statement"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSubmit(tt.r)
			if ErrorCodeOf(err) != EPRECONDITION {
				t.Fatalf("CheckSubmit = %v, want precondition error", err)
			}
			if diff := cmp.Diff(tt.want, ErrorDetailsOf(err)); diff != "" {
				t.Fatalf("missing (-want +got):\n%s", diff)
			}
			if tt.r.StatementProblem != "" && !strings.Contains(err.Error(), tt.r.StatementProblem) {
				t.Errorf("CheckSubmit = %v, want the statement's problem named", err)
			}
		})
	}
}

func TestInviteUsable(t *testing.T) {
	slot := time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)
	nb, na := InviteWindow(slot)
	used := slot
	tests := []struct {
		name string
		inv  Invite
		at   time.Time
		ok   bool
	}{
		{"too early", Invite{NotBefore: nb, NotAfter: na}, slot.Add(-16 * time.Minute), false},
		{"window opens", Invite{NotBefore: nb, NotAfter: na}, slot.Add(-15 * time.Minute), true},
		{"at slot", Invite{NotBefore: nb, NotAfter: na}, slot, true},
		{"window closes", Invite{NotBefore: nb, NotAfter: na}, slot.Add(30 * time.Minute), true},
		{"too late", Invite{NotBefore: nb, NotAfter: na}, slot.Add(31 * time.Minute), false},
		{"used", Invite{NotBefore: nb, NotAfter: na, UsedAt: &used}, slot, false},
		{"revoked", Invite{NotBefore: nb, NotAfter: na, RevokedAt: &used}, slot, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.inv.Usable(tt.at)
			if (err == nil) != tt.ok {
				t.Fatalf("Usable(%v) = %v, want ok=%v", tt.at, err, tt.ok)
			}
			if err != nil && err != ErrInviteGone {
				t.Fatalf("Usable error = %v, want the single gone error", err)
			}
		})
	}
}

func TestValidatePeriod(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		from, to string
		ok       bool
	}{
		{"2025-01-01", "2025-12-31", true},
		{"2025-01-01", "2025-01-01", true},
		{"2025-12-31", "2025-01-01", false},
		{"2025-13-01", "2025-12-31", false},
		{"yesterday", "2025-12-31", false},
		{"2026-01-01", "2027-01-01", false},
	}
	for _, tt := range tests {
		if err := ValidatePeriod(tt.from, tt.to, now); (err == nil) != tt.ok {
			t.Errorf("ValidatePeriod(%s, %s) = %v, want ok=%v", tt.from, tt.to, err, tt.ok)
		}
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"110101199003071234", "110***********1234"},
		{"abc", "***"},
	}
	for _, tt := range tests {
		if got := MaskNationalID(tt.in); got != tt.want {
			t.Errorf("MaskNationalID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := MaskAccountNo("6222000011112222"); got != "************2222" {
		t.Errorf("MaskAccountNo = %q", got)
	}
}

func TestMaskEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"liu.yang@example.com", "l***@example.com"},
		{"a@b.example", "a***@b.example"},
		{"王伟@example.cn", "王***@example.cn"},
		{"no-at-sign", "**********"},
		{"@example.com", "************"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := MaskEmail(tt.in); got != tt.want {
			t.Errorf("MaskEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRecordingDone(t *testing.T) {
	end := time.Date(2026, 12, 1, 14, 30, 0, 0, time.UTC)
	video := &CallSegment{Participant: "customer", Track: "video", Size: 1 << 20}
	call := func(rec RecordingState, ended bool, segs ...*CallSegment) *Call {
		c := &Call{Recording: rec, Segments: segs}
		if ended {
			c.EndedAt = &end
		}
		return c
	}
	tests := []struct {
		name  string
		calls []*Call
		want  bool
	}{
		{"no call", nil, false},
		{"complete with customer video", []*Call{call(RecordingComplete, true, video)}, true},
		{"complete but no segments", []*Call{call(RecordingComplete, true)}, false},
		{"only the clerk's video", []*Call{call(RecordingComplete, true, &CallSegment{Participant: "clerk", Track: "video", Size: 10})}, false},
		{"only customer audio", []*Call{call(RecordingComplete, true, &CallSegment{Participant: "customer", Track: "audio", Size: 10})}, false},
		{"empty customer video", []*Call{call(RecordingComplete, true, &CallSegment{Participant: "customer", Track: "video"})}, false},
		{"still running", []*Call{call(RecordingComplete, false, video)}, false},
		{"the last call incomplete", []*Call{call(RecordingComplete, true, video), call(RecordingIncomplete, true)}, false},
		{"an incomplete call, then a complete one", []*Call{call(RecordingIncomplete, true, video), call(RecordingComplete, true, video)}, true},
		{"customer video only in the incomplete call", []*Call{call(RecordingIncomplete, true, video), call(RecordingComplete, true)}, false},
		{"an incomplete call still open", []*Call{call(RecordingIncomplete, false, video), call(RecordingComplete, true, video)}, false},
		{"only an incomplete call", []*Call{call(RecordingIncomplete, true, video)}, false},
	}
	for _, tt := range tests {
		if got := RecordingDone(tt.calls); got != tt.want {
			t.Errorf("RecordingDone(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParsePurpose(t *testing.T) {
	tests := []struct {
		in   string
		want Purpose
		ok   bool
	}{
		{"transaction_statement", PurposeStatement, true},
		{"balance_certificate", PurposeBalanceCertificate, true},
		{"", "", false},
		{"Balance_Certificate", "", false},
		{"loan", "", false},
	}
	for _, tt := range tests {
		got, err := ParsePurpose(tt.in)
		if got != tt.want || (err == nil) != tt.ok || (err != nil && ErrorCodeOf(err) != EINVALID) {
			t.Errorf("ParsePurpose(%q) = %q, %v; want %q (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
