package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"remoteidv/models"
)

const evidenceCols = `id, case_id, kind, key, sha256, size, content_type, actor, created_at, staged,
	archived_at, version_id, retain_until, attempts, next_attempt_at, lease_owner, lease_until, last_error, expired_at`

func scanEvidence(row interface{ Scan(...any) error }) (*models.Evidence, error) {
	var e models.Evidence
	var created, next int64
	var archived, retain, lease, expired sql.NullInt64
	if err := row.Scan(&e.ID, &e.CaseID, &e.Kind, &e.Key, &e.SHA256, &e.Size, &e.ContentType, &e.Actor, &created, &e.Staged,
		&archived, &e.VersionID, &retain, &e.Attempts, &next, &e.LeaseOwner, &lease, &e.LastError, &expired); err != nil {
		return nil, err
	}
	e.CreatedAt, e.NextAttemptAt = fromUS(created), fromUS(next)
	e.ArchivedAt, e.RetainUntil, e.LeaseUntil, e.ExpiredAt = fromNullUS(archived), fromNullUS(retain), fromNullUS(lease), fromNullUS(expired)
	return &e, nil
}

func (t *Tx) evidenceList(ctx context.Context, what, query string, args ...any) ([]*models.Evidence, error) {
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []*models.Evidence
	for rows.Next() {
		e, err := scanEvidence(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

const insertEvidence = `INSERT INTO evidence (id, case_id, kind, key, sha256, size, content_type, actor, created_at, staged, version_id, attempts, next_attempt_at, lease_owner, last_error)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', 0, ?, '', '')
ON CONFLICT (key) DO NOTHING`

// AddEvidence records an artifact once per key.
func (t *Tx) AddEvidence(ctx context.Context, e *models.Evidence) error {
	_, err := t.exec(ctx, insertEvidence, e.ID, e.CaseID, string(e.Kind), e.Key, e.SHA256, e.Size, e.ContentType, e.Actor, us(e.CreatedAt), e.Staged, us(e.NextAttemptAt))
	if err != nil {
		return fmt.Errorf("add evidence %s: %w", e.Key, err)
	}
	got, err := scanEvidence(t.queryRow(ctx, `SELECT `+evidenceCols+` FROM evidence WHERE key = ?`, e.Key))
	if err != nil {
		return fmt.Errorf("add evidence %s: %w", e.Key, t.db.translate(err))
	}
	*e = *got
	return nil
}

// EvidenceByID returns one item.
func (t *Tx) EvidenceByID(ctx context.Context, id models.EvidenceID) (*models.Evidence, error) {
	e, err := scanEvidence(t.queryRow(ctx, `SELECT `+evidenceCols+` FROM evidence WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("evidence %s: %w", id, t.db.translate(err))
	}
	return e, nil
}

// EvidenceByCase lists a case's items in creation order.
func (t *Tx) EvidenceByCase(ctx context.Context, id models.CaseID) ([]*models.Evidence, error) {
	return t.evidenceList(ctx, "evidence of "+string(id), `SELECT `+evidenceCols+` FROM evidence WHERE case_id = ? ORDER BY created_at, id`, id)
}

// DueForExpiry lists archived items whose retention has ended.
func (t *Tx) DueForExpiry(ctx context.Context, now time.Time, after *models.Evidence, limit int) ([]*models.Evidence, error) {
	q := `SELECT ` + evidenceCols + ` FROM evidence
WHERE archived_at IS NOT NULL AND expired_at IS NULL AND retain_until IS NOT NULL AND retain_until <= ?`
	args := []any{us(now)}
	if after != nil && after.RetainUntil != nil {
		q += ` AND (retain_until > ? OR (retain_until = ? AND id > ?))`
		args = append(args, us(*after.RetainUntil), us(*after.RetainUntil), after.ID)
	}
	return t.evidenceList(ctx, "evidence due for expiry", q+` ORDER BY retain_until, id LIMIT ?`, append(args, limit)...)
}

// MarkExpired records the deletion of an archived item's bytes.
func (t *Tx) MarkExpired(ctx context.Context, id models.EvidenceID, at time.Time) error {
	r, err := t.exec(ctx, `UPDATE evidence SET expired_at = ? WHERE id = ? AND archived_at IS NOT NULL AND expired_at IS NULL`, us(at), id)
	if err != nil {
		return fmt.Errorf("mark %s expired: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "evidence %s is not archived or already expired", id)
	}
	return nil
}

// ClaimEvidence leases due, unarchived, unleased items to owner.
func (t *Tx) ClaimEvidence(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*models.Evidence, error) {
	ids, err := t.dueEvidence(ctx, owner, now, limit)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	args := []any{owner, us(leaseUntil)}
	for _, id := range ids {
		args = append(args, id)
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	if _, err := t.exec(ctx, `UPDATE evidence SET lease_owner = ?, lease_until = ? WHERE id IN (`+marks+`)`, args...); err != nil {
		return nil, fmt.Errorf("claim evidence: %w", err)
	}
	return t.evidenceList(ctx, "claim evidence", `SELECT `+evidenceCols+` FROM evidence WHERE id IN (`+marks+`) ORDER BY created_at, id`, args[2:]...)
}

const dueEvidence = `SELECT id FROM evidence
WHERE archived_at IS NULL AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)
ORDER BY next_attempt_at, created_at LIMIT ?`

func (t *Tx) dueEvidence(ctx context.Context, owner string, now time.Time, limit int) ([]models.EvidenceID, error) {
	rows, err := t.query(ctx, dueEvidence+t.db.dialect.SkipLocked, us(now), us(now), owner, limit)
	if err != nil {
		return nil, fmt.Errorf("due evidence: %w", err)
	}
	defer rows.Close()
	var ids []models.EvidenceID
	for rows.Next() {
		var id models.EvidenceID
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("due evidence: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// RenewEvidenceLease extends owner's lease of an item it is uploading.
func (t *Tx) RenewEvidenceLease(ctx context.Context, id models.EvidenceID, owner string, until time.Time) error {
	r, err := t.exec(ctx, `UPDATE evidence SET lease_until = ? WHERE id = ? AND lease_owner = ? AND archived_at IS NULL`, us(until), id, owner)
	if err != nil {
		return fmt.Errorf("renew the lease of %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "evidence %s is not leased by %s", id, owner)
	}
	return nil
}

const markArchived = `UPDATE evidence SET archived_at = ?, version_id = ?, retain_until = ?, lease_owner = '', lease_until = NULL, last_error = ''
WHERE id = ? AND lease_owner = ? AND archived_at IS NULL`

// MarkArchived records the stored object and clears the lease.
func (t *Tx) MarkArchived(ctx context.Context, id models.EvidenceID, owner string, info models.ObjectInfo, at time.Time) error {
	var retain *time.Time
	if !info.RetainUntil.IsZero() {
		retain = &info.RetainUntil
	}
	r, err := t.exec(ctx, markArchived, us(at), info.VersionID, nullUS(retain), id, owner)
	if err != nil {
		return fmt.Errorf("mark %s archived: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "evidence %s is not leased by %s", id, owner)
	}
	return nil
}

const markFailed = `UPDATE evidence SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, lease_owner = '', lease_until = NULL
WHERE id = ? AND lease_owner = ?`

// MarkFailed records a failed attempt and when to retry.
func (t *Tx) MarkFailed(ctx context.Context, id models.EvidenceID, owner, errMsg string, next time.Time) error {
	if len(errMsg) > 1000 {
		errMsg = errMsg[:1000]
	}
	r, err := t.exec(ctx, markFailed, errMsg, us(next), id, owner)
	if err != nil {
		return fmt.Errorf("mark %s failed: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "evidence %s is not leased by %s", id, owner)
	}
	return nil
}

// ReleaseLeases clears owner's leases.
func (t *Tx) ReleaseLeases(ctx context.Context, owner string) error {
	if _, err := t.exec(ctx, `UPDATE evidence SET lease_owner = '', lease_until = NULL WHERE lease_owner = ? AND archived_at IS NULL`, owner); err != nil {
		return fmt.Errorf("release leases of %s: %w", owner, err)
	}
	return nil
}

// EvidenceBacklog counts unarchived items and finds the oldest.
func (t *Tx) EvidenceBacklog(ctx context.Context) (int, time.Time, error) {
	var n int
	var oldest sql.NullInt64
	if err := t.queryRow(ctx, `SELECT count(*), min(created_at) FROM evidence WHERE archived_at IS NULL`).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, fmt.Errorf("evidence backlog: %w", t.db.translate(err))
	}
	if !oldest.Valid {
		return n, time.Time{}, nil
	}
	return n, fromUS(oldest.Int64), nil
}
