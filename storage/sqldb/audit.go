package sqldb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

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
	_, err := t.exec(ctx, `INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature, root_hash, note) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		cp.Seq, cp.Hash, us(cp.At), cp.KeyID, cp.Signature, cp.Root, cp.Note)
	if err != nil {
		return fmt.Errorf("insert checkpoint %d: %w", cp.Seq, err)
	}
	return nil
}

// Checkpoints lists every checkpoint by sequence.
func (t *Tx) Checkpoints(ctx context.Context) ([]*models.Checkpoint, error) {
	rows, err := t.query(ctx, `SELECT seq, hash, at, key_id, signature, root_hash, note FROM audit_checkpoints ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	defer rows.Close()
	var out []*models.Checkpoint
	for rows.Next() {
		var cp models.Checkpoint
		var at int64
		if err := rows.Scan(&cp.Seq, &cp.Hash, &at, &cp.KeyID, &cp.Signature, &cp.Root, &cp.Note); err != nil {
			return nil, fmt.Errorf("checkpoints: %w", err)
		}
		cp.At = fromUS(at)
		out = append(out, &cp)
	}
	return out, rows.Err()
}

// AddTreeHashes stores the Merkle log's hashes from index start on.
func (t *Tx) AddTreeHashes(ctx context.Context, start int64, hashes [][]byte) error {
	n, err := t.TreeHashCount(ctx)
	if err != nil {
		return err
	}
	if n != start {
		return models.Errorf(models.ECONFLICT, "tree hashes from %d: the log stores %d", start, n)
	}
	for i, h := range hashes {
		if _, err := t.exec(ctx, `INSERT INTO audit_tree_hashes (idx, hash) VALUES (?, ?)`, start+int64(i), h); err != nil {
			return fmt.Errorf("insert tree hash %d: %w", start+int64(i), err)
		}
	}
	return nil
}

// treeHashBatch keeps IN lists well below every driver's parameter limit.
const treeHashBatch = 500

// TreeHashes reads stored hashes by index.
func (t *Tx) TreeHashes(ctx context.Context, indexes []int64) ([][]byte, error) {
	found := make(map[int64][]byte, len(indexes))
	for lo := 0; lo < len(indexes); lo += treeHashBatch {
		batch := indexes[lo:min(lo+treeHashBatch, len(indexes))]
		args := make([]any, len(batch))
		for i, x := range batch {
			args[i] = x
		}
		q := `SELECT idx, hash FROM audit_tree_hashes WHERE idx IN (?` + strings.Repeat(", ?", len(batch)-1) + `)`
		if err := t.scanTreeHashes(ctx, q, args, found); err != nil {
			return nil, err
		}
	}
	out := make([][]byte, len(indexes))
	for i, x := range indexes {
		h, ok := found[x]
		if !ok {
			return nil, models.Errorf(models.ENOTFOUND, "tree hash %d: not stored", x)
		}
		out[i] = h
	}
	return out, nil
}

func (t *Tx) scanTreeHashes(ctx context.Context, q string, args []any, into map[int64][]byte) error {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("tree hashes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		var h []byte
		if err := rows.Scan(&idx, &h); err != nil {
			return fmt.Errorf("tree hashes: %w", err)
		}
		into[idx] = h
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("tree hashes: %w", err)
	}
	return nil
}

// TreeHashCount returns the number of stored hashes. They are added
// without gaps, so it is the highest index plus one (an index lookup, where
// count(*) would scan).
func (t *Tx) TreeHashCount(ctx context.Context) (int64, error) {
	var n int64
	if err := t.queryRow(ctx, `SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_tree_hashes`).Scan(&n); err != nil {
		return 0, fmt.Errorf("tree hash count: %w", t.db.translate(err))
	}
	return n, nil
}
