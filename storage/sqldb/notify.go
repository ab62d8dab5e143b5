package sqldb

import (
	"context"
	"fmt"
	"slices"
	"time"

	"remoteidv/models"
)

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// NotifyPrefs returns the member's stored notification choices.
func (t *Tx) NotifyPrefs(ctx context.Context, id models.StaffID) ([]models.NotifyPref, error) {
	rows, err := t.query(ctx, `SELECT kind, enabled, email FROM staff_notify_prefs WHERE staff_id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("notification preferences of %s: %w", id, err)
	}
	defer rows.Close()
	var out []models.NotifyPref
	for rows.Next() {
		var p models.NotifyPref
		var on, mail int
		if err := rows.Scan(&p.Kind, &on, &mail); err != nil {
			return nil, fmt.Errorf("notification preferences of %s: %w", id, err)
		}
		p.Enabled, p.Email = on == 1, mail == 1
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notification preferences of %s: %w", id, t.db.translate(err))
	}
	slices.SortFunc(out, func(a, b models.NotifyPref) int {
		return slices.Index(models.NotifyKinds, a.Kind) - slices.Index(models.NotifyKinds, b.Kind)
	})
	return out, nil
}

// SetNotifyPref stores the member's choice for one kind.
func (t *Tx) SetNotifyPref(ctx context.Context, id models.StaffID, p models.NotifyPref) error {
	if _, err := t.StaffByID(ctx, id); err != nil {
		return err
	}
	_, err := t.exec(ctx, `INSERT INTO staff_notify_prefs (staff_id, kind, enabled, email) VALUES (?, ?, ?, ?)
ON CONFLICT (staff_id, kind) DO UPDATE SET enabled = excluded.enabled, email = excluded.email`, id, string(p.Kind), boolInt(p.Enabled), boolInt(p.Email))
	if err != nil {
		return fmt.Errorf("set notification preference %s of %s: %w", p.Kind, id, err)
	}
	return nil
}

// RecordNotification stores a notification.
func (t *Tx) RecordNotification(ctx context.Context, n *models.StaffNotification) error {
	_, err := t.exec(ctx, `INSERT INTO staff_notifications (id, staff_id, kind, case_id, channel, ref, audit_seq, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		n.ID, n.StaffID, string(n.Kind), n.CaseID, n.Channel, n.Ref, n.AuditSeq, us(n.CreatedAt))
	if err != nil {
		return fmt.Errorf("record notification %s: %w", n.ID, err)
	}
	return nil
}

// Notifications lists notifications, newest first.
func (t *Tx) Notifications(ctx context.Context, f models.NotificationFilter) ([]*models.StaffNotification, error) {
	q := `SELECT id, staff_id, kind, case_id, channel, ref, audit_seq, created_at FROM staff_notifications WHERE 1 = 1`
	var args []any
	if f.StaffID != "" {
		q += ` AND staff_id = ?`
		args = append(args, f.StaffID)
	}
	if f.CaseID != "" {
		q += ` AND case_id = ?`
		args = append(args, f.CaseID)
	}
	q += ` ORDER BY created_at DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	defer rows.Close()
	var out []*models.StaffNotification
	for rows.Next() {
		var n models.StaffNotification
		var at int64
		if err := rows.Scan(&n.ID, &n.StaffID, &n.Kind, &n.CaseID, &n.Channel, &n.Ref, &n.AuditSeq, &at); err != nil {
			return nil, fmt.Errorf("notifications: %w", err)
		}
		n.CreatedAt = fromUS(at)
		out = append(out, &n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notifications: %w", t.db.translate(err))
	}
	return out, nil
}

// ClaimSlotAlert records the slot alert of a case's slot.
func (t *Tx) ClaimSlotAlert(ctx context.Context, id models.CaseID, slot, at time.Time) error {
	if _, err := t.exec(ctx, `INSERT INTO slot_alerts (case_id, slot_at, sent_at) VALUES (?, ?, ?)`, id, us(slot), us(at)); err != nil {
		return fmt.Errorf("slot alert of %s: %w", id, err)
	}
	return nil
}

// NotifyCursor reads the notification dispatcher's cursor, locked for the
// transaction.
func (t *Tx) NotifyCursor(ctx context.Context) (int64, error) {
	var seq int64
	if err := t.queryRow(ctx, `SELECT seq FROM notify_cursor WHERE id = 1`+t.db.dialect.ForUpdate).Scan(&seq); err != nil {
		return 0, fmt.Errorf("notify cursor: %w", t.db.translate(err))
	}
	return seq, nil
}

// SetNotifyCursor moves the cursor forward.
func (t *Tx) SetNotifyCursor(ctx context.Context, seq int64) error {
	r, err := t.exec(ctx, `UPDATE notify_cursor SET seq = ? WHERE id = 1 AND seq <= ?`, seq, seq)
	if err != nil {
		return fmt.Errorf("set notify cursor %d: %w", seq, err)
	}
	if n, err := r.RowsAffected(); err != nil || n != 1 {
		return models.Errorf(models.ECONFLICT, "notify cursor is past %d", seq)
	}
	return nil
}
