package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"remoteidv/models"
)

// oidcClient signs a member in as the identity provider's answer e would
// (access.OIDCLogin; the provider itself is idp's and cmd/idv's tests) and
// returns a client holding the session.
func (e *env) oidcClient(t *testing.T, entry *models.DirectoryEntry) *client {
	t.Helper()
	cookie, p, err := e.acc.OIDCLogin(context.Background(), entry, "", "", "127.0.0.1")
	if err != nil {
		t.Fatalf("OIDCLogin(%s): %v", entry.Username, err)
	}
	c := e.anon(t)
	u, _ := url.Parse(e.ts.URL)
	c.http.Jar.SetCookies(u, []*http.Cookie{{Name: "idv_session", Value: cookie, Path: "/"}})
	c.csrf = p.Session.CSRFToken
	return c
}

// TestOIDCRolePolicy: the role x route policy holds for roles that come
// from the provider's groups: the OIDC supervisor passes the guard of
// every supervisor-only route, the OIDC clerk is refused each.
func TestOIDCRolePolicy(t *testing.T) {
	e := newEnv(t)
	const iss = "https://sso.bank.example/realms/staff"
	mei := e.oidcClient(t, &models.DirectoryEntry{DN: models.OIDCIdentity(iss, "u-mei"), Username: "mei", Roles: []models.Role{models.RoleSupervisor}})
	lin := e.oidcClient(t, &models.DirectoryEntry{DN: models.OIDCIdentity(iss, "u-lin"), Username: "lin", Roles: []models.Role{models.RoleClerk}})
	caseID := e.createCase(t, lin)
	params := strings.NewReplacer(":id", caseID, ":no", "6222000011112222", ":username", "nobody", ":token", "iv1_x")
	n := 0
	for _, r := range e.srv.Routes() {
		if (r.Auth != "staff" && r.Auth != "staff page") || !slices.Contains(r.Roles, models.RoleSupervisor) || slices.Contains(r.Roles, models.RoleClerk) {
			continue
		}
		n++
		var body any
		if r.Method != "GET" && r.Method != "DELETE" {
			body = map[string]any{}
		}
		path := params.Replace(r.Path)
		if code := lin.do(r.Method, path, body, nil); code != 403 {
			t.Errorf("%s %s as the OIDC clerk: status %d, want 403", r.Method, r.Path, code)
		}
		if code := mei.do(r.Method, path, body, nil); code == 401 || code == 403 || code >= 500 {
			t.Errorf("%s %s as the OIDC supervisor: status %d, want the guard passed", r.Method, r.Path, code)
		}
	}
	if n < 3 {
		t.Fatalf("only %d supervisor-only routes", n)
	}
}
