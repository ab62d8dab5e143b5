package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"remoteidv/models"
)

const insertStaff = `INSERT INTO staff (id, username, display_name, password_hash, email, language, disabled_at, created_at, source, directory_dn, disabled_by)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateStaff inserts a staff member and their roles.
func (t *Tx) CreateStaff(ctx context.Context, s *models.Staff) error {
	if _, err := t.exec(ctx, insertStaff, s.ID, s.Username, s.DisplayName, s.PasswordHash, s.Email, s.Language, nullUS(s.DisabledAt), us(s.CreatedAt),
		sourceOf(s), s.DirectoryDN, s.DisabledBy); err != nil {
		return fmt.Errorf("create staff %s: %w", s.Username, err)
	}
	return t.setRoles(ctx, s)
}

const updateStaff = `UPDATE staff SET display_name = ?, password_hash = ?, email = ?, language = ?, disabled_at = ?, source = ?, directory_dn = ?, disabled_by = ? WHERE id = ?`

// sourceOf is s.Source, SourceLocal when unset.
func sourceOf(s *models.Staff) string {
	if s.Source == "" {
		return string(models.SourceLocal)
	}
	return string(s.Source)
}

// UpdateStaff writes a staff member's name, password, email, language,
// disabled time (and by whom), source, directory entry and roles.
func (t *Tx) UpdateStaff(ctx context.Context, s *models.Staff) error {
	r, err := t.exec(ctx, updateStaff, s.DisplayName, s.PasswordHash, s.Email, s.Language, nullUS(s.DisabledAt), sourceOf(s), s.DirectoryDN, s.DisabledBy, s.ID)
	if err != nil {
		return fmt.Errorf("update staff %s: %w", s.ID, err)
	}
	if err := mustAffect(r, "update staff "+string(s.ID)); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `DELETE FROM staff_roles WHERE staff_id = ?`, s.ID); err != nil {
		return fmt.Errorf("update staff %s roles: %w", s.ID, err)
	}
	return t.setRoles(ctx, s)
}

func (t *Tx) setRoles(ctx context.Context, s *models.Staff) error {
	for _, r := range s.Roles {
		if _, err := t.exec(ctx, `INSERT INTO staff_roles (staff_id, role) VALUES (?, ?)`, s.ID, string(r)); err != nil {
			return fmt.Errorf("set role %s of %s: %w", r, s.ID, err)
		}
	}
	return nil
}

const selectStaff = `SELECT s.id, s.username, s.display_name, s.password_hash, s.email, s.language, s.disabled_at, s.created_at, s.source, s.directory_dn, s.disabled_by,
	COALESCE((SELECT ` + "%s" + ` FROM staff_roles r WHERE r.staff_id = s.id), '') FROM staff s`

func (t *Tx) staffQuery(where string) string {
	agg := "group_concat(r.role, ',')"
	if t.db.dialect.Numbered {
		agg = "string_agg(r.role, ',')"
	}
	return fmt.Sprintf(selectStaff, agg) + " " + where
}

func scanStaff(row interface{ Scan(...any) error }) (*models.Staff, error) {
	var s models.Staff
	var disabled sql.NullInt64
	var created int64
	var roles string
	if err := row.Scan(&s.ID, &s.Username, &s.DisplayName, &s.PasswordHash, &s.Email, &s.Language, &disabled, &created, &s.Source, &s.DirectoryDN, &s.DisabledBy, &roles); err != nil {
		return nil, err
	}
	s.DisabledAt = fromNullUS(disabled)
	s.CreatedAt = fromUS(created)
	for _, r := range strings.Split(roles, ",") {
		if r != "" {
			s.Roles = append(s.Roles, models.Role(r))
		}
	}
	slices.SortFunc(s.Roles, func(a, b models.Role) int {
		return slices.Index(models.Roles, a) - slices.Index(models.Roles, b)
	})
	return &s, nil
}

// StaffByID returns a staff member.
func (t *Tx) StaffByID(ctx context.Context, id models.StaffID) (*models.Staff, error) {
	s, err := scanStaff(t.queryRow(ctx, t.staffQuery("WHERE s.id = ?"), id))
	if err != nil {
		return nil, fmt.Errorf("staff %s: %w", id, t.db.translate(err))
	}
	return s, nil
}

// StaffByUsername returns a staff member by login name.
func (t *Tx) StaffByUsername(ctx context.Context, username string) (*models.Staff, error) {
	s, err := scanStaff(t.queryRow(ctx, t.staffQuery("WHERE s.username = ?"), username))
	if err != nil {
		return nil, fmt.Errorf("staff %q: %w", username, t.db.translate(err))
	}
	return s, nil
}

// ListStaff returns every staff member by username.
func (t *Tx) ListStaff(ctx context.Context) ([]*models.Staff, error) {
	rows, err := t.query(ctx, t.staffQuery("ORDER BY s.username"))
	if err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	defer rows.Close()
	var out []*models.Staff
	for rows.Next() {
		s, err := scanStaff(rows)
		if err != nil {
			return nil, fmt.Errorf("list staff: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

const insertSession = `INSERT INTO staff_sessions (id_hash, staff_id, csrf_token, created_at, last_seen, step_up_at, key_required, key_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// CreateSession stores a new login session.
func (t *Tx) CreateSession(ctx context.Context, s *models.StaffSession) error {
	if _, err := t.exec(ctx, insertSession, s.IDHash, s.StaffID, s.CSRFToken, us(s.CreatedAt), us(s.LastSeen), stepUp(s.StepUpAt), boolInt(s.KeyRequired), stepUp(s.KeyAt)); err != nil {
		return fmt.Errorf("create session for %s: %w", s.StaffID, err)
	}
	return nil
}

func stepUp(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return us(t)
}

const selectSession = `SELECT id_hash, staff_id, csrf_token, created_at, last_seen, step_up_at, key_required, key_at FROM staff_sessions WHERE id_hash = ?`

// SessionByHash returns a session by the hash of its cookie.
func (t *Tx) SessionByHash(ctx context.Context, idHash string) (*models.StaffSession, error) {
	var s models.StaffSession
	var created, seen, step, keyAt int64
	var keyRequired int
	err := t.queryRow(ctx, selectSession, idHash).Scan(&s.IDHash, &s.StaffID, &s.CSRFToken, &created, &seen, &step, &keyRequired, &keyAt)
	if err != nil {
		return nil, fmt.Errorf("session: %w", t.db.translate(err))
	}
	s.CreatedAt, s.LastSeen = fromUS(created), fromUS(seen)
	if step != 0 {
		s.StepUpAt = fromUS(step)
	}
	s.KeyRequired = keyRequired == 1
	if keyAt != 0 {
		s.KeyAt = fromUS(keyAt)
	}
	return &s, nil
}

// TouchSession records activity.
func (t *Tx) TouchSession(ctx context.Context, idHash string, lastSeen time.Time) error {
	r, err := t.exec(ctx, `UPDATE staff_sessions SET last_seen = ? WHERE id_hash = ?`, us(lastSeen), idHash)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return mustAffect(r, "touch session")
}

// SetSessionStepUp records a password re-entry.
func (t *Tx) SetSessionStepUp(ctx context.Context, idHash string, at time.Time) error {
	r, err := t.exec(ctx, `UPDATE staff_sessions SET step_up_at = ? WHERE id_hash = ?`, us(at), idHash)
	if err != nil {
		return fmt.Errorf("step up session: %w", err)
	}
	return mustAffect(r, "step up session")
}

// DeleteSession ends one session.
func (t *Tx) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := t.exec(ctx, `DELETE FROM staff_sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteStaffSessions ends every session of a staff member.
func (t *Tx) DeleteStaffSessions(ctx context.Context, id models.StaffID) error {
	if _, err := t.exec(ctx, `DELETE FROM staff_sessions WHERE staff_id = ?`, id); err != nil {
		return fmt.Errorf("delete sessions of %s: %w", id, err)
	}
	return nil
}

const insertToken = `INSERT INTO api_tokens (id, staff_id, name, hash, created_at, expires_at, last_used, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// CreateAPIToken stores a bearer token's hash and its scope.
func (t *Tx) CreateAPIToken(ctx context.Context, tok *models.APIToken) error {
	if len(tok.Scope) == 0 {
		return models.Errorf(models.EINVALID, "create api token %s: the scope is empty", tok.Name)
	}
	if _, err := t.exec(ctx, insertToken, tok.ID, tok.StaffID, tok.Name, tok.Hash, us(tok.CreatedAt), us(tok.ExpiresAt), nullUS(tok.LastUsed), nullUS(tok.RevokedAt)); err != nil {
		return fmt.Errorf("create api token %s: %w", tok.Name, err)
	}
	for _, r := range tok.Scope {
		if _, err := t.exec(ctx, `INSERT INTO api_token_roles (token_id, role) VALUES (?, ?)`, tok.ID, string(r)); err != nil {
			return fmt.Errorf("create api token %s scope %s: %w", tok.Name, r, err)
		}
	}
	return nil
}

const selectTokens = `SELECT t.id, t.staff_id, t.name, t.hash, t.created_at, t.expires_at, t.last_used, t.revoked_at,
	COALESCE((SELECT ` + "%s" + ` FROM api_token_roles r WHERE r.token_id = t.id), '') FROM api_tokens t`

func (t *Tx) tokenQuery(where string) string {
	agg := "group_concat(r.role, ',')"
	if t.db.dialect.Numbered {
		agg = "string_agg(r.role, ',')"
	}
	return fmt.Sprintf(selectTokens, agg) + " " + where
}

func scanToken(row interface{ Scan(...any) error }) (*models.APIToken, error) {
	var tok models.APIToken
	var created, expires int64
	var used, revoked sql.NullInt64
	var scope string
	if err := row.Scan(&tok.ID, &tok.StaffID, &tok.Name, &tok.Hash, &created, &expires, &used, &revoked, &scope); err != nil {
		return nil, err
	}
	tok.CreatedAt, tok.ExpiresAt, tok.LastUsed, tok.RevokedAt = fromUS(created), fromUS(expires), fromNullUS(used), fromNullUS(revoked)
	for _, r := range strings.Split(scope, ",") {
		if r != "" {
			tok.Scope = append(tok.Scope, models.Role(r))
		}
	}
	slices.SortFunc(tok.Scope, func(a, b models.Role) int {
		return slices.Index(models.Roles, a) - slices.Index(models.Roles, b)
	})
	return &tok, nil
}

// APITokenByHash returns a token by its hash.
func (t *Tx) APITokenByHash(ctx context.Context, hash string) (*models.APIToken, error) {
	tok, err := scanToken(t.queryRow(ctx, t.tokenQuery("WHERE t.hash = ?"), hash))
	if err != nil {
		return nil, fmt.Errorf("api token: %w", t.db.translate(err))
	}
	return tok, nil
}

// APITokenByID returns a token by its ID.
func (t *Tx) APITokenByID(ctx context.Context, id models.TokenID) (*models.APIToken, error) {
	tok, err := scanToken(t.queryRow(ctx, t.tokenQuery("WHERE t.id = ?"), id))
	if err != nil {
		return nil, fmt.Errorf("api token %s: %w", id, t.db.translate(err))
	}
	return tok, nil
}

// APITokensByStaff lists the tokens acting as a staff member, revoked ones
// included.
func (t *Tx) APITokensByStaff(ctx context.Context, id models.StaffID) ([]*models.APIToken, error) {
	out, err := t.tokens(ctx, "WHERE t.staff_id = ? ORDER BY t.created_at, t.id", id)
	if err != nil {
		return nil, fmt.Errorf("api tokens of %s: %w", id, err)
	}
	return out, nil
}

// ListAPITokens lists every token, oldest first.
func (t *Tx) ListAPITokens(ctx context.Context) ([]*models.APIToken, error) {
	out, err := t.tokens(ctx, "ORDER BY t.created_at, t.id")
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	return out, nil
}

func (t *Tx) tokens(ctx context.Context, where string, args ...any) ([]*models.APIToken, error) {
	rows, err := t.query(ctx, t.tokenQuery(where), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*models.APIToken
	for rows.Next() {
		tok, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, tok)
	}
	return out, rows.Err()
}

// TouchAPIToken records a use.
func (t *Tx) TouchAPIToken(ctx context.Context, id models.TokenID, at time.Time) error {
	if _, err := t.exec(ctx, `UPDATE api_tokens SET last_used = ? WHERE id = ?`, us(at), id); err != nil {
		return fmt.Errorf("touch api token %s: %w", id, err)
	}
	return nil
}

// RevokeAPIToken revokes a token.
func (t *Tx) RevokeAPIToken(ctx context.Context, id models.TokenID, at time.Time) error {
	r, err := t.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, us(at), id)
	if err != nil {
		return fmt.Errorf("revoke api token %s: %w", id, err)
	}
	return mustAffect(r, "revoke api token "+string(id))
}
