package sqldb

import (
	"context"
	"fmt"
	"time"

	"remoteidv/models"
)

// WorkingHours returns a staff member's weekly hours, Sunday first (empty
// when none are recorded).
func (t *Tx) WorkingHours(ctx context.Context, id models.StaffID) (models.WorkingHours, error) {
	rows, err := t.query(ctx, `SELECT weekday, start_min, end_min FROM staff_hours WHERE staff_id = ? ORDER BY weekday`, id)
	if err != nil {
		return nil, fmt.Errorf("working hours of %s: %w", id, err)
	}
	defer rows.Close()
	var out models.WorkingHours
	for rows.Next() {
		var day, start, end int
		if err := rows.Scan(&day, &start, &end); err != nil {
			return nil, fmt.Errorf("working hours of %s: %w", id, err)
		}
		out = append(out, models.WorkSpan{Day: time.Weekday(day), Start: start, End: end})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("working hours of %s: %w", id, err)
	}
	return out, nil
}

// SetWorkingHours replaces a staff member's weekly hours (EINVALID for
// hours that do not validate, ENOTFOUND for an unknown member).
func (t *Tx) SetWorkingHours(ctx context.Context, id models.StaffID, h models.WorkingHours) error {
	if err := h.Validate(); err != nil {
		return err
	}
	if _, err := t.StaffByID(ctx, id); err != nil {
		return fmt.Errorf("set working hours: %w", err)
	}
	if _, err := t.exec(ctx, `DELETE FROM staff_hours WHERE staff_id = ?`, id); err != nil {
		return fmt.Errorf("set working hours of %s: %w", id, err)
	}
	for _, s := range h {
		if _, err := t.exec(ctx, `INSERT INTO staff_hours (staff_id, weekday, start_min, end_min) VALUES (?, ?, ?, ?)`, id, int(s.Day), s.Start, s.End); err != nil {
			return fmt.Errorf("set working hours of %s (%s): %w", id, s, err)
		}
	}
	return nil
}
