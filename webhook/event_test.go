package webhook

import (
	"encoding/json"
	"strings"
	"testing"

	"remoteidv/models"
)

// TestEvents maps audit events to webhook events from the allowlist: the
// right types, the named fields only, and nothing personal whatever the
// audit detail holds.
func TestEvents(t *testing.T) {
	secrets := []string{"6222000011112222", "li.wei@example.com", "capture", "reason", "s3cret-password", "110101199003071234"}
	tests := []struct {
		action string
		detail map[string]string
		want   string // the events as JSON type:data, joined by " | "
	}{
		{"case.created", map[string]string{"account": "6222000011112222", "purpose": "transaction_statement", "slot": "2026-12-01T14:00:00Z", "customer_tz": "America/New_York"},
			`case.created:{"account":"************2222","audit_seq":7,"case_id":"case_1","purpose":"transaction_statement","slot":"2026-12-01T14:00:00Z"}`},
		{"case.join", map[string]string{"from": "scheduled", "to": "in_session", "call": "call_1"},
			`case.state_changed:{"audit_seq":7,"case_id":"case_1","event":"join","from":"scheduled","to":"in_session"} | call.started:{"audit_seq":7,"call_id":"call_1","case_id":"case_1"}`},
		{"case.abort", map[string]string{"from": "in_session", "to": "aborted", "reason": "the customer read from a script", "fraud_category": "coercion"},
			`case.state_changed:{"audit_seq":7,"case_id":"case_1","event":"abort","from":"in_session","to":"aborted"}`},
		{"case.seal", map[string]string{"from": "approved", "to": "sealed", "items": "12", "manifest_sha256": "ab12", "manifest_signature": "sig"},
			`case.state_changed:{"audit_seq":7,"case_id":"case_1","event":"seal","from":"approved","to":"sealed"} | evidence.sealed:{"audit_seq":7,"case_id":"case_1","items":12,"manifest_sha256":"ab12"}`},
		{"case.release", map[string]string{"from": "sealed", "to": "released", "statement": "stm_1", "approval": "apr_1", "to_address": "li.wei@example.com", "message_id": "m@x"},
			`case.state_changed:{"audit_seq":7,"case_id":"case_1","event":"release","from":"sealed","to":"released"} | statement.released:{"approval_id":"apr_1","audit_seq":7,"case_id":"case_1","statement_id":"stm_1"}`},
		{"check.face_match", map[string]string{"check": "chk_1", "decision": "match", "source": "live_call", "capture_sha256": "capture", "distance": "0.2", "evidence": "ev_1"},
			`check.recorded:{"audit_seq":7,"case_id":"case_1","check_id":"chk_1","kind":"face_match","result":"match","source":"live_call"}`},
		{"check.registry", map[string]string{"check": "chk_2", "result": "pass", "reasons": "reason", "name_match": "true", "registry_photo_sha256": "capture"},
			`check.recorded:{"audit_seq":7,"case_id":"case_1","check_id":"chk_2","kind":"registry","result":"pass"}`},
		{"check.signature", map[string]string{"check": "chk_3", "verdict": "pass", "letter": "let_1", "region": "1,2,3,4"},
			`check.recorded:{"audit_seq":7,"case_id":"case_1","check_id":"chk_3","kind":"signature","result":"pass"}`},
		{"call.ended", map[string]string{"call": "call_1", "reason": "reason", "recording": "complete"},
			`call.ended:{"audit_seq":7,"call_id":"call_1","case_id":"case_1","recording":"complete"}`},
		{"statement.password_set", map[string]string{"replaced": "false"}, ``},
		{"customer.consent", map[string]string{"version": "v1", "locale": "zh-CN"}, `customer.consented:{"audit_seq":7,"case_id":"case_1"}`},
		{"staff.notified", map[string]string{"staff": "stf_clerk", "kind": "customer_waiting", "mail": "mail_1", "account": "6222000011112222", "to": "li.wei@example.com"},
			`staff.notification:{"audit_seq":7,"case_id":"case_1","kind":"customer_waiting","staff_id":"stf_clerk"}`},
		{"evidence.viewed", map[string]string{"evidence": "ev_1"}, ``},
		{"case.note", map[string]string{"from": "x", "to": "y"}, ``}, // not a state-machine event
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			evs := Events(&models.AuditEvent{Seq: 7, Action: tt.action, CaseID: "case_1", Detail: tt.detail})
			var got []string
			for _, ev := range evs {
				b, err := json.Marshal(ev.Data)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range secrets {
					if strings.Contains(string(b), s) {
						t.Errorf("%s data %s carries %q", ev.Type, b, s)
					}
				}
				got = append(got, ev.Type+":"+string(b))
			}
			if g := strings.Join(got, " | "); g != tt.want {
				t.Errorf("Events(%s) =\n%s\nwant\n%s", tt.action, g, tt.want)
			}
		})
	}
	if evs := Events(&models.AuditEvent{Seq: 8, Action: "webhook.endpoint_created", Detail: map[string]string{"endpoint": "whe_1"}}); len(evs) != 0 {
		t.Errorf("an event about no case made %d webhook events", len(evs))
	}
}
