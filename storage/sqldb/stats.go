package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"remoteidv/models"
)

// CaseCountsByState counts the cases in each state.
func (t *Tx) CaseCountsByState(ctx context.Context) (map[models.CaseState]int, error) {
	rows, err := t.query(ctx, `SELECT state, count(*) FROM cases GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count cases by state: %w", t.db.translate(err))
	}
	defer rows.Close()
	out := make(map[models.CaseState]int)
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("count cases by state: %w", err)
		}
		out[models.CaseState(state)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count cases by state: %w", t.db.translate(err))
	}
	return out, nil
}

// MailBacklog counts the outbox's messages that wait (neither sent nor
// expired) and finds when the oldest was queued.
func (t *Tx) MailBacklog(ctx context.Context) (int, time.Time, error) {
	var n int
	var oldest sql.NullInt64
	if err := t.queryRow(ctx, `SELECT count(*), min(created_at) FROM mail_outbox WHERE sent_at IS NULL AND expired_at IS NULL`).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, fmt.Errorf("mail backlog: %w", t.db.translate(err))
	}
	if !oldest.Valid {
		return n, time.Time{}, nil
	}
	return n, fromUS(oldest.Int64), nil
}

// StaffLastSeen finds each member of staff's latest session activity.
func (t *Tx) StaffLastSeen(ctx context.Context) (map[models.StaffID]time.Time, error) {
	rows, err := t.query(ctx, `SELECT staff_id, max(last_seen) FROM staff_sessions GROUP BY staff_id`)
	if err != nil {
		return nil, fmt.Errorf("staff last seen: %w", t.db.translate(err))
	}
	defer rows.Close()
	out := make(map[models.StaffID]time.Time)
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, fmt.Errorf("staff last seen: %w", err)
		}
		out[models.StaffID(id)] = fromUS(at)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("staff last seen: %w", t.db.translate(err))
	}
	return out, nil
}
