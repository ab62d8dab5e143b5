package sqldb

import (
	"context"
	"fmt"
	"strings"

	"remoteidv/models"
)

// Each invariant is one query answering (case_id, subject, problem) for
// every row that breaks it. {json:column:field} is replaced by the
// dialect's JSON text extraction (audit details are JSON objects).

// A released or closed case: sealed once (its seal event), its manifest
// recorded, every item it held before the seal archived (the archiver
// confirmed it by read-back; statement and receipt come after the seal),
// and its approval used.
const invReleasedUnsealed = `SELECT id AS case_id, id AS subject, problem FROM (
	SELECT c.id, CASE
		WHEN NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.case_id = c.id AND a.action = 'case.seal')
			THEN 'case is ' || c.state || ' but was never sealed (no case.seal event)'
		WHEN NOT EXISTS (SELECT 1 FROM evidence m WHERE m.case_id = c.id AND m.kind = 'manifest')
			THEN 'case is ' || c.state || ' but has no manifest'
		WHEN EXISTS (SELECT 1 FROM evidence e WHERE e.case_id = c.id AND e.kind NOT IN ('manifest', 'statement', 'receipt') AND e.archived_at IS NULL)
			THEN 'case is ' || c.state || ' but evidence ' || (SELECT min(e.id) FROM evidence e WHERE e.case_id = c.id
				AND e.kind NOT IN ('manifest', 'statement', 'receipt') AND e.archived_at IS NULL) || ' is not archived'
		WHEN NOT EXISTS (SELECT 1 FROM approvals p WHERE p.case_id = c.id AND p.decision = 'approve' AND p.used_at IS NOT NULL)
			THEN 'case is ' || c.state || ' without a used approval'
		ELSE '' END AS problem
	FROM cases c WHERE c.state IN ('released', 'closed')
) x WHERE problem <> '' ORDER BY case_id`

// Every evidence row can have bytes: archived, staged or (a manifest)
// written by its producer; an expired row was archived first. Every
// letter, segment and check that names an evidence row names one that
// exists.
const invEvidenceObject = `SELECT case_id, subject, problem FROM (
	SELECT case_id, id AS subject, CASE
		WHEN expired_at IS NOT NULL AND archived_at IS NULL THEN 'expired but never archived'
		WHEN archived_at IS NULL AND staged = '' AND kind <> 'manifest' THEN 'not archived and nothing staged to archive'
		ELSE '' END AS problem
	FROM evidence
	UNION ALL
	SELECT l.case_id, l.id, 'letter refers to evidence ' || l.evidence_id || ', which has no row'
	FROM letters l WHERE NOT EXISTS (SELECT 1 FROM evidence e WHERE e.id = l.evidence_id)
	UNION ALL
	SELECT c.case_id, s.call_id || '/' || s.participant || '/' || s.track || '/' || CAST(s.seq AS TEXT),
		'recorded segment refers to evidence ' || s.evidence_id || ', which has no row'
	FROM call_segments s JOIN calls c ON c.id = s.call_id WHERE NOT EXISTS (SELECT 1 FROM evidence e WHERE e.id = s.evidence_id)
	UNION ALL
	SELECT k.case_id, k.id, 'check refers to evidence ' || k.evidence_id || ', which has no row'
	FROM checks k WHERE k.evidence_id <> '' AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.id = k.evidence_id)
) x WHERE problem <> '' ORDER BY case_id, subject`

// A sealed, released or closed case was sealed exactly once, and its seal
// event names a manifest row of the case (key and SHA-256); a manifest
// belongs only to such a case.
const invSealedNoManifest = `SELECT id AS case_id, id AS subject, problem FROM (
	SELECT c.id, CASE
		WHEN s.seq IS NULL THEN 'case is ' || c.state || ' but has no case.seal event'
		WHEN (SELECT count(*) FROM audit_events a WHERE a.case_id = c.id AND a.action = 'case.seal') > 1 THEN 'case was sealed more than once'
		WHEN NOT EXISTS (SELECT 1 FROM evidence m WHERE m.case_id = c.id AND m.kind = 'manifest'
				AND m.key = {json:s.detail:manifest_key} AND m.sha256 = {json:s.detail:manifest_sha256})
			THEN 'seal event ' || CAST(s.seq AS TEXT) || ' names manifest ' || coalesce({json:s.detail:manifest_key}, '(none)') || ', which has no evidence row'
		ELSE '' END AS problem
	FROM cases c
	LEFT JOIN audit_events s ON s.seq = (SELECT max(a.seq) FROM audit_events a WHERE a.case_id = c.id AND a.action = 'case.seal')
	WHERE c.state IN ('sealed', 'released', 'closed')
	UNION ALL
	SELECT c.id, 'case is ' || c.state || ' but holds manifest ' || m.id
	FROM evidence m JOIN cases c ON c.id = m.case_id
	WHERE m.kind = 'manifest' AND c.state NOT IN ('sealed', 'released', 'closed')
) x WHERE problem <> '' ORDER BY case_id`

// One approval, one release: the case released once with one statement,
// the approval used only together with its release, and the release
// event naming the case's approval.
const invApprovalReused = `SELECT case_id, subject, problem FROM (
	SELECT case_id, case_id AS subject, 'released ' || CAST(count(*) AS TEXT) || ' times' AS problem
	FROM audit_events WHERE action = 'case.release' GROUP BY case_id HAVING count(*) > 1
	UNION ALL
	SELECT case_id, case_id, CAST(count(*) AS TEXT) || ' statements released'
	FROM evidence WHERE kind = 'statement' GROUP BY case_id HAVING count(*) > 1
	UNION ALL
	SELECT p.case_id, p.id, 'approval used but the case is ' || c.state
	FROM approvals p JOIN cases c ON c.id = p.case_id
	WHERE p.used_at IS NOT NULL AND c.state NOT IN ('released', 'closed')
	UNION ALL
	SELECT a.case_id, 'audit event ' || CAST(a.seq AS TEXT), 'release names approval ' || coalesce({json:a.detail:approval}, '(none)') ||
		', the case''s approval is ' || coalesce(p.id, '(none)')
	FROM audit_events a LEFT JOIN approvals p ON p.case_id = a.case_id
	WHERE a.action = 'case.release' AND (p.id IS NULL OR coalesce({json:a.detail:approval}, '') <> p.id)
) x ORDER BY case_id, subject`

// A statement password rests only until the release uses it or the case
// ends without one.
const invStatementPasswordKept = `SELECT p.case_id, p.case_id AS subject, 'the customer''s statement password is still held, but the case is ' || c.state AS problem
FROM envelope_passwords p JOIN cases c ON c.id = p.case_id
WHERE c.state IN ('released', 'closed', 'rejected', 'cancelled', 'expired', 'aborted') ORDER BY p.case_id`

// invariantQuery returns inv's query in the dialect.
func (db *DB) invariantQuery(inv models.Invariant) (string, error) {
	var q string
	switch inv {
	case models.InvReleasedUnsealed:
		q = invReleasedUnsealed
	case models.InvEvidenceObject:
		q = invEvidenceObject
	case models.InvSealedNoManifest:
		q = invSealedNoManifest
	case models.InvApprovalReused:
		q = invApprovalReused
	case models.InvStatementPasswordKept:
		q = invStatementPasswordKept
	default:
		return "", models.Errorf(models.EINVALID, "unknown invariant %q", inv)
	}
	for {
		start := strings.Index(q, "{json:")
		if start < 0 {
			return q, nil
		}
		end := strings.Index(q[start:], "}")
		parts := strings.Split(q[start+1:start+end], ":") // json, column, field
		q = q[:start] + db.dialect.JSONText(parts[1], parts[2]) + q[start+end+1:]
	}
}

// Violations runs one invariant's query.
func (t *Tx) Violations(ctx context.Context, inv models.Invariant) ([]models.Violation, error) {
	q, err := t.db.invariantQuery(inv)
	if err != nil {
		return nil, err
	}
	rows, err := t.query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("invariant %s: %w", inv, err)
	}
	defer rows.Close()
	var out []models.Violation
	for rows.Next() {
		v := models.Violation{Invariant: inv}
		if err := rows.Scan(&v.CaseID, &v.Subject, &v.Problem); err != nil {
			return nil, fmt.Errorf("invariant %s: %w", inv, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("invariant %s: %w", inv, err)
	}
	return out, nil
}

// IntegrityCheck runs the dialect's own check of the database.
func (t *Tx) IntegrityCheck(ctx context.Context) ([]string, error) {
	if t.db.dialect.Integrity == "" {
		return nil, nil
	}
	rows, err := t.query(ctx, t.db.dialect.Integrity)
	if err != nil {
		return nil, fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("integrity check: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		if len(out) == 0 {
			return nil, fmt.Errorf("integrity check: %w", err)
		}
		// A damaged file often stops the check after its first findings.
		out = append(out, "the check stopped: "+err.Error())
	}
	return out, nil
}
