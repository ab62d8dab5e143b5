package storagetest

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
)

const (
	hashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hashB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// testMailOutbox covers MailOutboxRepo: claims with leases, failure and
// retry, delivery once (dropping the body, keeping its hash) and the
// expiry of undelivered messages whose payload is no longer usable.
func testMailOutbox(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	c := models.CaseID("case_a")
	at := t0.Add(time.Hour)
	ptr := func(t time.Time) *time.Time { return &t }
	m := &models.OutboundMail{ID: "mail_1", CaseID: c, Kind: "statement", To: "li.wei@example.com", From: "noreply@bank.example", MessageID: "mail_1@bank.example",
		Raw: []byte("raw"), RawSHA256: hashA, CreatedAt: t0, NextAttemptAt: t0, EnvelopeID: "env_1"}
	tx(t, s, func(tx models.Tx) error { return tx.EnqueueMail(ctx, m) })
	claim := func(owner string, now time.Time) []*models.OutboundMail {
		t.Helper()
		var got []*models.OutboundMail
		tx(t, s, func(tx models.Tx) (err error) {
			got, err = tx.ClaimMail(ctx, owner, now, now.Add(time.Minute), 10)
			return
		})
		return got
	}
	mail := func(id string) *models.OutboundMail {
		t.Helper()
		var got *models.OutboundMail
		tx(t, s, func(tx models.Tx) (err error) { got, err = tx.MailByID(ctx, id); return })
		return got
	}
	if got := claim("w1", t0); len(got) != 1 || got[0].LeaseOwner != "w1" || string(got[0].Raw) != "raw" || got[0].RawSHA256 != hashA ||
		got[0].ExpiresAt != nil || got[0].State() != models.MailQueued {
		t.Fatalf("ClaimMail(w1) = %+v, want mail_1 leased with its body and hash", got)
	}
	if got := claim("w2", t0.Add(30*time.Second)); len(got) != 0 {
		t.Errorf("ClaimMail(w2) during w1's lease = %d messages, want 0", len(got))
	}
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.MarkMailFailed(ctx, "mail_1", "w2", "x", t0) })
	wantCode(t, "MarkMailFailed by a non-owner", err, models.ECONFLICT)
	tx(t, s, func(tx models.Tx) error {
		return tx.MarkMailFailed(ctx, "mail_1", "w1", "smtp down", t0.Add(5*time.Minute))
	})
	if got := claim("w2", t0.Add(time.Minute)); len(got) != 0 {
		t.Errorf("ClaimMail before the retry time = %d messages, want 0", len(got))
	}
	got := claim("w2", t0.Add(6*time.Minute))
	if len(got) != 1 || got[0].Attempts != 1 || got[0].LastError != "smtp down" {
		t.Fatalf("ClaimMail after the retry time = %+v, want mail_1 with 1 attempt", got)
	}
	err = s.Transact(ctx, func(tx models.Tx) error {
		return tx.SetMailDelivery(ctx, "mail_1", models.MailDelivery{Action: models.DeliveryDelivered, Status: "2.0.0", ReportedAt: &at})
	})
	wantCode(t, "SetMailDelivery before the message was sent", err, models.ENOTFOUND)
	receipt := models.MailReceipt{DSN: models.DSNRequested, Rcpt: []string{"<li.wei@example.com>: 2xx accepted"}, Reply: "250 OK queued"}
	tx(t, s, func(tx models.Tx) error { return tx.MarkMailSent(ctx, "mail_1", "w2", receipt, hashB, at) })
	err = s.Transact(ctx, func(tx models.Tx) error {
		return tx.MarkMailSent(ctx, "mail_1", "w2", models.MailReceipt{Reply: "250"}, hashB, at)
	})
	wantCode(t, "MarkMailSent twice", err, models.ECONFLICT)
	if got := claim("w3", at.Add(time.Hour)); len(got) != 0 {
		t.Errorf("ClaimMail after sending = %d messages, want 0", len(got))
	}
	tx(t, s, func(tx models.Tx) error {
		ms, err := tx.MailByCase(ctx, c)
		if err != nil {
			return err
		}
		if len(ms) != 1 || ms[0].SentAt == nil || !ms[0].SentAt.Equal(at) || ms[0].Reply != "250 OK queued" || ms[0].Raw != nil || ms[0].Attempts != 2 ||
			ms[0].RawSHA256 != hashB || ms[0].State() != models.MailSent || ms[0].To != "li.wei@example.com" || !ms[0].CreatedAt.Equal(t0) ||
			ms[0].DSN != models.DSNRequested || ms[0].RcptReply != "<li.wei@example.com>: 2xx accepted" || ms[0].EnvelopeID != "env_1" || ms[0].Delivery.Action != "" {
			t.Errorf("MailByCase = %+v, want the sent message with its answers, hash and no body", ms[0])
		}
		one, err := tx.MailByID(ctx, "mail_1")
		if err != nil || one.MessageID != "mail_1@bank.example" {
			t.Errorf("MailByID = %+v, %v", one, err)
		}
		return nil
	})

	// Delivery reports find their message by envelope id or Message-ID
	// and leave their latest word on it.
	tx(t, s, func(tx models.Tx) error {
		for _, find := range []func() (*models.OutboundMail, error){
			func() (*models.OutboundMail, error) { return tx.MailByEnvelopeID(ctx, "env_1") },
			func() (*models.OutboundMail, error) { return tx.MailByMessageID(ctx, "mail_1@bank.example") },
		} {
			if got, err := find(); err != nil || got.ID != "mail_1" {
				t.Errorf("MailByEnvelopeID/MailByMessageID = %+v, %v; want mail_1", got, err)
			}
		}
		for _, e := range []string{"", "env_2"} {
			_, err := tx.MailByEnvelopeID(ctx, e)
			wantCode(t, "MailByEnvelopeID("+e+")", err, models.ENOTFOUND)
		}
		_, err := tx.MailByMessageID(ctx, "nope@bank.example")
		wantCode(t, "MailByMessageID(unknown)", err, models.ENOTFOUND)
		return nil
	})
	reported := at.Add(time.Hour)
	dlv := models.MailDelivery{Action: models.DeliveryFailed, Status: "5.1.1", Diagnostic: "smtp; 550 5.1.1 no such user", RemoteMTA: "mx.example.com", ReportedAt: &reported}
	tx(t, s, func(tx models.Tx) error { return tx.SetMailDelivery(ctx, "mail_1", dlv) })
	if got := mail("mail_1"); got.Delivery.Action != dlv.Action || got.Delivery.Status != dlv.Status || got.Delivery.Diagnostic != dlv.Diagnostic ||
		got.Delivery.RemoteMTA != dlv.RemoteMTA || got.Delivery.ReportedAt == nil || !got.Delivery.ReportedAt.Equal(reported) {
		t.Errorf("after SetMailDelivery: %+v, want %+v", got.Delivery, dlv)
	}
	err = s.Transact(ctx, func(tx models.Tx) error {
		return tx.SetMailDelivery(ctx, "mail_1", models.MailDelivery{Action: "bounced", Status: "5.0.0", ReportedAt: &reported})
	})
	if err == nil {
		t.Error("SetMailDelivery(action bounced) = nil, want the schema to refuse an unknown action")
	}

	// Expiry: a code 10 minutes after it was made, an invite at its end
	// (not while a worker holds it), never a statement; the claim never
	// hands out an expired payload, even before the sweep ran.
	for _, q := range []*models.OutboundMail{
		{ID: "mail_code", Kind: "code", ExpiresAt: ptr(t0.Add(10 * time.Minute))},
		{ID: "mail_inv", Kind: "invite", ExpiresAt: ptr(t0.Add(20 * time.Minute))},
		{ID: "mail_st", Kind: "statement"},
		{ID: "mail_late", Kind: "code", ExpiresAt: ptr(t0.Add(30 * time.Minute)), NextAttemptAt: t0.Add(40 * time.Minute)},
	} {
		q.CaseID, q.To, q.From, q.MessageID, q.Raw, q.RawSHA256, q.CreatedAt = c, "li.wei@example.com", "noreply@bank.example", q.ID+"@bank.example", []byte("secret "+q.ID), hashA, t0
		if q.NextAttemptAt.IsZero() {
			q.NextAttemptAt = t0.Add(time.Hour)
		}
		tx(t, s, func(tx models.Tx) error { return tx.EnqueueMail(ctx, q) })
	}
	expire := func(now time.Time) []string {
		t.Helper()
		var ids []string
		tx(t, s, func(tx models.Tx) error {
			got, err := tx.ExpireMail(ctx, now)
			for _, m := range got {
				ids = append(ids, m.ID)
				if m.Raw != nil || m.ExpiredAt == nil || !m.ExpiredAt.Equal(now) || m.State() != models.MailExpired || m.RawSHA256 != hashA {
					t.Errorf("ExpireMail(%s) returned %+v, want it expired at that time, without body, with its hash", now, m)
				}
			}
			return err
		})
		return ids
	}
	if got := expire(t0.Add(9 * time.Minute)); len(got) != 0 {
		t.Errorf("ExpireMail(9 min) = %v, want none", got)
	}
	if got := expire(t0.Add(10 * time.Minute)); strings.Join(got, ",") != "mail_code" {
		t.Errorf("ExpireMail(10 min) = %v, want [mail_code]", got)
	}
	if m := mail("mail_code"); m.Raw != nil || m.ExpiredAt == nil || m.SentAt != nil || m.ExpiresAt == nil || !m.ExpiresAt.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("expired code = %+v, want no body, expired, not sent", m)
	}
	if got := claim("w5", t0.Add(59*time.Minute)); len(got) != 0 {
		t.Errorf("ClaimMail(59 min) = %+v, want none due", got)
	}
	got = claim("w5", t0.Add(time.Hour))
	var ids []string
	for _, m := range got {
		ids = append(ids, m.ID)
	}
	// mail_inv (20 min) and mail_late (30 min) have expired by then: only
	// the statement may go.
	if strings.Join(ids, ",") != "mail_st" {
		t.Errorf("ClaimMail(1 h) = %v, want only mail_st (the invite and the late code expired)", ids)
	}
	if got := expire(t0.Add(time.Hour)); strings.Join(got, ",") != "mail_inv,mail_late" {
		t.Errorf("ExpireMail(1 h) = %v, want [mail_inv mail_late]; the leased statement never expires", got)
	}
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.MarkMailFailed(ctx, "mail_inv", "w5", "x", t0) })
	wantCode(t, "MarkMailFailed on an expired message", err, models.ECONFLICT)
	if m := mail("mail_st"); string(m.Raw) != "secret mail_st" || m.ExpiredAt != nil {
		t.Errorf("statement after the sweeps = %+v, want still queued with its body", m)
	}
	// A lease that outlives the payload holds the sweep off until it ends.
	late := &models.OutboundMail{ID: "mail_leased", CaseID: c, Kind: "code", To: "a@example.com", From: "b@example.com", MessageID: "mail_leased@bank.example",
		Raw: []byte("x"), RawSHA256: hashA, CreatedAt: t0, ExpiresAt: ptr(t0.Add(2 * time.Hour)), NextAttemptAt: t0}
	tx(t, s, func(tx models.Tx) error { return tx.EnqueueMail(ctx, late) })
	tx(t, s, func(tx models.Tx) error {
		got, err := tx.ClaimMail(ctx, "w6", t0.Add(2*time.Hour-time.Second), t0.Add(2*time.Hour+time.Minute), 10)
		if !slices.ContainsFunc(got, func(m *models.OutboundMail) bool { return m.ID == "mail_leased" }) {
			t.Errorf("ClaimMail(just before expiry) = %+v, want mail_leased among them", got)
		}
		return err
	})
	if got := expire(t0.Add(2*time.Hour + 30*time.Second)); len(got) != 0 {
		t.Errorf("ExpireMail during a live lease = %v, want none", got)
	}
	if got := expire(t0.Add(2*time.Hour + 2*time.Minute)); strings.Join(got, ",") != "mail_leased" {
		t.Errorf("ExpireMail after the lease = %v, want [mail_leased]", got)
	}
}

// RunLegacyOutbox migrates a database from before migration 010 holding
// delivered and queued mail: the delivered bodies are gone afterwards,
// queued ones carry the expiry of their payload, and the schema refuses a
// sent message that keeps its body.
func RunLegacyOutbox(t *testing.T, db Migrator, migrations fs.FS) {
	ctx := context.Background()
	migrateBefore(t, db, migrations, "010")
	seedLegacy(t, db)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.SQL().ExecContext(ctx, rebindFor(db, q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	us := func(d time.Duration) int64 { return t0.Add(d).UnixMicro() }
	exec(`INSERT INTO invites (id, case_id, token_hash, not_before, not_after, created_at) VALUES ('inv_1', 'case_a', ?, ?, ?, ?)`, hashA, us(0), us(2*time.Hour), us(0))
	exec(`INSERT INTO invites (id, case_id, token_hash, not_before, not_after, created_at) VALUES ('inv_2', 'case_a', ?, ?, ?, ?)`, hashB, us(0), us(3*time.Hour), us(time.Minute))
	for _, r := range []struct {
		id, kind string
		sent     bool
		raw      string
	}{
		{"m_inv_sent", "invite", true, "link iv1_sent"},
		{"m_code_sent", "code", true, ""}, // the old worker emptied sent codes
		{"m_st_sent", "statement", true, "%PDF sent"},
		{"m_inv_queued", "invite", false, "link iv1_queued"},
		{"m_code_queued", "code", false, "code 123456"},
		{"m_st_queued", "statement", false, "%PDF queued"},
	} {
		var sent any
		if r.sent {
			sent = us(time.Minute)
		}
		exec(`INSERT INTO mail_outbox (id, case_id, kind, to_addr, from_addr, message_id, raw, created_at, next_attempt_at, sent_at, reply)
VALUES (?, 'case_a', ?, 'li.wei@example.com', 'noreply@bank.example', ?, ?, ?, ?, ?, '250 OK')`, r.id, r.kind, r.id+"@bank.example", []byte(r.raw), us(30*time.Second), us(0), sent)
	}
	if _, err := db.Migrate(ctx, migrations); err != nil {
		t.Fatalf("Migrate(all): %v", err)
	}
	want := map[string]struct {
		raw     string
		body    bool
		expires time.Duration // 0: none
	}{
		"m_inv_sent":    {"", false, 2 * time.Hour},
		"m_code_sent":   {"", false, 30*time.Second + 10*time.Minute},
		"m_st_sent":     {"", false, 0},
		"m_inv_queued":  {"link iv1_queued", true, 2 * time.Hour}, // inv_2 was issued after the mail
		"m_code_queued": {"code 123456", true, 30*time.Second + 10*time.Minute},
		"m_st_queued":   {"%PDF queued", true, 0},
	}
	tx(t, db, func(tx models.Tx) error {
		ms, err := tx.MailByCase(ctx, "case_a")
		if err != nil {
			return err
		}
		if len(ms) != len(want) {
			t.Fatalf("MailByCase after 010 = %d messages, want %d", len(ms), len(want))
		}
		for _, m := range ms {
			w := want[m.ID]
			if (m.Raw != nil) != w.body || string(m.Raw) != w.raw {
				t.Errorf("%s after 010: body %q, want %q", m.ID, m.Raw, w.raw)
			}
			switch {
			case w.expires == 0 && m.ExpiresAt != nil, w.expires != 0 && (m.ExpiresAt == nil || !m.ExpiresAt.Equal(t0.Add(w.expires))):
				t.Errorf("%s after 010: expires %v, want t0+%s", m.ID, m.ExpiresAt, w.expires)
			}
			if m.ExpiredAt != nil || m.RawSHA256 != "" {
				t.Errorf("%s after 010: expired %v, hash %q; want neither", m.ID, m.ExpiredAt, m.RawSHA256)
			}
		}
		return nil
	})
	// The schema keeps the body exactly while a message is queued.
	for _, q := range []string{
		`UPDATE mail_outbox SET sent_at = 1 WHERE id = 'm_st_queued'`,
		`UPDATE mail_outbox SET raw = NULL WHERE id = 'm_st_queued'`,
		`UPDATE mail_outbox SET raw = x'01' WHERE id = 'm_st_sent'`,
		`UPDATE mail_outbox SET expired_at = 1, raw = NULL WHERE id = 'm_st_sent'`,
	} {
		_, err := db.SQL().ExecContext(ctx, strings.ReplaceAll(q, "x'01'", rawLiteral(db)))
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "check") {
			t.Errorf("%s: %v, want a CHECK violation", q, err)
		}
	}
}

func rawLiteral(db Migrator) string {
	if db.Dialect() == "postgres" {
		return `'\x01'::bytea`
	}
	return `x'01'`
}
