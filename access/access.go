package access

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
)

// Principal is who makes a request: a staff member through a login session
// or an API token. For a token, Staff.Roles holds what the token may do
// now (models.APIToken.EffectiveRoles): the roles of its scope that the
// member still holds, so every role check treats the token as a member
// with those roles only.
type Principal struct {
	Staff   *models.Staff
	Session *models.StaffSession // nil for API tokens
	Token   *models.APIToken     // nil for sessions
	// Notice is set by Login only: the failed attempts its owner has not
	// been told of.
	Notice *Notice
}

// Actor names the principal in audit events.
func (p *Principal) Actor() string {
	if p.Token != nil {
		return models.TokenActor(p.Token.ID)
	}
	return models.StaffActor(p.Staff.ID)
}

// Service logs staff in and out and checks their credentials.
type Service struct {
	Store    models.Store
	Chain    audit.Chain
	Now      func() time.Time
	Rand     io.Reader
	Idle     time.Duration // idle timeout of a session
	Absolute time.Duration // absolute lifetime of a session
	// TokenLifetime is the lifetime of a new API token and the longest
	// one its creator may ask for; 0 is DefaultTokenLifetime.
	TokenLifetime time.Duration
	Log           *slog.Logger
	// Limits bound password checks and failing callers; zero fields take
	// DefaultLimits.
	Limits Limits
	// NameKey keys NameHash (DeriveKey of the audit signing key in idv
	// serve); empty: a random key for this process.
	NameKey []byte
	// Directory, when set, signs in every name that has no local staff
	// row of source local (Login); nil: local passwords only.
	Directory models.Directory
	// Keys configures security keys (webauthn.go); its zero value: off.
	Keys KeyPolicy

	once    sync.Once
	lim     Limits
	slots   chan struct{} // password checks running
	nameKey []byte
}

// dummyHash keeps the time of a login for an unknown user like that of a
// wrong password.
const dummyHash = "$argon2id$v=19$m=65536,t=3,p=2$c29tZXNhbHRzb21lc2FsdA$Y2xYRMfhZ6uJ0sBxwlJ9W4U/2wXfdf3L2ZbJx6VVPkc"

// HashToken is how session cookies, API tokens and invite tokens are
// stored: hex SHA-256.
func HashToken(raw string) string {
	s := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(s[:])
}

// NewToken returns prefix + 256 random bits in unpadded base64url.
func NewToken(r io.Reader, prefix string) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("new token: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

func (s *Service) event(ctx context.Context, tx models.Tx, actor, action string, detail map[string]string) error {
	return s.Chain.Append(ctx, tx, &models.AuditEvent{Actor: actor, Action: action, Detail: detail})
}

var errBadLogin = models.Errorf(models.EUNAUTHORIZED, "wrong username or password")

// Login checks the credentials and opens a new session; any session the
// browser still had (oldCookie) is ended, so the session ID rotates. It
// returns the new cookie value; the principal's Notice tells of failed
// attempts since the last login.
//
// Which source checks the password (docs/configuration.md, "Directory
// sign-in"): a local staff row (Source local, e.g. the break-glass admin)
// is checked here only, never against the directory, so it signs in while
// the directory is down; any other name goes to the directory when one is
// configured (Directory), and a directory member never uses a local
// password. The directory's answer creates or updates the local row
// (display name, roles from groups), or disables it when the directory no
// longer has an enabled account or maps none of its groups.
//
// The attempt is counted against the name as typed (its keyed hash) and
// the client address before the password is checked, and refused with a
// LimitError while either is locked or waiting out its delay; a success
// gives the count back. An unknown name is never stored: its failures
// keep NameHash(username). Every outcome is audited in one shape:
// auth.login or auth.login_failed with username, remote, method
// (password or ldap) and factor.
func (s *Service) Login(ctx context.Context, username, password, oldCookie, remote string) (string, *Principal, error) {
	s.init()
	name := s.NameHash(username)
	account, addr := counter{scopeAccount, name}, counter{scopeAddr, Source(remote)}
	if err := s.reserve(ctx, account, addr); err != nil {
		return "", nil, err
	}
	var st *models.Staff
	err := s.Store.Transact(ctx, func(tx models.Tx) (err error) { st, err = tx.StaffByUsername(ctx, username); return })
	if err != nil && models.ErrorCodeOf(err) != models.ENOTFOUND {
		s.release(ctx, account, addr)
		return "", nil, fmt.Errorf("login: %w", err)
	}
	known := err == nil
	if !known {
		st = nil
	}
	a := attempt{username: username, name: name, remote: remote, account: account, addr: addr, method: MethodPassword}
	if s.Directory != nil && (!known || st.FromDirectory()) {
		a.method = MethodLDAP
		if st, err = s.directoryLogin(ctx, &a, st, password); err != nil {
			return "", nil, err
		}
	} else {
		hash := dummyHash // an unknown name takes as long as a wrong password
		if known && !st.External() {
			hash = st.PasswordHash
		}
		ok, err := s.checkPassword(ctx, hash, password)
		if err != nil {
			s.release(ctx, account, addr)
			return "", nil, err
		}
		if !known || !ok || !st.Active() || st.External() {
			reason := "wrong password"
			switch {
			case !known:
				reason = "unknown user"
			case st.FromOIDC():
				reason = "signs in with the identity provider"
			case st.FromDirectory():
				reason = "directory sign-in not configured"
			case !st.Active():
				reason = "disabled"
			}
			s.loginFailed(ctx, &a, st, reason)
			return "", nil, errBadLogin
		}
	}
	cookie, p, err := s.openSession(ctx, &a, st, oldCookie)
	if err != nil {
		return "", nil, fmt.Errorf("login %q: %w", username, err)
	}
	return cookie, p, nil
}

// openSession opens the session of a sign-in that succeeded (st: the
// member, or the row a.sync will write), ending the browser's old session
// and auditing auth.login, all in one transaction.
func (s *Service) openSession(ctx context.Context, a *attempt, st *models.Staff, oldCookie string) (string, *Principal, error) {
	cookie, err := NewToken(s.Rand, "")
	if err != nil {
		return "", nil, err
	}
	csrf, err := NewToken(s.Rand, "")
	if err != nil {
		return "", nil, err
	}
	now := s.Now().UTC()
	sess := &models.StaffSession{IDHash: HashToken(cookie), StaffID: st.ID, CSRFToken: csrf, CreatedAt: now, LastSeen: now}
	var notice *Notice
	login := func(tx models.Tx) error {
		var err error
		if !a.uncounted {
			if notice, err = succeeded(ctx, tx, a.account, a.addr); err != nil {
				return err
			}
		}
		if a.sync != nil {
			if st, err = a.sync(tx); err != nil {
				return err
			}
			sess.StaffID = st.ID
		}
		// Role work waits for a security key when the member has one or
		// their role requires one (none yet: they register one first).
		keys, err := tx.WebAuthnKeys(ctx, st.ID)
		if err != nil {
			return err
		}
		sess.KeyRequired = s.KeysOn() && (len(keys) > 0 || s.KeyRequired(st))
		if oldCookie != "" {
			if err := tx.DeleteSession(ctx, HashToken(oldCookie)); err != nil {
				return err
			}
		}
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		return s.event(ctx, tx, models.StaffActor(st.ID), "auth.login", a.detail(st.Username, ""))
	}
	err = s.Store.Transact(ctx, login)
	if a.sync != nil && models.ErrorCodeOf(err) == models.ECONFLICT {
		// Two first sign-ins of one outside account at once: the other
		// created the row; this one updates it.
		err = s.Store.Transact(ctx, login)
	}
	if err != nil {
		return "", nil, err
	}
	return cookie, &Principal{Staff: st, Session: sess, Notice: notice}, nil
}

// The sign-in methods of audit events (detail "method") and their factors
// (detail "factor"): a password for the first two; for OIDC whatever the
// provider checked, which it tells in the ID token's amr claim when it
// does (FactorProvider when it does not).
const (
	MethodPassword = "password" // a local staff row's argon2id password
	MethodLDAP     = "ldap"     // a bind to the bank's directory
	MethodOIDC     = "oidc"     // the bank's OpenID Connect provider
	FactorPassword = "password"
	FactorProvider = "identity_provider"
)

// attempt is one sign-in under way: what is counted and audited.
type attempt struct {
	username, name, remote string
	account, addr          counter
	method                 string
	// factor is FactorPassword unless set (an OIDC sign-in's).
	factor string
	// uncounted: the attempt took no reservation of the failure counters
	// (an OIDC sign-in: the provider checked the password).
	uncounted bool
	// sync, set by a directory sign-in, writes the directory's answer to
	// the staff row in the session's transaction and returns the row.
	sync func(tx models.Tx) (*models.Staff, error)
}

// detail is the audit detail every sign-in event shares.
func (a *attempt) detail(username, reason string) map[string]string {
	factor := a.factor
	if factor == "" {
		factor = FactorPassword
	}
	d := map[string]string{"remote": a.remote, "method": a.method, "factor": factor}
	if username != "" {
		d["username"] = username
	} else {
		d["username_hmac"] = a.name
	}
	if reason != "" {
		d["reason"] = reason
	}
	return d
}

// loginFailed records a failed login (st nil: unknown name), locks the
// name or the address when their failures are used up, and keeps the
// failure for the owner of a known account.
func (s *Service) loginFailed(ctx context.Context, a *attempt, st *models.Staff, reason string) {
	ctx = context.WithoutCancel(ctx) // a caller who hangs up is still counted
	remote, account, addr := a.remote, a.account, a.addr
	if st == nil {
		s.recordThrottled(ctx, "auth.login_failed", remote, "", a.detail("", reason))
	}
	var addrLocked *models.AuthLimit
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		var owner *counter
		if st != nil {
			owner = &account
		}
		locked, err := s.failed(ctx, tx, account, owner)
		if err != nil {
			return err
		}
		if addrLocked, err = s.failed(ctx, tx, addr, nil); err != nil {
			return err
		}
		if st == nil {
			return nil
		}
		if err := s.event(ctx, tx, models.StaffActor(st.ID), "auth.login_failed", a.detail(st.Username, reason)); err != nil {
			return err
		}
		if locked == nil {
			return nil
		}
		return s.event(ctx, tx, models.StaffActor(st.ID), "auth.account_locked", map[string]string{"username": st.Username, "remote": remote,
			"failures": strconv.Itoa(locked.Failures), "until": locked.LockedUntil.Format(time.RFC3339)})
	})
	if err != nil {
		s.Log.ErrorContext(ctx, "record failed login", "err", err)
	}
	if addrLocked != nil {
		s.recordThrottled(ctx, "auth.address_locked", remote, "", map[string]string{"failures": strconv.Itoa(addrLocked.Failures),
			"until": addrLocked.LockedUntil.Format(time.RFC3339)})
	}
}

var errNoSession = models.Errorf(models.EUNAUTHORIZED, "not logged in or session expired")

// touchEvery limits how often a session's last-seen time is written.
const touchEvery = 30 * time.Second

// Authenticate returns the principal of a session cookie. Expired sessions
// (idle or absolute) and sessions of disabled staff are deleted.
func (s *Service) Authenticate(ctx context.Context, cookie string) (*Principal, error) {
	if cookie == "" {
		return nil, errNoSession
	}
	return s.AuthenticateHash(ctx, HashToken(cookie))
}

// AuthenticateHash is Authenticate for the session whose cookie hashes to
// idHash: for a step-up at the identity provider, whose return is a
// cross-site navigation that carries no SameSite=Strict session cookie
// (the sign-in's own state cookie binds it to the browser instead).
func (s *Service) AuthenticateHash(ctx context.Context, idHash string) (*Principal, error) {
	now := s.Now().UTC()
	var p *Principal
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		sess, err := tx.SessionByHash(ctx, idHash)
		if models.ErrorCodeOf(err) == models.ENOTFOUND {
			return errNoSession
		}
		if err != nil {
			return err
		}
		st, err := tx.StaffByID(ctx, sess.StaffID)
		if err != nil {
			return err
		}
		if !st.Active() || now.Sub(sess.LastSeen) > s.Idle || now.Sub(sess.CreatedAt) > s.Absolute {
			if err := tx.DeleteSession(ctx, sess.IDHash); err != nil {
				return err
			}
			p = nil
			return nil
		}
		if now.Sub(sess.LastSeen) > touchEvery {
			if err := tx.TouchSession(ctx, sess.IDHash, now); err != nil {
				return err
			}
			sess.LastSeen = now
		}
		p = &Principal{Staff: st, Session: sess}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errNoSession
	}
	return p, nil
}

// Revalidate tells whether principal p, authenticated earlier for a
// connection that stays open (a call socket), may still act: its staff
// member is enabled, and its session (now the one whose ID hash is
// session: a step-up rotates it) is still live, or its API token is not
// revoked. It returns EFORBIDDEN for a disabled staff member and
// EUNAUTHORIZED for an ended or expired session or a revoked token. The
// open connection counts as activity: the session's last-seen time is
// renewed as Authenticate does, so a long call does not idle its staff out.
func (s *Service) Revalidate(ctx context.Context, p *Principal, session string) error {
	now := s.Now().UTC()
	expired := false
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		st, err := tx.StaffByID(ctx, p.Staff.ID)
		if err != nil {
			return err
		}
		if !st.Active() {
			return models.Errorf(models.EFORBIDDEN, "staff member %s is disabled", st.Username)
		}
		if p.Token != nil {
			tok, err := tx.APITokenByHash(ctx, p.Token.Hash)
			if models.ErrorCodeOf(err) == models.ENOTFOUND {
				return models.Errorf(models.EUNAUTHORIZED, "API token revoked")
			}
			if err != nil {
				return err
			}
			if _, err := tokenRefusal(tok, now); err != nil {
				return err
			}
			return nil
		}
		sess, err := tx.SessionByHash(ctx, session)
		if models.ErrorCodeOf(err) == models.ENOTFOUND || (err == nil && sess.StaffID != st.ID) {
			return errSessionEnded
		}
		if err != nil {
			return err
		}
		if now.Sub(sess.LastSeen) > s.Idle || now.Sub(sess.CreatedAt) > s.Absolute {
			expired = true // deleted, and the transaction commits
			return tx.DeleteSession(ctx, sess.IDHash)
		}
		if now.Sub(sess.LastSeen) > touchEvery {
			return tx.TouchSession(ctx, sess.IDHash, now)
		}
		return nil
	})
	if err == nil && expired {
		err = errSessionEnded
	}
	return err
}

var errSessionEnded = models.Errorf(models.EUNAUTHORIZED, "the session ended (logged out, replaced or expired)")

// Logout ends the principal's session.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	if p.Session == nil {
		return models.Errorf(models.EINVALID, "API tokens do not log out; revoke the token instead")
	}
	return s.Store.Transact(ctx, func(tx models.Tx) error {
		if err := tx.DeleteSession(ctx, p.Session.IDHash); err != nil {
			return err
		}
		return s.event(ctx, tx, p.Actor(), "auth.logout", nil)
	})
}

// StepUp re-checks the password of a logged-in user, rotates the session
// and records the time, so that approvals within StepUpWindow may proceed.
// It returns the new cookie value.
func (s *Service) StepUp(ctx context.Context, p *Principal, password string) (string, error) {
	if p.Session == nil {
		return "", models.Errorf(models.EFORBIDDEN, "step-up needs an interactive session")
	}
	c := counter{scopeStepUp, string(p.Staff.ID)}
	if err := s.reserve(ctx, c); err != nil {
		return "", err
	}
	ok, err := s.checkStepUp(ctx, p, password)
	if err != nil {
		s.release(ctx, c)
		return "", err
	}
	if !ok {
		s.stepUpFailed(ctx, p, c)
		return "", models.Errorf(models.EUNAUTHORIZED, "wrong password")
	}
	return s.rotateStepUp(ctx, p, c, stepUpMethod(p.Staff), FactorPassword)
}

// rotateStepUp records a step-up that succeeded: the session rotates with
// its step-up time, the step-up counter c starts over, and auth.stepup is
// audited with method and factor.
func (s *Service) rotateStepUp(ctx context.Context, p *Principal, c counter, method, factor string) (string, error) {
	cookie, err := NewToken(s.Rand, "")
	if err != nil {
		return "", err
	}
	now := s.Now().UTC()
	next := *p.Session
	next.IDHash, next.StepUpAt, next.LastSeen = HashToken(cookie), now, now
	err = s.Store.Transact(ctx, func(tx models.Tx) error {
		l, err := tx.AuthLimitForUpdate(ctx, c.scope, c.subject)
		if err != nil {
			return err
		}
		l.Failures, l.WindowStart, l.LockedUntil = 0, time.Time{}, time.Time{}
		if err := tx.PutAuthLimit(ctx, l); err != nil {
			return err
		}
		if err := tx.DeleteSession(ctx, p.Session.IDHash); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, &next); err != nil {
			return err
		}
		return s.event(ctx, tx, p.Actor(), "auth.stepup", map[string]string{"method": method, "factor": factor})
	})
	if err != nil {
		return "", fmt.Errorf("step up %s: %w", p.Staff.Username, err)
	}
	p.Session = &next
	return cookie, nil
}

// stepUpFailed records a wrong step-up, keeps it for the owner's next
// login and locks step-up when its failures are used up.
func (s *Service) stepUpFailed(ctx context.Context, p *Principal, c counter) {
	ctx = context.WithoutCancel(ctx) // a caller who hangs up is still counted
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		locked, err := s.failed(ctx, tx, c, &counter{scopeAccount, s.NameHash(p.Staff.Username)})
		if err != nil {
			return err
		}
		if err := s.event(ctx, tx, p.Actor(), "auth.stepup_failed", nil); err != nil {
			return err
		}
		if locked == nil {
			return nil
		}
		return s.event(ctx, tx, p.Actor(), "auth.stepup_locked", map[string]string{"failures": strconv.Itoa(locked.Failures),
			"until": locked.LockedUntil.Format(time.RFC3339)})
	})
	if err != nil {
		s.Log.ErrorContext(ctx, "record failed step-up", "err", err)
	}
}

// stepUpMethod is how st's step-up password is checked.
func stepUpMethod(st *models.Staff) string {
	if st.FromDirectory() {
		return MethodLDAP
	}
	return MethodPassword
}

// StepUpWindow is how long a password re-entry authorizes approvals.
const StepUpWindow = 5 * time.Minute

// SteppedUp reports whether p re-entered their password within the window.
func (s *Service) SteppedUp(p *Principal) bool {
	return p.Session != nil && !p.Session.StepUpAt.IsZero() && s.Now().Sub(p.Session.StepUpAt) <= StepUpWindow
}

// AuthenticateToken returns the principal of a bearer token and records its
// use. A revoked or expired token, or one whose staff member is disabled,
// is refused (EUNAUTHORIZED, saying which) and the refusal audited.
func (s *Service) AuthenticateToken(ctx context.Context, raw, remote string) (*Principal, error) {
	if !strings.HasPrefix(raw, tokenPrefix) {
		return nil, models.Errorf(models.EUNAUTHORIZED, "invalid API token")
	}
	now := s.Now().UTC()
	var p *Principal
	rejected := map[string]string{"remote": remote}
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		tok, err := tx.APITokenByHash(ctx, HashToken(raw))
		if models.ErrorCodeOf(err) == models.ENOTFOUND {
			return models.Errorf(models.EUNAUTHORIZED, "invalid API token")
		}
		if err != nil {
			return err
		}
		st, err := tx.StaffByID(ctx, tok.StaffID)
		if err != nil {
			return err
		}
		if reason, err := tokenRefusal(tok, now); err != nil {
			rejected["token"], rejected["reason"] = string(tok.ID), reason
			return err
		}
		if !st.Active() {
			rejected["token"], rejected["reason"] = string(tok.ID), "staff disabled"
			return models.Errorf(models.EUNAUTHORIZED, "API token refused: its staff member is disabled")
		}
		if err := tx.TouchAPIToken(ctx, tok.ID, now); err != nil {
			return err
		}
		view := *st
		view.Roles = tok.EffectiveRoles(st)
		p = &Principal{Staff: &view, Token: tok}
		return s.event(ctx, tx, p.Actor(), "auth.token_used", map[string]string{"remote": remote})
	})
	if err != nil {
		if models.ErrorCodeOf(err) == models.EUNAUTHORIZED {
			s.recordThrottled(ctx, "auth.token_rejected", remote, rejected["token"], rejected)
		}
		return nil, err
	}
	return p, nil
}

// tokenRefusal says why tok may not be used at now ("revoked",
// "expired"), with the error its holder is answered; "", nil when it may.
func tokenRefusal(tok *models.APIToken, now time.Time) (string, error) {
	switch {
	case tok.RevokedAt != nil:
		return "revoked", models.Errorf(models.EUNAUTHORIZED, "API token %s was revoked at %s", tok.ID, tok.RevokedAt.UTC().Format(time.RFC3339))
	case tok.Expired(now):
		return "expired", models.Errorf(models.EUNAUTHORIZED, "API token %s expired at %s: mint a new one", tok.ID, tok.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return "", nil
}

const tokenPrefix = "idv_"

// CreateStaff adds a staff member.
func (s *Service) CreateStaff(ctx context.Context, actor, username, displayName, password string, roles []models.Role) (*models.Staff, error) {
	username = strings.TrimSpace(username)
	if username == "" || len(username) > 64 || strings.ContainsAny(username, " \t\r\n") {
		return nil, models.Errorf(models.EINVALID, "username must be 1 to 64 characters without spaces")
	}
	if len(roles) == 0 {
		return nil, models.Errorf(models.EINVALID, "at least one role is needed")
	}
	if displayName == "" {
		displayName = username
	}
	hash, err := HashPassword(password)
	if err != nil {
		return nil, err
	}
	id, err := models.NewID(s.Rand, "stf")
	if err != nil {
		return nil, err
	}
	st := &models.Staff{ID: models.StaffID(id), Username: username, DisplayName: displayName, Roles: roles, PasswordHash: hash, CreatedAt: s.Now().UTC(),
		Source: models.SourceLocal}
	err = s.Store.Transact(ctx, func(tx models.Tx) error {
		if err := tx.CreateStaff(ctx, st); err != nil {
			return err
		}
		return s.event(ctx, tx, actor, "staff.created", map[string]string{"staff": id, "username": username, "roles": rolesString(roles)})
	})
	if err != nil {
		return nil, fmt.Errorf("create staff %q: %w", username, err)
	}
	return st, nil
}

func rolesString(roles []models.Role) string {
	parts := make([]string, len(roles))
	for i, r := range roles {
		parts[i] = string(r)
	}
	return strings.Join(parts, ",")
}

// SetDisabled disables (ending every session at once) or re-enables a staff
// member.
func (s *Service) SetDisabled(ctx context.Context, actor, username string, disabled bool) error {
	return s.Store.Transact(ctx, func(tx models.Tx) error {
		st, err := tx.StaffByUsername(ctx, username)
		if err != nil {
			return err
		}
		action := "staff.enabled"
		st.DisabledAt, st.DisabledBy = nil, ""
		if disabled {
			now := s.Now().UTC()
			st.DisabledAt, st.DisabledBy, action = &now, models.DisabledByAdmin, "staff.disabled"
			if err := tx.DeleteStaffSessions(ctx, st.ID); err != nil {
				return err
			}
		}
		if err := tx.UpdateStaff(ctx, st); err != nil {
			return err
		}
		return s.event(ctx, tx, actor, action, map[string]string{"staff": string(st.ID)})
	})
}
