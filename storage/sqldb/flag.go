package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"remoteidv/models"
)

const flagCols = `id, account_no, case_id, category, reason, actor, created_at, cleared_at, cleared_by, clear_reason`

// CreateAccountFlag stores an open fraud flag.
func (t *Tx) CreateAccountFlag(ctx context.Context, f *models.AccountFlag) error {
	if _, err := t.exec(ctx, `INSERT INTO account_flags (id, account_no, case_id, category, reason, actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.AccountNo, f.CaseID, f.Category, f.Reason, f.Actor, us(f.CreatedAt)); err != nil {
		return fmt.Errorf("create flag %s on %s: %w", f.ID, models.MaskAccountNo(f.AccountNo), err)
	}
	return nil
}

func scanFlag(row interface{ Scan(...any) error }) (*models.AccountFlag, error) {
	var f models.AccountFlag
	var created int64
	var cleared sql.NullInt64
	var by sql.NullString
	if err := row.Scan(&f.ID, &f.AccountNo, &f.CaseID, &f.Category, &f.Reason, &f.Actor, &created, &cleared, &by, &f.ClearReason); err != nil {
		return nil, err
	}
	f.CreatedAt, f.ClearedAt, f.ClearedBy = fromUS(created), fromNullUS(cleared), models.StaffID(by.String)
	return &f, nil
}

// AccountFlagByID returns one flag.
func (t *Tx) AccountFlagByID(ctx context.Context, id models.FlagID) (*models.AccountFlag, error) {
	f, err := scanFlag(t.queryRow(ctx, `SELECT `+flagCols+` FROM account_flags WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("flag %s: %w", id, t.db.translate(err))
	}
	return f, nil
}

// OpenAccountFlags lists the account's open flags, oldest first.
func (t *Tx) OpenAccountFlags(ctx context.Context, no models.AccountNo) ([]*models.AccountFlag, error) {
	return t.flags(ctx, no, `SELECT `+flagCols+` FROM account_flags WHERE account_no = ? AND cleared_at IS NULL ORDER BY created_at, id`)
}

// AccountFlags lists every flag of the account, oldest first.
func (t *Tx) AccountFlags(ctx context.Context, no models.AccountNo) ([]*models.AccountFlag, error) {
	return t.flags(ctx, no, `SELECT `+flagCols+` FROM account_flags WHERE account_no = ? ORDER BY created_at, id`)
}

func (t *Tx) flags(ctx context.Context, no models.AccountNo, query string) ([]*models.AccountFlag, error) {
	rows, err := t.query(ctx, query, no)
	if err != nil {
		return nil, fmt.Errorf("flags of %s: %w", models.MaskAccountNo(no), err)
	}
	defer rows.Close()
	var out []*models.AccountFlag
	for rows.Next() {
		f, err := scanFlag(rows)
		if err != nil {
			return nil, fmt.Errorf("flags of %s: %w", models.MaskAccountNo(no), err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("flags of %s: %w", models.MaskAccountNo(no), t.db.translate(err))
	}
	return out, nil
}

// ClearAccountFlag clears an open flag; the raiser may not clear it.
func (t *Tx) ClearAccountFlag(ctx context.Context, id models.FlagID, by models.StaffID, reason string, at time.Time) error {
	f, err := t.AccountFlagByID(ctx, id)
	if err != nil {
		return fmt.Errorf("clear %w", err)
	}
	switch {
	case !f.Open():
		return models.Errorf(models.ECONFLICT, "flag %s is already cleared", id)
	case f.Actor == by:
		return models.Errorf(models.EFORBIDDEN, "flag %s: who raised a flag may not clear it", id)
	}
	r, err := t.exec(ctx, `UPDATE account_flags SET cleared_at = ?, cleared_by = ?, clear_reason = ? WHERE id = ? AND cleared_at IS NULL`, us(at), by, reason, id)
	if err != nil {
		return fmt.Errorf("clear flag %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "flag %s is already cleared", id)
	}
	return nil
}
