package access

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"remoteidv/models"
)

// KeyPolicy configures security keys and passkeys (WebAuthn). Keys are a
// second factor after the password (not a passwordless sign-in): the
// password keeps the directory and the break-glass admin in charge of who
// may sign in, the key proves who is at the keyboard.
type KeyPolicy struct {
	// RPID is the relying party ID, the host name browsers scope keys to
	// (the public URL's host); empty: security keys are off and their
	// routes answer 503.
	RPID string
	// Origins are the origins a key's answer may come from (the public
	// URL's scheme://host[:port]).
	Origins []string
	// Name is the name browsers show for the relying party.
	Name string
	// Required lists the roles whose members must present a key after
	// the password before role work, and whose decisions need a key's
	// assertion bound to the case and the decision.
	Required []models.Role
	// Enrolment says who vouches for a member's first key: EnrolAdmin
	// (the default) needs a one-time code an admin issued for the member;
	// EnrolSelf trusts the first key registered after the password and a
	// step-up (trust on first use).
	Enrolment string
}

// Enrolment policies of a first key (KeyPolicy.Enrolment).
const (
	EnrolAdmin = "admin"
	EnrolSelf  = "self"
)

// EnrolmentTTL is how long an enrolment code stays valid.
const EnrolmentTTL = 24 * time.Hour

// enrolmentNeeded reports whether a member with no key needs a code.
func (s *Service) enrolmentNeeded() bool { return s.Keys.Enrolment != EnrolSelf }

// EnrolmentNeeded reports whether st must give an enrolment code to
// register a key: the policy asks for one and st has no key yet.
func (s *Service) EnrolmentNeeded(ctx context.Context, st *models.Staff) (bool, error) {
	if !s.enrolmentNeeded() {
		return false, nil
	}
	has, err := s.HasKeys(ctx, st.ID)
	return !has, err
}

// Factor and method of WebAuthn audit events.
const (
	MethodWebAuthn = "webauthn"
	FactorWebAuthn = "webauthn"
)

// Lifetimes of a key ceremony's challenge: a decision's is shorter.
const (
	keyChallengeTTL      = 5 * time.Minute
	decisionChallengeTTL = 2 * time.Minute
	maxKeyName           = 64
	maxKeysPerMember     = 10
)

var errKeysOff = models.Errorf(models.EUNAVAILABLE, "security keys are not configured on this server (IDV_PUBLIC_URL or IDV_WEBAUTHN_RP_ID)")

// relyingParty returns the WebAuthn relying party of the policy.
func (s *Service) relyingParty() (*webauthn.WebAuthn, error) {
	if s.Keys.RPID == "" {
		return nil, errKeysOff
	}
	name := s.Keys.Name
	if name == "" {
		name = "remoteidv"
	}
	rp, err := webauthn.New(&webauthn.Config{RPID: s.Keys.RPID, RPDisplayName: name, RPOrigins: s.Keys.Origins,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: keyChallengeTTL, TimeoutUVD: keyChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: keyChallengeTTL, TimeoutUVD: keyChallengeTTL}}})
	if err != nil {
		return nil, fmt.Errorf("security keys: %w", err)
	}
	return rp, nil
}

// KeyRequired reports whether st's roles require a security key.
func (s *Service) KeyRequired(st *models.Staff) bool {
	return slices.ContainsFunc(s.Keys.Required, st.Has)
}

// KeysOn reports whether security keys are configured.
func (s *Service) KeysOn() bool { return s.Keys.RPID != "" }

// keyUser is a staff member as the WebAuthn library sees them.
type keyUser struct {
	st    *models.Staff
	creds []webauthn.Credential
	rows  []*models.WebAuthnKey
}

func (u *keyUser) WebAuthnID() []byte                         { return []byte(u.st.ID) }
func (u *keyUser) WebAuthnName() string                       { return u.st.Username }
func (u *keyUser) WebAuthnDisplayName() string                { return u.st.DisplayName }
func (u *keyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// row is the stored key of credential ID id.
func (u *keyUser) row(id []byte) *models.WebAuthnKey {
	want := base64.RawURLEncoding.EncodeToString(id)
	for _, r := range u.rows {
		if r.ID == want {
			return r
		}
	}
	return nil
}

func (s *Service) keyUser(ctx context.Context, tx models.Tx, st *models.Staff) (*keyUser, error) {
	rows, err := tx.WebAuthnKeys(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	u := &keyUser{st: st, rows: rows}
	for _, r := range rows {
		var c webauthn.Credential
		if err := json.Unmarshal(r.Credential, &c); err != nil {
			return nil, fmt.Errorf("security key %s of %s: %w", r.Name, st.Username, err)
		}
		u.creds = append(u.creds, c)
	}
	return u, nil
}

// HasKeys reports whether staff member id has at least one key.
func (s *Service) HasKeys(ctx context.Context, id models.StaffID) (bool, error) {
	keys, err := s.ListKeys(ctx, id)
	return len(keys) > 0, err
}

// ListKeys returns staff member id's keys, oldest first.
func (s *Service) ListKeys(ctx context.Context, id models.StaffID) ([]*models.WebAuthnKey, error) {
	var keys []*models.WebAuthnKey
	err := s.Store.Transact(ctx, func(tx models.Tx) (err error) { keys, err = tx.WebAuthnKeys(ctx, id); return })
	if err != nil {
		return nil, fmt.Errorf("list security keys: %w", err)
	}
	return keys, nil
}

// ceremony is what a challenge row keeps of a ceremony: the library's
// state, for a decision the server's random part of the challenge, and
// for a first key the hash of the enrolment code it was begun with.
type ceremony struct {
	Session   webauthn.SessionData `json:"session"`
	Nonce     string               `json:"nonce,omitempty"`
	Enrolment string               `json:"enrolment,omitempty"`
}

// enrolmentAlphabet is Crockford's base32: no I, L, O or U to misread.
const enrolmentAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newEnrolmentCode is 16 base32 characters (80 random bits) in groups of
// four, short enough to read out over the phone; with the key counters'
// lock after 5 refusals it cannot be guessed.
func newEnrolmentCode(r io.Reader) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("new enrolment code: %w", err)
	}
	var out strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			out.WriteByte('-')
		}
		out.WriteByte(enrolmentAlphabet[int(c)%len(enrolmentAlphabet)]) // 256 is a multiple of 32: no bias
	}
	return out.String(), nil
}

// enrolmentHash is the stored hash of a code as typed: case, spaces and
// dashes do not matter.
func enrolmentHash(code string) string {
	c := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, code)
	return HashToken(c)
}

// IssueEnrolment issues a one-time code with which the member named
// username registers their first security key (IDV_WEBAUTHN_ENROLMENT=admin):
// valid for EnrolmentTTL, used once, only its hash stored; a new code
// replaces the member's unused one. actor is who issues it (an admin, not
// for themselves: someone else vouches for the key; the operator's
// command line is system:cli, self empty). Audited as
// auth.webauthn_enrolment_issued.
func (s *Service) IssueEnrolment(ctx context.Context, actor string, self models.StaffID, username, remote string) (string, time.Time, error) {
	if !s.KeysOn() {
		return "", time.Time{}, errKeysOff
	}
	code, err := newEnrolmentCode(s.Rand)
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.Now().UTC()
	e := &models.WebAuthnEnrolment{Hash: enrolmentHash(code), IssuedBy: actor, CreatedAt: now, ExpiresAt: now.Add(EnrolmentTTL)}
	err = s.Store.Transact(ctx, func(tx models.Tx) error {
		st, err := tx.StaffByUsername(ctx, username)
		if err != nil {
			return err
		}
		if self != "" && st.ID == self {
			return models.Errorf(models.EFORBIDDEN, "another admin must issue your enrolment code: nobody vouches for their own key")
		}
		if !st.Active() {
			return models.Errorf(models.ECONFLICT, "%s is disabled", st.Username)
		}
		e.StaffID = st.ID
		if err := tx.CreateWebAuthnEnrolment(ctx, e); err != nil {
			return err
		}
		return s.event(ctx, tx, actor, "auth.webauthn_enrolment_issued", map[string]string{"method": MethodWebAuthn, "factor": FactorWebAuthn,
			"remote": remote, "staff": string(st.ID), "username": st.Username, "expires": e.ExpiresAt.Format(time.RFC3339)})
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue enrolment code for %q: %w", username, err)
	}
	return code, e.ExpiresAt, nil
}

// checkEnrolment returns the refusal of code for p (with its reason for
// the audit trail), or nil.
func (s *Service) checkEnrolment(ctx context.Context, p *Principal, code string) (string, error) {
	if strings.TrimSpace(code) == "" {
		return "no enrolment code", models.Errorf(models.EFORBIDDEN, "your first security key needs the one-time enrolment code an admin issues for you")
	}
	var e *models.WebAuthnEnrolment
	err := s.Store.Transact(ctx, func(tx models.Tx) (err error) { e, err = tx.WebAuthnEnrolment(ctx, enrolmentHash(code)); return })
	switch {
	case models.ErrorCodeOf(err) == models.ENOTFOUND:
		return "unknown enrolment code", models.Errorf(models.EFORBIDDEN, "the enrolment code is not valid: ask an admin for a new one")
	case err != nil:
		return "", fmt.Errorf("check enrolment code: %w", err)
	case e.StaffID != p.Staff.ID:
		return "enrolment code of another member", models.Errorf(models.EFORBIDDEN, "the enrolment code is not valid: ask an admin for a new one")
	case e.UsedAt != nil:
		return "enrolment code used", models.Errorf(models.EFORBIDDEN, "the enrolment code was used already: ask an admin for a new one")
	case !s.Now().Before(e.ExpiresAt):
		return "enrolment code expired", models.Errorf(models.EFORBIDDEN, "the enrolment code expired: ask an admin for a new one")
	}
	return "", nil
}

// keySession returns p's session or the refusal of a token.
func keySession(p *Principal) (*models.StaffSession, error) {
	if p.Session == nil {
		return nil, models.Errorf(models.EFORBIDDEN, "security keys need an interactive session (sign in in a browser), not an API token")
	}
	return p.Session, nil
}

// store keeps a ceremony under way for p.
func (s *Service) storeCeremony(ctx context.Context, p *Principal, purpose, binding string, c ceremony, ttl time.Duration) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("store security key challenge: %w", err)
	}
	row := &models.WebAuthnChallenge{Hash: HashToken(c.Session.Challenge), StaffID: p.Staff.ID, SessionHash: p.Session.IDHash,
		Purpose: purpose, Binding: binding, Ceremony: b, ExpiresAt: s.Now().UTC().Add(ttl)}
	return s.Store.Transact(ctx, func(tx models.Tx) error { return tx.CreateWebAuthnChallenge(ctx, row) })
}

// takeCeremony takes (once) the ceremony the browser's answer names by
// its challenge and checks it is p's, of this session, for purpose and
// live. The row is gone whatever the outcome: a challenge is used once.
func (s *Service) takeCeremony(ctx context.Context, p *Principal, purpose, challenge string) (*models.WebAuthnChallenge, *ceremony, string, error) {
	var row *models.WebAuthnChallenge
	err := s.Store.Transact(ctx, func(tx models.Tx) (err error) { row, err = tx.TakeWebAuthnChallenge(ctx, HashToken(challenge)); return })
	switch {
	case models.ErrorCodeOf(err) == models.ENOTFOUND:
		return nil, nil, "unknown or used challenge", models.Errorf(models.EUNAUTHORIZED, "the security key answered an unknown or already used challenge: ask for a new one")
	case err != nil:
		return nil, nil, "", fmt.Errorf("security key challenge: %w", err)
	case row.StaffID != p.Staff.ID || row.SessionHash != p.Session.IDHash:
		return nil, nil, "challenge of another session", models.Errorf(models.EUNAUTHORIZED, "the challenge was issued to another session")
	case row.Purpose != purpose:
		return nil, nil, "challenge for " + row.Purpose, models.Errorf(models.EUNAUTHORIZED, "the challenge was issued for %s, not %s", row.Purpose, purpose)
	case s.Now().After(row.ExpiresAt):
		return nil, nil, "challenge expired", models.Errorf(models.EUNAUTHORIZED, "the challenge expired: ask for a new one")
	}
	var c ceremony
	if err := json.Unmarshal(row.Ceremony, &c); err != nil {
		return nil, nil, "", fmt.Errorf("security key challenge: %w", err)
	}
	c.Session.Expires = time.Time{} // checked above, on the service's clock
	return row, &c, "", nil
}

// keyCounter is the counter of p's failed key answers: the step-up
// counters' scope and policy (IDV_STEPUP_LOCK_AFTER failures lock key
// answers for IDV_LOGIN_LOCK_FOR), a subject of its own, so that a
// password step-up, which a thief holding the session and the password
// can pass, does not start the key's count over. Only a key's accepted
// answer does.
func keyCounter(p *Principal) counter {
	return counter{scopeStepUp, "webauthn:" + string(p.Staff.ID)}
}

// keyFailed settles a refused key answer: it stays counted on c (locking
// key answers when the failures are used up, and kept for the owner's
// next login), and is audited in the shape of the sign-in events
// (auth.webauthn_failed, and auth.stepup_locked with factor webauthn when
// it locks). It returns err.
func (s *Service) keyFailed(ctx context.Context, p *Principal, c counter, purpose, remote, reason string, caseID models.CaseID, err error) error {
	if reason == "" {
		reason = models.ErrorMessageOf(err)
	}
	d := map[string]string{"method": MethodWebAuthn, "factor": FactorWebAuthn, "remote": remote, "purpose": purpose, "reason": reason}
	ctx = context.WithoutCancel(ctx) // a caller who hangs up is still counted
	if aerr := s.Store.Transact(ctx, func(tx models.Tx) error {
		locked, err := s.failed(ctx, tx, c, &counter{scopeAccount, s.NameHash(p.Staff.Username)})
		if err != nil {
			return err
		}
		if err := s.Chain.Append(ctx, tx, &models.AuditEvent{Actor: p.Actor(), Action: "auth.webauthn_failed", CaseID: caseID, Detail: d}); err != nil {
			return err
		}
		if locked == nil {
			return nil
		}
		return s.event(ctx, tx, p.Actor(), "auth.stepup_locked", map[string]string{"method": MethodWebAuthn, "factor": FactorWebAuthn,
			"remote": remote, "failures": strconv.Itoa(locked.Failures), "until": locked.LockedUntil.Format(time.RFC3339)})
	}); aerr != nil {
		s.Log.ErrorContext(ctx, "record refused security key", "err", aerr)
	}
	return err
}

// keyAttempt counts a key answer of p before it is checked, or refuses it
// (a LimitError, 429) when key answers are locked or in their delay; it
// returns the counter. An attempt that ends without a verdict on the key
// (a fault of the server) is given back with release.
func (s *Service) keyAttempt(ctx context.Context, p *Principal) (counter, error) {
	c := keyCounter(p)
	return c, s.reserve(ctx, c)
}

// keyAccepted starts c over in tx: a key answered.
func keyAccepted(ctx context.Context, tx models.Tx, c counter) error {
	l, err := tx.AuthLimitForUpdate(ctx, c.scope, c.subject)
	if err != nil {
		return err
	}
	l.Failures, l.WindowStart, l.LockedUntil = 0, time.Time{}, time.Time{}
	return tx.PutAuthLimit(ctx, l)
}

// BeginKeyRegistration starts adding a security key named name for p. It
// needs a fresh step-up (StepUpWindow); a member who already has keys
// must also have presented one within the window, so neither a stolen
// password nor a stolen session can add a key to an account that has one.
//
// A member with no key needs code, a one-time enrolment code an admin
// issued for them, unless the policy is EnrolSelf; a refused code counts
// like a refused key answer.
func (s *Service) BeginKeyRegistration(ctx context.Context, p *Principal, name, code, remote string) (*protocol.CredentialCreation, error) {
	sess, err := keySession(p)
	if err != nil {
		return nil, err
	}
	rp, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > maxKeyName || strings.ContainsAny(name, "\r\n\t") {
		return nil, models.Errorf(models.EINVALID, "a key needs a name of 1 to %d characters", maxKeyName)
	}
	if !s.SteppedUp(p) {
		return nil, models.Errorf(models.EFORBIDDEN, "re-enter your password (POST /api/auth/step-up) within %d minutes before adding a key", int(StepUpWindow.Minutes()))
	}
	var u *keyUser
	if err := s.Store.Transact(ctx, func(tx models.Tx) (err error) { u, err = s.keyUser(ctx, tx, p.Staff); return }); err != nil {
		return nil, fmt.Errorf("begin key registration: %w", err)
	}
	if len(u.rows) > 0 && (sess.KeyAt.IsZero() || s.Now().Sub(sess.KeyAt) > StepUpWindow) {
		return nil, models.Errorf(models.EFORBIDDEN, "present one of your security keys (POST /api/auth/key) within %d minutes before adding another", int(StepUpWindow.Minutes()))
	}
	if len(u.rows) >= maxKeysPerMember {
		return nil, models.Errorf(models.ECONFLICT, "you have %d keys, the most one member may have: remove one first", len(u.rows))
	}
	var enrolment string
	if len(u.rows) == 0 && s.enrolmentNeeded() {
		cnt, err := s.keyAttempt(ctx, p)
		if err != nil {
			return nil, err
		}
		reason, err := s.checkEnrolment(ctx, p, code)
		switch {
		case err != nil && reason == "":
			s.release(ctx, cnt)
			return nil, err
		case err != nil:
			return nil, s.keyFailed(ctx, p, cnt, models.KeyRegister, remote, reason, "", err)
		}
		s.release(ctx, cnt)
		enrolment = enrolmentHash(code)
	}
	opts, cs, err := rp.BeginRegistration(u, webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{UserVerification: protocol.VerificationPreferred,
			ResidentKey: protocol.ResidentKeyRequirementDiscouraged}))
	if err != nil {
		return nil, fmt.Errorf("begin key registration: %w", err)
	}
	if err := s.storeCeremony(ctx, p, models.KeyRegister, name, ceremony{Session: *cs, Enrolment: enrolment}, keyChallengeTTL); err != nil {
		return nil, err
	}
	return opts, nil
}

// FinishKeyRegistration checks the browser's answer (the
// PublicKeyCredential as JSON) to p's registration challenge and stores
// the key. Registering a key counts as presenting it in this session.
func (s *Service) FinishKeyRegistration(ctx context.Context, p *Principal, response []byte, remote string) (*models.WebAuthnKey, error) {
	if _, err := keySession(p); err != nil {
		return nil, err
	}
	rp, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	cnt, err := s.keyAttempt(ctx, p)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, s.keyFailed(ctx, p, cnt, models.KeyRegister, remote, "unreadable answer", "", models.Errorf(models.EINVALID, "the security key's answer cannot be read"))
	}
	row, c, reason, err := s.takeCeremony(ctx, p, models.KeyRegister, parsed.Response.CollectedClientData.Challenge)
	if err != nil {
		if reason == "" {
			s.release(ctx, cnt)
			return nil, err
		}
		return nil, s.keyFailed(ctx, p, cnt, models.KeyRegister, remote, reason, "", err)
	}
	var u *keyUser
	if err := s.Store.Transact(ctx, func(tx models.Tx) (err error) { u, err = s.keyUser(ctx, tx, p.Staff); return }); err != nil {
		s.release(ctx, cnt)
		return nil, fmt.Errorf("finish key registration: %w", err)
	}
	cred, err := rp.CreateCredential(u, c.Session, parsed)
	if err != nil {
		return nil, s.keyFailed(ctx, p, cnt, models.KeyRegister, remote, libraryReason(err), "", models.Errorf(models.EUNAUTHORIZED, "the security key's answer does not verify"))
	}
	b, err := json.Marshal(cred)
	if err != nil {
		s.release(ctx, cnt)
		return nil, fmt.Errorf("finish key registration: %w", err)
	}
	now := s.Now().UTC()
	k := &models.WebAuthnKey{ID: base64.RawURLEncoding.EncodeToString(cred.ID), StaffID: p.Staff.ID, Name: row.Binding, Credential: b, CreatedAt: now}
	detail := map[string]string{"method": MethodWebAuthn, "factor": FactorWebAuthn, "remote": remote, "key": k.Name, "credential": shortID(k.ID)}
	var refused string // why the enrolment code no longer holds
	err = s.Store.Transact(ctx, func(tx models.Tx) error {
		refused = ""
		if c.Enrolment != "" {
			// The code is spent with the key's creation, once: of two
			// ceremonies begun with one code, one registers a key.
			e, err := tx.WebAuthnEnrolment(ctx, c.Enrolment)
			if err != nil {
				return err
			}
			switch err := tx.UseWebAuthnEnrolment(ctx, c.Enrolment, now); {
			case models.ErrorCodeOf(err) == models.ECONFLICT:
				refused = "enrolment code used"
				return err
			case err != nil:
				return err
			case !now.Before(e.ExpiresAt):
				refused = "enrolment code expired"
				return models.Errorf(models.EFORBIDDEN, "the enrolment code expired: ask an admin for a new one")
			}
			detail["enrolment_issued_by"] = e.IssuedBy
		}
		if err := tx.CreateWebAuthnKey(ctx, k); err != nil {
			if models.ErrorCodeOf(err) == models.ECONFLICT {
				return models.Errorf(models.ECONFLICT, "this key is already registered")
			}
			return err
		}
		if err := tx.SetSessionKey(ctx, p.Session.IDHash, now); err != nil {
			return err
		}
		if err := keyAccepted(ctx, tx, cnt); err != nil {
			return err
		}
		return s.event(ctx, tx, p.Actor(), "auth.webauthn_registered", detail)
	})
	if refused != "" {
		return nil, s.keyFailed(ctx, p, cnt, models.KeyRegister, remote, refused, "",
			models.Errorf(models.EFORBIDDEN, "the enrolment code was used already or expired: ask an admin for a new one"))
	}
	if err != nil {
		if models.ErrorCodeOf(err) != models.ECONFLICT {
			s.release(ctx, cnt)
		}
		return nil, fmt.Errorf("finish key registration: %w", err)
	}
	p.Session.KeyAt = now
	return k, nil
}

// RemoveKey removes one of p's own keys.
func (s *Service) RemoveKey(ctx context.Context, p *Principal, keyID, remote string) error {
	if _, err := keySession(p); err != nil {
		return err
	}
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		keys, err := tx.WebAuthnKeys(ctx, p.Staff.ID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(keys, func(k *models.WebAuthnKey) bool { return k.ID == keyID })
		if i < 0 {
			return models.Errorf(models.ENOTFOUND, "you have no key %q", keyID)
		}
		if err := tx.DeleteWebAuthnKey(ctx, p.Staff.ID, keyID); err != nil {
			return err
		}
		return s.event(ctx, tx, p.Actor(), "auth.webauthn_removed", map[string]string{"method": MethodWebAuthn, "factor": FactorWebAuthn,
			"remote": remote, "key": keys[i].Name, "credential": shortID(keyID), "left": fmt.Sprint(len(keys) - 1)})
	})
	if err != nil {
		return fmt.Errorf("remove security key: %w", err)
	}
	return nil
}

// ResetKeys is the recovery of a lost key: an admin (actor) removes every
// key of the member named username, with a reason, and ends their
// sessions. Their next sign-in asks them to register a key again (when
// their role requires one) after the password and a step-up.
func (s *Service) ResetKeys(ctx context.Context, actor *Principal, username, reason, remote string) (int, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return 0, models.Errorf(models.EINVALID, "a reason of 1 to 500 characters is required")
	}
	var n int
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		st, err := tx.StaffByUsername(ctx, username)
		if err != nil {
			return err
		}
		if n, err = tx.DeleteWebAuthnKeys(ctx, st.ID); err != nil {
			return err
		}
		if err := tx.DeleteStaffSessions(ctx, st.ID); err != nil {
			return err
		}
		return s.event(ctx, tx, actor.Actor(), "auth.webauthn_reset", map[string]string{"method": MethodWebAuthn, "factor": FactorWebAuthn,
			"remote": remote, "staff": string(st.ID), "username": st.Username, "removed": fmt.Sprint(n), "reason": reason})
	})
	if err != nil {
		return 0, fmt.Errorf("reset security keys of %q: %w", username, err)
	}
	return n, nil
}

// BeginKeySignIn starts the second factor of p's sign-in: an assertion
// by one of their keys.
func (s *Service) BeginKeySignIn(ctx context.Context, p *Principal) (*protocol.CredentialAssertion, error) {
	return s.beginAssertion(ctx, p, models.KeySignIn, "", nil, keyChallengeTTL)
}

// FinishKeySignIn checks the key's answer to p's sign-in challenge and
// records in the session that a key was presented: role work may begin.
func (s *Service) FinishKeySignIn(ctx context.Context, p *Principal, response []byte, remote string) error {
	_, err := s.finishAssertion(ctx, p, models.KeySignIn, "", response, remote, "")
	return err
}

// DecisionBinding is what a decision's key assertion covers.
type DecisionBinding struct {
	CaseID          models.CaseID
	Decision        models.Decision
	StatementSHA256 string // empty when none (a rejection)
}

func (d DecisionBinding) String() string {
	return string(d.CaseID) + "\x00" + string(d.Decision) + "\x00" + d.StatementSHA256
}

// decisionChallenge is the challenge of a decision: SHA-256(nonce || case
// ID || 0 || decision || 0 || statement hash). The browser's key signs
// it, so the assertion proves that the key's holder chose this decision
// on this case (and this statement).
func decisionChallenge(nonce []byte, d DecisionBinding) []byte {
	h := sha256.New()
	h.Write(nonce)
	io.WriteString(h, d.String())
	return h.Sum(nil)
}

// BeginDecisionKey returns the challenge for p's decision d, valid once
// for two minutes.
func (s *Service) BeginDecisionKey(ctx context.Context, p *Principal, d DecisionBinding) (*protocol.CredentialAssertion, error) {
	if d.CaseID == "" || (d.Decision != models.DecisionApprove && d.Decision != models.DecisionReject) {
		return nil, models.Errorf(models.EINVALID, "a decision (approve or reject) on a case is needed")
	}
	nonce := make([]byte, 32)
	if _, err := io.ReadFull(s.Rand, nonce); err != nil {
		return nil, fmt.Errorf("decision challenge: %w", err)
	}
	return s.beginAssertion(ctx, p, models.KeyDecision, d.String(), nonce, decisionChallengeTTL)
}

// VerifyDecisionKey checks the key's answer for p's decision d: the
// challenge it signed must be the one issued to p's session for exactly
// this case, decision and statement, unused and live. The challenge is
// spent whatever the outcome.
func (s *Service) VerifyDecisionKey(ctx context.Context, p *Principal, d DecisionBinding, response []byte, remote string) error {
	_, err := s.finishAssertion(ctx, p, models.KeyDecision, d.String(), response, remote, d.CaseID)
	return err
}

func (s *Service) beginAssertion(ctx context.Context, p *Principal, purpose, binding string, nonce []byte, ttl time.Duration) (*protocol.CredentialAssertion, error) {
	if _, err := keySession(p); err != nil {
		return nil, err
	}
	rp, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	var u *keyUser
	if err := s.Store.Transact(ctx, func(tx models.Tx) (err error) { u, err = s.keyUser(ctx, tx, p.Staff); return }); err != nil {
		return nil, fmt.Errorf("begin key assertion: %w", err)
	}
	if len(u.creds) == 0 {
		return nil, models.Errorf(models.EPRECONDITION, "you have no security key: register one on the key page (/keys)")
	}
	opts := []webauthn.LoginOption{webauthn.WithUserVerification(protocol.VerificationPreferred)}
	if nonce != nil {
		opts = append(opts, webauthn.WithChallenge(decisionChallenge(nonce, mustBinding(binding))))
	}
	a, cs, err := rp.BeginLogin(u, opts...)
	if err != nil {
		return nil, fmt.Errorf("begin key assertion: %w", err)
	}
	c := ceremony{Session: *cs}
	if nonce != nil {
		c.Nonce = hex.EncodeToString(nonce)
	}
	if err := s.storeCeremony(ctx, p, purpose, binding, c, ttl); err != nil {
		return nil, err
	}
	return a, nil
}

// mustBinding parses DecisionBinding.String back (its parts hold no NUL).
func mustBinding(b string) DecisionBinding {
	parts := strings.SplitN(b, "\x00", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	return DecisionBinding{CaseID: models.CaseID(parts[0]), Decision: models.Decision(parts[1]), StatementSHA256: parts[2]}
}

// finishAssertion checks an assertion for purpose (and binding), records
// the key's use and the session's key time, and audits the outcome.
func (s *Service) finishAssertion(ctx context.Context, p *Principal, purpose, binding string, response []byte, remote string, caseID models.CaseID) (*models.WebAuthnKey, error) {
	if _, err := keySession(p); err != nil {
		return nil, err
	}
	rp, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	cnt, err := s.keyAttempt(ctx, p)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, s.keyFailed(ctx, p, cnt, purpose, remote, "unreadable answer", caseID, models.Errorf(models.EINVALID, "the security key's answer cannot be read"))
	}
	row, c, reason, err := s.takeCeremony(ctx, p, purpose, parsed.Response.CollectedClientData.Challenge)
	if err != nil {
		if reason == "" {
			s.release(ctx, cnt)
			return nil, err
		}
		return nil, s.keyFailed(ctx, p, cnt, purpose, remote, reason, caseID, err)
	}
	if purpose == models.KeyDecision {
		nonce, _ := hex.DecodeString(c.Nonce)
		want := base64.RawURLEncoding.EncodeToString(decisionChallenge(nonce, mustBinding(binding)))
		if row.Binding != binding || !hmac.Equal([]byte(want), []byte(c.Session.Challenge)) {
			return nil, s.keyFailed(ctx, p, cnt, purpose, remote, "signed for another case or decision", caseID,
				models.Errorf(models.EFORBIDDEN, "the security key signed for another case or decision: ask for the challenge of this decision"))
		}
	}
	var u *keyUser
	if err := s.Store.Transact(ctx, func(tx models.Tx) (err error) { u, err = s.keyUser(ctx, tx, p.Staff); return }); err != nil {
		s.release(ctx, cnt)
		return nil, fmt.Errorf("finish key assertion: %w", err)
	}
	cred, err := rp.ValidateLogin(u, c.Session, parsed)
	if err != nil {
		return nil, s.keyFailed(ctx, p, cnt, purpose, remote, libraryReason(err), caseID, models.Errorf(models.EUNAUTHORIZED, "the security key's answer does not verify"))
	}
	if cred.Authenticator.CloneWarning {
		return nil, s.keyFailed(ctx, p, cnt, purpose, remote, "sign count went back (cloned key?)", caseID,
			models.Errorf(models.EUNAUTHORIZED, "the security key's counter went back: it may have been copied; ask an admin"))
	}
	k := u.row(cred.ID)
	if k == nil {
		s.release(ctx, cnt)
		return nil, fmt.Errorf("finish key assertion: credential %s not stored", shortID(base64.RawURLEncoding.EncodeToString(cred.ID)))
	}
	b, err := json.Marshal(cred)
	if err != nil {
		s.release(ctx, cnt)
		return nil, fmt.Errorf("finish key assertion: %w", err)
	}
	now := s.Now().UTC()
	action := "auth.webauthn_signin"
	d := map[string]string{"method": MethodWebAuthn, "factor": FactorWebAuthn, "remote": remote, "key": k.Name, "credential": shortID(k.ID)}
	if purpose == models.KeyDecision {
		action = "auth.webauthn_stepup"
		bd := mustBinding(binding)
		d["decision"] = string(bd.Decision)
		if bd.StatementSHA256 != "" {
			d["statement_sha256"] = bd.StatementSHA256
		}
	}
	err = s.Store.Transact(ctx, func(tx models.Tx) error {
		if err := tx.UpdateWebAuthnKeyUse(ctx, k.ID, b, now); err != nil {
			return err
		}
		if err := tx.SetSessionKey(ctx, p.Session.IDHash, now); err != nil {
			return err
		}
		if err := keyAccepted(ctx, tx, cnt); err != nil {
			return err
		}
		return s.Chain.Append(ctx, tx, &models.AuditEvent{Actor: p.Actor(), Action: action, CaseID: caseID, Detail: d})
	})
	if err != nil {
		s.release(ctx, cnt)
		return nil, fmt.Errorf("finish key assertion: %w", err)
	}
	p.Session.KeyAt = now
	return k, nil
}

// libraryReason is the WebAuthn library's short account of a refusal.
func libraryReason(err error) string {
	if pe, ok := err.(*protocol.Error); ok && pe.Details != "" {
		return pe.Details
	}
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}

// shortID is the start of a credential ID, enough to tell keys apart in
// the audit trail.
func shortID(id string) string {
	if len(id) > 16 {
		return id[:16]
	}
	return id
}
