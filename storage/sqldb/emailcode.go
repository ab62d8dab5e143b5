package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"remoteidv/models"
)

const insertEmailCode = `INSERT INTO email_codes (id, case_id, invite_id, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`

// CreateEmailCode stores a code's hash.
func (t *Tx) CreateEmailCode(ctx context.Context, c *models.EmailCode) error {
	if _, err := t.exec(ctx, insertEmailCode, c.ID, c.CaseID, c.InviteID, c.CodeHash, us(c.CreatedAt), us(c.ExpiresAt)); err != nil {
		return fmt.Errorf("create email code for %s: %w", c.CaseID, err)
	}
	return nil
}

// EmailCodesByInvite lists an invite's codes, newest first.
func (t *Tx) EmailCodesByInvite(ctx context.Context, id models.InviteID) ([]*models.EmailCode, error) {
	rows, err := t.query(ctx, `SELECT id, case_id, invite_id, code_hash, created_at, expires_at, used_at, failures
FROM email_codes WHERE invite_id = ? ORDER BY created_at DESC, id DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("email codes of %s: %w", id, err)
	}
	defer rows.Close()
	var out []*models.EmailCode
	for rows.Next() {
		var c models.EmailCode
		var created, expires int64
		var used sql.NullInt64
		if err := rows.Scan(&c.ID, &c.CaseID, &c.InviteID, &c.CodeHash, &created, &expires, &used, &c.Failures); err != nil {
			return nil, fmt.Errorf("email codes of %s: %w", id, err)
		}
		c.CreatedAt, c.ExpiresAt, c.UsedAt = fromUS(created), fromUS(expires), fromNullUS(used)
		out = append(out, &c)
	}
	return out, rows.Err()
}

// AddEmailCodeFailure counts one wrong guess.
func (t *Tx) AddEmailCodeFailure(ctx context.Context, id string) error {
	r, err := t.exec(ctx, `UPDATE email_codes SET failures = failures + 1 WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("email code %s failure: %w", id, err)
	}
	return mustAffect(r, "email code "+id)
}

// UseEmailCode marks an unused code used.
func (t *Tx) UseEmailCode(ctx context.Context, id string, at time.Time) error {
	r, err := t.exec(ctx, `UPDATE email_codes SET used_at = ? WHERE id = ? AND used_at IS NULL`, us(at), id)
	if err != nil {
		return fmt.Errorf("use email code %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "email code already used")
	}
	return nil
}

// EmailCodeVerified reports whether a code of the case was used.
func (t *Tx) EmailCodeVerified(ctx context.Context, id models.CaseID) (bool, error) {
	var n int
	if err := t.queryRow(ctx, `SELECT count(*) FROM email_codes WHERE case_id = ? AND used_at IS NOT NULL`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("email code of %s: %w", id, t.db.translate(err))
	}
	return n > 0, nil
}
