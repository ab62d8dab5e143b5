package models

import (
	"context"
	"time"
)

// NotifyKind is what a staff notification is about.
type NotifyKind string

// The kinds of staff notification and whom each goes to.
const (
	NotifyCustomerConsented NotifyKind = "customer_consented" // the case's clerks
	NotifyCustomerWaiting   NotifyKind = "customer_waiting"   // the case's clerks: the customer opened the call first
	NotifySlotNoClerk       NotifyKind = "slot_no_clerk"      // the case's clerks and the supervisors: the slot is near, no clerk joined
	NotifyLetterUploaded    NotifyKind = "letter_uploaded"    // the case's clerks
	NotifyCaseSubmitted     NotifyKind = "case_submitted"     // the supervisors
	NotifyCaseRejected      NotifyKind = "case_rejected"      // the case's clerks
	NotifyReassigned        NotifyKind = "case_reassigned"    // the clerk who left and the one who came
)

// NotifyKinds lists every kind in the order the documentation gives them.
var NotifyKinds = []NotifyKind{NotifyCustomerConsented, NotifyCustomerWaiting, NotifySlotNoClerk, NotifyLetterUploaded,
	NotifyCaseSubmitted, NotifyCaseRejected, NotifyReassigned}

func (k NotifyKind) String() string { return string(k) }

// ParseNotifyKind returns the kind named s.
func ParseNotifyKind(s string) (NotifyKind, error) {
	for _, k := range NotifyKinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", Errorf(EINVALID, "unknown notification kind %q", s)
}

// Notification channels.
const (
	ChannelEmail   = "email"   // Ref is the outbox message's ID
	ChannelWebhook = "webhook" // Ref is "audit:<seq>" of the staff.notified event the webhooks deliver
)

// NotifyPref is a member's choice for one kind: whether they are told at
// all (by webhook) and whether by email too. A kind with no stored choice
// is on, by email.
type NotifyPref struct {
	Kind    NotifyKind
	Enabled bool
	Email   bool
}

// StaffNotification is one notification sent to one member of staff on
// one channel.
type StaffNotification struct {
	ID        string
	StaffID   StaffID
	Kind      NotifyKind
	CaseID    CaseID
	Channel   string // ChannelEmail or ChannelWebhook
	Ref       string // the mail's ID or "audit:<seq>"
	AuditSeq  int64  // the audit event it came from; 0 for the slot alert
	CreatedAt time.Time
}

// NotificationFilter selects notifications, newest first.
type NotificationFilter struct {
	StaffID StaffID // "" for everyone's
	CaseID  CaseID
	Limit   int
}

// NotifyRepo stores staff notification preferences, the notifications
// sent, the slot alerts and the notification dispatcher's cursor.
type NotifyRepo interface {
	// NotifyPrefs returns the member's stored choices (kinds without one
	// are missing), in kind order.
	NotifyPrefs(ctx context.Context, id StaffID) ([]NotifyPref, error)
	// SetNotifyPref stores the member's choice for p.Kind; ENOTFOUND for
	// an unknown member.
	SetNotifyPref(ctx context.Context, id StaffID, p NotifyPref) error
	// RecordNotification stores a notification; ECONFLICT when its ID
	// exists.
	RecordNotification(ctx context.Context, n *StaffNotification) error
	// Notifications lists notifications, newest first.
	Notifications(ctx context.Context, f NotificationFilter) ([]*StaffNotification, error)
	// ClaimSlotAlert records that the alert for the case's slot is sent;
	// ECONFLICT when it already was.
	ClaimSlotAlert(ctx context.Context, id CaseID, slot, at time.Time) error
	// NotifyCursor returns the last audit sequence number the notification
	// dispatcher handled, locking it for the transaction.
	NotifyCursor(ctx context.Context) (int64, error)
	// SetNotifyCursor moves it forward; ECONFLICT if seq is behind.
	SetNotifyCursor(ctx context.Context, seq int64) error
}
