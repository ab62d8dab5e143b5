package models

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Customer communications (issue 16, point 4): the case's calendar entry,
// the reminders sent for its slot, and how the request came in.

// CaseCalendar is the calendar entry the customer was sent for a case: one
// UID for the case's life (the first invite's), and the SEQUENCE of the
// latest calendar file, raised by every later one (a new invite, a
// reschedule, a cancellation), so calendar programs replace the entry.
type CaseCalendar struct {
	CaseID    CaseID
	UID       string
	Sequence  int
	UpdatedAt time.Time // when the latest calendar file was made
}

// ReminderKind names a reminder by how long before the slot it is sent.
type ReminderKind string

// The customer's reminders. Reminders lists them from the furthest to the
// closest to the slot.
const (
	Reminder24h ReminderKind = "24h"
	Reminder1h  ReminderKind = "1h"
)

// Reminders are the reminders sent before each slot.
var Reminders = []ReminderKind{Reminder24h, Reminder1h}

// String returns the kind's name.
func (k ReminderKind) String() string { return string(k) }

// Before is how long before the slot the reminder is due.
func (k ReminderKind) Before() time.Duration {
	switch k {
	case Reminder24h:
		return 24 * time.Hour
	case Reminder1h:
		return time.Hour
	}
	return 0
}

// Reminder records that one reminder for one slot of a case was put in the
// outbox: the row, unique per (case, slot, kind), is what keeps a reminder
// from going twice, whichever process or run gets there first.
type Reminder struct {
	CaseID CaseID
	SlotAt time.Time // UTC: the slot it reminds of
	Kind   ReminderKind
	MailID string
	SentAt time.Time
}

// IntakeChannel is how a customer's request reached the bank.
type IntakeChannel string

// Intake channels.
const (
	IntakePhone   IntakeChannel = "phone"
	IntakeEmail   IntakeChannel = "email"
	IntakeCounter IntakeChannel = "counter"
	IntakeLetter  IntakeChannel = "letter"
)

// IntakeChannels lists the channels a clerk may record.
var IntakeChannels = []IntakeChannel{IntakePhone, IntakeEmail, IntakeCounter, IntakeLetter}

// String returns the channel's name.
func (c IntakeChannel) String() string { return string(c) }

// MaxIntakeNotes is the longest intake note, in characters.
const MaxIntakeNotes = 2000

// CaseIntake records how the request behind a case came in: the channel,
// when the bank received it, and the clerk's notes.
type CaseIntake struct {
	CaseID     CaseID
	Channel    IntakeChannel
	ReceivedAt time.Time // UTC
	Notes      string
	RecordedBy StaffID
	CreatedAt  time.Time
}

// ValidateIntake checks an intake record as a clerk entered it, at now: a
// known channel, a receipt time not in the future (a minute of clock skew
// allowed) nor more than a year back, and notes of at most MaxIntakeNotes
// characters of printable text. It returns EINVALID naming the field.
func ValidateIntake(in *CaseIntake, now time.Time) error {
	known := false
	for _, c := range IntakeChannels {
		known = known || in.Channel == c
	}
	if !known {
		return Errorf(EINVALID, "intake channel %q must be one of phone, email, counter, letter", in.Channel)
	}
	if in.ReceivedAt.IsZero() {
		return Errorf(EINVALID, "intake received_at is required with a channel")
	}
	if in.ReceivedAt.After(now.Add(time.Minute)) {
		return Errorf(EINVALID, "intake received_at %s is in the future", in.ReceivedAt.UTC().Format(time.RFC3339))
	}
	if in.ReceivedAt.Before(now.AddDate(-1, 0, 0)) {
		return Errorf(EINVALID, "intake received_at %s is more than a year ago", in.ReceivedAt.UTC().Format(time.RFC3339))
	}
	if !utf8.ValidString(in.Notes) || utf8.RuneCountInString(in.Notes) > MaxIntakeNotes {
		return Errorf(EINVALID, "intake notes must be text of at most %d characters", MaxIntakeNotes)
	}
	if strings.ContainsFunc(in.Notes, func(r rune) bool { return r < ' ' && r != '\n' && r != '\t' && r != '\r' }) {
		return Errorf(EINVALID, "intake notes may not hold control characters")
	}
	return nil
}

// CommsRepo stores what the customer was sent about a case and how the
// request came in.
type CommsRepo interface {
	// NextCalendarSequence records that a calendar file is being sent for
	// the case at at and returns its UID and SEQUENCE: for the case's
	// first, uid and 0; for every later one, the stored UID and the
	// stored sequence plus one.
	NextCalendarSequence(ctx context.Context, id CaseID, uid string, at time.Time) (string, int, error)
	// CaseCalendar returns the case's calendar entry; ENOTFOUND when none
	// was ever sent.
	CaseCalendar(ctx context.Context, id CaseID) (*CaseCalendar, error)
	// RecordReminder records a reminder; ECONFLICT when the same kind for
	// the same slot of the case is recorded already.
	RecordReminder(ctx context.Context, r *Reminder) error
	// RemindersByCase lists the case's reminders, oldest first.
	RemindersByCase(ctx context.Context, id CaseID) ([]*Reminder, error)
	// CreateCaseIntake stores the case's intake record; ECONFLICT when the
	// case has one.
	CreateCaseIntake(ctx context.Context, in *CaseIntake) error
	// CaseIntake returns the case's intake record; ENOTFOUND when none.
	CaseIntake(ctx context.Context, id CaseID) (*CaseIntake, error)
}
