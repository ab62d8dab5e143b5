package access_test

import (
	"context"
	"slices"
	"testing"

	"remoteidv/models"
)

// TestOIDCLogin: the provider's answer creates and updates a staff row of
// source oidc with no local password; a local or directory row of the
// same name wins (the sign-in is refused and the row is unchanged); the
// name under another subject is refused; groups mapping to no role are
// refused and disable the row, which mapped groups later re-enable. Every
// outcome is audited with method oidc.
func TestOIDCLogin(t *testing.T) {
	s, _, db := newService(t)
	ctx := context.Background()
	const iss = "https://sso.bank.example/realms/staff"
	olga := func(roles ...models.Role) *models.DirectoryEntry {
		return &models.DirectoryEntry{DN: models.OIDCIdentity(iss, "sub-olga"), Username: "olga", DisplayName: "Olga Clerk",
			Groups: []string{"idv-clerks"}, Roles: roles}
	}
	cookie, p, err := s.OIDCLogin(ctx, olga(models.RoleClerk), "", "", "192.0.2.7")
	if err != nil || cookie == "" {
		t.Fatalf("OIDCLogin(olga) = %q, %v", cookie, err)
	}
	if !p.Staff.FromOIDC() || p.Staff.PasswordHash != models.NoPassword || !slices.Equal(p.Staff.Roles, []models.Role{models.RoleClerk}) {
		t.Fatalf("OIDCLogin(olga) staff = %+v, want source oidc, no password, clerk", p.Staff)
	}
	if _, err := s.Authenticate(ctx, cookie); err != nil {
		t.Fatalf("Authenticate(olga's cookie): %v", err)
	}
	evs := trail(t, db, "username", "method", "factor", "remote", "source", "reason")
	for _, want := range []string{"system:oidc staff.created username=olga source=oidc",
		"auth.login username=olga method=oidc factor=identity_provider remote=192.0.2.7"} {
		if !hasEvent(evs, want) {
			t.Errorf("trail lacks %q:\n%v", want, evs)
		}
	}

	_, p, err = s.OIDCLogin(ctx, olga(models.RoleClerk, models.RoleSupervisor), "pwd", cookie, "192.0.2.7")
	if err != nil || !slices.Equal(p.Staff.Roles, []models.Role{models.RoleClerk, models.RoleSupervisor}) {
		t.Fatalf("OIDCLogin(olga, new groups) = %+v, %v; want clerk and supervisor", p, err)
	}
	if _, err := s.Authenticate(ctx, cookie); err == nil {
		t.Error("the old session still works after signing in again")
	}
	if evs := trail(t, db, "username", "factor"); !hasEvent(evs, "system:oidc staff.directory_updated username=olga") ||
		!hasEvent(evs, "auth.login username=olga factor=pwd") {
		t.Errorf("trail lacks the update and the amr factor:\n%v", evs)
	}

	// A password never signs olga in, even the one-time NoPassword string.
	if _, _, err := s.Login(ctx, "olga", models.NoPassword, "", "192.0.2.7"); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
		t.Errorf("Login(olga, password) = %v, want EUNAUTHORIZED", err)
	}
	if evs := trail(t, db, "username", "reason"); !hasEvent(evs, "auth.login_failed username=olga reason=signs in with the identity provider") {
		t.Errorf("trail lacks the refused password login:\n%v", evs)
	}

	refused := []struct {
		name   string
		entry  *models.DirectoryEntry
		code   models.ErrorCode
		reason string
	}{
		{"local name (break-glass wins)", &models.DirectoryEntry{DN: models.OIDCIdentity(iss, "sub-x"), Username: "clerk1", Roles: []models.Role{models.RoleAdmin}},
			models.EFORBIDDEN, "the name belongs to a local account"},
		{"another subject", &models.DirectoryEntry{DN: models.OIDCIdentity(iss, "sub-impostor"), Username: "olga", Roles: []models.Role{models.RoleClerk}},
			models.EFORBIDDEN, "the name belongs to another identity at the provider"},
		{"another issuer", &models.DirectoryEntry{DN: models.OIDCIdentity("https://evil.example", "sub-olga"), Username: "olga", Roles: []models.Role{models.RoleClerk}},
			models.EFORBIDDEN, "the name belongs to another identity at the provider"},
		{"no mapped group", olga(), models.EFORBIDDEN, "no provider group mapped to a role"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := s.OIDCLogin(ctx, tt.entry, "", "", "192.0.2.8"); models.ErrorCodeOf(err) != tt.code {
				t.Fatalf("OIDCLogin = %v, want %s", err, tt.code)
			}
			if evs := trail(t, db, "username", "method", "reason"); !hasEvent(evs, "auth.login_failed username="+tt.entry.Username+" method=oidc reason="+tt.reason) {
				t.Errorf("trail lacks the refusal:\n%v", evs)
			}
		})
	}
	local, err := s.StaffByUsername(ctx, "clerk1")
	if err != nil || local.External() || !slices.Equal(local.Roles, []models.Role{models.RoleClerk}) {
		t.Errorf("clerk1 after the provider's attempt = %+v, %v; want the local clerk unchanged", local, err)
	}
	if _, _, err := s.Login(ctx, "clerk1", "correct horse battery", "", "192.0.2.8"); err != nil {
		t.Errorf("Login(clerk1, local password) = %v", err)
	}
	st, err := s.StaffByUsername(ctx, "olga")
	if err != nil || st.Active() || st.DisabledBy != models.DisabledByDirectory {
		t.Fatalf("olga after no mapped group = %+v, %v; want disabled by the source", st, err)
	}
	if _, p, err = s.OIDCLogin(ctx, olga(models.RoleClerk), "", "", "192.0.2.7"); err != nil || !p.Staff.Active() {
		t.Fatalf("OIDCLogin(olga, mapped again) = %v; want re-enabled", err)
	}
	if err := s.SetDisabled(ctx, "admin", "olga", true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.OIDCLogin(ctx, olga(models.RoleClerk), "", "", "192.0.2.7"); models.ErrorCodeOf(err) != models.EFORBIDDEN {
		t.Errorf("OIDCLogin(olga, disabled by an admin) = %v, want EFORBIDDEN", err)
	}
}
