package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"remoteidv/internal/testenv"
	"remoteidv/models"
)

// TestDirectoryWiring: the IDV_LDAP_* settings reach the sign-in (a
// directory supervisor signs in with the mapped roles, over StartTLS with
// the CA file) and the periodic check job disables a member moved out of
// the user base, ending their session.
func TestDirectoryWiring(t *testing.T) {
	sl := testenv.StartSlapd(t)
	dir := t.TempDir()
	env := map[string]string{
		"IDV_DATABASE_URL":       "sqlite:" + filepath.Join(dir, "idv.db"),
		"IDV_DATA_DIR":           dir,
		"IDV_SIGNING_KEY":        filepath.Join(dir, "keys", "audit.pem"),
		"IDV_LDAP_URL":           sl.URL,
		"IDV_LDAP_STARTTLS":      "true",
		"IDV_LDAP_CA_FILE":       sl.CAFile,
		"IDV_LDAP_BIND_DN":       testenv.SlapdBindDN,
		"IDV_LDAP_BIND_PASSWORD": testenv.SlapdBindPassword,
		"IDV_LDAP_USER_BASE":     testenv.SlapdPeople,
		"IDV_LDAP_USER_FILTER":   "(&(objectClass=inetOrgPerson)(uid=%s))",
		"IDV_LDAP_GROUP_BASE":    testenv.SlapdGroups,
		"IDV_LDAP_GROUP_FILTER":  "(&(objectClass=groupOfNames)(member=%s))",
		"IDV_LDAP_GROUP_ROLES":   "clerk=cn=idv-clerks," + testenv.SlapdGroups + ";supervisor=cn=idv-supervisors," + testenv.SlapdGroups,
		"IDV_LDAP_SYNC_INTERVAL": "10s",
	}
	cfg, _, err := loadConfig("serve", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		t.Fatalf("openApp: %v", err)
	}
	t.Cleanup(func() { a.store.Close() })
	cookie, p, err := a.access.Login(ctx, "sam", "sam-pass-1", "", "127.0.0.1")
	if err != nil || !slices.Equal(p.Staff.Roles, []models.Role{models.RoleClerk, models.RoleSupervisor}) {
		t.Fatalf("Login(sam) = %v, %v; want clerk and supervisor", p, err)
	}
	sl.Modify(t, "dn: uid=sam,ou=people,dc=bank,dc=example\nchangetype: modrdn\nnewrdn: uid=sam\ndeleteoldrdn: 1\nnewsuperior: ou=disabled,dc=bank,dc=example\n")
	jctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- directorySync(a.access, "test/directory", cfg.LDAP.SyncInterval, log).Run(jctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := a.access.StaffByUsername(ctx, "sam")
		if err == nil && !st.Active() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sam still enabled 10s after the directory check started: %+v %v", st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("directory check job: %v", err)
	}
	if _, err := a.access.Authenticate(ctx, cookie); models.ErrorCodeOf(err) != models.EUNAUTHORIZED {
		t.Errorf("Authenticate(sam's session after the check) = %v, want unauthorized", err)
	}
}
