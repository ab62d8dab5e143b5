package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"remoteidv/mail"
	"remoteidv/mail/mailtest"
	"remoteidv/models"
	"remoteidv/verify"
)

// bounceIntake runs the real bounce intake (LMTP) in front of the desk's
// RecordDeliveryReport until the test ends.
func bounceIntake(t *testing.T, d *verify.Desk) (*mail.BounceIntake, mailtest.Intake) {
	t.Helper()
	in, err := mail.NewBounceIntake(mail.BounceConfig{Addr: "127.0.0.1:0", LMTP: true}, d.RecordDeliveryReport)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("bounce intake Run: %v", err)
		}
	})
	return in, mailtest.Intake{Addr: in.Addr(), LMTP: true}
}

// TestDeliveryReports runs the outbox against the test SMTP server (which
// offers DSN) and hands the server's delivery reports to the bounce intake
// in front of the desk: the mail went out asking for them under its
// random envelope id, and each report lands on its message and case
// (delayed, then failed 5.1.1, a late delay warning that does not hide the
// failure, a statement delivered and kept as evidence); a report before
// the message is recorded as sent is deferred, one naming no message is
// dropped and counted, and one from a server without DSN is matched by
// its Message-ID. No message body is kept after delivery, only its hash
// and the server's answers.
func TestDeliveryReports(t *testing.T) {
	f := newDeskFixtureWith(t, nil)
	ctx := context.Background()
	f.editDesk(func(dd *verify.DeskDeps) { dd.ReturnPath = "bounces@bank.example" })
	d := f.desk
	in, intake := bounceIntake(t, d)
	deliver := func(want int) {
		t.Helper()
		if n, err := d.DeliverMail(ctx, "test"); n != want || err != nil {
			t.Fatalf("DeliverMail = %d, %v; want %d", n, err, want)
		}
	}
	row := func(id string) *models.OutboundMail {
		t.Helper()
		var m *models.OutboundMail
		f.tx(func(tx models.Tx) (err error) { m, err = tx.MailByID(ctx, id); return })
		return m
	}
	at := time.Date(2026, 12, 3, 1, 5, 0, 0, time.UTC)
	bounce := func(m mailtest.Message, o mailtest.Outcome) string {
		t.Helper()
		rep, err := mailtest.Report(m, email, o, at)
		if err != nil {
			t.Fatalf("Report(%s): %v", o.Action, err)
		}
		reply, err := mailtest.Bounce(ctx, intake, "bounces@bank.example", rep)
		if err != nil {
			t.Fatalf("Bounce(%s %s): %v", o.Action, o.Status, err)
		}
		return reply
	}
	events := func(prefix string) []*models.AuditEvent {
		t.Helper()
		var out []*models.AuditEvent
		f.tx(func(tx models.Tx) error {
			evs, err := tx.AuditEvents(ctx, models.AuditFilter{CaseID: f.caseID})
			for _, e := range evs {
				if strings.HasPrefix(e.Action, prefix) {
					out = append(out, e)
				}
			}
			return err
		})
		return out
	}

	// The invite goes out asking for DSN; the row keeps the hash of what
	// the server got and its answers, not the body.
	_, inv, err := d.MailInvite(ctx, f.clerk, f.caseID)
	if err != nil {
		t.Fatalf("MailInvite: %v", err)
	}
	// A report before the outbox recorded the message as sent is
	// deferred (451): the mail server keeps it and tries again.
	q := row(inv.ID)
	early, err := mailtest.Report(mailtest.Message{From: q.From, Data: q.Raw, EnvelopeID: q.EnvelopeID, Return: "HDRS",
		Rcpt: []mailtest.Rcpt{{To: email, Notify: []string{"FAILURE"}}}}, email, mailtest.Outcome{Action: "failed", Status: "5.1.1"}, at)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mailtest.Bounce(ctx, intake, "bounces@bank.example", early); err == nil || !strings.Contains(err.Error(), "451") {
		t.Fatalf("Bounce before the mail was sent = %v, want 451", err)
	}
	deliver(1)
	got := f.smtp.Wait(t, 1, 5*time.Second)[0]
	sent := row(inv.ID)
	sum := sha256.Sum256(got.Data)
	if got.From != "bounces@bank.example" || got.EnvelopeID == "" || got.EnvelopeID != sent.EnvelopeID || strings.Contains(string(got.Data), sent.EnvelopeID) ||
		got.Return != "HDRS" || len(got.Rcpt) != 1 || !slices.Equal(got.Rcpt[0].Notify, []string{"SUCCESS", "FAILURE", "DELAY"}) || got.Rcpt[0].ORCPT != email {
		t.Errorf("sent with MAIL FROM:<%s> ENVID=%q RET=%s RCPT %+v; want the return path, the row's envelope id %q (not in the message), RET=HDRS, NOTIFY=SUCCESS,FAILURE,DELAY and ORCPT",
			got.From, got.EnvelopeID, got.Return, got.Rcpt, sent.EnvelopeID)
	}
	if sent.State() != models.MailSent || sent.Raw != nil || sent.RawSHA256 != hex.EncodeToString(sum[:]) || sent.DSN != models.DSNRequested ||
		sent.RcptReply != "<"+email+">: 2xx accepted" || !strings.HasPrefix(sent.Reply, "250 ") {
		t.Errorf("sent invite row = %s, %d-byte body, hash %s (sent %x), dsn %q, rcpt %q, reply %q; want no body, the hash of what was sent, DSN requested and both answers",
			sent.State(), len(sent.Raw), sent.RawSHA256, sum, sent.DSN, sent.RcptReply, sent.Reply)
	}

	// Delayed, then failed 5.1.1, then a delay warning that came late.
	bounce(got, mailtest.Outcome{Action: "delayed", Status: "4.4.1", Diagnostic: "smtp; 451 4.4.1 try later"})
	if m := row(inv.ID); m.Delivery.Action != models.DeliveryDelayed || m.Delivery.Status != "4.4.1" {
		t.Errorf("after a delay warning: %+v, want delayed 4.4.1", m.Delivery)
	}
	bounce(got, mailtest.Outcome{Action: "failed", Status: "5.1.1", Diagnostic: "smtp; 550 5.1.1 <li.wei@example.com>: Recipient address rejected: User unknown"})
	bounce(got, mailtest.Outcome{Action: "delayed", Status: "4.4.1"})
	m := row(inv.ID)
	if m.Delivery.Action != models.DeliveryFailed || m.Delivery.Status != "5.1.1" || !strings.Contains(m.Delivery.Diagnostic, "User unknown") ||
		m.Delivery.RemoteMTA != "mx.customer.example" || m.Delivery.ReportedAt == nil {
		t.Errorf("after the bounce and a late delay warning: %+v, want failed 5.1.1 with its diagnostic", m.Delivery)
	}
	var acts []string
	for _, e := range events("mail.report.") {
		acts = append(acts, e.Action)
		if e.Actor != verify.SystemActor || e.Detail["mail"] != inv.ID || e.Detail["matched_by"] != "envelope_id" || len(e.Detail["report_sha256"]) != 64 {
			t.Errorf("event %s = %+v, want the system, the mail, matched by envelope id, the report's hash", e.Action, e.Detail)
		}
	}
	if want := []string{"mail.report.delayed", "mail.report.failed", "mail.report.delayed"}; !slices.Equal(acts, want) {
		t.Errorf("report events = %v, want %v", acts, want)
	}
	if e := events("mail.report."); len(e) == 3 && e[2].Detail["superseded_by"] != "failed" {
		t.Errorf("late delay warning event = %+v, want superseded_by failed", e[2].Detail)
	}

	// A statement (queued directly: the release workflow has its own
	// tests) delivered, and its report kept as evidence of the case.
	raw, err := mail.Compose(mail.Message{From: "Demo Bank <noreply@bank.example>", To: []string{email}, Subject: "statement", Text: "secret statement text",
		MessageID: "mail_st@bank.example", Date: at})
	if err != nil {
		t.Fatal(err)
	}
	f.tx(func(tx models.Tx) error {
		return tx.EnqueueMail(ctx, &models.OutboundMail{ID: "mail_st", CaseID: f.caseID, Kind: mail.KindStatement, To: email, From: "bounces@bank.example",
			MessageID: "mail_st@bank.example", Raw: raw, RawSHA256: hex.EncodeToString(sha256.New().Sum(nil)), CreatedAt: f.clock.Now(),
			NextAttemptAt: f.clock.Now(), EnvelopeID: "env_statement"})
	})
	deliver(1)
	st := f.smtp.Wait(t, 2, 5*time.Second)[1]
	bounce(st, mailtest.Outcome{Action: "delivered", Status: "2.0.0", Diagnostic: "smtp; 250 2.0.0 Ok: queued as 9A1B2C3D4E"})
	if m := row("mail_st"); m.Delivery.Action != models.DeliveryDelivered || m.Raw != nil || m.DSN != models.DSNRequested {
		t.Errorf("statement row = %+v (dsn %q, %d-byte body), want delivered, DSN requested, no body", m.Delivery, m.DSN, len(m.Raw))
	}
	if _, err := f.arch.Drain(ctx, "test/0"); err != nil {
		t.Fatal(err)
	}
	var reports [][]byte
	var evs []*models.Evidence
	f.tx(func(tx models.Tx) (err error) { evs, err = tx.EvidenceByCase(ctx, f.caseID); return })
	for _, e := range evs {
		if e.Kind != models.EvidenceReceipt {
			continue
		}
		r, _, err := f.svc.OpenEvidence(ctx, f.audit, f.caseID, e.ID)
		if err != nil {
			t.Fatalf("OpenEvidence(%s): %v", e.ID, err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("delivery-status-notification")) {
			reports = append(reports, b)
		}
	}
	if len(reports) != 1 {
		t.Fatalf("delivery report evidence = %d items, want 1 (the statement's)", len(reports))
	}
	var ev map[string]any
	if err := json.Unmarshal(reports[0], &ev); err != nil {
		t.Fatal(err)
	}
	if ev["action"] != "delivered" || ev["status"] != "2.0.0" || ev["mail"] != "mail_st" || !strings.Contains(ev["delivery_status"].(string), "Original-Envelope-Id: env_statement") ||
		bytes.Contains(reports[0], []byte("secret statement text")) {
		t.Errorf("delivery report evidence = %s, want the parsed fields and the status part, never the message", reports[0])
	}
	if e := events("mail.report.delivered"); len(e) != 1 || e[0].Detail["receipt_sha256"] == "" {
		t.Errorf("statement report events = %+v, want one naming its evidence", e)
	}

	// A report naming no message idv sent is accepted and dropped.
	before := len(events("mail.report."))
	stranger := st
	stranger.EnvelopeID = "env_unknown"
	stranger.Data = bytes.Replace(st.Data, []byte("mail_st@bank.example"), []byte("elsewhere@example.net"), 1)
	bounce(stranger, mailtest.Outcome{Action: "failed", Status: "5.1.1"})
	if n := len(events("mail.report.")); n != before {
		t.Errorf("an unmatched report added %d events", n-before)
	}

	// A server without DSN: nothing asked for, the row says so, and the
	// failure report it still sends (no NOTIFY means FAILURE,DELAY) is
	// matched by the Message-ID of the returned message.
	plain := mailtest.Start(t, mailtest.Options{NoDSN: true})
	f.editDesk(func(dd *verify.DeskDeps) { dd.Mailer = sender(t, plain.Addr) })
	d = f.desk
	if _, err := d.RequestCode(ctx, f.caseID); err != nil {
		t.Fatalf("RequestCode: %v", err)
	}
	if n, err := d.DeliverMail(ctx, "test"); n != 1 || err != nil {
		t.Fatalf("DeliverMail(no DSN) = %d, %v", n, err)
	}
	pm := plain.Wait(t, 1, 5*time.Second)[0]
	if pm.EnvelopeID != "" || pm.Return != "" || pm.Rcpt[0].Notify != nil {
		t.Errorf("sent without DSN offered: ENVID %q RET %q NOTIFY %v, want none", pm.EnvelopeID, pm.Return, pm.Rcpt[0].Notify)
	}
	var code *models.OutboundMail
	f.tx(func(tx models.Tx) error {
		ms, err := tx.MailByCase(ctx, f.caseID)
		for _, m := range ms {
			if m.Kind == mail.KindCode {
				code = m
			}
		}
		return err
	})
	if code == nil || code.DSN != models.DSNNotOffered || code.State() != models.MailSent {
		t.Fatalf("code mail = %+v, want sent with DSN not offered", code)
	}
	bounce(pm, mailtest.Outcome{Action: "failed", Status: "5.2.2", Diagnostic: "smtp; 552 5.2.2 mailbox full"})
	if m := row(code.ID); m.Delivery.Action != models.DeliveryFailed || m.Delivery.Status != "5.2.2" {
		t.Errorf("code mail after its bounce = %+v, want failed 5.2.2", m.Delivery)
	}
	if e := events("mail.report.failed"); len(e) != 2 || e[1].Detail["matched_by"] != "message_id" || e[1].Detail["kind"] != mail.KindCode {
		t.Errorf("failed report events = %d, last %+v; want the code's, matched by message id", len(e), e[len(e)-1].Detail)
	}
	want := mail.BounceStats{Recorded: 5, Unmatched: 1, Deferred: 1}
	if got := in.Stats(); got != want {
		t.Errorf("intake Stats() = %+v, want %+v", got, want)
	}
}
