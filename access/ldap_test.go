package access_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"remoteidv/access"
	"remoteidv/directory"
	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/storage/postgres"
)

// newDirectoryService is newService (with the local clerk1, password
// "correct horse battery") signing other names in against a private
// OpenLDAP (testenv.StartSlapd).
func newDirectoryService(t *testing.T) (*access.Service, *clock, models.Store, *testenv.Slapd) {
	t.Helper()
	sl := testenv.StartSlapd(t)
	d, err := directory.New(directory.Config{URL: sl.URL, StartTLS: true, CAFile: sl.CAFile,
		BindDN: testenv.SlapdBindDN, BindPassword: testenv.SlapdBindPassword,
		UserBase: testenv.SlapdPeople, UserFilter: "(&(objectClass=inetOrgPerson)(uid=%s))",
		GroupBase: testenv.SlapdGroups, GroupFilter: "(&(objectClass=groupOfNames)(member=%s))", Timeout: 3 * time.Second,
		Roles: []models.GroupRole{{Group: "cn=idv-clerks," + testenv.SlapdGroups, Role: models.RoleClerk},
			{Group: "cn=idv-supervisors," + testenv.SlapdGroups, Role: models.RoleSupervisor},
			{Group: "cn=idv-admins," + testenv.SlapdGroups, Role: models.RoleAdmin}}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s, c, db := newService(t)
	s.Directory = d
	return s, c, db, sl
}

// trail returns the audit trail as "actor action k=v ..." lines of the
// detail keys asked for.
func trail(t *testing.T, db models.Store, keys ...string) []string {
	t.Helper()
	var out []string
	err := db.Transact(context.Background(), func(tx models.Tx) error {
		evs, err := tx.AuditEvents(context.Background(), models.AuditFilter{})
		for _, e := range evs {
			line := e.Actor + " " + e.Action
			for _, k := range keys {
				if v, ok := e.Detail[k]; ok {
					line += " " + k + "=" + v
				}
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

func hasEvent(evs []string, parts ...string) bool {
	return slices.ContainsFunc(evs, func(e string) bool {
		for _, p := range parts {
			if !strings.Contains(e, p) {
				return false
			}
		}
		return true
	})
}

func TestDirectoryLogin(t *testing.T) {
	s, _, db, _ := newDirectoryService(t)
	ctx := context.Background()
	// ada also has a local row: the local password is the one that counts.
	if _, err := s.CreateStaff(ctx, "system", "ada", "Ada Local", "ada local password", []models.Role{models.RoleAuditor}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, password string
		code           models.ErrorCode // "" for success
		roles          []models.Role
		name           string
		method         string
		reason         string // of auth.login_failed
	}{
		{"alice", "alice-pass-1", "", []models.Role{models.RoleClerk}, "Alice Clerk", "ldap", ""},
		{"sam", "sam-pass-1", "", []models.Role{models.RoleClerk, models.RoleSupervisor}, "Sam Supervisor", "ldap", ""},
		{"clerk1", "correct horse battery", "", []models.Role{models.RoleClerk}, "Clerk One", "password", ""},
		{"ada", "ada local password", "", []models.Role{models.RoleAuditor}, "Ada Local", "password", ""},
		{"ada", "ada-pass-1", models.EUNAUTHORIZED, nil, "", "password", "wrong password"}, // the directory's password is not asked
		{"nora", "nora-pass-1", models.EFORBIDDEN, nil, "", "ldap", "no directory group mapped to a role"},
		{"alice", "wrong-pass", models.EUNAUTHORIZED, nil, "", "ldap", "wrong password"},
		{"dave", "dave-pass-1", models.EUNAUTHORIZED, nil, "", "ldap", "unknown user"}, // disabled in the directory
		{"mallory", "x", models.EUNAUTHORIZED, nil, "", "ldap", "unknown user"},
	}
	for i, tt := range tests {
		// Each from its own address: failures of unknown names are
		// audited once per address and window.
		remote := fmt.Sprintf("192.0.2.%d", 10+i)
		_, p, err := s.Login(ctx, tt.user, tt.password, "", remote)
		evs := trail(t, db, "username", "method", "factor", "remote", "reason")
		last := evs[len(evs)-1]
		if tt.code != "" {
			if models.ErrorCodeOf(err) != tt.code {
				t.Errorf("Login(%s, %s) = %v, want %s", tt.user, tt.password, err, tt.code)
			}
			if !strings.Contains(last, "auth.login_failed") || !strings.Contains(last, "method="+tt.method) || !strings.Contains(last, "factor=password") ||
				!strings.Contains(last, "remote="+remote) || !strings.Contains(last, "reason="+tt.reason) {
				t.Errorf("Login(%s, %s): last event %q, want auth.login_failed method=%s factor=password remote reason=%s", tt.user, tt.password, last, tt.method, tt.reason)
			}
			continue
		}
		if err != nil {
			t.Errorf("Login(%s) = %v", tt.user, err)
			continue
		}
		if !slices.Equal(p.Staff.Roles, tt.roles) || p.Staff.DisplayName != tt.name {
			t.Errorf("Login(%s) staff = %q %v, want %q %v", tt.user, p.Staff.DisplayName, p.Staff.Roles, tt.name, tt.roles)
		}
		want := "staff:" + string(p.Staff.ID) + " auth.login username=" + tt.user + " method=" + tt.method + " factor=password remote=" + remote
		if last != want {
			t.Errorf("Login(%s): last event %q, want %q", tt.user, last, want)
		}
	}
	alice, err := s.StaffByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if alice.Source != models.SourceLDAP || alice.DirectoryDN != "uid=alice,"+testenv.SlapdPeople || alice.PasswordHash != models.NoPassword {
		t.Errorf("alice's row = source %q dn %q hash %q, want ldap, her entry, no password", alice.Source, alice.DirectoryDN, alice.PasswordHash)
	}
	if _, err := s.StaffByUsername(ctx, "nora"); models.ErrorCodeOf(err) != models.ENOTFOUND {
		t.Errorf("nora (no mapped group) has a row: %v", err)
	}
	if evs := trail(t, db, "username", "source"); !hasEvent(evs, "system:directory staff.created username=alice source=ldap") {
		t.Errorf("no staff.created by the directory for alice in %q", evs)
	}
	// A directory member never uses a local password, even one set on the row.
	if _, _, err := s.Login(ctx, "alice", "", "", "192.0.2.7"); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
		t.Errorf("Login(alice, empty password) = %v, want unauthorized", err)
	}
}

// TestDirectoryDisabledEndsSessions: an account disabled in the directory
// (moved out of ou=people) loses its session at the periodic check and
// cannot sign in; moved back, it signs in again; a group removed changes
// the roles at the next check.
func TestDirectoryDisabledEndsSessions(t *testing.T) {
	s, _, db, sl := newDirectoryService(t)
	ctx := context.Background()
	cookie, _, err := s.Login(ctx, "alice", "alice-pass-1", "", "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	samCookie, _, err := s.Login(ctx, "sam", "sam-pass-1", "", "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.SyncDirectory(ctx)
	if err != nil || rep != (access.DirectorySync{Checked: 2}) {
		t.Fatalf("SyncDirectory(no change) = %+v, %v; want 2 checked", rep, err)
	}
	sl.Modify(t, "dn: uid=alice,ou=people,dc=bank,dc=example\nchangetype: modrdn\nnewrdn: uid=alice\ndeleteoldrdn: 1\nnewsuperior: ou=disabled,dc=bank,dc=example\n\n"+
		"dn: cn=idv-supervisors,ou=groups,dc=bank,dc=example\nchangetype: modify\nadd: member\nmember: uid=nora,ou=people,dc=bank,dc=example\n-\n"+
		"delete: member\nmember: uid=sam,ou=people,dc=bank,dc=example\n")
	rep, err = s.SyncDirectory(ctx)
	if err != nil || rep != (access.DirectorySync{Checked: 2, Updated: 1, Disabled: 1}) {
		t.Fatalf("SyncDirectory(alice disabled, sam demoted) = %+v, %v; want 2 checked, 1 updated, 1 disabled", rep, err)
	}
	if _, err := s.Authenticate(ctx, cookie); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
		t.Errorf("Authenticate(alice's session after she was disabled) = %v, want unauthorized", err)
	}
	p, err := s.Authenticate(ctx, samCookie)
	if err != nil || !slices.Equal(p.Staff.Roles, []models.Role{models.RoleClerk}) {
		t.Errorf("Authenticate(sam after leaving the supervisors) = %v, %v; want a clerk only", p, err)
	}
	if _, _, err := s.Login(ctx, "alice", "alice-pass-1", "", "192.0.2.7"); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
		t.Errorf("Login(alice disabled in the directory) = %v, want unauthorized", err)
	}
	evs := trail(t, db, "username", "reason", "roles", "old_roles")
	for _, want := range []string{
		"system:directory staff.disabled username=alice reason=not in the directory (gone or disabled)",
		"system:directory staff.directory_updated username=sam roles=clerk old_roles=clerk,supervisor",
		"auth.login_failed username=alice reason=not in the directory (gone or disabled)",
	} {
		if !hasEvent(evs, want) {
			t.Errorf("no event %q in %q", want, evs)
		}
	}
	sl.Modify(t, "dn: uid=alice,ou=disabled,dc=bank,dc=example\nchangetype: modrdn\nnewrdn: uid=alice\ndeleteoldrdn: 1\nnewsuperior: ou=people,dc=bank,dc=example\n")
	if _, _, err := s.Login(ctx, "alice", "alice-pass-1", "", "192.0.2.7"); err != nil {
		t.Errorf("Login(alice back in ou=people) = %v, want success", err)
	}
	if evs := trail(t, db); !hasEvent(evs, "system:directory staff.enabled") {
		t.Errorf("no staff.enabled by the directory in %q", evs)
	}
	// An admin's disabling is final for the directory.
	if err := s.SetDisabled(ctx, "system", "alice", true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Login(ctx, "alice", "alice-pass-1", "", "192.0.2.7"); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
		t.Errorf("Login(alice disabled by an admin) = %v, want unauthorized", err)
	}
}

// TestDirectoryDown: with the directory stopped a directory sign-in is a
// clear 503-kind error that counts no failure, the local break-glass
// account still signs in, and the periodic check disables nobody.
func TestDirectoryDown(t *testing.T) {
	s, _, db, sl := newDirectoryService(t)
	ctx := context.Background()
	if _, _, err := s.Login(ctx, "alice", "alice-pass-1", "", "192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	sl.Stop()
	for range 12 { // more than the lock limit: an outage locks nobody out
		_, _, err := s.Login(ctx, "alice", "alice-pass-1", "", "192.0.2.7")
		if models.ErrorCodeOf(err) != models.EUNAVAILABLE || !strings.Contains(err.Error(), "directory cannot be reached") {
			t.Fatalf("Login(alice, directory down) = %v, want unavailable naming the directory", err)
		}
	}
	if _, p, err := s.Login(ctx, "clerk1", "correct horse battery", "", "192.0.2.7"); err != nil || p.Staff.Username != "clerk1" {
		t.Errorf("Login(local break-glass clerk1, directory down) = %v", err)
	}
	if _, err := s.SyncDirectory(ctx); models.ErrorCodeOf(err) != models.EUNAVAILABLE {
		t.Errorf("SyncDirectory(directory down) = %v, want unavailable", err)
	}
	alice, err := s.StaffByUsername(ctx, "alice")
	if err != nil || !alice.Active() {
		t.Errorf("alice after a directory outage: %+v, %v; want still enabled", alice, err)
	}
	if evs := trail(t, db, "username", "method", "reason"); !hasEvent(evs, "auth.login_failed username=alice method=ldap reason=directory unavailable") {
		t.Errorf("no audited directory outage in %q", evs)
	}
}

// TestDirectoryLoginLimits: the login limits count directory failures as
// they count local ones; the locked name is refused even with the right
// password, and the lock is audited.
func TestDirectoryLoginLimits(t *testing.T) {
	s, _, db, _ := newDirectoryService(t)
	s.Limits = access.Limits{DelayAfter: 100, LockAfter: 3}
	ctx := context.Background()
	if _, _, err := s.Login(ctx, "sam", "sam-pass-1", "", "192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, _, err := s.Login(ctx, "sam", "guess", "", "192.0.2.7"); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
			t.Fatalf("Login(sam, wrong #%d) = %v, want unauthorized", i+1, err)
		}
	}
	_, _, err := s.Login(ctx, "sam", "sam-pass-1", "", "192.0.2.7")
	var le *access.LimitError
	if !errors.As(err, &le) {
		t.Errorf("Login(sam, right password, locked) = %v, want a LimitError", err)
	}
	if evs := trail(t, db, "username"); !hasEvent(evs, "auth.account_locked username=sam") {
		t.Errorf("no auth.account_locked for sam in %q", evs)
	}
}

// TestDirectoryStepUp: a directory member's step-up binds to the
// directory; the local hash is never consulted.
func TestDirectoryStepUp(t *testing.T) {
	s, _, _, _ := newDirectoryService(t)
	ctx := context.Background()
	_, p, err := s.Login(ctx, "sam", "sam-pass-1", "", "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StepUp(ctx, p, "wrong"); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
		t.Errorf("StepUp(sam, wrong) = %v, want unauthorized", err)
	}
	if _, err := s.StepUp(ctx, p, "sam-pass-1"); err != nil || !s.SteppedUp(p) {
		t.Errorf("StepUp(sam, directory password) = %v, stepped up %v", err, s.SteppedUp(p))
	}
}

// TestDirectoryFirstLoginsAtOnce: parallel first sign-ins of one
// directory account all succeed and make one staff row, on PostgreSQL
// (where the transactions do run at once).
func TestDirectoryFirstLoginsAtOnce(t *testing.T) {
	s, _, _, _ := newDirectoryService(t)
	db, err := postgres.Open(context.Background(), testenv.PostgresURL(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s = &access.Service{Store: db, Chain: s.Chain, Now: s.Now, Rand: s.Rand, Idle: s.Idle, Absolute: s.Absolute, Log: s.Log, Directory: s.Directory}
	s.Limits = access.Limits{DelayAfter: 10, LockAfter: 20} // attempts under way count against the name
	ctx := context.Background()
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			_, _, err := s.Login(ctx, "alice", "alice-pass-1", "", fmt.Sprintf("192.0.2.%d", 50+i))
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("Login(alice, in parallel) = %v", err)
		}
	}
	n := 0
	for _, e := range trail(t, db, "username") {
		if strings.HasSuffix(e, "staff.created username=alice") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("staff.created for alice %d times, want 1", n)
	}
}
