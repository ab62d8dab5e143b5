// Package webhook tells integrations what happens to cases without their
// polling: admins register endpoints (URL, secret, event types), a
// dispatcher follows the hash-chained audit log from a stored cursor and
// queues deliveries, and a worker posts them signed the Standard Webhooks
// way (HMAC-SHA256 over id, timestamp and body), retrying with exponential
// backoff for a day. Payloads are built from an allowlist of audit detail
// fields: ids, states, check kinds and results, times; never biometric
// data, addresses, passwords or full account numbers.
package webhook

import (
	"strconv"
	"strings"

	"remoteidv/models"
)

// Event types an endpoint may subscribe to ("*": all of them).
const (
	CaseCreated        = "case.created"
	CaseStateChanged   = "case.state_changed"
	CheckRecorded      = "check.recorded"
	CallStarted        = "call.started"
	CallEnded          = "call.ended"
	EvidenceSealed     = "evidence.sealed"
	StatementReleased  = "statement.released"
	StatementDelivered = "statement.delivered"
	LetterUploaded     = "letter.uploaded"
	CustomerConsented  = "customer.consented"
	// StaffNotification tells an integration (a pager, a text-message
	// gateway) that a member of staff was notified: their staff ID and
	// the notification's kind, never anything about the customer.
	StaffNotification = "staff.notification"
)

// Types lists every event type, in the order the documentation gives them.
var Types = []string{CaseCreated, CaseStateChanged, CheckRecorded, CallStarted, CallEnded, EvidenceSealed, StatementReleased,
	StatementDelivered, LetterUploaded, CustomerConsented, StaffNotification}

// Event is one webhook event made from an audit event: its type and the
// data object of the payload.
type Event struct {
	Type string
	Data map[string]any
}

// caseEvents are the state machine's events whose audit action is
// "case.<event>" with from and to.
var caseEvents = map[string]bool{}

func init() {
	for _, e := range []models.CaseEvent{models.EventJoin, models.EventReschedule, models.EventSubmit, models.EventApprove, models.EventReject,
		models.EventSeal, models.EventRelease, models.EventClose, models.EventCancel, models.EventExpire, models.EventAbort} {
		caseEvents[string(e)] = true
	}
}

// checkResultKeys are the detail fields that carry a check's outcome, by
// the check's kind of event.
var checkResultKeys = []string{"result", "decision", "verdict", "confirmation"}

// Events returns the webhook events an audit event makes (none for most).
// Only named, harmless detail fields are copied: the audit detail may hold
// an address (the release's to_address), free-text reasons or hashes of
// biometric captures, and none of that leaves the bank.
func Events(e *models.AuditEvent) []Event {
	if e.CaseID == "" {
		return nil
	}
	base := func(extra map[string]any) map[string]any {
		d := map[string]any{"case_id": string(e.CaseID), "audit_seq": e.Seq}
		for k, v := range extra {
			d[k] = v
		}
		return d
	}
	det := e.Detail
	var out []Event
	switch {
	case e.Action == "case.created":
		d := base(map[string]any{"purpose": det["purpose"], "slot": det["slot"]})
		if no := det["account"]; no != "" {
			d["account"] = models.MaskAccountNo(models.AccountNo(no))
		}
		out = append(out, Event{CaseCreated, d})
	case strings.HasPrefix(e.Action, "case.") && caseEvents[strings.TrimPrefix(e.Action, "case.")] && det["from"] != "" && det["to"] != "":
		ev := strings.TrimPrefix(e.Action, "case.")
		out = append(out, Event{CaseStateChanged, base(map[string]any{"event": ev, "from": det["from"], "to": det["to"]})})
		switch models.CaseEvent(ev) {
		case models.EventJoin:
			out = append(out, Event{CallStarted, base(map[string]any{"call_id": det["call"]})})
		case models.EventSeal:
			d := base(map[string]any{"manifest_sha256": det["manifest_sha256"]})
			if n, err := strconv.Atoi(det["items"]); err == nil {
				d["items"] = n
			}
			out = append(out, Event{EvidenceSealed, d})
		case models.EventRelease:
			out = append(out, Event{StatementReleased, base(map[string]any{"statement_id": det["statement"], "approval_id": det["approval"]})})
		}
	case strings.HasPrefix(e.Action, "check."):
		d := base(map[string]any{"kind": strings.TrimPrefix(e.Action, "check."), "check_id": det["check"]})
		for _, k := range checkResultKeys {
			if v, ok := det[k]; ok {
				d["result"] = v
				break
			}
		}
		if s := det["source"]; s != "" {
			d["source"] = s
		}
		out = append(out, Event{CheckRecorded, d})
	case e.Action == "call.ended":
		out = append(out, Event{CallEnded, base(map[string]any{"call_id": det["call"], "recording": det["recording"]})})
	case e.Action == "statement.delivered":
		out = append(out, Event{StatementDelivered, base(nil)})
	case e.Action == "letter.uploaded":
		out = append(out, Event{LetterUploaded, base(map[string]any{"letter_id": det["letter"], "source": det["source"]})})
	case e.Action == "customer.consent":
		out = append(out, Event{CustomerConsented, base(nil)})
	case e.Action == "staff.notified":
		out = append(out, Event{StaffNotification, base(map[string]any{"staff_id": det["staff"], "kind": det["kind"]})})
	}
	return out
}

// knownType reports whether t is an event type or "*".
func knownType(t string) bool {
	if t == "*" {
		return true
	}
	for _, x := range Types {
		if x == t {
			return true
		}
	}
	return false
}
