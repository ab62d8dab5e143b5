package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"remoteidv/models"
)

const insertLetter = `INSERT INTO letters (id, case_id, evidence_id, content_type, width, height, source, actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateLetter stores an uploaded letter (its scope comes later).
func (t *Tx) CreateLetter(ctx context.Context, l *models.Letter) error {
	if _, err := t.exec(ctx, insertLetter, l.ID, l.CaseID, l.Evidence, l.ContentType, l.Width, l.Height, l.Source, l.Actor, us(l.CreatedAt)); err != nil {
		return fmt.Errorf("create letter for %s: %w", l.CaseID, err)
	}
	return nil
}

const setLetterScope = `UPDATE letters SET scope = ?, scope_by = ?, scope_at = ? WHERE id = ? AND scope = ''`

// SetLetterScope records the scope once.
func (t *Tx) SetLetterScope(ctx context.Context, id models.LetterID, s models.LetterScope, by string, at time.Time) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("letter %s scope: %w", id, err)
	}
	r, err := t.exec(ctx, setLetterScope, string(b), by, us(at), id)
	if err != nil {
		return fmt.Errorf("letter %s scope: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		var one int
		if err := t.queryRow(ctx, `SELECT 1 FROM letters WHERE id = ?`, id).Scan(&one); err != nil {
			return fmt.Errorf("letter %s: %w", id, t.db.translate(err))
		}
		return models.Errorf(models.ECONFLICT, "the scope of letter %s was already recorded", id)
	}
	return nil
}

// LettersByCase lists a case's letters, oldest first.
func (t *Tx) LettersByCase(ctx context.Context, id models.CaseID) ([]*models.Letter, error) {
	rows, err := t.query(ctx, `SELECT id, case_id, evidence_id, content_type, width, height, source, actor, created_at, scope, scope_by, scope_at
FROM letters WHERE case_id = ? ORDER BY created_at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("letters of %s: %w", id, err)
	}
	defer rows.Close()
	var out []*models.Letter
	for rows.Next() {
		var l models.Letter
		var created int64
		var scope string
		var scopeAt sql.NullInt64
		if err := rows.Scan(&l.ID, &l.CaseID, &l.Evidence, &l.ContentType, &l.Width, &l.Height, &l.Source, &l.Actor, &created, &scope, &l.ScopeBy, &scopeAt); err != nil {
			return nil, fmt.Errorf("letters of %s: %w", id, err)
		}
		l.CreatedAt, l.ScopeAt = fromUS(created), fromNullUS(scopeAt)
		if scope != "" {
			l.Scope = new(models.LetterScope)
			if err := json.Unmarshal([]byte(scope), l.Scope); err != nil {
				return nil, fmt.Errorf("letter %s scope: %w", l.ID, err)
			}
		}
		out = append(out, &l)
	}
	return out, rows.Err()
}
