package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"

	idvmail "remoteidv/mail"
	"remoteidv/models"
)

// Mail outbox worker settings.
const (
	mailLease      = time.Minute
	mailBatch      = 20
	mailMaxBackoff = 30 * time.Minute
)

// enqueue renders a message of template kind for the account in its
// language, composes it and puts it in the outbox (filed as
// mail.OutboxKind(kind)) in the caller's transaction. Mail goes only to
// the account's registered address. expires is when what the message
// carries stops being usable (nil: it is kept until delivered); past it,
// the outbox drops the message undelivered.
func (d *Desk) enqueue(ctx context.Context, tx models.Tx, id models.CaseID, kind string, acct *models.Account, data idvmail.Data, att []idvmail.Attachment, expires *time.Time) (*models.OutboundMail, error) {
	data.BankName, data.HolderName = d.svc.cfg.BankName, acct.HolderName
	subject, text, html, err := idvmail.Render(kind, acct.Language, data)
	if err != nil {
		return nil, err
	}
	from, err := mail.ParseAddress(d.mailFrom)
	if err != nil {
		return nil, models.Errorf(models.EUNAVAILABLE, "mail sender address %q is not configured correctly", d.mailFrom)
	}
	mid, err := models.NewID(d.svc.rand, "mail")
	if err != nil {
		return nil, err
	}
	// The envelope id a delivery report names: random, not the
	// Message-ID the recipient sees.
	envID, err := models.NewID(d.svc.rand, "env")
	if err != nil {
		return nil, err
	}
	sender := from.Address
	if d.returnPath != "" {
		sender = d.returnPath
	}
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	now := d.svc.now().UTC()
	raw, err := idvmail.Compose(idvmail.Message{From: (&mail.Address{Name: d.svc.cfg.BankName, Address: from.Address}).String(), To: []string{acct.Email},
		Subject: subject, Text: text, HTML: html, Attachments: att, MessageID: mid + "@" + domain, Date: now})
	if err != nil {
		return nil, models.Errorf(models.EINVALID, "compose %s mail: %v", kind, err)
	}
	if expires != nil {
		e := expires.UTC()
		expires = &e
	}
	m := &models.OutboundMail{ID: mid, CaseID: id, Kind: idvmail.OutboxKind(kind), To: acct.Email, From: sender,
		MessageID: mid + "@" + domain, Raw: raw, RawSHA256: sha256Hex(raw), CreatedAt: now, ExpiresAt: expires, NextAttemptAt: now, EnvelopeID: envID}
	if err := tx.EnqueueMail(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// DeliverMail drops what expired in the outbox (always, even without a mail
// server), then sends what is due, as owner, and returns how many messages
// went out. A failed attempt is retried with backoff (capped at 30
// minutes) until the server accepts the message or what it carries
// expires: an outage delays mail, never loses a message that is still
// usable. Where the server offers DSN, each message asks for delivery
// status notifications under its envelope id (RecordDeliveryReport takes
// them in). A delivered statement gets its receipt (the server's answers,
// whether DSN was requested, and the Message-ID) as evidence and closes
// the case.
func (d *Desk) DeliverMail(ctx context.Context, owner string) (int, error) {
	if err := d.expireMail(ctx); err != nil {
		return 0, fmt.Errorf("deliver mail: %w", err)
	}
	if mailQueued(d.mailer) {
		return 0, nil
	}
	var batch []*models.OutboundMail
	now := d.svc.now().UTC()
	err := d.svc.store.Transact(ctx, func(tx models.Tx) (err error) {
		batch, err = tx.ClaimMail(ctx, owner, now, now.Add(mailLease), mailBatch)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("deliver mail: %w", err)
	}
	sent := 0
	for _, m := range batch {
		rc, err := d.send(ctx, m)
		if err != nil {
			backoff := min(mailMaxBackoff, 10*time.Second<<min(m.Attempts, 12))
			if ferr := d.svc.store.Transact(ctx, func(tx models.Tx) error {
				return tx.MarkMailFailed(ctx, m.ID, owner, err.Error(), d.svc.now().UTC().Add(backoff))
			}); ferr != nil {
				d.svc.log.ErrorContext(ctx, "mark mail failed", "mail", m.ID, "err", ferr)
			}
			d.svc.log.WarnContext(ctx, "mail not delivered; will retry", "mail", m.ID, "kind", m.Kind, "attempt", m.Attempts+1, "retry_in", backoff, "err", err)
			continue
		}
		if err := d.delivered(ctx, owner, m, rc); err != nil {
			d.svc.log.ErrorContext(ctx, "record mail delivery", "mail", m.ID, "err", err)
			continue
		}
		sent++
	}
	return sent, nil
}

// send hands m to the mail server, asking for delivery status
// notifications where the sender can (models.ReceiptSender).
func (d *Desk) send(ctx context.Context, m *models.OutboundMail) (*models.MailReceipt, error) {
	if rs, ok := d.mailer.(models.ReceiptSender); ok {
		return rs.SendEnvelope(ctx, models.MailEnvelope{From: m.From, To: []string{m.To}, EnvelopeID: m.EnvelopeID}, m.Raw)
	}
	reply, err := d.mailer.Send(ctx, m.From, []string{m.To}, m.Raw)
	if err != nil {
		return nil, err
	}
	return &models.MailReceipt{DSN: models.DSNNotOffered, Reply: reply}, nil
}

// expireMail drops, undelivered, the queued messages whose payload expired
// (an invite link past its end, a code past its 10 minutes), keeping their
// hash and metadata; each is audited on its case.
func (d *Desk) expireMail(ctx context.Context) error {
	var gone []*models.OutboundMail
	err := d.svc.store.Transact(ctx, func(tx models.Tx) (err error) {
		if gone, err = tx.ExpireMail(ctx, d.svc.now().UTC()); err != nil {
			return err
		}
		for _, m := range gone {
			if m.CaseID == "" {
				continue
			}
			det := map[string]string{"mail": m.ID, "kind": m.Kind, "message_id": m.MessageID, "attempts": fmt.Sprint(m.Attempts), "raw_sha256": m.RawSHA256}
			if m.LastError != "" {
				det["last_error"] = m.LastError
			}
			if err := d.svc.event(ctx, tx, SystemActor, m.CaseID, "mail.expired", det); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("expire mail: %w", err)
	}
	for _, m := range gone {
		d.svc.log.WarnContext(ctx, "mail expired undelivered: its body is dropped", "mail", m.ID, "kind", m.Kind, "case_id", m.CaseID, "attempts", m.Attempts)
	}
	return nil
}

func (d *Desk) delivered(ctx context.Context, owner string, m *models.OutboundMail, rc *models.MailReceipt) error {
	at := d.svc.now().UTC()
	reply := rc.Reply
	// A delivered statement's receipt is evidence of its case.
	var receipt []artifact
	if m.Kind == idvmail.KindStatement && m.CaseID != "" {
		b, err := json.Marshal(map[string]any{"mail": m.ID, "message_id": m.MessageID, "to": m.To, "from": m.From, "smtp_reply": reply,
			"rcpt_replies": rc.Rcpt, "dsn": rc.DSN, "envelope_id": m.EnvelopeID, "raw_sha256": sha256Hex(m.Raw), "sent_at": at, "attempts": m.Attempts + 1})
		if err != nil {
			return err
		}
		receipt = []artifact{{Kind: models.EvidenceReceipt, ContentType: "application/json", Data: b}}
	}
	_, err := d.svc.recordEvidence(ctx, m.CaseID, SystemActor, receipt, func(tx models.Tx, evs []*models.Evidence) error {
		if err := tx.MarkMailSent(ctx, m.ID, owner, *rc, sha256Hex(m.Raw), at); err != nil {
			return err
		}
		det := map[string]string{"mail": m.ID, "kind": m.Kind, "message_id": m.MessageID, "smtp_reply": reply, "raw_sha256": sha256Hex(m.Raw), "dsn": rc.DSN}
		if len(evs) == 0 {
			if m.CaseID == "" {
				return nil
			}
			return d.svc.event(ctx, tx, SystemActor, m.CaseID, "mail.delivered", det)
		}
		e := evs[0]
		det["receipt_sha256"] = e.SHA256
		c, err := tx.CaseByID(ctx, m.CaseID)
		if err != nil {
			return err
		}
		if err := d.svc.event(ctx, tx, SystemActor, c.ID, "statement.delivered", det); err != nil {
			return err
		}
		to, err := models.Transition(c.State, models.EventClose)
		if err != nil {
			// The mail went out: record that whatever the case's state, so
			// it is never sent twice; the state is for people to look at.
			d.svc.log.WarnContext(ctx, "statement delivered but the case cannot close", "case_id", c.ID, "state", c.State)
			return nil
		}
		from := c.State
		c.State, c.UpdatedAt = to, at
		if err := tx.UpdateCase(ctx, c); err != nil {
			return err
		}
		closed := map[string]string{"from": string(from), "to": string(to)}
		if err := dropEnvelopePassword(ctx, tx, c, closed); err != nil {
			return err
		}
		return d.svc.event(ctx, tx, SystemActor, c.ID, "case.close", closed)
	})
	return err
}
