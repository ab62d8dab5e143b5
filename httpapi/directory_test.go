package httpapi_test

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"remoteidv/directory"
	"remoteidv/internal/testenv"
	"remoteidv/models"
)

// withDirectory signs the env's non-local names in against a private
// OpenLDAP (testenv.StartSlapd): alice is a clerk, sam a clerk and
// supervisor, by their groups.
func withDirectory(t *testing.T, e *env) *testenv.Slapd {
	t.Helper()
	sl := testenv.StartSlapd(t)
	d, err := directory.New(directory.Config{URL: sl.LDAPSURL, CAFile: sl.CAFile, BindDN: testenv.SlapdBindDN, BindPassword: testenv.SlapdBindPassword,
		UserBase: testenv.SlapdPeople, UserFilter: "(uid=%s)", GroupBase: testenv.SlapdGroups, GroupFilter: "(member=%s)", Timeout: 3 * time.Second,
		Roles: []models.GroupRole{{Group: "cn=idv-clerks," + testenv.SlapdGroups, Role: models.RoleClerk},
			{Group: "cn=idv-supervisors," + testenv.SlapdGroups, Role: models.RoleSupervisor}}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e.acc.Directory = d
	return sl
}

func (e *env) loginAs(t *testing.T, user, pw string) *client {
	t.Helper()
	c := e.anon(t)
	var me struct {
		CSRFToken string        `json:"csrf_token"`
		Roles     []models.Role `json:"roles"`
	}
	if code := c.do("POST", "/api/auth/login", map[string]string{"username": user, "password": pw}, &me); code != 200 {
		t.Fatalf("login %s: status %d", user, code)
	}
	c.csrf = me.CSRFToken
	return c
}

// TestDirectoryRolePolicy: the role x route policy holds for roles that
// come from directory groups: the directory supervisor passes the guard
// of every supervisor-only route, the directory clerk is refused each.
func TestDirectoryRolePolicy(t *testing.T) {
	e := newEnv(t)
	withDirectory(t, e)
	sam, alice := e.loginAs(t, "sam", "sam-pass-1"), e.loginAs(t, "alice", "alice-pass-1")
	caseID := e.createCase(t, alice)
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
		if code := alice.do(r.Method, path, body, nil); code != 403 {
			t.Errorf("%s %s as the directory clerk: status %d, want 403", r.Method, r.Path, code)
		}
		if code := sam.do(r.Method, path, body, nil); code == 401 || code == 403 || code >= 500 {
			t.Errorf("%s %s as the directory supervisor: status %d, want the guard passed", r.Method, r.Path, code)
		}
	}
	if n < 3 {
		t.Fatalf("only %d supervisor-only routes", n)
	}
}

// TestDirectoryLoginHTTP: a directory outage answers 503 with a message
// that says so, and the local admin still signs in.
func TestDirectoryLoginHTTP(t *testing.T) {
	e := newEnv(t)
	sl := withDirectory(t, e)
	var me struct {
		Roles []models.Role `json:"roles"`
	}
	if code := e.anon(t).do("POST", "/api/auth/login", map[string]string{"username": "sam", "password": "sam-pass-1"}, &me); code != 200 ||
		!slices.Equal(me.Roles, []models.Role{models.RoleClerk, models.RoleSupervisor}) {
		t.Errorf("login sam: status %d roles %v, want 200 [clerk supervisor]", code, me.Roles)
	}
	sl.Stop()
	var fail struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	code := e.anon(t).do("POST", "/api/auth/login", map[string]string{"username": "sam", "password": "sam-pass-1"}, &fail)
	if code != 503 || !strings.Contains(fail.Error.Message, "directory") {
		t.Errorf("login sam with the directory down: status %d %+v, want 503 naming the directory", code, fail)
	}
	e.loginAs(t, "admin", password) // the local break-glass admin
}
