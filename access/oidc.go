package access

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"remoteidv/models"
)

// Reasons an OIDC sign-in is refused.
const (
	reasonLocalName     = "the name belongs to a local account"
	reasonDirectoryName = "the name belongs to a directory account"
	reasonOtherSubject  = "the name belongs to another identity at the provider"
	reasonNoMappedOIDC  = "no provider group mapped to a role"
)

var (
	errOIDCRefused = models.Errorf(models.EFORBIDDEN,
		"this service cannot sign you in with that provider account; ask an administrator")
	errOIDCNoRole = models.Errorf(models.EFORBIDDEN,
		"your provider account is in no group that may use this service; ask an administrator")
)

// OIDCLogin opens a session for the account the bank's identity provider
// vouched for (e: from models.IdentityProvider.Exchange, its DN the issuer
// and subject). The provider checked the credentials, so no password or
// failure counter is involved here.
//
// Which row wins (docs/configuration.md, "OIDC sign-in"): a local row of
// that name (the break-glass admin) or a directory member is never taken
// over: the sign-in is refused and the row is unchanged. A row of source
// oidc belongs to one identity: the same name under another subject is
// refused. Otherwise the provider's answer creates or updates the row
// (display name, roles from the groups claim); groups that map to no role
// are refused (EFORBIDDEN) and disable an existing row, as the directory
// does. Every outcome is audited like a password sign-in: auth.login or
// auth.login_failed with username, remote, method oidc and factor.
func (s *Service) OIDCLogin(ctx context.Context, e *models.DirectoryEntry, factor, oldCookie, remote string) (string, *Principal, error) {
	s.init()
	if factor == "" {
		factor = FactorProvider
	}
	a := attempt{username: e.Username, name: s.NameHash(e.Username), remote: remote, method: MethodOIDC, factor: factor, uncounted: true}
	var row *models.Staff
	err := s.Store.Transact(ctx, func(tx models.Tx) (err error) { row, err = tx.StaffByUsername(ctx, e.Username); return })
	if err != nil && models.ErrorCodeOf(err) != models.ENOTFOUND {
		return "", nil, fmt.Errorf("OIDC sign-in %q: %w", e.Username, err)
	}
	if err != nil {
		row = nil
	}
	switch {
	case row != nil && !row.External():
		s.oidcFailed(ctx, &a, row, reasonLocalName)
		return "", nil, errOIDCRefused
	case row != nil && row.FromDirectory():
		s.oidcFailed(ctx, &a, row, reasonDirectoryName)
		return "", nil, errOIDCRefused
	case row != nil && row.DirectoryDN != e.DN:
		s.oidcFailed(ctx, &a, row, reasonOtherSubject)
		return "", nil, errOIDCRefused
	case row != nil && !row.Active() && row.DisabledBy != models.DisabledByDirectory:
		s.oidcFailed(ctx, &a, row, "disabled")
		return "", nil, errOIDCRefused
	case len(e.Roles) == 0:
		if row != nil && row.Active() {
			if err := s.disableFrom(ctx, models.SourceOIDC, row.Username, reasonNoMappedOIDC); err != nil {
				s.Log.ErrorContext(ctx, "disable staff without a mapped group", "err", err)
			}
		}
		s.oidcFailed(ctx, &a, row, reasonNoMappedOIDC)
		return "", nil, errOIDCNoRole
	}
	a.sync = func(tx models.Tx) (*models.Staff, error) { return s.syncEntry(ctx, tx, e, models.SourceOIDC) }
	st := row
	if st == nil {
		st = &models.Staff{Username: e.Username}
	}
	cookie, p, err := s.openSession(ctx, &a, st, oldCookie)
	if err != nil {
		return "", nil, fmt.Errorf("OIDC sign-in %q: %w", e.Username, err)
	}
	return cookie, p, nil
}

// OIDCFailed audits a sign-in at the provider that came back refused or
// could not be finished (a bad or replayed state, a token that does not
// verify, the provider unreachable): auth.login_failed from remote, with
// method oidc and reason, throttled per address like other unauthenticated
// events (there is no verified name to file it under).
func (s *Service) OIDCFailed(ctx context.Context, remote, reason string) {
	s.init()
	s.recordThrottled(ctx, "auth.login_failed", remote, "", map[string]string{"remote": remote, "method": MethodOIDC,
		"factor": FactorProvider, "reason": reason})
}

// oidcFailed audits a refused OIDC sign-in of a verified account (row: its
// staff row, or nil).
func (s *Service) oidcFailed(ctx context.Context, a *attempt, row *models.Staff, reason string) {
	ctx = context.WithoutCancel(ctx)
	if row == nil {
		s.recordThrottled(ctx, "auth.login_failed", a.remote, "", a.detail("", reason))
		return
	}
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		return s.event(ctx, tx, models.StaffActor(row.ID), "auth.login_failed", a.detail(row.Username, reason))
	})
	if err != nil {
		s.Log.ErrorContext(ctx, "record failed OIDC sign-in", "err", err)
	}
}

// OIDCStepUpMaxAge is how recent the provider's authentication must be for
// an OIDC step-up: the browser was just sent there with prompt=login.
const OIDCStepUpMaxAge = 2 * time.Minute

// OIDCStepUp records a step-up of an OIDC member's session: the provider
// authenticated them again (e, from an exchange that asked it to) within
// OIDCStepUpMaxAge. The session rotates, as with a password step-up; the
// new cookie is returned. The account must be the session's own.
func (s *Service) OIDCStepUp(ctx context.Context, p *Principal, e *models.DirectoryEntry) (string, error) {
	if p.Session == nil {
		return "", models.Errorf(models.EFORBIDDEN, "step-up needs an interactive session")
	}
	if !p.Staff.FromOIDC() || e.DN != p.Staff.DirectoryDN {
		s.stepUpFailed(ctx, p, counter{scopeStepUp, string(p.Staff.ID)})
		return "", models.Errorf(models.EUNAUTHORIZED, "the provider signed in another account")
	}
	if e.AuthTime.IsZero() || s.Now().Sub(e.AuthTime) > OIDCStepUpMaxAge {
		s.stepUpFailed(ctx, p, counter{scopeStepUp, string(p.Staff.ID)})
		return "", models.Errorf(models.EUNAUTHORIZED, "the provider did not ask for your password again; try once more")
	}
	return s.rotateStepUp(ctx, p, counter{scopeStepUp, string(p.Staff.ID)}, MethodOIDC, FactorProvider)
}

// OIDCLoginLifetime is how long a sign-in sent to the provider may take to
// come back.
const OIDCLoginLifetime = 10 * time.Minute

// OIDCStart is a sign-in about to be sent to the provider: the state for
// the browser's cookie and the URL, the nonce, and the PKCE verifier and
// its S256 challenge.
type OIDCStart struct {
	State, Nonce, Verifier, Challenge string
}

// StartOIDC makes the secrets of a new sign-in at the provider and keeps
// them (the state as a hash) for OIDCLoginLifetime; sessionHash is the
// session of a step-up, "" for a sign-in.
func (s *Service) StartOIDC(ctx context.Context, sessionHash string) (*OIDCStart, error) {
	var st OIDCStart
	for _, v := range []*string{&st.State, &st.Nonce, &st.Verifier} {
		tok, err := NewToken(s.Rand, "")
		if err != nil {
			return nil, err
		}
		*v = tok
	}
	sum := sha256.Sum256([]byte(st.Verifier))
	st.Challenge = base64.RawURLEncoding.EncodeToString(sum[:])
	now := s.Now().UTC()
	l := &models.OIDCLogin{StateHash: HashToken(st.State), Nonce: st.Nonce, Verifier: st.Verifier, SessionHash: sessionHash,
		CreatedAt: now, ExpiresAt: now.Add(OIDCLoginLifetime)}
	if err := s.Store.Transact(ctx, func(tx models.Tx) error { return tx.CreateOIDCLogin(ctx, l) }); err != nil {
		return nil, fmt.Errorf("start OIDC sign-in: %w", err)
	}
	return &st, nil
}

// TakeOIDC returns and forgets the sign-in of state: ENOTFOUND when it
// was never made here, was used already or expired.
func (s *Service) TakeOIDC(ctx context.Context, state string) (*models.OIDCLogin, error) {
	var l *models.OIDCLogin
	err := s.Store.Transact(ctx, func(tx models.Tx) (err error) {
		l, err = tx.TakeOIDCLogin(ctx, HashToken(state), s.Now().UTC())
		return
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}
