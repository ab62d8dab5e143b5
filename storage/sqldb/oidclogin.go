package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"remoteidv/models"
)

// CreateOIDCLogin implements models.OIDCLoginRepo.
func (t *Tx) CreateOIDCLogin(ctx context.Context, l *models.OIDCLogin) error {
	if _, err := t.exec(ctx, `DELETE FROM oidc_logins WHERE expires_at <= ?`, us(l.CreatedAt)); err != nil {
		return fmt.Errorf("delete expired OIDC sign-ins: %w", err)
	}
	_, err := t.exec(ctx, `INSERT INTO oidc_logins (state_hash, nonce, verifier, session_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		l.StateHash, l.Nonce, l.Verifier, l.SessionHash, us(l.CreatedAt), us(l.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create OIDC sign-in: %w", err)
	}
	return nil
}

// TakeOIDCLogin implements models.OIDCLoginRepo.
func (t *Tx) TakeOIDCLogin(ctx context.Context, stateHash string, now time.Time) (*models.OIDCLogin, error) {
	var l models.OIDCLogin
	var created, expires int64
	err := t.queryRow(ctx, `DELETE FROM oidc_logins WHERE state_hash = ?
RETURNING state_hash, nonce, verifier, session_hash, created_at, expires_at`, stateHash).
		Scan(&l.StateHash, &l.Nonce, &l.Verifier, &l.SessionHash, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, models.Errorf(models.ENOTFOUND, "no OIDC sign-in under way for this state")
	}
	if err != nil {
		return nil, fmt.Errorf("take OIDC sign-in: %w", t.db.translate(err))
	}
	l.CreatedAt, l.ExpiresAt = fromUS(created), fromUS(expires)
	if !now.Before(l.ExpiresAt) {
		return nil, models.Errorf(models.ENOTFOUND, "the OIDC sign-in expired")
	}
	return &l, nil
}
