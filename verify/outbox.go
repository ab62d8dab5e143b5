package verify

import (
	"context"
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

// enqueue renders a message for the account in its language, composes it
// and puts it in the outbox in the caller's transaction. Mail goes only to
// the account's registered address.
func (d *Desk) enqueue(ctx context.Context, tx models.Tx, id models.CaseID, kind string, acct *models.Account, data idvmail.Data, att []idvmail.Attachment) error {
	data.BankName, data.HolderName = d.Cfg.BankName, acct.HolderName
	subject, text, html, err := idvmail.Render(kind, acct.Language, data)
	if err != nil {
		return err
	}
	from, err := mail.ParseAddress(d.MailFrom)
	if err != nil {
		return models.Errorf(models.EUNAVAILABLE, "mail sender address %q is not configured correctly", d.MailFrom)
	}
	mid, err := models.NewID(d.Rand, "mail")
	if err != nil {
		return err
	}
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	now := d.Now().UTC()
	raw, err := idvmail.Compose(idvmail.Message{From: (&mail.Address{Name: d.Cfg.BankName, Address: from.Address}).String(), To: []string{acct.Email},
		Subject: subject, Text: text, HTML: html, Attachments: att, MessageID: mid + "@" + domain, Date: now})
	if err != nil {
		return models.Errorf(models.EINVALID, "compose %s mail: %v", kind, err)
	}
	return tx.EnqueueMail(ctx, &models.OutboundMail{ID: mid, CaseID: id, Kind: kind, To: acct.Email, From: from.Address,
		MessageID: mid + "@" + domain, Raw: raw, CreatedAt: now, NextAttemptAt: now})
}

// DeliverMail sends what is due in the outbox, as owner, and returns how
// many messages went out. A failed attempt is retried with backoff (capped
// at 30 minutes), indefinitely: an outage delays mail, never loses it. A
// delivered statement gets its receipt (the server's reply and the
// Message-ID) as evidence and closes the case.
func (d *Desk) DeliverMail(ctx context.Context, owner string) (int, error) {
	if d.Mailer == nil {
		return 0, nil
	}
	var batch []*models.OutboundMail
	now := d.Now().UTC()
	err := d.Store.Transact(ctx, func(tx models.Tx) (err error) {
		batch, err = tx.ClaimMail(ctx, owner, now, now.Add(mailLease), mailBatch)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("deliver mail: %w", err)
	}
	sent := 0
	for _, m := range batch {
		reply, err := d.Mailer.Send(ctx, m.From, []string{m.To}, m.Raw)
		if err != nil {
			backoff := min(mailMaxBackoff, 10*time.Second<<min(m.Attempts, 12))
			if ferr := d.Store.Transact(ctx, func(tx models.Tx) error {
				return tx.MarkMailFailed(ctx, m.ID, owner, err.Error(), d.Now().UTC().Add(backoff))
			}); ferr != nil {
				d.Log.ErrorContext(ctx, "mark mail failed", "mail", m.ID, "err", ferr)
			}
			d.Log.WarnContext(ctx, "mail not delivered; will retry", "mail", m.ID, "kind", m.Kind, "attempt", m.Attempts+1, "retry_in", backoff, "err", err)
			continue
		}
		if err := d.delivered(ctx, owner, m, reply); err != nil {
			d.Log.ErrorContext(ctx, "record mail delivery", "mail", m.ID, "err", err)
			continue
		}
		sent++
	}
	return sent, nil
}

func (d *Desk) delivered(ctx context.Context, owner string, m *models.OutboundMail, reply string) error {
	at := d.Now().UTC()
	var staged *models.Evidence
	if m.Kind == idvmail.KindStatement && m.CaseID != "" && d.Stager != nil {
		receipt, err := json.Marshal(map[string]any{"mail": m.ID, "message_id": m.MessageID, "to": m.To, "from": m.From, "smtp_reply": reply,
			"sent_at": at, "attempts": m.Attempts + 1})
		if err != nil {
			return err
		}
		if staged, err = d.Stager.Stage(ctx, m.CaseID, models.EvidenceReceipt, "application/json", receipt, SystemActor); err != nil {
			return err
		}
	}
	err := d.Store.Transact(ctx, func(tx models.Tx) error {
		if err := tx.MarkMailSent(ctx, m.ID, owner, reply, m.Kind == idvmail.KindCode, at); err != nil {
			return err
		}
		det := map[string]string{"mail": m.ID, "kind": m.Kind, "message_id": m.MessageID, "smtp_reply": reply}
		if staged == nil {
			if m.CaseID == "" {
				return nil
			}
			return d.event(ctx, tx, SystemActor, m.CaseID, "mail.delivered", det)
		}
		e := *staged
		if err := tx.AddEvidence(ctx, &e); err != nil {
			return err
		}
		det["receipt_sha256"] = e.SHA256
		c, err := tx.CaseByID(ctx, m.CaseID)
		if err != nil {
			return err
		}
		if err := d.event(ctx, tx, SystemActor, c.ID, "statement.delivered", det); err != nil {
			return err
		}
		to, err := models.Transition(c.State, models.EventClose)
		if err != nil {
			// The mail went out: record that whatever the case's state, so
			// it is never sent twice; the state is for people to look at.
			d.Log.WarnContext(ctx, "statement delivered but the case cannot close", "case_id", c.ID, "state", c.State)
			return nil
		}
		from := c.State
		c.State, c.UpdatedAt = to, at
		if err := tx.UpdateCase(ctx, c); err != nil {
			return err
		}
		return d.event(ctx, tx, SystemActor, c.ID, "case.close", map[string]string{"from": string(from), "to": string(to)})
	})
	if err != nil && staged != nil {
		_ = d.Stager.Discard(staged)
	}
	return err
}

// RunMailOutbox delivers mail every interval until ctx ends.
func (d *Desk) RunMailOutbox(ctx context.Context, owner string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := d.DeliverMail(ctx, owner); err != nil && ctx.Err() == nil {
			d.Log.WarnContext(ctx, "mail outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
