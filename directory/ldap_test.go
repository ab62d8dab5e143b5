package directory_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"remoteidv/directory"
	"remoteidv/internal/testenv"
	"remoteidv/models"
)

// TestRoleMap is the group -> role mapping the tests' configuration uses.
var testRoles = []models.GroupRole{
	{Group: "cn=idv-clerks," + testenv.SlapdGroups, Role: models.RoleClerk},
	{Group: "CN=idv-supervisors, OU=groups, DC=bank, DC=example", Role: models.RoleSupervisor}, // spelled as AD admins do
	{Group: "cn=idv-admins," + testenv.SlapdGroups, Role: models.RoleAdmin},
}

func config(url string) directory.Config {
	return directory.Config{URL: url, BindDN: testenv.SlapdBindDN, BindPassword: testenv.SlapdBindPassword,
		UserBase: testenv.SlapdPeople, UserFilter: "(&(objectClass=inetOrgPerson)(uid=%s))", UsernameAttr: "uid", NameAttr: "displayName",
		GroupBase: testenv.SlapdGroups, GroupFilter: "(&(objectClass=groupOfNames)(member=%s))", Roles: testRoles, Timeout: 5 * time.Second}
}

func TestAuthenticate(t *testing.T) {
	sl := testenv.StartSlapd(t)
	ctx := context.Background()
	transports := []struct {
		name string
		cfg  func() directory.Config
	}{
		{"StartTLS", func() directory.Config { c := config(sl.URL); c.StartTLS, c.CAFile = true, sl.CAFile; return c }},
		{"ldaps", func() directory.Config { c := config(sl.LDAPSURL); c.CAFile = sl.CAFile; return c }},
	}
	tests := []struct {
		user, password string
		code           models.ErrorCode // "" for success
		name           string
		roles          []models.Role
	}{
		{"alice", "alice-pass-1", "", "Alice Clerk", []models.Role{models.RoleClerk}},
		{"sam", "sam-pass-1", "", "Sam Supervisor", []models.Role{models.RoleClerk, models.RoleSupervisor}},
		{"ada", "ada-pass-1", "", "Ada Admin", []models.Role{models.RoleAdmin}},
		{"nora", "nora-pass-1", "", "Nora Nogroup", nil},
		{"alice", "wrong-pass", models.EUNAUTHORIZED, "", nil},
		{"alice", "", models.EUNAUTHORIZED, "", nil},
		{"dave", "dave-pass-1", models.ENOTFOUND, "", nil}, // disabled: outside ou=people
		{"nobody", "x", models.ENOTFOUND, "", nil},
		{"*", "alice-pass-1", models.ENOTFOUND, "", nil}, // the name is escaped, never a wildcard
		{"alice)(uid=*", "alice-pass-1", models.ENOTFOUND, "", nil},
	}
	for _, tr := range transports {
		d, err := directory.New(tr.cfg(), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("New(%s): %v", tr.name, err)
		}
		for _, tt := range tests {
			e, err := d.Authenticate(ctx, tt.user, tt.password)
			if tt.code != "" {
				if models.ErrorCodeOf(err) != tt.code {
					t.Errorf("%s: Authenticate(%q, %q) = %v, want %s", tr.name, tt.user, tt.password, err, tt.code)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: Authenticate(%q) = %v", tr.name, tt.user, err)
				continue
			}
			if e.Username != tt.user || e.DisplayName != tt.name || !slices.Equal(e.Roles, tt.roles) {
				t.Errorf("%s: Authenticate(%q) = %q %q roles %v, want %q %q %v", tr.name, tt.user, e.Username, e.DisplayName, e.Roles, tt.user, tt.name, tt.roles)
			}
		}
	}
}

// TestTransportSecurity: a CA the server's certificate does not chain to
// is refused, and so is plain ldap:// without StartTLS unless allowed.
func TestTransportSecurity(t *testing.T) {
	sl := testenv.StartSlapd(t)
	ctx := context.Background()
	c := config(sl.LDAPSURL) // the system roots do not know the test CA
	d, err := directory.New(c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, "alice", "alice-pass-1"); models.ErrorCodeOf(err) != models.EUNAVAILABLE {
		t.Errorf("Authenticate over ldaps with an unknown CA = %v, want unavailable", err)
	}
	if _, err := directory.New(config(sl.URL), nil); err == nil {
		t.Errorf("New(ldap:// without StartTLS) = nil error, want a refusal")
	}
	bad := config(sl.URL)
	bad.StartTLS, bad.CAFile, bad.BindPassword = true, sl.CAFile, "wrong"
	d, err = directory.New(bad, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, "alice", "alice-pass-1"); models.ErrorCodeOf(err) != models.EUNAVAILABLE {
		t.Errorf("Authenticate with a wrong service password = %v, want unavailable", err)
	}
}

// TestDirectoryDown: a stopped directory is EUNAVAILABLE, quickly.
func TestDirectoryDown(t *testing.T) {
	sl := testenv.StartSlapd(t)
	c := config(sl.URL)
	c.StartTLS, c.CAFile = true, sl.CAFile
	d, err := directory.New(c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	sl.Stop()
	start := time.Now()
	_, err = d.Lookup(context.Background(), "alice")
	if models.ErrorCodeOf(err) != models.EUNAVAILABLE {
		t.Errorf("Lookup(directory down) = %v, want unavailable", err)
	}
	if el := time.Since(start); el > 6*time.Second {
		t.Errorf("Lookup(directory down) took %v, want at most the timeout", el)
	}
}

func TestGroupAttribute(t *testing.T) {
	sl := testenv.StartSlapd(t)
	sl.Modify(t, "dn: uid=alice,ou=people,dc=bank,dc=example\nchangetype: modify\nadd: departmentNumber\ndepartmentNumber: IDV-Supervisors\n")
	c := config(sl.URL)
	c.StartTLS, c.CAFile = true, sl.CAFile
	c.GroupFilter, c.GroupAttr = "", "departmentNumber"
	c.Roles = []models.GroupRole{{Group: "idv-supervisors", Role: models.RoleSupervisor}}
	d, err := directory.New(c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e, err := d.Lookup(context.Background(), "alice")
	if err != nil || !slices.Equal(e.Roles, []models.Role{models.RoleSupervisor}) {
		t.Errorf("Lookup(alice) by group attribute = %+v, %v; want roles [supervisor]", e, err)
	}
}

// BenchmarkAuthenticate: one directory sign-in (connect, TLS, service
// bind, two searches, user bind) against a local slapd; Lookup (no user
// bind) is the baseline.
func BenchmarkAuthenticate(b *testing.B) {
	sl := testenv.StartSlapd(b)
	ctx := context.Background()
	starttls := config(sl.URL)
	starttls.StartTLS, starttls.CAFile = true, sl.CAFile
	ldaps := config(sl.LDAPSURL)
	ldaps.CAFile = sl.CAFile
	for _, bc := range []struct {
		name   string
		cfg    directory.Config
		lookup bool
	}{{"baseline-lookup-StartTLS", starttls, true}, {"StartTLS", starttls, false}, {"ldaps", ldaps, false}} {
		d, err := directory.New(bc.cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if bc.lookup {
					_, err = d.Lookup(ctx, "sam")
				} else {
					_, err = d.Authenticate(ctx, "sam", "sam-pass-1")
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
