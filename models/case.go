package models

import (
	"fmt"
	"slices"
	"time"
)

// CaseState is where a case stands: scheduled -> in_session ->
// pending_review -> approved -> sealed -> released -> closed, or ended early
// as rejected, cancelled, expired or aborted (Transition holds the edges).
type CaseState string

// Case states.
const (
	StateScheduled     CaseState = "scheduled"
	StateInSession     CaseState = "in_session"
	StatePendingReview CaseState = "pending_review"
	StateApproved      CaseState = "approved"
	StateSealed        CaseState = "sealed"
	StateReleased      CaseState = "released"
	StateClosed        CaseState = "closed"
	StateRejected      CaseState = "rejected"
	StateCancelled     CaseState = "cancelled"
	StateExpired       CaseState = "expired"
	StateAborted       CaseState = "aborted"
)

// CaseStates lists every state in workflow order.
var CaseStates = []CaseState{
	StateScheduled, StateInSession, StatePendingReview, StateApproved, StateSealed,
	StateReleased, StateClosed, StateRejected, StateCancelled, StateExpired, StateAborted,
}

func (s CaseState) String() string { return string(s) }

// ParseCaseState returns the state named s.
func ParseCaseState(s string) (CaseState, error) {
	st := CaseState(s)
	if !slices.Contains(CaseStates, st) {
		return "", Errorf(EINVALID, "unknown case state %q", s)
	}
	return st, nil
}

// Open reports whether a case in state s is still being worked on (before a
// decision). Open cases can be cancelled or aborted.
func (s CaseState) Open() bool {
	return s == StateScheduled || s == StateInSession || s == StatePendingReview
}

// TakesChecks reports whether a case in state s is still before
// submission, awaiting or in its call: only then are its checks, captures,
// letters, email code and customer session taken.
func (s CaseState) TakesChecks() bool {
	return s == StateScheduled || s == StateInSession
}

// Terminal reports whether no transition leaves s.
func (s CaseState) Terminal() bool {
	switch s {
	case StateClosed, StateRejected, StateCancelled, StateExpired, StateAborted:
		return true
	}
	return false
}

// CaseEvent is what happens to a case; Transition says where it leads.
type CaseEvent string

// Case events.
const (
	EventJoin       CaseEvent = "join"       // the call starts
	EventReschedule CaseEvent = "reschedule" // a new slot (before or after a dropped call)
	EventSubmit     CaseEvent = "submit"     // the clerk submits for approval
	EventApprove    CaseEvent = "approve"    // a supervisor approves
	EventReject     CaseEvent = "reject"     // a supervisor rejects
	EventSeal       CaseEvent = "seal"       // every artifact archived, manifest signed
	EventRelease    CaseEvent = "release"    // statement delivered
	EventClose      CaseEvent = "close"      // paperwork done
	EventCancel     CaseEvent = "cancel"     // withdrawn by the bank or customer
	EventExpire     CaseEvent = "expire"     // the link was never used
	EventAbort      CaseEvent = "abort"      // poor video, suspected fraud
)

// CaseEvents lists every event.
var CaseEvents = []CaseEvent{
	EventJoin, EventReschedule, EventSubmit, EventApprove, EventReject, EventSeal,
	EventRelease, EventClose, EventCancel, EventExpire, EventAbort,
}

func (e CaseEvent) String() string { return string(e) }

// transitions is the whole state machine: from state, on event, to state.
var transitions = map[CaseState]map[CaseEvent]CaseState{
	StateScheduled: {
		EventJoin:       StateInSession,
		EventReschedule: StateScheduled,
		EventCancel:     StateCancelled,
		EventExpire:     StateExpired,
		EventAbort:      StateAborted,
	},
	StateInSession: {
		EventJoin:       StateInSession, // a reconnect
		EventReschedule: StateScheduled, // the call dropped; try again later
		EventSubmit:     StatePendingReview,
		EventCancel:     StateCancelled,
		EventAbort:      StateAborted,
	},
	StatePendingReview: {
		EventApprove: StateApproved,
		EventReject:  StateRejected,
		EventCancel:  StateCancelled,
		EventAbort:   StateAborted,
	},
	StateApproved: {EventSeal: StateSealed},
	StateSealed:   {EventRelease: StateReleased},
	StateReleased: {EventClose: StateClosed},
}

// Transition returns the state a case in state from reaches on event, or an
// ECONFLICT error naming both when the event is not allowed there.
func Transition(from CaseState, event CaseEvent) (CaseState, error) {
	if to, ok := transitions[from][event]; ok {
		return to, nil
	}
	return "", Errorf(ECONFLICT, "case is %s: cannot %s", from, event)
}

// Requirements are the facts that must all hold before a case may be
// submitted for review; CheckSubmit names every one that is missing.
type Requirements struct {
	ConsentRecorded   bool
	FaceMatchPassed   bool // at least one live capture (a frame the server took in the recorded call, after consent) matching an account photo, visually confirmed by the clerk; never an uploaded photo
	LivenessPassed    bool
	SignaturePassed   bool
	LetterOnFile      bool
	RegistryPassed    bool
	OTPVerified       bool
	RecordingComplete bool
	// StatementReady: the statement the case asks for can be produced from
	// the ledger (see verify's statementProblem); when not,
	// StatementProblem says why, for the clerk, and StatementCode is one of
	// the Statement* codes below (for translated pages).
	StatementReady   bool
	StatementProblem string
	StatementCode    string
}

// Why a case's statement cannot be produced (Requirements.StatementCode).
const (
	StatementNoImport     = "no_ledger_import" // no ledger import was recorded
	StatementLedgerBehind = "ledger_behind"    // the latest import ends before the period does
	StatementNoData       = "no_ledger_data"   // the account has no booking up to the period's end
)

// Missing names every requirement that does not hold, in a fixed order.
func (r Requirements) Missing() []string {
	var m []string
	add := func(ok bool, name string) {
		if !ok {
			m = append(m, name)
		}
	}
	add(r.ConsentRecorded, "consent")
	add(r.FaceMatchPassed, "face_match")
	add(r.LivenessPassed, "liveness")
	add(r.SignaturePassed, "signature")
	add(r.LetterOnFile, "authorization_letter")
	add(r.RegistryPassed, "registry_check")
	add(r.OTPVerified, "email_code")
	add(r.RecordingComplete, "recording")
	add(r.StatementReady, "statement")
	return m
}

// CheckSubmit returns nil when r allows submission, else an EPRECONDITION
// error listing what is missing.
func CheckSubmit(r Requirements) error {
	if m := r.Missing(); len(m) > 0 {
		msg := "case cannot be submitted: requirements missing"
		if !r.StatementReady && r.StatementProblem != "" {
			msg += " (statement: " + r.StatementProblem + ")"
		}
		return &Error{Code: EPRECONDITION, Message: msg, Details: m}
	}
	return nil
}

// Purpose is the service the customer asked for: which document the case
// issues (verify's service table says how each is checked and drawn).
type Purpose string

// Purposes.
const (
	// PurposeStatement is a transaction statement of a period.
	PurposeStatement Purpose = "transaction_statement"
	// PurposeBalanceCertificate certifies the account's balances at the end
	// of one day: the case's period is that one date (PeriodFrom ==
	// PeriodTo).
	PurposeBalanceCertificate Purpose = "balance_certificate"
)

// Purposes lists every service a case may be opened for, in the order
// forms offer them.
var Purposes = []Purpose{PurposeStatement, PurposeBalanceCertificate}

func (p Purpose) String() string { return string(p) }

// ParsePurpose returns the purpose named s, or EINVALID naming the ones
// offered.
func ParsePurpose(s string) (Purpose, error) {
	p := Purpose(s)
	if !slices.Contains(Purposes, p) {
		return "", Errorf(EINVALID, "purpose %q is not offered (want one of %v)", s, Purposes)
	}
	return p, nil
}

// DateLayout is how calendar dates (statement periods) are written.
const DateLayout = "2006-01-02"

// Case is one remote verification of one customer for one purpose.
type Case struct {
	ID         CaseID
	AccountNo  AccountNo
	Purpose    Purpose
	PeriodFrom string // YYYY-MM-DD, inclusive
	PeriodTo   string // YYYY-MM-DD, inclusive
	State      CaseState
	ClerkID    StaffID   // the primary clerk: who opened the case, unless a supervisor reassigned it
	BackupID   StaffID   // the backup clerk, who may run the case as the primary does; "" for none
	SlotAt     time.Time // UTC; zero until scheduled
	CustomerTZ string    // IANA zone the slot was given in
	Reason     string    // why the case was rejected, cancelled or aborted
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Version    int64 // bumped on every change, for optimistic checks
}

// ValidatePeriod checks that from and to are dates, from <= to, and to is not
// after today (in UTC).
func ValidatePeriod(from, to string, now time.Time) error {
	f, err := time.Parse(DateLayout, from)
	if err != nil {
		return Errorf(EINVALID, "period_from %q is not a date (YYYY-MM-DD)", from)
	}
	t, err := time.Parse(DateLayout, to)
	if err != nil {
		return Errorf(EINVALID, "period_to %q is not a date (YYYY-MM-DD)", to)
	}
	if t.Before(f) {
		return Errorf(EINVALID, "period_to %s is before period_from %s", to, from)
	}
	if t.After(now.UTC()) {
		return Errorf(EINVALID, "period_to %s is in the future", to)
	}
	if t.Sub(f) > 366*24*time.Hour*10 {
		return Errorf(EINVALID, "period longer than 10 years")
	}
	return nil
}

// CaseFilter selects cases for listing and search.
type CaseFilter struct {
	State     CaseState
	AccountNo AccountNo
	ClerkID   StaffID // the primary clerk
	// AssignedTo selects the cases the staff member is a clerk of, as
	// primary or as backup.
	AssignedTo StaffID
	SlotFrom   time.Time // inclusive; zero for no bound
	SlotTo     time.Time // exclusive; zero for no bound
	Limit      int       // 1..200
	Offset     int
}

// Validate checks the paging bounds.
func (f CaseFilter) Validate() error {
	if f.Limit < 1 || f.Limit > 200 {
		return Errorf(EINVALID, "limit %d out of range 1..200", f.Limit)
	}
	if f.Offset < 0 || f.Offset > 1_000_000 {
		return Errorf(EINVALID, "offset %d out of range", f.Offset)
	}
	return nil
}

// Invite is the customer's link to a case's call. Only the SHA-256 of the
// token is stored.
type Invite struct {
	ID        InviteID
	CaseID    CaseID
	TokenHash string
	NotBefore time.Time
	NotAfter  time.Time
	CreatedAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// Usable returns nil if the invite may be exchanged at now, else an EGONE
// error. The message is the same whatever the reason, so it gives no oracle.
func (i *Invite) Usable(now time.Time) error {
	if i.UsedAt != nil || i.RevokedAt != nil || now.Before(i.NotBefore) || now.After(i.NotAfter) {
		return ErrInviteGone
	}
	return nil
}

// ErrInviteGone is the one answer for an expired, used, revoked or unknown link.
var ErrInviteGone = &Error{Code: EGONE, Message: "this link is not valid: it has expired, was already used, or does not exist"}

// InviteWindow is the validity of an invite around its slot.
func InviteWindow(slot time.Time) (notBefore, notAfter time.Time) {
	return slot.Add(-15 * time.Minute), slot.Add(30 * time.Minute)
}

// Clerks lists the case's assigned clerks: the primary, then the backup
// when there is one.
func (c *Case) Clerks() []StaffID {
	if c.BackupID == "" {
		return []StaffID{c.ClerkID}
	}
	return []StaffID{c.ClerkID, c.BackupID}
}

// ClerkRole is how a member of staff is assigned to a case.
type ClerkRole string

// The two clerk roles of a case.
const (
	ClerkPrimary ClerkRole = "primary"
	ClerkBackup  ClerkRole = "backup"
)

func (r ClerkRole) String() string { return string(r) }

// ParseClerkRole returns the clerk role named s.
func ParseClerkRole(s string) (ClerkRole, error) {
	switch r := ClerkRole(s); r {
	case ClerkPrimary, ClerkBackup:
		return r, nil
	}
	return "", Errorf(EINVALID, "unknown clerk role %q (want primary or backup)", s)
}

// ClerkRoleOf returns id's role on the case, or "" when id is not one of
// its clerks.
func (c *Case) ClerkRoleOf(id StaffID) ClerkRole {
	switch {
	case id == "":
		return ""
	case id == c.ClerkID:
		return ClerkPrimary
	case id == c.BackupID:
		return ClerkBackup
	}
	return ""
}

// String is for error messages.
func (c *Case) String() string { return fmt.Sprintf("case %s (%s)", c.ID, c.State) }
