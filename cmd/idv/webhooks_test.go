package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"remoteidv/storage/sqlite"
)

// TestWebhooksCLI: the operator registers an endpoint (its secret printed
// once and kept sealed under the staging key, never in the clear in the
// database), lists, disables and deletes it.
func TestWebhooksCLI(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--url", "https://hooks.example/idv"}, "events: name at least one"},
		{[]string{"--url", "https://hooks.example/idv", "--events", "case.exploded"}, `"case.exploded" is not one of`},
		{[]string{"--url", "file:///etc/passwd", "--events", "*"}, "absolute http or https URL"},
	} {
		if out, err := runCLI(t, dir, append([]string{"webhooks", "add"}, tt.args...)...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("webhooks add %v = %v\n%s\nwant an error saying %q", tt.args, err, out, tt.want)
		}
	}
	out, err := runCLI(t, dir, "webhooks", "add", "--url", "https://hooks.example/idv", "--events", "case.created, case.state_changed")
	if err != nil {
		t.Fatalf("webhooks add: %v\n%s", err, out)
	}
	secret := regexp.MustCompile(`(?m)^whsec_\S+$`).FindString(out)
	id := regexp.MustCompile(`endpoint (whe_\S+) for https://hooks.example/idv \(case.created, case.state_changed\)`).FindStringSubmatch(out)
	if secret == "" || id == nil {
		t.Fatalf("webhooks add printed no secret and id:\n%s", out)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) != 32 {
		t.Fatalf("secret %q: %v, want 32 bytes", secret, err)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "idv.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var stored []byte
	if err := db.SQL().QueryRow(`SELECT secret FROM webhook_endpoints WHERE id = ?`, id[1]).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if bytes.Contains(stored, key) || len(stored) <= len(key) || stored[0] == 0 {
		t.Errorf("stored secret (%d bytes) is not sealed", len(stored))
	}

	state := func() string {
		t.Helper()
		out, err := runCLI(t, dir, "webhooks", "list")
		if err != nil {
			t.Fatalf("webhooks list: %v\n%s", err, out)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, id[1]) {
				return strings.Fields(l)[1]
			}
		}
		return "(not listed)"
	}
	for _, s := range []struct {
		verb, want string
	}{{"", "active"}, {"disable", "disabled"}, {"enable", "active"}, {"delete", "(not listed)"}} {
		if s.verb != "" {
			if out, err := runCLI(t, dir, "webhooks", s.verb, id[1]); err != nil {
				t.Fatalf("webhooks %s: %v\n%s", s.verb, err, out)
			}
		}
		if got := state(); got != s.want {
			t.Errorf("after %q: listed as %s, want %s", s.verb, got, s.want)
		}
	}
	if out, err := runCLI(t, dir, "webhooks", "delete", id[1]); err == nil {
		t.Errorf("webhooks delete (twice) succeeded:\n%s", out)
	}
	if out, err := runCLI(t, dir, "webhooks", "deliveries", "--state", "failed"); err != nil || !strings.HasPrefix(out, "ID ") {
		t.Errorf("webhooks deliveries = %v\n%s", err, out)
	}
}
