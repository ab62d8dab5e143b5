package sqldb

import (
	"context"
	"encoding/json"
	"fmt"

	"remoteidv/models"
)

// AuditHeadForUpdate reads the single head row, locking it where the
// database supports row locks (SQLite's write transactions are exclusive).
func (t *Tx) AuditHeadForUpdate(ctx context.Context) (models.AuditHead, error) {
	var h models.AuditHead
	if err := t.queryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`+t.db.dialect.ForUpdate).Scan(&h.Seq, &h.Hash); err != nil {
		return h, fmt.Errorf("audit head: %w", t.db.translate(err))
	}
	return h, nil
}

const insertAudit = `INSERT INTO audit_events (seq, at, actor, action, case_id, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// InsertAuditEvent appends e right after the head.
func (t *Tx) InsertAuditEvent(ctx context.Context, e *models.AuditEvent) error {
	detail, err := json.Marshal(e.Detail)
	if err != nil {
		return fmt.Errorf("audit event %d detail: %w", e.Seq, err)
	}
	r, err := t.exec(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1 AND seq = ? AND hash = ?`, e.Seq, e.Hash, e.Seq-1, e.PrevHash)
	if err != nil {
		return fmt.Errorf("move audit head to %d: %w", e.Seq, err)
	}
	if n, err := r.RowsAffected(); err != nil || n != 1 {
		return models.Errorf(models.ECONFLICT, "audit event %d does not follow the chain head", e.Seq)
	}
	if _, err := t.exec(ctx, insertAudit, e.Seq, us(e.At), e.Actor, e.Action, string(e.CaseID), string(detail), e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("insert audit event %d: %w", e.Seq, err)
	}
	return nil
}

// AuditEvents lists events in sequence order.
func (t *Tx) AuditEvents(ctx context.Context, f models.AuditFilter) ([]*models.AuditEvent, error) {
	q := `SELECT seq, at, actor, action, case_id, detail, prev_hash, hash FROM audit_events WHERE seq > ?`
	args := []any{f.AfterSeq}
	if f.CaseID != "" {
		q += ` AND case_id = ?`
		args = append(args, f.CaseID)
	}
	q += ` ORDER BY seq`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	defer rows.Close()
	var out []*models.AuditEvent
	for rows.Next() {
		var e models.AuditEvent
		var at int64
		var detail string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.CaseID, &detail, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("audit events: %w", err)
		}
		e.At = fromUS(at)
		if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
			// A row edited into invalid JSON must still be listed so the
			// verifier can report it; keep the raw text.
			e.Detail = map[string]string{"_unparseable": detail}
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}

// InsertCheckpoint stores a signed checkpoint.
func (t *Tx) InsertCheckpoint(ctx context.Context, cp *models.Checkpoint) error {
	_, err := t.exec(ctx, `INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES (?, ?, ?, ?, ?)`,
		cp.Seq, cp.Hash, us(cp.At), cp.KeyID, cp.Signature)
	if err != nil {
		return fmt.Errorf("insert checkpoint %d: %w", cp.Seq, err)
	}
	return nil
}

// Checkpoints lists every checkpoint by sequence.
func (t *Tx) Checkpoints(ctx context.Context) ([]*models.Checkpoint, error) {
	rows, err := t.query(ctx, `SELECT seq, hash, at, key_id, signature FROM audit_checkpoints ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	defer rows.Close()
	var out []*models.Checkpoint
	for rows.Next() {
		var cp models.Checkpoint
		var at int64
		if err := rows.Scan(&cp.Seq, &cp.Hash, &at, &cp.KeyID, &cp.Signature); err != nil {
			return nil, fmt.Errorf("checkpoints: %w", err)
		}
		cp.At = fromUS(at)
		out = append(out, &cp)
	}
	return out, rows.Err()
}
