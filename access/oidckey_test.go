package access_test

import (
	"context"
	"testing"

	"remoteidv/access"
	"remoteidv/models"
)

// TestOIDCMemberRegistersKey: a supervisor from the identity provider has
// no password here, yet the key policy requires a key of supervisors; the
// provider's step-up is what lets them register one (without it the
// registration is refused as for anyone).
func TestOIDCMemberRegistersKey(t *testing.T) {
	s, _, _ := newService(t)
	s.Keys = access.KeyPolicy{RPID: "localhost", Origins: []string{"http://localhost:8080"}, Required: []models.Role{models.RoleSupervisor}}
	ctx := context.Background()
	entry := &models.DirectoryEntry{DN: models.OIDCIdentity("https://sso.bank.example/realms/staff", "sub-mei"), Username: "mei", DisplayName: "Mei Supervisor",
		Roles: []models.Role{models.RoleSupervisor}}
	cookie, _, err := s.OIDCLogin(ctx, entry, "", "", "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Authenticate(ctx, cookie)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginKeyRegistration(ctx, p, "phone", "", "192.0.2.7"); models.ErrorCodeOf(err) != models.EFORBIDDEN {
		t.Fatalf("BeginKeyRegistration before any step-up = %v, want forbidden", err)
	}
	entry.AuthTime = s.Now() // the provider asked for the password again just now (prompt=login)
	cookie, err = s.OIDCStepUp(ctx, p, entry)
	if err != nil {
		t.Fatalf("OIDCStepUp: %v", err)
	}
	if p, err = s.Authenticate(ctx, cookie); err != nil {
		t.Fatal(err)
	}
	code, _, err := s.IssueEnrolment(ctx, "cli", "", "mei", "cli")
	if err != nil {
		t.Fatalf("IssueEnrolment: %v", err)
	}
	if _, err := s.BeginKeyRegistration(ctx, p, "phone", code, "192.0.2.7"); err != nil {
		t.Fatalf("BeginKeyRegistration after the provider's step-up = %v, want the key's challenge", err)
	}
}
