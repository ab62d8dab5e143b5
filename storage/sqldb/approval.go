package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"remoteidv/models"
)

const insertApproval = `INSERT INTO approvals (id, case_id, supervisor, actor, decision, reason, action, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// CreateApproval stores the case's one decision.
func (t *Tx) CreateApproval(ctx context.Context, a *models.Approval) error {
	b, err := json.Marshal(a.Action)
	if err != nil {
		return fmt.Errorf("create approval for %s: %w", a.CaseID, err)
	}
	if _, err := t.exec(ctx, insertApproval, a.ID, a.CaseID, a.Supervisor, a.Actor, string(a.Decision), a.Reason, string(b), us(a.CreatedAt)); err != nil {
		return fmt.Errorf("create approval for %s: %w", a.CaseID, err)
	}
	return nil
}

// ApprovalByCase returns the case's decision.
func (t *Tx) ApprovalByCase(ctx context.Context, id models.CaseID) (*models.Approval, error) {
	var a models.Approval
	var action string
	var created int64
	var used sql.NullInt64
	err := t.queryRow(ctx, `SELECT id, case_id, supervisor, actor, decision, reason, action, created_at, used_at FROM approvals WHERE case_id = ?`, id).
		Scan(&a.ID, &a.CaseID, &a.Supervisor, &a.Actor, &a.Decision, &a.Reason, &action, &created, &used)
	if err != nil {
		return nil, fmt.Errorf("approval of %s: %w", id, t.db.translate(err))
	}
	if err := json.Unmarshal([]byte(action), &a.Action); err != nil {
		return nil, fmt.Errorf("approval of %s: action: %w", id, err)
	}
	a.CreatedAt, a.UsedAt = fromUS(created), fromNullUS(used)
	return &a, nil
}

// UseApproval marks an unused approval used.
func (t *Tx) UseApproval(ctx context.Context, id string, at time.Time) error {
	r, err := t.exec(ctx, `UPDATE approvals SET used_at = ? WHERE id = ? AND used_at IS NULL AND decision = 'approve'`, us(at), id)
	if err != nil {
		return fmt.Errorf("use approval %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "approval %s was already used", id)
	}
	return nil
}
