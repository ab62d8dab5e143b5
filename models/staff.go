package models

import (
	"slices"
	"strings"
	"time"
)

// Role is a staff role. One person may hold several.
type Role string

// The staff roles.
const (
	RoleClerk      Role = "clerk"      // runs calls and checks
	RoleSupervisor Role = "supervisor" // approves (four eyes)
	RoleAuditor    Role = "auditor"    // reads cases and evidence, changes nothing
	RoleAdmin      Role = "admin"      // manages staff, accounts and settings
)

// Roles lists every role in a stable order.
var Roles = []Role{RoleClerk, RoleSupervisor, RoleAuditor, RoleAdmin}

func (r Role) String() string { return string(r) }

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Roles, r) {
		return "", Errorf(EINVALID, "unknown role %q (want clerk, supervisor, auditor or admin)", s)
	}
	return r, nil
}

// Staff is a member of the bank's staff who can log in.
type Staff struct {
	ID           StaffID
	Username     string
	DisplayName  string
	Roles        []Role
	PasswordHash string // argon2id, PHC string format; "" for directory staff
	// Email is where staff notifications are mailed ("" for none);
	// Language is theirs ("en", "zh-CN"; "" reads as English).
	Email      string
	Language   string
	DisabledAt *time.Time
	CreatedAt  time.Time
	// Source is where the member's identity lives: SourceLocal (a password
	// kept here), SourceLDAP (the bank's directory) or SourceOIDC (the
	// bank's OpenID Connect provider); the last two have no local password.
	Source StaffSource
	// DirectoryDN is the outside identity of the member: the directory
	// entry of a SourceLDAP member, "issuer subject" (OIDCIdentity) of a
	// SourceOIDC one.
	DirectoryDN string
	// DisabledBy says who disabled the member: DisabledByAdmin (also ""
	// for rows older than the field) or DisabledByDirectory (the member's
	// outside source: the directory, or the identity provider for a
	// SourceOIDC member), which a later sign-in through that source may
	// lift.
	DisabledBy string
}

// StaffSource is where a staff member's identity and password live.
type StaffSource string

// The sources of staff identities.
const (
	SourceLocal StaffSource = "local" // password hash in this database (small deployments, break-glass admin)
	SourceLDAP  StaffSource = "ldap"  // the bank's LDAP / Active Directory; roles follow its groups
	SourceOIDC  StaffSource = "oidc"  // the bank's OpenID Connect provider; roles follow its groups claim
)

func (s StaffSource) String() string { return string(s) }

// Who disabled a staff member (Staff.DisabledBy).
const (
	DisabledByAdmin     = "admin"
	DisabledByDirectory = "directory"
)

// NoPassword is the password hash of directory staff: it has the shape the
// schema asks for and matches no password (CheckPassword refuses it).
const NoPassword = "$argon2id$directory-account"

// FromDirectory reports whether the member signs in through the directory.
func (s *Staff) FromDirectory() bool { return s.Source == SourceLDAP }

// FromOIDC reports whether the member signs in through the bank's OpenID
// Connect provider.
func (s *Staff) FromOIDC() bool { return s.Source == SourceOIDC }

// External reports whether the member's identity lives outside this
// service (directory or identity provider), so no local password exists.
func (s *Staff) External() bool { return s.FromDirectory() || s.FromOIDC() }

// OIDCIdentity is the DirectoryDN of a SourceOIDC member: the issuer and
// the subject, which together name one person for good (a username may be
// given to someone else later; the subject may not).
func OIDCIdentity(issuer, subject string) string { return issuer + " " + subject }

// Has reports whether the staff member holds role r.
func (s *Staff) Has(r Role) bool { return slices.Contains(s.Roles, r) }

// Active reports whether the staff member may log in.
func (s *Staff) Active() bool { return s.DisabledAt == nil }

// StaffSession is a server-side login session. Only the SHA-256 of the
// session cookie's value is stored.
type StaffSession struct {
	IDHash    string // hex SHA-256 of the cookie value
	StaffID   StaffID
	CSRFToken string
	CreatedAt time.Time
	LastSeen  time.Time
	// StepUpAt is the last time the user re-entered their password in this
	// session (zero when never); approvals need a recent one.
	StepUpAt time.Time
	// KeyRequired: role work waits until a security key is presented in
	// this session (KeyAt), or registered when the member has none. Set
	// at sign-in for members who have a key or whose role requires one.
	KeyRequired bool
	// KeyAt is the last time a security key was presented (or registered)
	// in this session; zero when never.
	KeyAt time.Time
}

// KeyPending reports whether the session still waits for a security key
// before role work.
func (s *StaffSession) KeyPending() bool { return s.KeyRequired && s.KeyAt.IsZero() }

// StaffActor is the audit actor of a member of staff signed in with a
// session.
func StaffActor(id StaffID) string { return "staff:" + string(id) }

// TokenActor is the audit actor of an API token; the token acts as its
// staff member, so what it does counts as theirs.
func TokenActor(id TokenID) string { return "token:" + string(id) }

// APIToken is a bearer token for integrations. Only its SHA-256 is stored.
// It acts as its staff member (StaffID), with at most the roles of its
// Scope: what it may do is Scope narrowed to the roles the member holds at
// the time of each request (EffectiveRoles).
type APIToken struct {
	ID        TokenID
	StaffID   StaffID
	Name      string
	Hash      string
	Scope     []Role // never empty; a subset of the member's roles when minted
	CreatedAt time.Time
	ExpiresAt time.Time
	LastUsed  *time.Time
	RevokedAt *time.Time
}

// Expired reports whether the token's lifetime is over at now.
func (t *APIToken) Expired(now time.Time) bool { return !now.Before(t.ExpiresAt) }

// State is "revoked", "expired" or "live", as token listings show it.
func (t *APIToken) State(now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case t.Expired(now):
		return "expired"
	}
	return "live"
}

// EffectiveRoles is what the token may do for st, its staff member, now:
// the roles of its scope that st still holds, in the order of Roles.
func (t *APIToken) EffectiveRoles(st *Staff) []Role {
	var out []Role
	for _, r := range Roles {
		if slices.Contains(t.Scope, r) && st.Has(r) {
			out = append(out, r)
		}
	}
	return out
}
