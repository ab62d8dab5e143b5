package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"remoteidv/models"
)

const insertWebAuthnKey = `INSERT INTO webauthn_credentials (id, staff_id, name, credential, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?)`

// CreateWebAuthnKey stores a security key.
func (t *Tx) CreateWebAuthnKey(ctx context.Context, k *models.WebAuthnKey) error {
	if _, err := t.exec(ctx, insertWebAuthnKey, k.ID, k.StaffID, k.Name, k.Credential, us(k.CreatedAt), nullUS(k.LastUsedAt)); err != nil {
		return fmt.Errorf("create security key of %s: %w", k.StaffID, err)
	}
	return nil
}

const selectWebAuthnKeys = `SELECT id, staff_id, name, credential, created_at, last_used_at FROM webauthn_credentials WHERE staff_id = ? ORDER BY created_at, id`

// WebAuthnKeys lists a member's keys, oldest first.
func (t *Tx) WebAuthnKeys(ctx context.Context, id models.StaffID) ([]*models.WebAuthnKey, error) {
	rows, err := t.query(ctx, selectWebAuthnKeys, id)
	if err != nil {
		return nil, fmt.Errorf("security keys of %s: %w", id, err)
	}
	defer rows.Close()
	var out []*models.WebAuthnKey
	for rows.Next() {
		var k models.WebAuthnKey
		var created int64
		var used sql.NullInt64
		if err := rows.Scan(&k.ID, &k.StaffID, &k.Name, &k.Credential, &created, &used); err != nil {
			return nil, fmt.Errorf("security keys of %s: %w", id, err)
		}
		k.CreatedAt, k.LastUsedAt = fromUS(created), fromNullUS(used)
		out = append(out, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("security keys of %s: %w", id, t.db.translate(err))
	}
	return out, nil
}

// UpdateWebAuthnKeyUse records a use of a key.
func (t *Tx) UpdateWebAuthnKeyUse(ctx context.Context, keyID string, credential []byte, at time.Time) error {
	r, err := t.exec(ctx, `UPDATE webauthn_credentials SET credential = ?, last_used_at = ? WHERE id = ?`, credential, us(at), keyID)
	if err != nil {
		return fmt.Errorf("record use of security key: %w", err)
	}
	return mustAffect(r, "record use of security key")
}

// DeleteWebAuthnKey removes one key of the member.
func (t *Tx) DeleteWebAuthnKey(ctx context.Context, id models.StaffID, keyID string) error {
	r, err := t.exec(ctx, `DELETE FROM webauthn_credentials WHERE staff_id = ? AND id = ?`, id, keyID)
	if err != nil {
		return fmt.Errorf("delete security key of %s: %w", id, err)
	}
	return mustAffect(r, "delete security key")
}

// DeleteWebAuthnKeys removes every key of the member.
func (t *Tx) DeleteWebAuthnKeys(ctx context.Context, id models.StaffID) (int, error) {
	r, err := t.exec(ctx, `DELETE FROM webauthn_credentials WHERE staff_id = ?`, id)
	if err != nil {
		return 0, fmt.Errorf("delete security keys of %s: %w", id, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete security keys of %s: %w", id, err)
	}
	return int(n), nil
}

const insertWebAuthnChallenge = `INSERT INTO webauthn_challenges (hash, staff_id, session_hash, purpose, binding, ceremony, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`

// CreateWebAuthnChallenge stores a ceremony and sweeps the ones that
// expired an hour before it expires (ceremonies last minutes).
func (t *Tx) CreateWebAuthnChallenge(ctx context.Context, c *models.WebAuthnChallenge) error {
	if _, err := t.exec(ctx, `DELETE FROM webauthn_challenges WHERE expires_at < ?`, us(c.ExpiresAt.Add(-time.Hour))); err != nil {
		return fmt.Errorf("sweep security key challenges: %w", err)
	}
	if _, err := t.exec(ctx, insertWebAuthnChallenge, c.Hash, c.StaffID, c.SessionHash, c.Purpose, c.Binding, c.Ceremony, us(c.ExpiresAt)); err != nil {
		return fmt.Errorf("create security key challenge for %s: %w", c.StaffID, err)
	}
	return nil
}

const selectWebAuthnChallenge = `SELECT hash, staff_id, session_hash, purpose, binding, ceremony, expires_at FROM webauthn_challenges WHERE hash = ?`

// TakeWebAuthnChallenge returns a ceremony and deletes it.
func (t *Tx) TakeWebAuthnChallenge(ctx context.Context, hash string) (*models.WebAuthnChallenge, error) {
	var c models.WebAuthnChallenge
	var exp int64
	err := t.queryRow(ctx, selectWebAuthnChallenge, hash).Scan(&c.Hash, &c.StaffID, &c.SessionHash, &c.Purpose, &c.Binding, &c.Ceremony, &exp)
	if err != nil {
		return nil, fmt.Errorf("security key challenge: %w", t.db.translate(err))
	}
	c.ExpiresAt = fromUS(exp)
	r, err := t.exec(ctx, `DELETE FROM webauthn_challenges WHERE hash = ?`, hash)
	if err != nil {
		return nil, fmt.Errorf("take security key challenge: %w", err)
	}
	// Of two takers at once, one deletes the row: the other has not got it.
	if err := mustAffect(r, "take security key challenge"); err != nil {
		return nil, err
	}
	return &c, nil
}

// SetSessionKey records that a key was presented in the session.
func (t *Tx) SetSessionKey(ctx context.Context, idHash string, at time.Time) error {
	r, err := t.exec(ctx, `UPDATE staff_sessions SET key_at = ? WHERE id_hash = ?`, us(at), idHash)
	if err != nil {
		return fmt.Errorf("record security key in session: %w", err)
	}
	return mustAffect(r, "record security key in session")
}

const insertWebAuthnEnrolment = `INSERT INTO webauthn_enrolments (hash, staff_id, issued_by, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, NULL)`

// CreateWebAuthnEnrolment stores an enrolment code, replacing the
// member's codes not yet used.
func (t *Tx) CreateWebAuthnEnrolment(ctx context.Context, e *models.WebAuthnEnrolment) error {
	if _, err := t.exec(ctx, `DELETE FROM webauthn_enrolments WHERE staff_id = ? AND used_at IS NULL`, e.StaffID); err != nil {
		return fmt.Errorf("replace enrolment codes of %s: %w", e.StaffID, err)
	}
	if _, err := t.exec(ctx, insertWebAuthnEnrolment, e.Hash, e.StaffID, e.IssuedBy, us(e.CreatedAt), us(e.ExpiresAt)); err != nil {
		return fmt.Errorf("create enrolment code for %s: %w", e.StaffID, err)
	}
	return nil
}

// WebAuthnEnrolment returns the enrolment code of that hash.
func (t *Tx) WebAuthnEnrolment(ctx context.Context, hash string) (*models.WebAuthnEnrolment, error) {
	var e models.WebAuthnEnrolment
	var created, expires int64
	var used sql.NullInt64
	err := t.queryRow(ctx, `SELECT hash, staff_id, issued_by, created_at, expires_at, used_at FROM webauthn_enrolments WHERE hash = ?`, hash).
		Scan(&e.Hash, &e.StaffID, &e.IssuedBy, &created, &expires, &used)
	if err != nil {
		return nil, fmt.Errorf("enrolment code: %w", t.db.translate(err))
	}
	e.CreatedAt, e.ExpiresAt, e.UsedAt = fromUS(created), fromUS(expires), fromNullUS(used)
	return &e, nil
}

// UseWebAuthnEnrolment marks an enrolment code used, once.
func (t *Tx) UseWebAuthnEnrolment(ctx context.Context, hash string, at time.Time) error {
	r, err := t.exec(ctx, `UPDATE webauthn_enrolments SET used_at = ? WHERE hash = ? AND used_at IS NULL`, us(at), hash)
	if err != nil {
		return fmt.Errorf("use enrolment code: %w", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return fmt.Errorf("use enrolment code: %w", err)
	}
	if n == 0 {
		return models.Errorf(models.ECONFLICT, "the enrolment code was used already")
	}
	return nil
}
