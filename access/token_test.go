package access_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/access"
	"remoteidv/models"
)

var (
	clerk = []models.Role{models.RoleClerk}
	sup   = []models.Role{models.RoleSupervisor}
)

// addStaff creates a member with roles and signs them in.
func addStaff(t *testing.T, s *access.Service, username string, roles ...models.Role) *access.Principal {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateStaff(ctx, "system", username, "", "correct horse battery", roles); err != nil {
		t.Fatal(err)
	}
	_, p, err := s.Login(ctx, username, "correct horse battery", "", "ip")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// events lists the audit chain as "actor action k=v ..." for the keys
// asked for.
func events(t *testing.T, db models.Store, action string, keys ...string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	err := db.Transact(ctx, func(tx models.Tx) error {
		evs, err := tx.AuditEvents(ctx, models.AuditFilter{})
		for _, e := range evs {
			if e.Action != action {
				continue
			}
			line := e.Actor + " " + e.Action
			for _, k := range keys {
				line += " " + k + "=" + e.Detail[k]
			}
			out = append(out, line)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMintTokenScope(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(t)
	boss := addStaff(t, s, "boss", models.RoleClerk, models.RoleSupervisor)
	adm := addStaff(t, s, "adm", models.RoleAdmin)
	admAud := addStaff(t, s, "admaud", models.RoleAdmin, models.RoleAuditor)
	tests := []struct {
		name  string
		p     *access.Principal
		req   access.TokenRequest
		want  models.ErrorCode // "" for minted
		roles []models.Role    // the minted token's roles when used
	}{
		{"narrower than its creator", boss, access.TokenRequest{Name: "desk", Scope: clerk}, "", clerk},
		{"all of its creator's roles", boss, access.TokenRequest{Name: "desk", Scope: []models.Role{models.RoleSupervisor, models.RoleClerk}}, "",
			[]models.Role{models.RoleClerk, models.RoleSupervisor}},
		{"a role its creator lacks", boss, access.TokenRequest{Name: "desk", Scope: []models.Role{models.RoleClerk, models.RoleAuditor}}, models.EFORBIDDEN, nil},
		{"an admin's token cannot read evidence as an auditor", adm, access.TokenRequest{Name: "x", Scope: []models.Role{models.RoleAuditor}}, models.EFORBIDDEN, nil},
		{"an admin's token cannot read evidence as a supervisor", adm, access.TokenRequest{Name: "x", Scope: sup}, models.EFORBIDDEN, nil},
		{"an admin's admin token", adm, access.TokenRequest{Name: "x", Scope: []models.Role{models.RoleAdmin}}, "", []models.Role{models.RoleAdmin}},
		{"an admin who is an auditor too", admAud, access.TokenRequest{Name: "x", Scope: []models.Role{models.RoleAuditor}}, "", []models.Role{models.RoleAuditor}},
		{"no scope", boss, access.TokenRequest{Name: "desk"}, models.EINVALID, nil},
		{"an unknown role", boss, access.TokenRequest{Name: "desk", Scope: []models.Role{"root"}}, models.EINVALID, nil},
		{"no name", boss, access.TokenRequest{Name: " ", Scope: clerk}, models.EINVALID, nil},
		{"longer than the configured lifetime", boss, access.TokenRequest{Name: "desk", Scope: clerk, Lifetime: 91 * 24 * time.Hour}, models.EINVALID, nil},
		{"shorter than the configured lifetime", boss, access.TokenRequest{Name: "desk", Scope: clerk, Lifetime: time.Hour}, "", clerk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, _, err := s.MintToken(ctx, tt.p, tt.req)
			if got := models.ErrorCodeOf(err); got != tt.want {
				t.Fatalf("MintToken(%+v) = %v (%q), want %q", tt.req, err, got, tt.want)
			}
			if err != nil {
				return
			}
			p, err := s.AuthenticateToken(ctx, raw, "ip")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.roles, p.Staff.Roles); diff != "" {
				t.Errorf("roles of the token (-want +got):\n%s", diff)
			}
		})
	}

	// A token cannot mint another (it would outlive its own expiry).
	raw, _, err := s.MintToken(ctx, boss, access.TokenRequest{Name: "desk", Scope: clerk})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.AuthenticateToken(ctx, raw, "ip")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.MintToken(ctx, p, access.TokenRequest{Name: "child", Scope: clerk}); models.ErrorCodeOf(err) != models.EFORBIDDEN {
		t.Errorf("MintToken(as a token) = %v, want forbidden", err)
	}

	// The command line mints for a member, within the member's roles.
	if _, _, err := s.CreateToken(ctx, "cli", "adm", access.TokenRequest{Name: "x", Scope: sup}); models.ErrorCodeOf(err) != models.EFORBIDDEN {
		t.Errorf("CreateToken(admin, supervisor scope) = %v, want forbidden", err)
	}
}

// A member who loses a role loses it on their tokens at once.
func TestTokenFollowsRoles(t *testing.T) {
	ctx := context.Background()
	s, _, db := newService(t)
	boss := addStaff(t, s, "boss", models.RoleClerk, models.RoleSupervisor)
	raw, _, err := s.MintToken(ctx, boss, access.TokenRequest{Name: "desk", Scope: []models.Role{models.RoleClerk, models.RoleSupervisor}})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Transact(ctx, func(tx models.Tx) error {
		st, err := tx.StaffByUsername(ctx, "boss")
		if err != nil {
			return err
		}
		st.Roles = sup
		return tx.UpdateStaff(ctx, st)
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.AuthenticateToken(ctx, raw, "ip")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sup, p.Staff.Roles); diff != "" {
		t.Errorf("roles of the token after its member lost the clerk role (-want +got):\n%s", diff)
	}
}

func TestTokenExpiry(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		lifetime time.Duration // the service's setting
		ask      time.Duration // the request's
		want     time.Duration
	}{
		{"default", 0, 0, 90 * 24 * time.Hour},
		{"configured", 7 * 24 * time.Hour, 0, 7 * 24 * time.Hour},
		{"asked for", 0, 24 * time.Hour, 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c, db := newService(t)
			s.TokenLifetime = tt.lifetime
			minted := c.t
			raw, tok, err := s.CreateToken(ctx, "cli", "clerk1", access.TokenRequest{Name: "core banking", Scope: clerk, Lifetime: tt.ask})
			if err != nil {
				t.Fatal(err)
			}
			if !tok.ExpiresAt.Equal(minted.Add(tt.want)) {
				t.Fatalf("ExpiresAt = %v, want %v", tok.ExpiresAt, minted.Add(tt.want))
			}
			c.t = minted.Add(tt.want - time.Second)
			p, err := s.AuthenticateToken(ctx, raw, "ip")
			if err != nil {
				t.Fatalf("AuthenticateToken(a second before expiry) = %v", err)
			}
			c.t = minted.Add(tt.want)
			_, err = s.AuthenticateToken(ctx, raw, "10.0.0.9")
			if models.ErrorCodeOf(err) != models.EUNAUTHORIZED || !strings.Contains(err.Error(), "expired") {
				t.Fatalf("AuthenticateToken(at expiry) = %v, want unauthorized saying expired", err)
			}
			if err := s.Revalidate(ctx, p, ""); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
				t.Errorf("Revalidate(expired token) = %v, want unauthorized", err)
			}
			got := events(t, db, "auth.token_rejected", "remote", "reason", "token")
			want := []string{"anonymous auth.token_rejected remote=10.0.0.9 reason=expired token=" + string(tok.ID)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("audited refusals (-want +got):\n%s", diff)
			}
			created := events(t, db, "token.created", "scope", "expires_at")
			if want := []string{"cli token.created scope=clerk expires_at=" + minted.Add(tt.want).Format(time.RFC3339)}; !cmp.Equal(want, created) {
				t.Errorf("audited creation = %q, want %q", created, want)
			}
		})
	}
}

func TestRevokeToken(t *testing.T) {
	ctx := context.Background()
	s, _, db := newService(t)
	owner := addStaff(t, s, "owner", models.RoleClerk)
	other := addStaff(t, s, "other", models.RoleClerk, models.RoleSupervisor)
	adm := addStaff(t, s, "adm", models.RoleAdmin)
	tests := []struct {
		name string
		by   func(raw string) *access.Principal // who revokes the token whose raw value is given
		want models.ErrorCode
	}{
		{"its owner", func(string) *access.Principal { return owner }, ""},
		{"the token itself", func(raw string) *access.Principal {
			p, err := s.AuthenticateToken(ctx, raw, "ip")
			if err != nil {
				t.Fatal(err)
			}
			return p
		}, ""},
		{"an admin", func(string) *access.Principal { return adm }, ""},
		{"the operator", func(string) *access.Principal { return nil }, ""},
		{"another member, a supervisor too", func(string) *access.Principal { return other }, models.EFORBIDDEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, tok, err := s.MintToken(ctx, owner, access.TokenRequest{Name: tt.name, Scope: clerk})
			if err != nil {
				t.Fatal(err)
			}
			by := tt.by(raw)
			err = s.RevokeToken(ctx, by, tok.ID)
			if got := models.ErrorCodeOf(err); got != tt.want {
				t.Fatalf("RevokeToken = %v (%q), want %q", err, got, tt.want)
			}
			_, err = s.AuthenticateToken(ctx, raw, "ip")
			if tt.want != "" {
				if err != nil {
					t.Fatalf("AuthenticateToken(after a refused revocation) = %v", err)
				}
				return
			}
			if models.ErrorCodeOf(err) != models.EUNAUTHORIZED || !strings.Contains(err.Error(), "revoked") {
				t.Fatalf("AuthenticateToken(revoked) = %v, want unauthorized saying revoked", err)
			}
			if err := s.RevokeToken(ctx, by, tok.ID); models.ErrorCodeOf(err) != models.ECONFLICT {
				t.Errorf("RevokeToken(twice) = %v, want conflict", err)
			}
			revs := events(t, db, "token.revoked", "token")
			actor := "cli"
			if by != nil {
				actor = by.Actor()
			}
			if want := actor + " token.revoked token=" + string(tok.ID); len(revs) == 0 || revs[len(revs)-1] != want {
				t.Errorf("last token.revoked = %q, want %q", revs, want)
			}
		})
	}
	if err := s.RevokeToken(ctx, adm, "tok_none"); models.ErrorCodeOf(err) != models.ENOTFOUND {
		t.Errorf("RevokeToken(unknown) = %v, want not found", err)
	}
}

func TestListTokens(t *testing.T) {
	ctx := context.Background()
	s, c, db := newService(t)
	owner := addStaff(t, s, "owner", models.RoleClerk)
	other := addStaff(t, s, "other", models.RoleClerk)
	adm := addStaff(t, s, "adm", models.RoleAdmin)
	raw, _, err := s.MintToken(ctx, owner, access.TokenRequest{Name: "mine", Scope: clerk})
	if err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Minute)
	if _, _, err := s.MintToken(ctx, other, access.TokenRequest{Name: "theirs", Scope: clerk}); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Hour)
	if _, err := s.AuthenticateToken(ctx, raw, "ip"); err != nil {
		t.Fatal(err)
	}
	list := func(p *access.Principal) string {
		t.Helper()
		ls, err := s.ListTokens(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range ls {
			used := "never"
			if l.Token.LastUsed != nil {
				used = l.Token.LastUsed.Format(time.RFC3339)
			}
			out = append(out, l.Username+"/"+l.Token.Name+"@"+used)
		}
		return strings.Join(out, ",")
	}
	used := c.t.Format(time.RFC3339)
	for _, tt := range []struct {
		name string
		p    *access.Principal
		want string
	}{
		{"its owner", owner, "owner/mine@" + used},
		{"another member", other, "other/theirs@never"},
		{"an admin", adm, "owner/mine@" + used + ",other/theirs@never"},
		{"the operator", nil, "owner/mine@" + used + ",other/theirs@never"},
	} {
		if got := list(tt.p); got != tt.want {
			t.Errorf("ListTokens(%s) = %s, want %s", tt.name, got, tt.want)
		}
	}
	if got, want := events(t, db, "token.listed", "tokens"), []string{adm.Actor() + " token.listed tokens=2", "cli token.listed tokens=2"}; !cmp.Equal(got, want) {
		t.Errorf("audited lists = %q, want %q", got, want)
	}
}
