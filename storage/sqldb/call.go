package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"remoteidv/models"
)

const insertCustomerSession = `INSERT INTO customer_sessions (id, case_id, invite_id, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`

// CreateCustomerSession stores a customer session (ECONFLICT when the invite
// already has one).
func (t *Tx) CreateCustomerSession(ctx context.Context, s *models.CustomerSession) error {
	if _, err := t.exec(ctx, insertCustomerSession, s.ID, s.CaseID, s.InviteID, s.SecretHash, us(s.CreatedAt), us(s.ExpiresAt)); err != nil {
		return fmt.Errorf("create customer session for %s: %w", s.CaseID, err)
	}
	return nil
}

const selectCustomerSession = `SELECT id, case_id, invite_id, secret_hash, created_at, expires_at, consent_version, consent_sha256, consent_locale, consent_at FROM customer_sessions `

func scanCustomerSession(row interface{ Scan(...any) error }) (*models.CustomerSession, error) {
	var s models.CustomerSession
	var created, expires int64
	var consent sql.NullInt64
	if err := row.Scan(&s.ID, &s.CaseID, &s.InviteID, &s.SecretHash, &created, &expires, &s.ConsentVersion, &s.ConsentSHA256, &s.ConsentLocale, &consent); err != nil {
		return nil, err
	}
	s.CreatedAt, s.ExpiresAt, s.ConsentAt = fromUS(created), fromUS(expires), fromNullUS(consent)
	return &s, nil
}

// CustomerSessionByHash returns the session with the secret hash.
func (t *Tx) CustomerSessionByHash(ctx context.Context, secretHash string) (*models.CustomerSession, error) {
	s, err := scanCustomerSession(t.queryRow(ctx, selectCustomerSession+`WHERE secret_hash = ?`, secretHash))
	if err != nil {
		return nil, fmt.Errorf("customer session: %w", t.db.translate(err))
	}
	return s, nil
}

// CustomerSessionsByCase lists a case's customer sessions.
func (t *Tx) CustomerSessionsByCase(ctx context.Context, id models.CaseID) ([]*models.CustomerSession, error) {
	rows, err := t.query(ctx, selectCustomerSession+`WHERE case_id = ? ORDER BY created_at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("customer sessions of %s: %w", id, err)
	}
	defer rows.Close()
	var out []*models.CustomerSession
	for rows.Next() {
		s, err := scanCustomerSession(rows)
		if err != nil {
			return nil, fmt.Errorf("customer sessions of %s: %w", id, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

const recordConsent = `UPDATE customer_sessions SET consent_version = ?, consent_sha256 = ?, consent_locale = ?, consent_at = ? WHERE id = ? AND consent_at IS NULL`

// RecordConsent stores the customer's consent once.
func (t *Tx) RecordConsent(ctx context.Context, id models.CustomerSessionID, version, sha256Hex, locale string, at time.Time) error {
	r, err := t.exec(ctx, recordConsent, version, sha256Hex, locale, us(at), id)
	if err != nil {
		return fmt.Errorf("record consent of %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		var one int
		if err := t.queryRow(ctx, `SELECT 1 FROM customer_sessions WHERE id = ?`, id).Scan(&one); err != nil {
			return fmt.Errorf("record consent of %s: %w", id, t.db.translate(err))
		}
		return models.Errorf(models.ECONFLICT, "consent of %s was already recorded", id)
	}
	return nil
}

const insertCall = `INSERT INTO calls (id, case_id, started_at, recording) VALUES (?, ?, ?, ?)`

// CreateCall stores a new call.
func (t *Tx) CreateCall(ctx context.Context, c *models.Call) error {
	if _, err := t.exec(ctx, insertCall, c.ID, c.CaseID, us(c.StartedAt), string(c.Recording)); err != nil {
		return fmt.Errorf("create call for %s: %w", c.CaseID, err)
	}
	return nil
}

const endCall = `UPDATE calls SET ended_at = ?, end_reason = ?, suspended_at = NULL,
recording = CASE WHEN recording = 'incomplete' THEN 'incomplete' ELSE ? END WHERE id = ? AND ended_at IS NULL AND (? = 0 OR legs = ?)`

// EndCall records the end of a call once, by its current leg (leg 0:
// whichever); an incomplete recording stays incomplete.
func (t *Tx) EndCall(ctx context.Context, id models.CallID, leg int, at time.Time, reason string, rec models.RecordingState) error {
	r, err := t.exec(ctx, endCall, us(at), reason, string(rec), id, leg, leg)
	if err != nil {
		return fmt.Errorf("end call %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return t.callConflict(ctx, "end", id)
	}
	return nil
}

// callConflict says why an update of call id that expected an unfinished
// call (of a given leg) changed nothing: ENOTFOUND, or ECONFLICT with the
// call's state.
func (t *Tx) callConflict(ctx context.Context, what string, id models.CallID) error {
	var legs int
	var ended, suspended sql.NullInt64
	if err := t.queryRow(ctx, `SELECT legs, ended_at, suspended_at FROM calls WHERE id = ?`, id).Scan(&legs, &ended, &suspended); err != nil {
		return fmt.Errorf("%s call %s: %w", what, id, t.db.translate(err))
	}
	switch {
	case ended.Valid:
		return models.Errorf(models.ECONFLICT, "call %s already ended", id)
	case suspended.Valid:
		return models.Errorf(models.ECONFLICT, "call %s is suspended (leg %d)", id, legs)
	}
	return models.Errorf(models.ECONFLICT, "call %s was continued by another node (leg %d)", id, legs)
}

const continueCall = `UPDATE calls SET legs = legs + 1, suspended_at = NULL,
recording = CASE WHEN recording = 'complete' THEN 'recording' ELSE recording END WHERE id = ? AND ended_at IS NULL`

// ContinueCall starts the next leg of an unfinished call and returns it.
func (t *Tx) ContinueCall(ctx context.Context, id models.CallID) (int, error) {
	r, err := t.exec(ctx, continueCall, id)
	if err != nil {
		return 0, fmt.Errorf("continue call %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return 0, t.callConflict(ctx, "continue", id)
	}
	var leg int
	if err := t.queryRow(ctx, `SELECT legs FROM calls WHERE id = ?`, id).Scan(&leg); err != nil {
		return 0, fmt.Errorf("continue call %s: %w", id, t.db.translate(err))
	}
	return leg, nil
}

const suspendCall = `UPDATE calls SET suspended_at = ?,
recording = CASE WHEN recording = 'recording' THEN 'complete' ELSE recording END WHERE id = ? AND legs = ? AND ended_at IS NULL AND suspended_at IS NULL`

// SuspendCall marks the call's leg suspended: its node stopped with the
// call unfinished and its recording kept.
func (t *Tx) SuspendCall(ctx context.Context, id models.CallID, leg int, at time.Time) error {
	r, err := t.exec(ctx, suspendCall, us(at), id, leg)
	if err != nil {
		return fmt.Errorf("suspend call %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return t.callConflict(ctx, "suspend", id)
	}
	return nil
}

// MarkRecordingIncomplete flags a call's recording as incomplete.
func (t *Tx) MarkRecordingIncomplete(ctx context.Context, id models.CallID) error {
	r, err := t.exec(ctx, `UPDATE calls SET recording = 'incomplete' WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("mark recording of %s incomplete: %w", id, err)
	}
	return mustAffect(r, "call "+string(id))
}

const insertSegment = `INSERT INTO call_segments (call_id, seq, participant, track, evidence_id, sha256, size, started_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// AddCallSegment stores a recorded segment (ECONFLICT for a repeated number).
func (t *Tx) AddCallSegment(ctx context.Context, s *models.CallSegment) error {
	if _, err := t.exec(ctx, insertSegment, s.CallID, s.Seq, s.Participant, s.Track, s.Evidence, s.SHA256, s.Size, us(s.StartedAt), us(s.EndedAt)); err != nil {
		return fmt.Errorf("add segment %d of call %s: %w", s.Seq, s.CallID, err)
	}
	return nil
}

const selectCalls = `SELECT id, case_id, started_at, ended_at, end_reason, recording, legs, suspended_at FROM calls WHERE case_id = ? ORDER BY started_at, id`

const selectSegments = `SELECT s.call_id, s.seq, s.participant, s.track, s.evidence_id, s.sha256, s.size, s.started_at, s.ended_at
FROM call_segments s JOIN calls c ON c.id = s.call_id WHERE c.case_id = ? ORDER BY s.call_id, s.seq, s.participant, s.track`

// CallsByCase lists a case's calls with their segments.
func (t *Tx) CallsByCase(ctx context.Context, id models.CaseID) ([]*models.Call, error) {
	rows, err := t.query(ctx, selectCalls, id)
	if err != nil {
		return nil, fmt.Errorf("calls of %s: %w", id, err)
	}
	var out []*models.Call
	byID := map[models.CallID]*models.Call{}
	for rows.Next() {
		var c models.Call
		var started int64
		var ended, suspended sql.NullInt64
		if err := rows.Scan(&c.ID, &c.CaseID, &started, &ended, &c.EndReason, &c.Recording, &c.Legs, &suspended); err != nil {
			rows.Close()
			return nil, fmt.Errorf("calls of %s: %w", id, err)
		}
		c.StartedAt, c.EndedAt, c.SuspendedAt = fromUS(started), fromNullUS(ended), fromNullUS(suspended)
		out = append(out, &c)
		byID[c.ID] = &c
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("calls of %s: %w", id, err)
	}
	rows.Close()
	rows, err = t.query(ctx, selectSegments, id)
	if err != nil {
		return nil, fmt.Errorf("segments of %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s models.CallSegment
		var started, ended int64
		if err := rows.Scan(&s.CallID, &s.Seq, &s.Participant, &s.Track, &s.Evidence, &s.SHA256, &s.Size, &started, &ended); err != nil {
			return nil, fmt.Errorf("segments of %s: %w", id, err)
		}
		s.StartedAt, s.EndedAt = fromUS(started), fromUS(ended)
		if c := byID[s.CallID]; c != nil {
			c.Segments = append(c.Segments, &s)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("segments of %s: %w", id, err)
	}
	rows.Close()
	if err := t.interruptions(ctx, id, byID); err != nil {
		return nil, err
	}
	return out, nil
}

const insertInterruption = `INSERT INTO call_interruptions (id, case_id, call_id, participant, cause, detail, started_at) VALUES (?, ?, ?, ?, ?, ?, ?)`

// AddInterruption records a party's drop out of a call, open (no end yet).
func (t *Tx) AddInterruption(ctx context.Context, i *models.Interruption) error {
	if !i.Cause.Valid() {
		return models.Errorf(models.EINVALID, "interruption of call %s: unknown cause %q", i.Call, i.Cause)
	}
	if i.Participant != "customer" && i.Participant != "clerk" {
		return models.Errorf(models.EINVALID, "interruption of call %s: participant %q is neither customer nor clerk", i.Call, i.Participant)
	}
	var one int
	if err := t.queryRow(ctx, `SELECT 1 FROM calls WHERE id = ? AND case_id = ?`, i.Call, i.CaseID).Scan(&one); err != nil {
		return fmt.Errorf("add interruption of call %s: %w", i.Call, t.db.translate(err))
	}
	if _, err := t.exec(ctx, insertInterruption, i.ID, i.CaseID, i.Call, i.Participant, string(i.Cause), i.Detail, us(i.StartedAt)); err != nil {
		return fmt.Errorf("add interruption of call %s: %w", i.Call, err)
	}
	return nil
}

const endInterruptions = `UPDATE call_interruptions SET ended_at = CASE WHEN started_at > ? THEN started_at ELSE ? END, resumed_call = ?
WHERE case_id = ? AND participant = ? AND ended_at IS NULL`

// EndInterruptions ends the participant's open interruptions in the case
// (an end before the start, from clocks of two nodes, is taken as the
// start).
func (t *Tx) EndInterruptions(ctx context.Context, c models.CaseID, participant string, at time.Time, call models.CallID) (int, error) {
	r, err := t.exec(ctx, endInterruptions, us(at), us(at), call, c, participant)
	if err != nil {
		return 0, fmt.Errorf("end interruptions of %s in %s: %w", participant, c, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("end interruptions of %s in %s: %w", participant, c, err)
	}
	return int(n), nil
}

const selectInterruptions = `SELECT id, case_id, call_id, participant, cause, detail, started_at, ended_at, COALESCE(resumed_call, '')
FROM call_interruptions WHERE case_id = ? ORDER BY started_at, id`

// interruptions adds the case's interruptions to its calls.
func (t *Tx) interruptions(ctx context.Context, id models.CaseID, byID map[models.CallID]*models.Call) error {
	rows, err := t.query(ctx, selectInterruptions, id)
	if err != nil {
		return fmt.Errorf("interruptions of %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var i models.Interruption
		var started int64
		var ended sql.NullInt64
		if err := rows.Scan(&i.ID, &i.CaseID, &i.Call, &i.Participant, &i.Cause, &i.Detail, &started, &ended, &i.ResumedIn); err != nil {
			return fmt.Errorf("interruptions of %s: %w", id, err)
		}
		i.StartedAt, i.EndedAt = fromUS(started), fromNullUS(ended)
		if c := byID[i.Call]; c != nil {
			c.Interruptions = append(c.Interruptions, &i)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("interruptions of %s: %w", id, err)
	}
	return nil
}
