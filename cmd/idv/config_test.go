package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReviewConfigValidation(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string // "" for valid
	}{
		{map[string]string{"IDV_SMTP_ADDR": "mail.bank.example:587", "IDV_SMTP_USERNAME": "u", "IDV_SMTP_PASSWORD": "p"}, ""},
		{map[string]string{"IDV_SMTP_ADDR": "mail.bank.example"}, "IDV_SMTP_ADDR"},
		{map[string]string{"IDV_SMTP_ADDR": "mail.bank.example:25", "IDV_SMTP_TLS": "none", "IDV_SMTP_USERNAME": "u"}, "IDV_SMTP_ADDR"},
		{map[string]string{"IDV_SMTP_TLS": "ssl"}, "IDV_SMTP_TLS"},
		{map[string]string{"IDV_MAIL_FROM": "Bank <x@y>"}, "IDV_MAIL_FROM"},
		{map[string]string{"IDV_MAIL_INTERVAL": "0s"}, "IDV_MAIL_INTERVAL"},
		{map[string]string{"IDV_REGISTRY_URL": "ftp://registry"}, "IDV_REGISTRY_URL"},
		{map[string]string{"IDV_REGISTRY_TIMEOUT": "5m"}, "IDV_REGISTRY_TIMEOUT"},
		{map[string]string{"IDV_REGISTRY_CAPTURE_MAX_AGE": "45m", "IDV_REGISTRY_MAX_DATA_AGE": "2m"}, ""},
		{map[string]string{"IDV_REGISTRY_CAPTURE_MAX_AGE": "0s"}, "IDV_REGISTRY_CAPTURE_MAX_AGE"},
		{map[string]string{"IDV_REGISTRY_CAPTURE_MAX_AGE": "3h"}, "IDV_REGISTRY_CAPTURE_MAX_AGE"},
		{map[string]string{"IDV_REGISTRY_MAX_DATA_AGE": "-1m"}, "IDV_REGISTRY_MAX_DATA_AGE"},
	}
	for _, tt := range tests {
		_, _, err := loadConfig("serve", nil, func(k string) string { return tt.env[k] }, &bytes.Buffer{})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("loadConfig(%v) = %v, want valid", tt.env, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("loadConfig(%v) = %v, want an error naming %s", tt.env, err, tt.want)
		}
	}
}

// TestConfigTable keeps the configuration table of docs/configuration.md
// in step with the settings `idv serve -h` lists.
func TestConfigTable(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(IDV_[A-Z0-9_]+)` \\| `-([a-z0-9-]+)` \\| (`[^`]+`|\\(none\\)) \\|")
	var got []string
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		got = append(got, m[1]+" -"+m[2]+" "+strings.Trim(m[3], "`"))
	}
	c := defaultConfig()
	var want []string
	var table strings.Builder
	for _, s := range c.settings() {
		def := "`" + s.value.String() + "`"
		if s.value.String() == "" {
			def = "(none)"
		}
		want = append(want, s.Env+" -"+s.Flag+" "+strings.Trim(def, "`"))
		fmt.Fprintf(&table, "| `%s` | `-%s` | %s | %s |\n", s.Env, s.Flag, def, s.Help)
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("docs/configuration.md: the table differs from the settings (-want +got):\n%s\nThe rows should read:\n%s", diff, table.String())
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		env  map[string]string
		args []string
		want string // "" for valid
	}{
		{nil, nil, ""},
		{map[string]string{"IDV_DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test"}, nil, ""},
		{map[string]string{"IDV_DATABASE_URL": "mysql://x"}, nil, "IDV_DATABASE_URL"},
		{map[string]string{"IDV_SESSION_IDLE": "1h"}, nil, "IDV_SESSION_IDLE"},
		{map[string]string{"IDV_SESSION_MAX": "24h"}, nil, "IDV_SESSION_MAX"},
		{map[string]string{"IDV_BRANCH_TZ": "Mars/Base"}, nil, "IDV_BRANCH_TZ"},
		{map[string]string{"IDV_REGISTRY_HOURS": "19:00-07:30"}, nil, "IDV_REGISTRY_HOURS"},
		{map[string]string{"IDV_LISTEN": "8080"}, nil, "IDV_LISTEN"},
		{map[string]string{"IDV_TLS_CERT": "c.pem"}, nil, "IDV_TLS_CERT"},
		{map[string]string{"IDV_TRUSTED_PROXIES": "10.0.0.0/8,bogus"}, nil, "IDV_TRUSTED_PROXIES"},
		{map[string]string{"IDV_LOG_LEVEL": "loud"}, nil, "IDV_LOG_LEVEL"},
		{map[string]string{"IDV_SESSION_IDLE": "1h"}, []string{"-session-idle", "10m"}, ""},
		{nil, []string{"-max-body", "12"}, "IDV_MAX_BODY"},
	}
	for _, tt := range tests {
		_, _, err := loadConfig("serve", tt.args, func(k string) string { return tt.env[k] }, &bytes.Buffer{})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("loadConfig(%v, %v) = %v, want valid", tt.env, tt.args, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("loadConfig(%v, %v) = %v, want an error naming %s", tt.env, tt.args, err, tt.want)
		}
	}
}
