package verify

import (
	"context"
	"fmt"
	"time"

	"remoteidv/mail"
	"remoteidv/models"
)

// MailInvite issues a new invite (revoking earlier ones) and emails the
// link with its calendar file to the account's registered address through
// the outbox, in the customer's language and zone. The raw link leaves the
// service only in that message, and the outbox keeps the message only
// until it is delivered or the link's validity ends.
func (d *Desk) MailInvite(ctx context.Context, a Actor, id models.CaseID) (*models.Invite, *models.OutboundMail, error) {
	inv, err := d.svc.IssueInvite(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	var out *models.OutboundMail
	err = d.svc.store.Transact(ctx, func(tx models.Tx) error {
		c, err := d.svc.authorize(ctx, tx, a, id, clerkRule, "mail invites")
		if err != nil {
			return err
		}
		acct, err := tx.AccountByNo(ctx, c.AccountNo)
		if err != nil {
			return err
		}
		slot := c.SlotAt.UTC().Format("2006-01-02 15:04") + " UTC"
		if loc, err := time.LoadLocation(c.CustomerTZ); err == nil {
			slot = c.SlotAt.In(loc).Format("2006-01-02 15:04") + " " + c.CustomerTZ
		}
		// The message just queued (the case's outbox also holds staff
		// notifications, which may share its time).
		if out, err = d.enqueue(ctx, tx, c.ID, mail.KindInvite, acct, mail.Data{Link: inv.Link, SlotLocal: slot},
			[]mail.Attachment{{Name: "call.ics", ContentType: "text/calendar", Data: inv.ICS}}, &inv.Invite.NotAfter); err != nil {
			return err
		}
		return d.svc.event(ctx, tx, a.Name, c.ID, "invite.mailed", map[string]string{"invite": string(inv.Invite.ID), "mail": out.ID, "message_id": out.MessageID})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("mail invite for %s: %w", id, err)
	}
	return inv.Invite, out, nil
}
