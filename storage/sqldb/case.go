package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"remoteidv/models"
)

const insertCase = `INSERT INTO cases (id, account_no, purpose, period_from, period_to, state, clerk_id, backup_clerk_id, slot_at, customer_tz, reason, created_at, updated_at, version)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// nullStaff stores "" (no backup clerk) as NULL, so the foreign key holds.
func nullStaff(id models.StaffID) sql.NullString {
	return sql.NullString{String: string(id), Valid: id != ""}
}

// CreateCase inserts a case.
func (t *Tx) CreateCase(ctx context.Context, c *models.Case) error {
	if c.Version == 0 {
		c.Version = 1
	}
	_, err := t.exec(ctx, insertCase, c.ID, c.AccountNo, string(c.Purpose), c.PeriodFrom, c.PeriodTo, string(c.State),
		c.ClerkID, nullStaff(c.BackupID), us(c.SlotAt), c.CustomerTZ, c.Reason, us(c.CreatedAt), us(c.UpdatedAt), c.Version)
	if err != nil {
		return fmt.Errorf("create case %s: %w", c.ID, err)
	}
	return nil
}

const updateCase = `UPDATE cases SET state = ?, clerk_id = ?, backup_clerk_id = ?, slot_at = ?, customer_tz = ?, reason = ?, updated_at = ?, version = version + 1
WHERE id = ? AND version = ?`

// UpdateCase writes a case (its state, clerks, slot and reason) if nobody
// changed it since it was read.
func (t *Tx) UpdateCase(ctx context.Context, c *models.Case) error {
	r, err := t.exec(ctx, updateCase, string(c.State), c.ClerkID, nullStaff(c.BackupID), us(c.SlotAt), c.CustomerTZ, c.Reason, us(c.UpdatedAt), c.ID, c.Version)
	if err != nil {
		return fmt.Errorf("update case %s: %w", c.ID, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "case %s was changed by someone else; reload and retry", c.ID)
	}
	c.Version++
	return nil
}

const selectCase = `SELECT id, account_no, purpose, period_from, period_to, state, clerk_id, COALESCE(backup_clerk_id, ''), slot_at, customer_tz, reason, created_at, updated_at, version FROM cases `

func scanCase(row interface{ Scan(...any) error }) (*models.Case, error) {
	var c models.Case
	var slot, created, updated int64
	if err := row.Scan(&c.ID, &c.AccountNo, &c.Purpose, &c.PeriodFrom, &c.PeriodTo, &c.State, &c.ClerkID, &c.BackupID, &slot, &c.CustomerTZ, &c.Reason, &created, &updated, &c.Version); err != nil {
		return nil, err
	}
	c.SlotAt, c.CreatedAt, c.UpdatedAt = fromUS(slot), fromUS(created), fromUS(updated)
	return &c, nil
}

// CaseByID returns a case.
func (t *Tx) CaseByID(ctx context.Context, id models.CaseID) (*models.Case, error) {
	c, err := scanCase(t.queryRow(ctx, selectCase+`WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("case %s: %w", id, t.db.translate(err))
	}
	return c, nil
}

// ListCases returns one page of matching cases, by slot, and the total count.
func (t *Tx) ListCases(ctx context.Context, f models.CaseFilter) ([]*models.Case, int, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.State != "" {
		add("state = ?", string(f.State))
	}
	if f.AccountNo != "" {
		add("account_no = ?", f.AccountNo)
	}
	if f.ClerkID != "" {
		add("clerk_id = ?", f.ClerkID)
	}
	if f.AssignedTo != "" {
		where = append(where, "(clerk_id = ? OR backup_clerk_id = ?)")
		args = append(args, f.AssignedTo, f.AssignedTo)
	}
	if !f.SlotFrom.IsZero() {
		add("slot_at >= ?", us(f.SlotFrom))
	}
	if !f.SlotTo.IsZero() {
		add("slot_at < ?", us(f.SlotTo))
	}
	cond := ""
	if len(where) > 0 {
		cond = "WHERE " + strings.Join(where, " AND ") + " "
	}
	var total int
	if err := t.queryRow(ctx, `SELECT count(*) FROM cases `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count cases: %w", t.db.translate(err))
	}
	rows, err := t.query(ctx, selectCase+cond+`ORDER BY slot_at, id LIMIT ? OFFSET ?`, append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list cases: %w", err)
	}
	defer rows.Close()
	var out []*models.Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list cases: %w", err)
		}
		out = append(out, c)
	}
	return out, total, rows.Err()
}

const insertInvite = `INSERT INTO invites (id, case_id, token_hash, not_before, not_after, created_at, used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// CreateInvite stores an invite.
func (t *Tx) CreateInvite(ctx context.Context, inv *models.Invite) error {
	_, err := t.exec(ctx, insertInvite, inv.ID, inv.CaseID, inv.TokenHash, us(inv.NotBefore), us(inv.NotAfter), us(inv.CreatedAt), nullUS(inv.UsedAt), nullUS(inv.RevokedAt))
	if err != nil {
		return fmt.Errorf("create invite for %s: %w", inv.CaseID, err)
	}
	return nil
}

const selectInvite = `SELECT id, case_id, token_hash, not_before, not_after, created_at, used_at, revoked_at FROM invites `

func scanInvite(row interface{ Scan(...any) error }) (*models.Invite, error) {
	var inv models.Invite
	var nb, na, created int64
	var used, revoked sql.NullInt64
	if err := row.Scan(&inv.ID, &inv.CaseID, &inv.TokenHash, &nb, &na, &created, &used, &revoked); err != nil {
		return nil, err
	}
	inv.NotBefore, inv.NotAfter, inv.CreatedAt = fromUS(nb), fromUS(na), fromUS(created)
	inv.UsedAt, inv.RevokedAt = fromNullUS(used), fromNullUS(revoked)
	return &inv, nil
}

// InviteByHash returns the invite whose token hashes to tokenHash.
func (t *Tx) InviteByHash(ctx context.Context, tokenHash string) (*models.Invite, error) {
	inv, err := scanInvite(t.queryRow(ctx, selectInvite+`WHERE token_hash = ?`+t.db.dialect.ForUpdate, tokenHash))
	if err != nil {
		return nil, fmt.Errorf("invite: %w", t.db.translate(err))
	}
	return inv, nil
}

// InvitesByCase returns a case's invites, newest first.
func (t *Tx) InvitesByCase(ctx context.Context, id models.CaseID) ([]*models.Invite, error) {
	rows, err := t.query(ctx, selectInvite+`WHERE case_id = ? ORDER BY created_at DESC, id`, id)
	if err != nil {
		return nil, fmt.Errorf("invites of %s: %w", id, err)
	}
	defer rows.Close()
	var out []*models.Invite
	for rows.Next() {
		inv, err := scanInvite(rows)
		if err != nil {
			return nil, fmt.Errorf("invites of %s: %w", id, err)
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

// MarkInviteUsed sets used_at once; the loser of a race gets ECONFLICT.
func (t *Tx) MarkInviteUsed(ctx context.Context, id models.InviteID, at time.Time) error {
	r, err := t.exec(ctx, `UPDATE invites SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL`, us(at), id)
	if err != nil {
		return fmt.Errorf("use invite %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "invite %s already used", id)
	}
	return nil
}

// RevokeInvites revokes every live invite of a case.
func (t *Tx) RevokeInvites(ctx context.Context, id models.CaseID, at time.Time) error {
	if _, err := t.exec(ctx, `UPDATE invites SET revoked_at = ? WHERE case_id = ? AND revoked_at IS NULL`, us(at), id); err != nil {
		return fmt.Errorf("revoke invites of %s: %w", id, err)
	}
	return nil
}
