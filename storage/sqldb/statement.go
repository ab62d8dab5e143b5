package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"remoteidv/models"
)

const statementCols = `id, case_id, evidence_id, sha256, created_at, released_at, revoked_at, revoke_reason`

// CreateStatement stores a generated statement file's record.
func (t *Tx) CreateStatement(ctx context.Context, s *models.StatementRecord) error {
	if _, err := t.exec(ctx, `INSERT INTO statements (`+statementCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.CaseID, s.EvidenceID, s.SHA256, us(s.CreatedAt), nullUS(s.ReleasedAt), nullUS(s.RevokedAt), s.RevokeReason); err != nil {
		return fmt.Errorf("create statement %s of %s: %w", s.ID, s.CaseID, err)
	}
	return nil
}

// StatementByID returns one statement record.
func (t *Tx) StatementByID(ctx context.Context, id models.StatementID) (*models.StatementRecord, error) {
	s, err := scanStatement(t.queryRow(ctx, `SELECT `+statementCols+` FROM statements WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("statement %s: %w", id, t.db.translate(err))
	}
	return s, nil
}

// StatementBySHA256 returns the statement whose file has this hash.
func (t *Tx) StatementBySHA256(ctx context.Context, sum string) (*models.StatementRecord, error) {
	s, err := scanStatement(t.queryRow(ctx, `SELECT `+statementCols+` FROM statements WHERE sha256 = ?`, sum))
	if err != nil {
		return nil, fmt.Errorf("statement with sha256 %.12s: %w", sum, t.db.translate(err))
	}
	return s, nil
}

// StatementsByCase lists a case's statements, oldest first.
func (t *Tx) StatementsByCase(ctx context.Context, id models.CaseID) ([]*models.StatementRecord, error) {
	rows, err := t.query(ctx, `SELECT `+statementCols+` FROM statements WHERE case_id = ? ORDER BY created_at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("statements of %s: %w", id, err)
	}
	defer rows.Close()
	var out []*models.StatementRecord
	for rows.Next() {
		s, err := scanStatement(rows)
		if err != nil {
			return nil, fmt.Errorf("statements of %s: %w", id, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ReleaseStatement marks a statement released, once.
func (t *Tx) ReleaseStatement(ctx context.Context, id models.StatementID, at time.Time) error {
	r, err := t.exec(ctx, `UPDATE statements SET released_at = ? WHERE id = ? AND released_at IS NULL AND revoked_at IS NULL`, us(at), id)
	if err != nil {
		return fmt.Errorf("release statement %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "statement %s was already released, revoked or does not exist", id)
	}
	return nil
}

// RevokeStatement marks a released statement revoked, once.
func (t *Tx) RevokeStatement(ctx context.Context, id models.StatementID, at time.Time, reason string) error {
	r, err := t.exec(ctx, `UPDATE statements SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND released_at IS NOT NULL AND revoked_at IS NULL`, us(at), reason, id)
	if err != nil {
		return fmt.Errorf("revoke statement %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "statement %s is not released, already revoked or does not exist", id)
	}
	return nil
}

func scanStatement(r interface{ Scan(...any) error }) (*models.StatementRecord, error) {
	var s models.StatementRecord
	var created int64
	var released, revoked sql.NullInt64
	if err := r.Scan(&s.ID, &s.CaseID, &s.EvidenceID, &s.SHA256, &created, &released, &revoked, &s.RevokeReason); err != nil {
		return nil, err
	}
	s.CreatedAt, s.ReleasedAt, s.RevokedAt = fromUS(created), fromNullUS(released), fromNullUS(revoked)
	return &s, nil
}
