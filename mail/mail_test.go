package mail_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"remoteidv/mail"
	"remoteidv/mail/mailtest"
	"remoteidv/models"
)

func compose(t *testing.T, m mail.Message) []byte {
	t.Helper()
	raw, err := mail.Compose(m)
	if err != nil {
		t.Fatalf("Compose: %v", err)
	}
	return raw
}

func TestRender(t *testing.T) {
	tests := []struct {
		kind, lang string
		data       mail.Data
		subject    string
		inText     []string
		inHTML     []string
	}{
		{mail.KindCode, "en", mail.Data{BankName: "Demo Bank", Code: "123456", Minutes: 10}, "Demo Bank: your verification code", []string{"123456", "10 minutes"}, []string{"<b>123456</b>"}},
		{mail.KindCode, "zh-CN", mail.Data{BankName: "Demo Bank", Code: "654321", Minutes: 10}, "Demo Bank：您的验证码", []string{"654321", "10分钟"}, []string{"654321"}},
		{mail.KindCode, "fr", mail.Data{BankName: "B", Code: "000001", Minutes: 10}, "B: your verification code", []string{"000001"}, nil},
		{mail.KindStatement, "en", mail.Data{BankName: "B", HolderName: "Li <Wei>", PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", CaseRef: "case_x"},
			"B: your transaction statement 2025-01-01 to 2025-12-31", []string{"Li <Wei>", "case_x"}, []string{"Li &lt;Wei&gt;"}},
		{mail.KindInvite, "zh-CN", mail.Data{BankName: "B", HolderName: "李伟", Link: "https://x/join/t", SlotLocal: "2026-12-01 09:00 America/New_York"},
			"B：您的视频核验通话", []string{"https://x/join/t", "李伟"}, []string{`href="https://x/join/t"`}},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.lang, func(t *testing.T) {
			subj, text, html, err := mail.Render(tt.kind, tt.lang, tt.data)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if subj != tt.subject {
				t.Errorf("Render(%s, %s) subject = %q, want %q", tt.kind, tt.lang, subj, tt.subject)
			}
			for _, w := range tt.inText {
				if !strings.Contains(text, w) {
					t.Errorf("Render(%s, %s) text = %q, want it to contain %q", tt.kind, tt.lang, text, w)
				}
			}
			for _, w := range tt.inHTML {
				if !strings.Contains(html, w) {
					t.Errorf("Render(%s, %s) html = %q, want it to contain %q", tt.kind, tt.lang, html, w)
				}
			}
		})
	}
	if _, _, _, err := mail.Render("nope", "en", mail.Data{}); err == nil {
		t.Error("Render(unknown kind) = nil error, want one")
	}
}

func TestComposeRefusesInjection(t *testing.T) {
	base := mail.Message{From: "Bank <noreply@bank.example>", To: []string{"a@example.com"}, Subject: "s", Text: "t", MessageID: "m1@bank.example", Date: time.Unix(0, 0)}
	tests := []struct {
		name string
		edit func(m *mail.Message)
	}{
		{"subject newline", func(m *mail.Message) { m.Subject = "x\r\nBcc: evil@example.com" }},
		{"bad recipient", func(m *mail.Message) { m.To = []string{"a@example.com\r\nBcc: evil@example.com"} }},
		{"no recipient", func(m *mail.Message) { m.To = nil }},
		{"bad from", func(m *mail.Message) { m.From = "not an address" }},
		{"bad message id", func(m *mail.Message) { m.MessageID = "<x>" }},
		{"attachment name", func(m *mail.Message) {
			m.Attachments = []mail.Attachment{{Name: "a\r\nb.pdf", ContentType: "application/pdf", Data: []byte("x")}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base
			tt.edit(&m)
			if _, err := mail.Compose(m); err == nil {
				t.Errorf("Compose(%s) = nil error, want one", tt.name)
			}
		})
	}
}

func TestSMTPStartTLSAuth(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "idv", Password: "s3cret"})
	s, err := mail.NewSMTP(mail.SMTPConfig{Addr: srv.Addr, TLS: mail.TLSStartTLS, Username: "idv", Password: "s3cret", TLSConfig: srv.ClientTLS, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	subj, text, html, err := mail.Render(mail.KindStatement, "zh-CN", mail.Data{BankName: "Demo Bank", HolderName: "李伟", PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", CaseRef: "case_1"})
	if err != nil {
		t.Fatal(err)
	}
	pdf := []byte("%PDF-1.4 fake\n%%EOF\n")
	raw := compose(t, mail.Message{From: "Demo Bank <noreply@bank.example>", To: []string{"li.wei@example.com"}, Subject: subj, Text: text, HTML: html,
		Attachments: []mail.Attachment{{Name: "statement.pdf", ContentType: "application/pdf", Data: pdf}}, MessageID: "mail_1@bank.example", Date: time.Now()})
	reply, err := s.Send(context.Background(), "noreply@bank.example", []string{"li.wei@example.com"}, raw)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !strings.HasPrefix(reply, "250 ") {
		t.Errorf("Send reply = %q, want 250 ...", reply)
	}
	msgs := srv.Wait(t, 1, 5*time.Second)
	if got := msgs[0].To; len(got) != 1 || got[0] != "li.wei@example.com" {
		t.Errorf("recipients = %v, want [li.wei@example.com]", got)
	}
	p, err := mailtest.Parse(msgs[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != subj {
		t.Errorf("subject = %q, want %q", p.Subject, subj)
	}
	if !strings.Contains(p.Text, "2025-01-01 至 2025-12-31") || !strings.Contains(p.HTML, "<p>李伟，您好：</p>") {
		t.Errorf("bodies = %q / %q, want the Chinese statement text", p.Text, p.HTML)
	}
	if string(p.Attachments["statement.pdf"]) != string(pdf) || p.AttachTypes["statement.pdf"] != "application/pdf" {
		t.Errorf("attachment = %q (%s), want the PDF", p.Attachments["statement.pdf"], p.AttachTypes["statement.pdf"])
	}
	if got := p.Header.Get("Message-ID"); got != "<mail_1@bank.example>" {
		t.Errorf("Message-ID = %q, want <mail_1@bank.example>", got)
	}
}

func TestSMTPFailures(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "idv", Password: "right"})
	raw := compose(t, mail.Message{From: "noreply@bank.example", To: []string{"a@example.com"}, Subject: "s", Text: "t", MessageID: "m@x", Date: time.Now()})
	tests := []struct {
		name string
		cfg  mail.SMTPConfig
		want models.ErrorCode
	}{
		{"server down", mail.SMTPConfig{Addr: mailtest.FreeAddr(t), TLS: mail.TLSNone, Timeout: 2 * time.Second}, models.EUNAVAILABLE},
		{"wrong password", mail.SMTPConfig{Addr: srv.Addr, TLS: mail.TLSStartTLS, Username: "idv", Password: "wrong", TLSConfig: srv.ClientTLS}, models.EUNAVAILABLE},
		{"untrusted certificate", mail.SMTPConfig{Addr: srv.Addr, TLS: mail.TLSStartTLS}, models.EUNAVAILABLE},
		{"auth required", mail.SMTPConfig{Addr: srv.Addr, TLS: mail.TLSStartTLS, TLSConfig: srv.ClientTLS}, models.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := mail.NewSMTP(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Send(context.Background(), "noreply@bank.example", []string{"a@example.com"}, raw)
			if got := models.ErrorCodeOf(err); got != tt.want {
				t.Errorf("Send(%s) error = %v (%s), want %s", tt.name, err, got, tt.want)
			}
		})
	}
	if len(srv.Messages()) != 0 {
		t.Errorf("server accepted %d messages, want 0", len(srv.Messages()))
	}
	if _, err := mail.NewSMTP(mail.SMTPConfig{Addr: "mail.example.com:25", TLS: mail.TLSNone, Username: "u", Password: "p"}); err == nil {
		t.Error("NewSMTP(password without TLS to a remote host) = nil error, want one")
	}
}

// TestSMTPServerDownFirst: the first attempt finds no server; once it is up
// on the same address the same message goes through.
func TestSMTPServerDownFirst(t *testing.T) {
	addr := mailtest.FreeAddr(t)
	s, err := mail.NewSMTP(mail.SMTPConfig{Addr: addr, TLS: mail.TLSNone, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	raw := compose(t, mail.Message{From: "noreply@bank.example", To: []string{"a@example.com"}, Subject: "s", Text: "t", MessageID: "m@x", Date: time.Now()})
	if _, err := s.Send(context.Background(), "noreply@bank.example", []string{"a@example.com"}, raw); models.ErrorCodeOf(err) != models.EUNAVAILABLE {
		t.Fatalf("Send with the server down = %v, want unavailable", err)
	}
	srv := mailtest.Start(t, mailtest.Options{Addr: addr})
	if _, err := s.Send(context.Background(), "noreply@bank.example", []string{"a@example.com"}, raw); err != nil {
		t.Fatalf("Send after the server came up: %v", err)
	}
	srv.Wait(t, 1, 5*time.Second)
}

// TestOutboxKind: every released document is filed as the statement kind
// (its delivery closes the case); other messages keep their own kind.
func TestOutboxKind(t *testing.T) {
	for in, want := range map[string]string{mail.KindStatement: mail.KindStatement, mail.TemplateBalanceCertificate: mail.KindStatement,
		mail.KindInvite: mail.KindInvite, mail.KindCode: mail.KindCode} {
		if got := mail.OutboxKind(in); got != want {
			t.Errorf("OutboxKind(%q) = %q, want %q", in, got, want)
		}
	}
}
