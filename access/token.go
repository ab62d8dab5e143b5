package access

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"remoteidv/models"
)

// API tokens: minting, listing and revoking. A token acts as the staff
// member who minted it (or, from the command line, the member the operator
// names), within a scope that is a subset of that member's roles; what it
// may do at each request is that scope narrowed to the roles the member
// holds then (models.APIToken.EffectiveRoles), so a member who loses a role
// loses it on every token too. An admin, who may not read biometric
// evidence, therefore cannot mint a token that does.

// DefaultTokenLifetime is how long an API token lives unless configured
// otherwise.
const DefaultTokenLifetime = 90 * 24 * time.Hour

// TokenRequest is what a new API token is for.
type TokenRequest struct {
	Name  string        // what the token is for, 1 to 100 characters
	Scope []models.Role // the roles it may use; at least one, each held by its member
	// Lifetime is how long it lives: 0 for the service's TokenLifetime,
	// never longer.
	Lifetime time.Duration
}

func (s *Service) tokenLifetime() time.Duration {
	if s.TokenLifetime > 0 {
		return s.TokenLifetime
	}
	return DefaultTokenLifetime
}

// MintToken issues an API token acting as p's staff member, within a scope
// of their own roles, and returns it; only its hash is kept. A token may
// not mint tokens (EFORBIDDEN: a leaked token could otherwise outlive its
// expiry); a scope role p does not hold is EFORBIDDEN.
func (s *Service) MintToken(ctx context.Context, p *Principal, req TokenRequest) (string, *models.APIToken, error) {
	if p.Token != nil {
		return "", nil, models.Errorf(models.EFORBIDDEN, "an API token cannot mint tokens: sign in to mint one")
	}
	return s.createToken(ctx, p.Actor(), func(tx models.Tx) (*models.Staff, error) { return tx.StaffByID(ctx, p.Staff.ID) }, req)
}

// CreateToken issues an API token acting as the staff member username, for
// the operator at the command line (actor); the scope must still be a
// subset of that member's roles (EFORBIDDEN).
func (s *Service) CreateToken(ctx context.Context, actor, username string, req TokenRequest) (string, *models.APIToken, error) {
	return s.createToken(ctx, actor, func(tx models.Tx) (*models.Staff, error) { return tx.StaffByUsername(ctx, username) }, req)
}

func (s *Service) createToken(ctx context.Context, actor string, member func(models.Tx) (*models.Staff, error), req TokenRequest) (string, *models.APIToken, error) {
	name := strings.TrimSpace(req.Name)
	if name == "" || len(name) > 100 {
		return "", nil, models.Errorf(models.EINVALID, "token name must be 1 to 100 characters")
	}
	if len(req.Scope) == 0 {
		return "", nil, models.Errorf(models.EINVALID, "name the token's scope: one or more of your roles")
	}
	for _, r := range req.Scope {
		if !slices.Contains(models.Roles, r) {
			return "", nil, models.Errorf(models.EINVALID, "unknown role %q in the scope", r)
		}
	}
	max := s.tokenLifetime()
	life := req.Lifetime
	switch {
	case life == 0:
		life = max
	case life < 0 || life > max:
		return "", nil, models.Errorf(models.EINVALID, "a token lives at most %d days (%s)", int(max/(24*time.Hour)), max)
	}
	raw, err := NewToken(s.Rand, tokenPrefix)
	if err != nil {
		return "", nil, err
	}
	id, err := models.NewID(s.Rand, "tok")
	if err != nil {
		return "", nil, err
	}
	now := s.Now().UTC()
	tok := &models.APIToken{ID: models.TokenID(id), Name: name, Hash: HashToken(raw), CreatedAt: now, ExpiresAt: now.Add(life)}
	err = s.Store.Transact(ctx, func(tx models.Tx) error {
		st, err := member(tx)
		if err != nil {
			return err
		}
		if !st.Active() {
			return models.Errorf(models.EFORBIDDEN, "staff member %s is disabled", st.Username)
		}
		for _, r := range models.Roles {
			if !slices.Contains(req.Scope, r) {
				continue
			}
			if !st.Has(r) {
				return models.Errorf(models.EFORBIDDEN, "%s does not hold the %s role: a token's scope is a subset of its member's roles", st.Username, r)
			}
			tok.Scope = append(tok.Scope, r)
		}
		tok.StaffID = st.ID
		if err := tx.CreateAPIToken(ctx, tok); err != nil {
			return err
		}
		return s.event(ctx, tx, actor, "token.created", map[string]string{"token": id, "staff": string(st.ID), "name": name,
			"scope": rolesString(tok.Scope), "expires_at": tok.ExpiresAt.Format(time.RFC3339)})
	})
	if err != nil {
		return "", nil, fmt.Errorf("create token %q: %w", name, err)
	}
	return raw, tok, nil
}

// TokenListing is a token as listed, with its member's username; never its
// hash.
type TokenListing struct {
	Token    *models.APIToken
	Username string
	// Roles is what the token may do now: its scope narrowed to the roles
	// its member holds (none once the member is disabled).
	Roles []models.Role
}

// ListTokens lists tokens, revoked and expired ones included, oldest
// first: p's own, or every member's when p is an admin (audited as
// token.listed, as the operator's list is: p nil, at the command line).
func (s *Service) ListTokens(ctx context.Context, p *Principal) ([]TokenListing, error) {
	all := p == nil || p.Staff.Has(models.RoleAdmin)
	actor := "cli"
	if p != nil {
		actor = p.Actor()
	}
	var out []TokenListing
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		var toks []*models.APIToken
		var err error
		if all {
			toks, err = tx.ListAPITokens(ctx)
		} else {
			toks, err = tx.APITokensByStaff(ctx, p.Staff.ID)
		}
		if err != nil {
			return err
		}
		staff, err := tx.ListStaff(ctx)
		if err != nil {
			return err
		}
		members := map[models.StaffID]*models.Staff{}
		for _, st := range staff {
			members[st.ID] = st
		}
		for _, t := range toks {
			l := TokenListing{Token: t}
			if st := members[t.StaffID]; st != nil {
				l.Username = st.Username
				if st.Active() {
					l.Roles = t.EffectiveRoles(st)
				}
			}
			out = append(out, l)
		}
		if !all {
			return nil
		}
		return s.event(ctx, tx, actor, "token.listed", map[string]string{"tokens": strconv.Itoa(len(toks))})
	})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken revokes token id at once; audited as token.revoked. Its
// owner (through a session or any of their tokens) and admins may revoke
// it, and the operator at the command line (p nil); anyone else is
// EFORBIDDEN. An unknown token is ENOTFOUND, a revoked one ECONFLICT.
func (s *Service) RevokeToken(ctx context.Context, p *Principal, id models.TokenID) error {
	actor := "cli"
	if p != nil {
		actor = p.Actor()
	}
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		tok, err := tx.APITokenByID(ctx, id)
		if err != nil {
			return err
		}
		if p != nil && tok.StaffID != p.Staff.ID && !p.Staff.Has(models.RoleAdmin) {
			return models.Errorf(models.EFORBIDDEN, "only the token's owner or an admin may revoke it")
		}
		if tok.RevokedAt != nil {
			return models.Errorf(models.ECONFLICT, "token %s was already revoked at %s", id, tok.RevokedAt.UTC().Format(time.RFC3339))
		}
		if err := tx.RevokeAPIToken(ctx, id, s.Now().UTC()); err != nil {
			return err
		}
		return s.event(ctx, tx, actor, "token.revoked", map[string]string{"token": string(id), "staff": string(tok.StaffID), "name": tok.Name})
	})
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	return nil
}
