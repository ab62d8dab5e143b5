package main

import (
	"context"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"remoteidv/access"
	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/storage/sqlite"
)

// TestTokensCLI: the operator mints a token within its member's roles,
// lists it, and revokes it; the revoked token is refused at once.
func TestTokensCLI(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []struct{ name, role string }{{"clerk", "clerk"}, {"adm", "admin"}} {
		if out, err := runCLI(t, dir, "users", "add", "--username", u.name, "--role", u.role); err != nil {
			t.Fatalf("users add: %v\n%s", err, out)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--user", "adm", "--name", "x", "--scope", "auditor"}, "adm does not hold the auditor role"},
		{[]string{"--user", "clerk", "--name", "x"}, "name the token's scope"},
		{[]string{"--user", "clerk", "--name", "x", "--scope", "clerk", "--days", "91"}, "at most 90 days"},
	} {
		out, err := runCLI(t, dir, append([]string{"tokens", "create"}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("tokens create %v = %v\n%s\nwant an error saying %q", tt.args, err, out, tt.want)
		}
	}
	out, err := runCLI(t, dir, "tokens", "create", "--user", "clerk", "--name", "core banking", "--scope", "clerk", "--days", "7")
	if err != nil {
		t.Fatalf("tokens create: %v\n%s", err, out)
	}
	raw := regexp.MustCompile(`(?m)^idv_\S+$`).FindString(out)
	id := regexp.MustCompile(`token (tok_\S+) for clerk, scope clerk, expires `).FindStringSubmatch(out)
	if raw == "" || id == nil {
		t.Fatalf("tokens create printed no token and ID:\n%s", out)
	}
	list := func() string {
		t.Helper()
		out, err := runCLI(t, dir, "tokens", "list")
		if err != nil {
			t.Fatalf("tokens list: %v\n%s", err, out)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, id[1]) {
				return strings.Join(strings.Fields(l)[1:], " ")
			}
		}
		t.Fatalf("tokens list does not show %s:\n%s", id[1], out)
		return ""
	}
	if got := list(); !strings.HasPrefix(got, "clerk core banking live clerk (clerk)") || !strings.HasSuffix(got, " - -") {
		t.Errorf("tokens list before revocation: %q, want live, scope clerk, never used, not revoked", got)
	}
	if out, err := runCLI(t, dir, "tokens", "revoke", id[1]); err != nil || !strings.Contains(out, "revoked "+id[1]) {
		t.Fatalf("tokens revoke = %v\n%s", err, out)
	}
	if got := list(); !strings.Contains(got, " revoked ") {
		t.Errorf("tokens list after revocation: %q, want revoked", got)
	}
	if out, err := runCLI(t, dir, "tokens", "revoke", id[1]); err == nil || !strings.Contains(err.Error(), "already revoked") {
		t.Errorf("tokens revoke (twice) = %v\n%s, want already revoked", err, out)
	}

	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "idv.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acc := &access.Service{Store: db, Chain: audit.Chain{Now: time.Now}, Now: time.Now, Rand: rand.Reader, Idle: time.Minute, Absolute: time.Hour,
		Log: slog.New(slog.DiscardHandler)}
	if _, err := acc.AuthenticateToken(ctx, raw, "ip"); models.ErrorCodeOf(err) != models.EUNAUTHORIZED || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("AuthenticateToken(revoked at the command line) = %v, want unauthorized saying revoked", err)
	}
	var trail []string
	err = db.Transact(ctx, func(tx models.Tx) error {
		evs, err := tx.AuditEvents(ctx, models.AuditFilter{})
		for _, e := range evs {
			if strings.HasPrefix(e.Action, "token.") {
				trail = append(trail, e.Actor+" "+e.Action+" "+e.Detail["scope"])
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(trail, "; "), "cli token.created clerk; cli token.listed ; cli token.revoked ; cli token.listed "; got != want {
		t.Errorf("audited token events = %q, want %q", got, want)
	}
}
