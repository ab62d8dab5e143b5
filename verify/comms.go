package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"time"

	idvmail "remoteidv/mail"
	"remoteidv/models"
)

// Customer communications (issue 16, point 4). Everything goes through
// the mail outbox to the account's registered address, in the account's
// language, with times in the customer's zone and the branch's:
//
//   - a reminder 24 hours and one hour before the slot (SendReminders, a
//     background job), each once per slot;
//   - on a reschedule, the new times and the updated calendar file (the
//     same UID as the first invite, a higher SEQUENCE, METHOD:REQUEST);
//   - on a cancellation, a notice and METHOD:CANCEL for the same entry;
//   - after the decision, what happens next (approved or rejected).
//
// Reschedule and cancellation notices go only to customers who were sent
// a calendar entry (an invite); reminders likewise, since they point to
// the invite's link.

// errReminded ends a reminder's transaction when another run (or process)
// recorded the same reminder first.
var errReminded = errors.New("reminder already sent")

// reminderBatch is how many scheduled cases one round of SendReminders
// looks at per page.
const reminderBatch = 200

// slotLine shows a slot in a zone as the mails do: "2026-12-01 09:00
// America/New_York" (UTC when the zone is unknown).
func slotLine(at time.Time, zone string) string {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		loc, zone = time.UTC, "UTC"
	}
	return at.In(loc).Format("2006-01-02 15:04") + " " + zone
}

// dueReminder is the reminder whose window a slot until away is in: the
// closest to the slot whose offset until is within; false when none (more
// than 24 hours away, or past).
func dueReminder(until time.Duration) (models.ReminderKind, bool) {
	if until <= 0 {
		return "", false
	}
	for i := len(models.Reminders) - 1; i >= 0; i-- {
		if k := models.Reminders[i]; until <= k.Before() {
			return k, true
		}
	}
	return "", false
}

// SendReminders puts in the outbox the reminders that are due now: for
// each scheduled case whose slot is at most 24 hours ahead, the reminder
// of the window the slot is in (24h or 1h; a case first seen 50 minutes
// before its slot gets only the 1h one). A reminder is recorded in the
// transaction that queues it, unique per case, slot and kind, so it goes
// once however many processes run this, and a new slot (a reschedule)
// gets its own. No reminder goes for a case that is not scheduled, a slot
// that has passed, a customer who was never sent the invite, or a window
// that began before the latest calendar mail (the customer was just told).
// It returns how many reminders were queued.
func (d *Desk) SendReminders(ctx context.Context) (int, error) {
	if d.mailFrom == "" {
		return 0, nil
	}
	now := d.svc.now().UTC()
	var due []*models.Case
	for off := 0; ; off += reminderBatch {
		var page []*models.Case
		err := d.svc.store.Transact(ctx, func(tx models.Tx) (err error) {
			page, _, err = tx.ListCases(ctx, models.CaseFilter{State: models.StateScheduled, SlotFrom: now,
				SlotTo: now.Add(models.Reminder24h.Before()).Add(time.Second), Limit: reminderBatch, Offset: off})
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("send reminders: %w", err)
		}
		due = append(due, page...)
		if len(page) < reminderBatch {
			break
		}
	}
	sent := 0
	var errs []error
	for _, c := range due {
		ok, err := d.remind(ctx, c.ID, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			sent++
		}
	}
	if err := errors.Join(errs...); err != nil {
		return sent, fmt.Errorf("send reminders: %w", err)
	}
	return sent, nil
}

// remind queues the due reminder of one case, if any, and reports whether
// it did.
func (d *Desk) remind(ctx context.Context, id models.CaseID, now time.Time) (bool, error) {
	err := d.svc.store.Transact(ctx, func(tx models.Tx) error {
		c, err := tx.CaseByID(ctx, id)
		if err != nil {
			return err
		}
		kind, ok := dueReminder(c.SlotAt.Sub(now))
		if c.State != models.StateScheduled || !ok {
			return errReminded
		}
		cal, err := tx.CaseCalendar(ctx, c.ID)
		if models.ErrorCodeOf(err) == models.ENOTFOUND {
			return errReminded // never invited: nothing to remind of
		}
		if err != nil {
			return err
		}
		if !cal.UpdatedAt.Before(c.SlotAt.Add(-kind.Before())) {
			return errReminded // the latest calendar mail came inside this window
		}
		acct, err := tx.AccountByNo(ctx, c.AccountNo)
		if err != nil {
			return err
		}
		expires := c.SlotAt
		m, err := d.enqueue(ctx, tx, c.ID, idvmail.KindReminder, acct, idvmail.Data{SlotLocal: slotLine(c.SlotAt, c.CustomerTZ),
			SlotBranch: slotLine(c.SlotAt, d.svc.cfg.BranchTZ.String()), Hours: int(kind.Before().Hours()), CaseRef: string(c.ID)}, nil, &expires)
		if err != nil {
			return err
		}
		if err := tx.RecordReminder(ctx, &models.Reminder{CaseID: c.ID, SlotAt: c.SlotAt, Kind: kind, MailID: m.ID, SentAt: now}); err != nil {
			if models.ErrorCodeOf(err) == models.ECONFLICT {
				return errReminded
			}
			return err
		}
		return d.svc.event(ctx, tx, SystemActor, c.ID, "customer.reminded", map[string]string{
			"reminder": string(kind), "slot": c.SlotAt.Format("2006-01-02T15:04:05Z"), "mail": m.ID, "message_id": m.MessageID})
	})
	switch {
	case errors.Is(err, errReminded):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("remind case %s: %w", id, err)
	}
	return true, nil
}

// customerNotice tells the customer, in the transaction of the change,
// that their case was rescheduled, cancelled, approved or rejected
// (Service.notify). Without a configured sender nobody is told.
func (d *Desk) customerNotice(ctx context.Context, tx models.Tx, c *models.Case, ev models.CaseEvent) error {
	if d.mailFrom == "" {
		return nil
	}
	var kind string
	switch ev {
	case models.EventReschedule:
		kind = idvmail.KindReschedule
	case models.EventCancel:
		kind = idvmail.KindCancel
	case models.EventApprove:
		kind = idvmail.KindApproved
	case models.EventReject:
		kind = idvmail.KindRejected
	default:
		return nil
	}
	acct, err := tx.AccountByNo(ctx, c.AccountNo)
	if err != nil {
		return err
	}
	data := idvmail.Data{CaseRef: string(c.ID), SlotLocal: slotLine(c.SlotAt, c.CustomerTZ), SlotBranch: slotLine(c.SlotAt, d.svc.cfg.BranchTZ.String()),
		PeriodFrom: c.PeriodFrom, PeriodTo: c.PeriodTo}
	detail := map[string]string{"notice": kind}
	var att []idvmail.Attachment
	var expires *time.Time
	switch ev {
	case models.EventReschedule, models.EventCancel:
		// Only a customer who was sent the calendar entry is told it changed.
		cal, err := tx.CaseCalendar(ctx, c.ID)
		if models.ErrorCodeOf(err) == models.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		now := d.svc.now().UTC()
		uid, seq, err := tx.NextCalendarSequence(ctx, c.ID, cal.UID, now)
		if err != nil {
			return err
		}
		method := "REQUEST"
		if ev == models.EventCancel {
			method = "CANCEL"
		} else {
			e := c.SlotAt // a notice of a slot that passed undelivered is of no use
			expires = &e
		}
		ics := d.entry(c, acct, uid, seq, method, now)
		att = []idvmail.Attachment{{Name: "call.ics", ContentType: "text/calendar; method=" + method, Data: ics}}
		detail["ics_uid"], detail["ics_sequence"], detail["ics_method"] = uid, fmt.Sprint(seq), method
	case models.EventApprove:
		if _, err := tx.EnvelopePasswordOf(ctx, c.ID); err == nil {
			data.Encrypted = true
		} else if models.ErrorCodeOf(err) != models.ENOTFOUND {
			return err
		}
	}
	m, err := d.enqueue(ctx, tx, c.ID, kind, acct, data, att, expires)
	if err != nil {
		return err
	}
	detail["mail"], detail["message_id"] = m.ID, m.MessageID
	return d.svc.event(ctx, tx, SystemActor, c.ID, "customer.notified", detail)
}

// entry renders the calendar file that updates (METHOD:REQUEST) or
// cancels (METHOD:CANCEL) the case's entry uid, as its sequence seq,
// organized by the bank's sender address. It carries no link: a
// reschedule revokes the old one, and the clerk sends a new invite.
func (d *Desk) entry(c *models.Case, acct *models.Account, uid string, seq int, method string, now time.Time) []byte {
	const stamp = "20060102T150405Z"
	cfg := d.svc.cfg
	view := d.svc.ViewSlot(c.SlotAt, c.CustomerTZ)
	status, summary := "CONFIRMED", cfg.BankName+" identity verification call"
	desc := fmt.Sprintf("%s: video call to verify your identity (moved).\nYour time: %s\nBranch time: %s\n"+
		"The link of your earlier invitation no longer works; the bank sends you a new one.", cfg.BankName, view.Customer, view.Branch)
	if method == "CANCEL" {
		status, summary = "CANCELLED", "Cancelled: "+summary
		desc = fmt.Sprintf("%s: the video call at %s is cancelled.", cfg.BankName, view.Customer)
	}
	lines := []string{
		"BEGIN:VCALENDAR",
		"VERSION:2.0",
		"PRODID:-//remoteidv//invite//EN",
		"CALSCALE:GREGORIAN",
		"METHOD:" + method,
		"BEGIN:VEVENT",
		"UID:" + uid,
		"SEQUENCE:" + fmt.Sprint(seq),
		"DTSTAMP:" + now.UTC().Format(stamp),
		"DTSTART:" + c.SlotAt.UTC().Format(stamp),
		"DTEND:" + c.SlotAt.Add(cfg.CallLength).UTC().Format(stamp),
		"SUMMARY:" + icsText(summary),
		"DESCRIPTION:" + icsText(desc),
		"ORGANIZER;CN=" + icsParam(cfg.BankName) + ":mailto:" + d.organizer(),
		"ATTENDEE;CN=" + icsParam(acct.HolderName) + ";ROLE=REQ-PARTICIPANT:mailto:" + acct.Email,
		"STATUS:" + status,
		"TRANSP:OPAQUE",
		"END:VEVENT",
		"END:VCALENDAR",
	}
	var b bytes.Buffer
	for _, l := range lines {
		fold(&b, l)
	}
	return b.Bytes()
}

// organizer is the bare address of the configured sender.
func (d *Desk) organizer() string {
	if a, err := mail.ParseAddress(d.mailFrom); err == nil {
		return a.Address
	}
	return d.mailFrom
}

// CaseIntake returns how the request behind a case the actor may see came
// in; nil when the clerk recorded nothing.
func (s *Service) CaseIntake(ctx context.Context, a Actor, id models.CaseID) (*models.CaseIntake, error) {
	var out *models.CaseIntake
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		c, err := s.visibleCase(ctx, tx, a, id)
		if err != nil {
			return err
		}
		out, err = tx.CaseIntake(ctx, c.ID)
		if models.ErrorCodeOf(err) == models.ENOTFOUND {
			out, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("intake of case %s: %w", id, err)
	}
	return out, nil
}
