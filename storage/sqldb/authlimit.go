package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"remoteidv/models"
)

const selectAuthLimit = `SELECT scope, subject, failures, window_start, last_at, locked_until, unseen, unseen_locked_at FROM auth_limits`

func scanAuthLimit(row interface{ Scan(...any) error }) (*models.AuthLimit, error) {
	var l models.AuthLimit
	var window, last, locked, unseenLocked sql.NullInt64
	if err := row.Scan(&l.Scope, &l.Subject, &l.Failures, &window, &last, &locked, &l.Unseen, &unseenLocked); err != nil {
		return nil, err
	}
	l.WindowStart, l.LastAt, l.LockedUntil, l.UnseenLockedAt = zeroUS(window), zeroUS(last), zeroUS(locked), zeroUS(unseenLocked)
	return &l, nil
}

// zeroUS reads a nullable time as the zero time when NULL.
func zeroUS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromUS(v.Int64)
}

// nullZero stores the zero time as NULL.
func nullZero(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: us(t), Valid: true}
}

// AuthLimitForUpdate creates the counter if it is missing (ON CONFLICT DO
// NOTHING waits for a concurrent insert of the same row in PostgreSQL) and
// then reads it locked, so that concurrent attempts queue on the row.
func (t *Tx) AuthLimitForUpdate(ctx context.Context, scope, subject string) (*models.AuthLimit, error) {
	if _, err := t.exec(ctx, `INSERT INTO auth_limits (scope, subject) VALUES (?, ?) ON CONFLICT (scope, subject) DO NOTHING`, scope, subject); err != nil {
		return nil, fmt.Errorf("auth limit %s: %w", scope, err)
	}
	l, err := scanAuthLimit(t.queryRow(ctx, selectAuthLimit+` WHERE scope = ? AND subject = ?`+t.db.dialect.ForUpdate, scope, subject))
	if err != nil {
		return nil, fmt.Errorf("auth limit %s: %w", scope, t.db.translate(err))
	}
	return l, nil
}

// AuthLimit reads a counter as it is.
func (t *Tx) AuthLimit(ctx context.Context, scope, subject string) (*models.AuthLimit, error) {
	l, err := scanAuthLimit(t.queryRow(ctx, selectAuthLimit+` WHERE scope = ? AND subject = ?`, scope, subject))
	if err != nil {
		return nil, fmt.Errorf("auth limit %s: %w", scope, t.db.translate(err))
	}
	return l, nil
}

// PutAuthLimit writes a counter.
func (t *Tx) PutAuthLimit(ctx context.Context, l *models.AuthLimit) error {
	r, err := t.exec(ctx, `UPDATE auth_limits SET failures = ?, window_start = ?, last_at = ?, locked_until = ?, unseen = ?, unseen_locked_at = ?
WHERE scope = ? AND subject = ?`, l.Failures, nullZero(l.WindowStart), nullZero(l.LastAt), nullZero(l.LockedUntil), l.Unseen, nullZero(l.UnseenLockedAt), l.Scope, l.Subject)
	if err != nil {
		return fmt.Errorf("put auth limit %s: %w", l.Scope, err)
	}
	return mustAffect(r, "auth limit "+l.Scope)
}

// AuthLimitsDue lists counters with failures in a window started before
// before.
func (t *Tx) AuthLimitsDue(ctx context.Context, scopePrefix string, before time.Time, limit int) ([]*models.AuthLimit, error) {
	rows, err := t.query(ctx, selectAuthLimit+` WHERE scope LIKE ? AND failures > 0 AND window_start < ? ORDER BY window_start LIMIT ?`,
		likePrefix(scopePrefix), us(before), limit)
	if err != nil {
		return nil, fmt.Errorf("auth limits due: %w", err)
	}
	defer rows.Close()
	var out []*models.AuthLimit
	for rows.Next() {
		l, err := scanAuthLimit(rows)
		if err != nil {
			return nil, fmt.Errorf("auth limits due: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// DeleteIdleAuthLimits forgets counters that no longer matter.
func (t *Tx) DeleteIdleAuthLimits(ctx context.Context, before time.Time) (int64, error) {
	r, err := t.exec(ctx, `DELETE FROM auth_limits WHERE (last_at IS NULL OR last_at < ?) AND (locked_until IS NULL OR locked_until < ?)
AND unseen = 0 AND unseen_locked_at IS NULL AND (failures = 0 OR scope NOT LIKE 'audit:%')`, us(before), us(before))
	if err != nil {
		return 0, fmt.Errorf("delete idle auth limits: %w", err)
	}
	return r.RowsAffected()
}

// likePrefix is a LIKE pattern matching strings that start with p (a "_"
// in p matches any one character, which the scopes' names tolerate).
func likePrefix(p string) string { return strings.ReplaceAll(p, "%", "") + "%" }
