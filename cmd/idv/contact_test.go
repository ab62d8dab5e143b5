package main

import (
	"strings"
	"testing"
)

// TestUsersContact: an admin gives a member a notification address and
// language when adding them and changes or clears them later from the
// command line; bad ones are refused.
func TestUsersContact(t *testing.T) {
	dir := t.TempDir()
	if out, err := runCLI(t, dir, "users", "add", "--username", "night", "--role", "clerk", "--email", "night@bank.example", "--language", "zh-CN"); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	if out, err := runCLI(t, dir, "users", "add", "--username", "bad", "--role", "clerk", "--email", "not an address"); err == nil {
		t.Errorf("users add with a bad email passed:\n%s", out)
	}
	if out, err := runCLI(t, dir, "users", "list"); err != nil || !strings.Contains(out, "night@bank.example") || strings.Contains(out, "bad ") {
		t.Errorf("users list = %v\n%s\nwant night's address and no member bad", err, out)
	}
	for _, tc := range []struct {
		args    []string
		want    string
		wantErr bool
	}{
		{[]string{"--username", "night", "--email", "n2@bank.example"}, "night notifications: n2@bank.example (en)", false},
		{[]string{"--username", "night", "--email", "n2@bank.example", "--language", "zh-CN"}, "night notifications: n2@bank.example (zh-CN)", false},
		{[]string{"--username", "night", "--email", "Night <n@bank.example>"}, "", true},
		{[]string{"--username", "night", "--email", "n@bank.example", "--language", "fr"}, "", true},
		{[]string{"--username", "night", "--email", "none"}, "night notifications: no email (en)", false},
		{[]string{"--username", "nobody", "--email", "x@bank.example"}, "", true},
	} {
		out, err := runCLI(t, dir, append([]string{"users", "contact"}, tc.args...)...)
		if (err != nil) != tc.wantErr || !strings.Contains(out, tc.want) {
			t.Errorf("users contact %v = %v\n%s\nwant %q (error %v)", tc.args, err, out, tc.want, tc.wantErr)
		}
	}
}
