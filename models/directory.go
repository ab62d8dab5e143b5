package models

import (
	"context"
	"slices"
	"strings"
	"time"
)

// DirectoryEntry is a staff account as the bank's directory (LDAP / Active
// Directory) holds it.
type DirectoryEntry struct {
	DN          string   // the entry's distinguished name
	Username    string   // the sign-in name as the directory spells it
	DisplayName string   // "" when the directory has none
	Groups      []string // group DNs (or names) the account belongs to
	Roles       []Role   // the roles its groups map to; empty: no mapped group
	// AuthTime is when the user last authenticated at an identity
	// provider (IdentityProvider.Exchange); zero for a directory.
	AuthTime time.Time
}

// Directory is the bank's staff directory.
type Directory interface {
	// Authenticate finds username's account and checks password by
	// binding as it. It returns EUNAUTHORIZED for a wrong password,
	// ENOTFOUND when no enabled account has that name (gone, disabled, or
	// outside the search), and EUNAVAILABLE when the directory cannot be
	// reached or refuses the service account.
	Authenticate(ctx context.Context, username, password string) (*DirectoryEntry, error)
	// Lookup finds username's enabled account without a password (the
	// periodic check): ENOTFOUND when there is none, EUNAVAILABLE as above.
	Lookup(ctx context.Context, username string) (*DirectoryEntry, error)
}

// GroupRole maps one directory group to one role.
type GroupRole struct {
	Group string // a DN (cn=idv-clerks,ou=groups,dc=bank,dc=example) or a plain name
	Role  Role
}

// ParseGroupRoles reads "role=group;role=group" (a group may repeat for
// several roles, a role for several groups). Groups are DNs or names.
func ParseGroupRoles(s string) ([]GroupRole, error) {
	var out []GroupRole
	for _, part := range strings.Split(s, ";") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		r, g, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(g) == "" {
			return nil, Errorf(EINVALID, "%q is not role=group", part)
		}
		role, err := ParseRole(r)
		if err != nil {
			return nil, err
		}
		out = append(out, GroupRole{Group: strings.TrimSpace(g), Role: role})
	}
	return out, nil
}

// RolesOf returns the roles that groups map to under m, in the order of
// Roles, each once. Groups compare as DNs: case and the spaces around
// commas and equals signs do not matter.
func RolesOf(m []GroupRole, groups []string) []Role {
	have := make(map[string]bool, len(groups))
	for _, g := range groups {
		have[NormalizeDN(g)] = true
	}
	var out []Role
	for _, gr := range m {
		if have[NormalizeDN(gr.Group)] && !slices.Contains(out, gr.Role) {
			out = append(out, gr.Role)
		}
	}
	slices.SortFunc(out, func(a, b Role) int { return slices.Index(Roles, a) - slices.Index(Roles, b) })
	return out
}

// NormalizeDN lower-cases a DN and drops the spaces around its separators
// ("CN=Clerks, OU=Groups" and "cn=clerks,ou=groups" are one group). It
// keeps escaped separators as they are; a plain name is lower-cased.
func NormalizeDN(dn string) string {
	var b strings.Builder
	var rdn strings.Builder
	flush := func() {
		k, v, ok := strings.Cut(rdn.String(), "=")
		if ok {
			b.WriteString(strings.ToLower(strings.TrimSpace(k)) + "=" + strings.ToLower(strings.TrimSpace(v)))
		} else {
			b.WriteString(strings.ToLower(strings.TrimSpace(k)))
		}
		rdn.Reset()
	}
	esc := false
	for _, r := range dn {
		switch {
		case esc:
			rdn.WriteRune(r)
			esc = false
		case r == '\\':
			rdn.WriteRune(r)
			esc = true
		case r == ',':
			flush()
			b.WriteByte(',')
		default:
			rdn.WriteRune(r)
		}
	}
	flush()
	return b.String()
}

// IdentityProvider is the bank's OpenID Connect provider: staff sign in
// there (authorization code flow with PKCE) and come back with an ID token.
type IdentityProvider interface {
	// Name is what the login page calls the provider ("Bank SSO").
	Name() string
	// AuthURL is where the browser goes to sign in: state and nonce are
	// bound to this browser by the caller; challenge is the PKCE S256
	// challenge of the verifier the caller keeps. fresh asks the provider
	// to authenticate the user again even if it has a session (step-up).
	// EUNAVAILABLE when the provider's discovery document cannot be read.
	AuthURL(ctx context.Context, state, nonce, challenge string, fresh bool) (string, error)
	// Exchange trades code (with the PKCE verifier) for an ID token,
	// verifies it (signature, issuer, audience, expiry, nonce) and returns
	// the account it names: DN is OIDCIdentity(issuer, subject), Roles the
	// groups claim mapped. EUNAUTHORIZED for a token that does not verify
	// or a code the provider refuses, EUNAVAILABLE when the provider
	// cannot be reached.
	Exchange(ctx context.Context, code, verifier, nonce string) (*DirectoryEntry, error)
}
