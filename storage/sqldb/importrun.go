package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"remoteidv/models"
)

const insertImportRun = `INSERT INTO import_runs (id, started_at, finished_at, actor, source, imported, failed, flagged, report)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateImportRun records a finished import run with its rows as JSON.
func (t *Tx) CreateImportRun(ctx context.Context, r *models.ImportRun) error {
	rows := r.Rows
	if rows == nil {
		rows = []models.ImportRow{}
	}
	report, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("create import run %s: %w", r.ID, err)
	}
	if _, err := t.exec(ctx, insertImportRun, r.ID, us(r.StartedAt), us(r.FinishedAt), r.Actor, r.Source, r.Imported, r.Failed, r.Flagged, string(report)); err != nil {
		return fmt.Errorf("create import run %s: %w", r.ID, err)
	}
	return nil
}

// selectImportRuns returns the total in every row and, left-joined, one
// page: a page past the end still reads the total (one row of NULLs).
const selectImportRuns = `SELECT t.total, r.id, r.started_at, r.finished_at, r.actor, r.source, r.imported, r.failed, r.flagged, r.report
FROM (SELECT count(*) AS total FROM import_runs) t
LEFT JOIN (SELECT * FROM import_runs ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?) r ON true
ORDER BY r.started_at DESC, r.id DESC`

// ImportRuns returns one page of import runs, newest first, and the total.
func (t *Tx) ImportRuns(ctx context.Context, limit, offset int) ([]*models.ImportRun, int, error) {
	rows, err := t.query(ctx, selectImportRuns, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list import runs: %w", err)
	}
	defer rows.Close()
	var out []*models.ImportRun
	total := 0
	for rows.Next() {
		var id, actor, source, report sql.NullString
		var started, finished, imported, failed, flagged sql.NullInt64
		if err := rows.Scan(&total, &id, &started, &finished, &actor, &source, &imported, &failed, &flagged, &report); err != nil {
			return nil, 0, fmt.Errorf("list import runs: %w", err)
		}
		if !id.Valid {
			continue // the page is empty
		}
		r := &models.ImportRun{ID: models.ImportRunID(id.String), StartedAt: fromUS(started.Int64), FinishedAt: fromUS(finished.Int64),
			Actor: actor.String, Source: source.String, Imported: int(imported.Int64), Failed: int(failed.Int64), Flagged: int(flagged.Int64)}
		if err := json.Unmarshal([]byte(report.String), &r.Rows); err != nil {
			return nil, 0, fmt.Errorf("import run %s: rows: %w", r.ID, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list import runs: %w", t.db.translate(err))
	}
	return out, total, nil
}

// problemSep joins the problems of an account's flagged photos in one
// column (ASCII unit separator: never part of a problem text).
const problemSep = "\x1f"

// selectAccountStatuses reads each account's images and descriptors in one
// grouped pass (a descriptor per image and model hash at most, so the joins
// do not multiply rows), filters, and returns the total with one page like
// selectImportRuns. Its parameters: separator, model hash, attention-only
// (0 or 1), limit, offset.
const selectAccountStatuses = `WITH s AS (
	SELECT a.no, a.holder_name, a.imported_at,
		count(CASE WHEN i.kind = 'photo' THEN 1 END) AS photos,
		count(CASE WHEN i.kind = 'photo' AND i.problem <> '' THEN 1 END) AS flagged,
		COALESCE(string_agg(CASE WHEN i.kind = 'photo' AND i.problem <> '' THEN i.problem END, ? ORDER BY i.id), '') AS problems,
		count(CASE WHEN i.kind = 'signature' THEN 1 END) AS signatures,
		count(CASE WHEN i.kind = 'photo' AND i.problem = '' AND f.image_id IS NOT NULL THEN 1 END) AS enrolled
	FROM accounts a
	LEFT JOIN account_images i ON i.account_no = a.no
	LEFT JOIN face_references f ON f.image_id = i.id AND f.model_hash = ?
	GROUP BY a.no, a.holder_name, a.imported_at
), m AS (
	SELECT * FROM s WHERE ? = 0 OR photos = 0 OR flagged > 0 OR signatures = 0 OR enrolled < photos - flagged
)
SELECT t.total, p.no, p.holder_name, p.imported_at, p.photos, p.flagged, p.problems, p.signatures, p.enrolled
FROM (SELECT count(*) AS total FROM m) t
LEFT JOIN (SELECT * FROM m ORDER BY no LIMIT ? OFFSET ?) p ON true
ORDER BY p.no`

// AccountStatuses returns one page of accounts with their images' state.
func (t *Tx) AccountStatuses(ctx context.Context, f models.AccountStatusFilter) ([]*models.AccountStatus, int, error) {
	attention := 0
	if f.Attention {
		attention = 1
	}
	rows, err := t.query(ctx, selectAccountStatuses, problemSep, f.ModelHash, attention, f.Limit, f.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("account statuses: %w", err)
	}
	defer rows.Close()
	var out []*models.AccountStatus
	total := 0
	for rows.Next() {
		var no, holder, problems sql.NullString
		var imported, photos, flagged, signatures, enrolled sql.NullInt64
		if err := rows.Scan(&total, &no, &holder, &imported, &photos, &flagged, &problems, &signatures, &enrolled); err != nil {
			return nil, 0, fmt.Errorf("account statuses: %w", err)
		}
		if !no.Valid {
			continue // the page is empty
		}
		s := &models.AccountStatus{No: models.AccountNo(no.String), HolderName: holder.String, ImportedAt: fromUS(imported.Int64),
			Photos: int(photos.Int64), Flagged: int(flagged.Int64), Signature: signatures.Int64 > 0, Enrolled: int(enrolled.Int64)}
		if problems.String != "" {
			s.Problems = strings.Split(problems.String, problemSep)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("account statuses: %w", t.db.translate(err))
	}
	return out, total, nil
}
