package mail_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"remoteidv/mail"
	"remoteidv/mail/mailtest"
	"remoteidv/models"
)

func readReport(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "dsn", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseReport reads delivery reports shaped as Postfix and Exim write
// them: failed, delivered, delayed, with and without Original-Envelope-Id,
// the original's headers returned as text/rfc822-headers or the whole
// message as message/rfc822.
func TestParseReport(t *testing.T) {
	tests := []struct {
		file string
		want mail.Report
	}{
		{"postfix_failed_5.1.1.eml", mail.Report{EnvelopeID: "env_01jf3k9v7q2w8e4r6t5y0u1i2o", ReportingMTA: "mx1.bank.example",
			MessageID: "mail_01jf3k9v7q2w8e4r6t5y0u1i2o@bank.example",
			Recipients: []mail.RecipientStatus{{FinalRecipient: "li.wei@customer.example", OriginalRecipient: "li.wei@customer.example",
				Action: models.DeliveryFailed, Status: "5.1.1", RemoteMTA: "mx.customer.example",
				Diagnostic: "smtp; 550 5.1.1 <li.wei@customer.example>: Recipient address rejected: User unknown in virtual mailbox table"}}}},
		{"postfix_delivered.eml", mail.Report{EnvelopeID: "env_01jf3m0a1b2c3d4e5f6g7h8j9k", ReportingMTA: "mx1.bank.example",
			MessageID: "mail_01jf3m0a1b2c3d4e5f6g7h8j9k@bank.example",
			Recipients: []mail.RecipientStatus{{FinalRecipient: "wang.jun@customer.example", OriginalRecipient: "Wang.Jun@customer.example",
				Action: models.DeliveryDelivered, Status: "2.0.0", RemoteMTA: "mx.customer.example", Diagnostic: "smtp; 250 2.0.0 Ok: queued as 9A1B2C3D4E"}}}},
		{"exim_delayed.eml", mail.Report{EnvelopeID: "env_01jf3n5p6q7r8s9t0v1w2x3y4z", ReportingMTA: "relay.bank.example",
			MessageID: "mail_01jf3n5p6q7r8s9t0v1w2x3y4z@bank.example",
			Recipients: []mail.RecipientStatus{{FinalRecipient: "li.wei@customer.example", Action: models.DeliveryDelayed, Status: "4.0.0",
				RemoteMTA: "mx.customer.example", Diagnostic: "smtp; 451 4.2.2 Mailbox full, try again later"}}}},
		{"exim_failed_no_envid.eml", mail.Report{ReportingMTA: "relay.bank.example", MessageID: "mail_01jf3p0000000000000000000a@bank.example",
			Recipients: []mail.RecipientStatus{{FinalRecipient: "old.address@customer.example", Action: models.DeliveryFailed, Status: "5.0.0",
				RemoteMTA: "mx.customer.example", Diagnostic: "smtp; 550 5.1.1 mailbox unavailable"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := mail.ParseReport(readReport(t, tt.file))
			if err != nil {
				t.Fatalf("ParseReport(%s): %v", tt.file, err)
			}
			if !bytes.Contains(got.Status, []byte("Action: ")) || bytes.Contains(got.Status, []byte("Subject:")) {
				t.Errorf("ParseReport(%s).Status = %q, want the delivery-status part alone", tt.file, got.Status)
			}
			if diff := cmp.Diff(tt.want, *got, cmpopts.IgnoreFields(mail.Report{}, "Status")); diff != "" {
				t.Errorf("ParseReport(%s) (-want +got):\n%s", tt.file, diff)
			}
			addr := tt.want.Recipients[0].FinalRecipient
			if r := got.For(strings.ToUpper(addr)); r == nil || r.FinalRecipient != addr {
				t.Errorf("ParseReport(%s).For(%s) = %v, want its recipient", tt.file, addr, r)
			}
		})
	}
}

// TestParseReportBase64: a status part sent base64-encoded (as some
// servers do) reads the same.
func TestParseReportBase64(t *testing.T) {
	raw := string(readReport(t, "postfix_failed_5.1.1.eml"))
	head, rest, _ := strings.Cut(raw, "Content-Type: message/delivery-status\n\n")
	status, tail, _ := strings.Cut(rest, "\n--4QmT1x2Yz3")
	enc := base64.StdEncoding.EncodeToString([]byte(status))
	var lines []string
	for len(enc) > 76 {
		lines, enc = append(lines, enc[:76]), enc[76:]
	}
	lines = append(lines, enc)
	b64 := head + "Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n" + strings.Join(lines, "\r\n") + "\n\n--4QmT1x2Yz3" + tail
	want, err := mail.ParseReport([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	got, err := mail.ParseReport([]byte(b64))
	if err != nil {
		t.Fatalf("ParseReport(base64 status part): %v", err)
	}
	if diff := cmp.Diff(want.Recipients, got.Recipients); diff != "" || got.EnvelopeID != want.EnvelopeID {
		t.Errorf("ParseReport(base64) envelope %q, recipients (-plain +base64):\n%s", got.EnvelopeID, diff)
	}
}

// TestParseReportRefuses: what is not a delivery report, or too large, is
// refused as EINVALID with a reason.
func TestParseReportRefuses(t *testing.T) {
	big := bytes.Replace(readReport(t, "postfix_failed_5.1.1.eml"), []byte("MIME-Version: 1.0\n\n"),
		append([]byte("MIME-Version: 1.0\n\n"), bytes.Repeat([]byte("x"), mail.MaxReportBytes)...), 1)
	tests := []struct {
		name string
		raw  []byte
		want string
	}{
		{"auto-reply", readReport(t, "not_a_report_autoreply.eml"), "not a delivery report"},
		{"read receipt", readReport(t, "mdn_not_delivery_status.eml"), "report-type=\"disposition-notification\""},
		{"unknown action", readReport(t, "bad_action.eml"), `action "bounced"`},
		{"no status part", readReport(t, "no_status_part.eml"), "no message/delivery-status part"},
		{"oversized", big, "larger than 1048576"},
		{"not mail", []byte("\x00\x01garbage"), "delivery report"},
		{"bad status", bytes.Replace(readReport(t, "postfix_failed_5.1.1.eml"), []byte("Status: 5.1.1"), []byte("Status: 550"), 1), `status "550"`},
		{"no recipient", bytes.Replace(readReport(t, "exim_delayed.eml"), []byte("Action: delayed\nFinal-Recipient: rfc822;li.wei@customer.example\nStatus: 4.0.0\nRemote-MTA: dns; mx.customer.example\nDiagnostic-Code: smtp; 451 4.2.2 Mailbox full, try again later\nWill-Retry-Until: Tue, 08 Dec 2026 09:15:01 +0800\n"), nil, 1), "names no recipient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mail.ParseReport(tt.raw)
			if models.ErrorCodeOf(err) != models.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseReport(%s) = %+v, %v; want EINVALID saying %q", tt.name, got, err, tt.want)
			}
		})
	}
}

// TestSMTPRequestsDSN: against a server offering DSN the message goes out
// with RET=HDRS, ENVID and NOTIFY=SUCCESS,FAILURE,DELAY with ORCPT, and the
// receipt says so; against one that does not, with none of them, and the
// receipt says DSN was not offered.
func TestSMTPRequestsDSN(t *testing.T) {
	ctx := context.Background()
	raw := compose(t, mail.Message{From: "Demo Bank <noreply@bank.example>", To: []string{"li.wei@customer.example"}, Subject: "s", Text: "t",
		MessageID: "mail_1@bank.example", Date: time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)})
	for _, tt := range []struct {
		name    string
		noDSN   bool
		envID   string
		wantDSN string
		want    mailtest.Message
	}{
		{"offered", false, "env_1", models.DSNRequested, mailtest.Message{EnvelopeID: "env_1", Return: "HDRS",
			Rcpt: []mailtest.Rcpt{{To: "li.wei@customer.example", Notify: []string{"SUCCESS", "FAILURE", "DELAY"}, ORCPT: "li.wei@customer.example"}}}},
		{"not offered", true, "env_1", models.DSNNotOffered, mailtest.Message{Rcpt: []mailtest.Rcpt{{To: "li.wei@customer.example"}}}},
		{"no envelope id", false, "", models.DSNNotOffered, mailtest.Message{Rcpt: []mailtest.Rcpt{{To: "li.wei@customer.example"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := mailtest.Start(t, mailtest.Options{NoDSN: tt.noDSN})
			s, err := mail.NewSMTP(mail.SMTPConfig{Addr: srv.Addr, TLS: mail.TLSNone, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.SendEnvelope(ctx, models.MailEnvelope{From: "bounces@bank.example", To: []string{"li.wei@customer.example"}, EnvelopeID: tt.envID}, raw)
			if err != nil {
				t.Fatalf("SendEnvelope: %v", err)
			}
			if r.DSN != tt.wantDSN || !strings.HasPrefix(r.Reply, "250 ") || !slices.Equal(r.Rcpt, []string{"<li.wei@customer.example>: 2xx accepted"}) {
				t.Errorf("SendEnvelope(%s) = %+v, want DSN %s, a 250 reply and the recipient accepted", tt.name, r, tt.wantDSN)
			}
			got := srv.Wait(t, 1, 5*time.Second)[0]
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(mailtest.Message{}, "From", "To", "Data")); diff != "" {
				t.Errorf("MAIL/RCPT parameters (-want +got):\n%s", diff)
			}
			if got.From != "bounces@bank.example" {
				t.Errorf("envelope sender = %q, want the bounce address", got.From)
			}
		})
	}
}

// TestBounceIntake delivers reports written by the test server to the
// intake over LMTP and SMTP: a report is answered 250 once the handler
// stored it, 451 when it could not (the server retries), unmatched and
// malformed mail is accepted and counted, an oversized report refused with
// 552, and a peer outside the allowed ranges turned away.
func TestBounceIntake(t *testing.T) {
	for _, lmtp := range []bool{true, false} {
		name := map[bool]string{true: "lmtp", false: "smtp"}[lmtp]
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var mu sync.Mutex
			var stored []*mail.Report
			down := false
			h := func(_ context.Context, raw []byte) error {
				rep, err := mail.ParseReport(raw)
				if err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				if down {
					return errors.New("database unavailable")
				}
				if rep.EnvelopeID != "env_known" {
					return models.Errorf(models.ENOTFOUND, "no mail %s", rep.EnvelopeID)
				}
				stored = append(stored, rep)
				return nil
			}
			in, err := mail.NewBounceIntake(mail.BounceConfig{Addr: "127.0.0.1:0", LMTP: lmtp}, h)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- in.Run(ctx) }()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			})
			// The test server accepts a message asking for DSN, then
			// reports on it.
			srv := mailtest.Start(t, mailtest.Options{})
			s, err := mail.NewSMTP(mail.SMTPConfig{Addr: srv.Addr, TLS: mail.TLSNone, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			raw := compose(t, mail.Message{From: "Demo Bank <noreply@bank.example>", To: []string{"li.wei@customer.example"}, Subject: "s", Text: "t",
				MessageID: "mail_k@bank.example", Date: time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)})
			for _, env := range []string{"env_known", "env_other"} {
				if _, err := s.SendEnvelope(ctx, models.MailEnvelope{From: "bounces@bank.example", To: []string{"li.wei@customer.example"}, EnvelopeID: env}, raw); err != nil {
					t.Fatal(err)
				}
			}
			msgs := srv.Wait(t, 2, 5*time.Second)
			report := func(m mailtest.Message, o mailtest.Outcome) []byte {
				t.Helper()
				b, err := mailtest.Report(m, "li.wei@customer.example", o, time.Date(2026, 12, 3, 1, 5, 0, 0, time.UTC))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			failed := mailtest.Outcome{Action: "failed", Status: "5.1.1", Diagnostic: "smtp; 550 5.1.1 no such user"}
			intake := mailtest.Intake{Addr: in.Addr(), LMTP: lmtp}
			bounce := func(b []byte) error {
				_, err := mailtest.Bounce(ctx, intake, "bounces@bank.example", b)
				return err
			}
			if err := bounce(report(msgs[0], failed)); err != nil {
				t.Fatalf("Bounce(known): %v", err)
			}
			if err := bounce(report(msgs[1], mailtest.Outcome{Action: "delivered", Status: "2.0.0"})); err != nil {
				t.Fatalf("Bounce(unmatched): %v", err)
			}
			if err := bounce(readReport(t, "not_a_report_autoreply.eml")); err != nil {
				t.Fatalf("Bounce(auto-reply): %v", err)
			}
			err = bounce(append(report(msgs[0], failed), bytes.Repeat([]byte(strings.Repeat("x", 76)+"\r\n"), mail.MaxReportBytes/78+1)...))
			if err == nil || !strings.Contains(err.Error(), "552") {
				t.Errorf("Bounce(oversized) = %v, want a 552 refusal", err)
			}
			mu.Lock()
			down = true
			mu.Unlock()
			if err := bounce(report(msgs[0], failed)); err == nil || !strings.Contains(err.Error(), "451") {
				t.Errorf("Bounce(store down) = %v, want 451 (try again later)", err)
			}
			mu.Lock()
			if len(stored) != 1 || stored[0].Recipients[0].Status != "5.1.1" {
				t.Errorf("stored reports = %+v, want the failed one", stored)
			}
			mu.Unlock()
			want := mail.BounceStats{Recorded: 1, Unmatched: 1, Malformed: 1, Oversized: 1, Deferred: 1}
			if got := in.Stats(); got != want {
				t.Errorf("Stats() = %+v, want %+v", got, want)
			}
		})
	}
	t.Run("peer not allowed", func(t *testing.T) {
		in, err := mail.NewBounceIntake(mail.BounceConfig{Addr: "127.0.0.1:0", LMTP: true, Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
			func(context.Context, []byte) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- in.Run(ctx) }()
		defer func() { cancel(); <-done }()
		_, err = mailtest.Bounce(ctx, mailtest.Intake{Addr: in.Addr(), LMTP: true}, "bounces@bank.example", readReport(t, "postfix_failed_5.1.1.eml"))
		if err == nil || !strings.Contains(err.Error(), "554") {
			t.Errorf("Bounce from 127.0.0.1 with only 10.0.0.0/8 allowed = %v, want 554", err)
		}
		if got := in.Stats(); got.Refused != 1 || got.Recorded != 0 {
			t.Errorf("Stats() = %+v, want one refused connection", got)
		}
	})
}

// TestReportHonoursNotify: the test server writes a report only when the
// recipient's NOTIFY asked for it (none: FAILURE and DELAY only).
func TestReportHonoursNotify(t *testing.T) {
	m := mailtest.Message{From: "b@bank.example", Data: []byte("Subject: s\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n")}
	at := time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		notify []string
		action string
		want   bool
	}{
		{[]string{"SUCCESS", "FAILURE"}, "delivered", true},
		{[]string{"FAILURE"}, "delivered", false},
		{nil, "delivered", false},
		{nil, "failed", true},
		{nil, "delayed", true},
		{[]string{"SUCCESS", "FAILURE"}, "delayed", false},
		{[]string{"NEVER"}, "failed", false},
	} {
		m.Rcpt = []mailtest.Rcpt{{To: "a@x", Notify: tt.notify}}
		_, err := mailtest.Report(m, "a@x", mailtest.Outcome{Action: tt.action, Status: "2.0.0"}, at)
		if got := err == nil; got != tt.want || (err != nil && !errors.Is(err, mailtest.ErrNoReport)) {
			t.Errorf("Report(NOTIFY=%v, %s) error %v, want a report: %v", tt.notify, tt.action, err, tt.want)
		}
	}
}
