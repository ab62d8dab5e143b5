package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"remoteidv/mail/mailtest"
	"remoteidv/models"
)

// TestServeBounceIntake: idv serve with IDV_BOUNCE_LISTEN takes delivery
// reports over LMTP from an allowed peer and records them on the message
// they name; with IDV_BOUNCE_ALLOW not covering the peer it turns the
// connection away.
func TestServeBounceIntake(t *testing.T) {
	ctx := context.Background()
	bounceAddr := freeAddr(t)
	idv := newE2EIDV(t, map[string]string{"IDV_REQUIRE_MODELS": "false", "IDV_MODELS_DIR": t.TempDir(), "IDV_BOUNCE_LISTEN": bounceAddr,
		"IDV_MAIL_RETURN_PATH": "bounces@bank.example"})
	idv.serve()
	// A message the outbox sent (recorded as the worker records it; its
	// due time is far off, so the server's own worker leaves it alone).
	now := time.Now().UTC()
	m := &models.OutboundMail{ID: "mail_b1", Kind: "invite", To: "li.wei@example.com", From: "bounces@bank.example", MessageID: "mail_b1@bank.example",
		Raw: []byte("x"), RawSHA256: strings.Repeat("a", 64), CreatedAt: now, NextAttemptAt: now.Add(time.Hour), EnvelopeID: "env_b1"}
	idv.withStore(func(ctx context.Context, tx models.Tx) error {
		if err := tx.EnqueueMail(ctx, m); err != nil {
			return err
		}
		if _, err := tx.ClaimMail(ctx, "test", now.Add(2*time.Hour), now.Add(3*time.Hour), 10); err != nil {
			return err
		}
		return tx.MarkMailSent(ctx, m.ID, "test", models.MailReceipt{DSN: models.DSNRequested, Reply: "250 ok"}, m.RawSHA256, now)
	})
	sent := mailtest.Message{From: m.From, To: []string{m.To}, EnvelopeID: m.EnvelopeID, Return: "HDRS",
		Data: []byte("Message-ID: <mail_b1@bank.example>\r\nSubject: invite\r\n\r\nbody\r\n"),
		Rcpt: []mailtest.Rcpt{{To: m.To, Notify: []string{"SUCCESS", "FAILURE", "DELAY"}, ORCPT: m.To}}}
	report, err := mailtest.Report(sent, m.To, mailtest.Outcome{Action: "failed", Status: "5.1.1", Diagnostic: "smtp; 550 5.1.1 no such user"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mailtest.Bounce(ctx, mailtest.Intake{Addr: bounceAddr, LMTP: true}, "bounces@bank.example", report); err != nil {
		t.Fatalf("Bounce to idv serve: %v", err)
	}
	idv.withStore(func(ctx context.Context, tx models.Tx) error {
		got, err := tx.MailByID(ctx, m.ID)
		if err == nil && (got.Delivery.Action != models.DeliveryFailed || got.Delivery.Status != "5.1.1") {
			t.Errorf("mail after its bounce = %+v, want failed 5.1.1", got.Delivery)
		}
		return err
	})

	// A peer outside IDV_BOUNCE_ALLOW is refused.
	other := freeAddr(t)
	idv2 := newE2EIDV(t, map[string]string{"IDV_REQUIRE_MODELS": "false", "IDV_MODELS_DIR": t.TempDir(), "IDV_BOUNCE_LISTEN": other,
		"IDV_BOUNCE_ALLOW": "10.0.0.0/8"})
	idv2.serve()
	if _, err := mailtest.Bounce(ctx, mailtest.Intake{Addr: other, LMTP: true}, "bounces@bank.example", report); err == nil || !strings.Contains(err.Error(), "554") {
		t.Errorf("Bounce from 127.0.0.1 with IDV_BOUNCE_ALLOW=10.0.0.0/8 = %v, want 554", err)
	}
}
