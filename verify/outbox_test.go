package verify_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"remoteidv/mail"
	"remoteidv/models"
	"remoteidv/verify"
)

// TestOutboxExpiry: with no mail server configured, an email code and an
// invite wait in the outbox only as long as they are usable; then the
// worker drops their bodies (audited) and never sends them, even once a
// server is configured. A statement waits until it is delivered.
func TestOutboxExpiry(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	f.editDesk(func(dd *verify.DeskDeps) { dd.Mailer = verify.NoMailer{} }) // no IDV_SMTP_ADDR
	d := f.desk
	inv, invMail, err := d.MailInvite(ctx, f.clerk, f.caseID)
	if err != nil {
		t.Fatalf("MailInvite: %v", err)
	}
	codeExp, err := d.RequestCode(ctx, f.caseID)
	if err != nil {
		t.Fatalf("RequestCode: %v", err)
	}
	rows := func() map[string]*models.OutboundMail {
		t.Helper()
		out := map[string]*models.OutboundMail{}
		f.tx(func(tx models.Tx) error {
			ms, err := tx.MailByCase(ctx, f.caseID)
			for _, m := range ms {
				out[m.Kind] = m
			}
			return err
		})
		return out
	}
	deliver := func(want int) {
		t.Helper()
		if n, err := d.DeliverMail(ctx, "test"); n != want || err != nil {
			t.Fatalf("DeliverMail = %d, %v; want %d", n, err, want)
		}
	}
	ms := rows()
	if m := ms[mail.KindInvite]; m == nil || m.ID != invMail.ID || m.ExpiresAt == nil || !m.ExpiresAt.Equal(inv.NotAfter) || len(m.Raw) == 0 || len(m.RawSHA256) != 64 {
		t.Fatalf("invite mail = %+v, want queued until the link's end %s", m, inv.NotAfter)
	}
	if m := ms[mail.KindCode]; m == nil || m.ExpiresAt == nil || !m.ExpiresAt.Equal(codeExp) || len(m.Raw) == 0 {
		t.Fatalf("code mail = %+v, want queued until %s", m, codeExp)
	}
	deliver(0)
	if m := rows()[mail.KindCode]; m.State() != models.MailQueued || len(m.Raw) == 0 {
		t.Fatalf("code mail before its expiry = %s, want queued with its body", m.State())
	}

	f.clock.t = codeExp
	deliver(0)
	ms = rows()
	if m := ms[mail.KindCode]; m.State() != models.MailExpired || m.Raw != nil || len(m.RawSHA256) != 64 || m.ExpiredAt == nil || !m.ExpiredAt.Equal(codeExp) {
		t.Errorf("code mail at its expiry = %s, %d-byte body, hash %q; want expired, no body, hash kept", m.State(), len(m.Raw), m.RawSHA256)
	}
	if m := ms[mail.KindInvite]; m.State() != models.MailQueued || len(m.Raw) == 0 {
		t.Errorf("invite mail while the link is valid = %s, want queued", m.State())
	}

	f.clock.t = inv.NotAfter.Add(time.Second)
	deliver(0)
	if m := rows()[mail.KindInvite]; m.State() != models.MailExpired || m.Raw != nil {
		t.Errorf("invite mail after the link's end = %s, %d-byte body; want expired without body", m.State(), len(m.Raw))
	}

	// A mail server now: nothing expired is sent.
	f.editDesk(func(dd *verify.DeskDeps) { dd.Mailer = sender(t, f.smtp.Addr) })
	d = f.desk
	deliver(0)
	if got := f.smtp.Messages(); len(got) != 0 {
		t.Errorf("the server received %d messages, want none", len(got))
	}
	var actions []string
	f.tx(func(tx models.Tx) error {
		evs, err := tx.AuditEvents(ctx, models.AuditFilter{CaseID: f.caseID})
		for _, e := range evs {
			if e.Action == "mail.expired" {
				actions = append(actions, e.Detail["kind"])
				if e.Actor != "system" || e.Detail["raw_sha256"] == "" || e.Detail["mail"] == "" {
					t.Errorf("mail.expired event = %+v, want the system, the mail and its hash", e)
				}
			}
		}
		return err
	})
	if !slices.Equal(actions, []string{mail.KindCode, mail.KindInvite}) {
		t.Errorf("mail.expired events for %v, want [code invite]", actions)
	}
}
