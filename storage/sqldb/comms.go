package sqldb

import (
	"context"
	"fmt"
	"time"

	"remoteidv/models"
)

// NextCalendarSequence records a calendar file of the case and returns
// its UID and SEQUENCE: uid and 0 the first time, the stored UID and the
// stored sequence plus one after that. One statement, so two writers
// never get the same sequence.
func (t *Tx) NextCalendarSequence(ctx context.Context, id models.CaseID, uid string, at time.Time) (string, int, error) {
	const q = `INSERT INTO case_calendars (case_id, uid, sequence, updated_at) VALUES (?, ?, 0, ?)
ON CONFLICT (case_id) DO UPDATE SET sequence = case_calendars.sequence + 1, updated_at = excluded.updated_at
RETURNING uid, sequence`
	var got string
	var seq int
	if err := t.queryRow(ctx, q, id, uid, us(at)).Scan(&got, &seq); err != nil {
		return "", 0, fmt.Errorf("next calendar sequence of %s: %w", id, t.db.translate(err))
	}
	return got, seq, nil
}

// CaseCalendar returns the case's calendar entry.
func (t *Tx) CaseCalendar(ctx context.Context, id models.CaseID) (*models.CaseCalendar, error) {
	c := models.CaseCalendar{CaseID: id}
	var at int64
	if err := t.queryRow(ctx, `SELECT uid, sequence, updated_at FROM case_calendars WHERE case_id = ?`, id).Scan(&c.UID, &c.Sequence, &at); err != nil {
		return nil, fmt.Errorf("calendar of %s: %w", id, t.db.translate(err))
	}
	c.UpdatedAt = fromUS(at)
	return &c, nil
}

// RecordReminder records a reminder; ECONFLICT when it exists.
func (t *Tx) RecordReminder(ctx context.Context, r *models.Reminder) error {
	if _, err := t.exec(ctx, `INSERT INTO case_reminders (case_id, slot_at, kind, mail_id, sent_at) VALUES (?, ?, ?, ?, ?)`,
		r.CaseID, us(r.SlotAt), r.Kind, r.MailID, us(r.SentAt)); err != nil {
		return fmt.Errorf("record %s reminder of %s: %w", r.Kind, r.CaseID, err)
	}
	return nil
}

// RemindersByCase lists the case's reminders, oldest first.
func (t *Tx) RemindersByCase(ctx context.Context, id models.CaseID) ([]*models.Reminder, error) {
	rows, err := t.query(ctx, `SELECT slot_at, kind, mail_id, sent_at FROM case_reminders WHERE case_id = ? ORDER BY sent_at, slot_at, kind`, id)
	if err != nil {
		return nil, fmt.Errorf("reminders of %s: %w", id, err)
	}
	defer rows.Close()
	var out []*models.Reminder
	for rows.Next() {
		r := models.Reminder{CaseID: id}
		var slot, sent int64
		if err := rows.Scan(&slot, &r.Kind, &r.MailID, &sent); err != nil {
			return nil, fmt.Errorf("reminders of %s: %w", id, err)
		}
		r.SlotAt, r.SentAt = fromUS(slot), fromUS(sent)
		out = append(out, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reminders of %s: %w", id, t.db.translate(err))
	}
	return out, nil
}

// CreateCaseIntake stores the case's intake record.
func (t *Tx) CreateCaseIntake(ctx context.Context, in *models.CaseIntake) error {
	if _, err := t.exec(ctx, `INSERT INTO case_intakes (case_id, channel, received_at, notes, recorded_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		in.CaseID, in.Channel, us(in.ReceivedAt), in.Notes, in.RecordedBy, us(in.CreatedAt)); err != nil {
		return fmt.Errorf("create intake of %s: %w", in.CaseID, err)
	}
	return nil
}

// CaseIntake returns the case's intake record.
func (t *Tx) CaseIntake(ctx context.Context, id models.CaseID) (*models.CaseIntake, error) {
	in := models.CaseIntake{CaseID: id}
	var recv, created int64
	if err := t.queryRow(ctx, `SELECT channel, received_at, notes, recorded_by, created_at FROM case_intakes WHERE case_id = ?`, id).
		Scan(&in.Channel, &recv, &in.Notes, &in.RecordedBy, &created); err != nil {
		return nil, fmt.Errorf("intake of %s: %w", id, t.db.translate(err))
	}
	in.ReceivedAt, in.CreatedAt = fromUS(recv), fromUS(created)
	return &in, nil
}
