package main

import (
	"strings"
	"testing"
)

// TestUsersHours: an admin sets, shows and clears a member's working
// hours from the command line; bad hours are refused.
func TestUsersHours(t *testing.T) {
	dir := t.TempDir()
	if out, err := runCLI(t, dir, "users", "add", "--username", "late", "--role", "clerk"); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args    []string
		want    string
		wantErr bool
	}{
		{[]string{"--username", "late"}, "late working hours (Asia/Shanghai): none recorded", false},
		{[]string{"--username", "late", "--set", "mon-tue 20:00-02:00"}, "late working hours (Asia/Shanghai): mon 20:00-02:00, tue 20:00-02:00", false},
		{[]string{"--username", "late", "--set", "mon 25:00-26:00"}, "", true},
		{[]string{"--username", "late"}, "mon 20:00-02:00, tue 20:00-02:00", false},
		{[]string{"--username", "late", "--set", "none"}, "none recorded", false},
		{[]string{"--username", "nobody"}, "", true},
	} {
		out, err := runCLI(t, dir, append([]string{"users", "hours"}, tc.args...)...)
		if (err != nil) != tc.wantErr || !strings.Contains(out, tc.want) {
			t.Errorf("users hours %v = %v\n%s\nwant %q (error %v)", tc.args, err, out, tc.want, tc.wantErr)
		}
	}
}
