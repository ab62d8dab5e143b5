package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"remoteidv/models"
)

// TestStaffListShowsSource: the admin's staff list says where each member
// signs in (a password kept here, the bank's directory, the bank's
// identity provider), so an admin sees who is managed elsewhere.
func TestStaffListShowsSource(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, st := range []*models.Staff{
		{ID: "stf_dir", Username: "dir.clerk", DisplayName: "Directory Clerk", Roles: []models.Role{models.RoleClerk}, Source: models.SourceLDAP,
			DirectoryDN: "uid=dir.clerk,ou=staff,dc=bank,dc=test", PasswordHash: models.NoPassword, CreatedAt: e.now},
		{ID: "stf_sso", Username: "sso.sup", DisplayName: "SSO Supervisor", Roles: []models.Role{models.RoleSupervisor}, Source: models.SourceOIDC,
			DirectoryDN: models.OIDCIdentity("https://sso.bank.test", "sub-1"), PasswordHash: models.NoPassword, CreatedAt: e.now},
	} {
		if err := e.store.Transact(ctx, func(tx models.Tx) error { return tx.CreateStaff(ctx, st) }); err != nil {
			t.Fatal(err)
		}
	}
	var out struct {
		Staff []struct {
			Username string `json:"username"`
			Source   string `json:"source"`
		} `json:"staff"`
	}
	if code := e.login(t, "admin").do("GET", "/api/staff", nil, &out); code != http.StatusOK {
		t.Fatalf("GET /api/staff = %d", code)
	}
	got := map[string]string{}
	for _, s := range out.Staff {
		got[s.Username] = s.Source
	}
	for user, want := range map[string]string{"admin": "local", "dir.clerk": "ldap", "sso.sup": "oidc"} {
		if got[user] != want {
			t.Errorf("%s's source = %q, want %q (all: %v)", user, got[user], want, got)
		}
	}
}
