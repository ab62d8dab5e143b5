package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"testing/fstest"
)

// The SHA-256 stored with a customer's consent identifies the text they
// read: the bytes of a published version must never change. These are the
// hashes of version 2026-11-1 as customers accepted it.
func TestConsentTextPinned(t *testing.T) {
	tests := []struct {
		locale, wantLocale, wantSHA256, wantTextSHA256 string
	}{
		{"en", "en", "5ad3e7d9bafe1ae7a521eb979fff7d5b822f7ac28133307e979230453853456e", "3021d5c58aae13317f5b23697568a96000833b4d7ade53e24a22ddccd79d1497"},
		{"zh-CN", "zh-CN", "ea350ef21be530516e4d0deb72eaea9983dd1fa3294638e16756533757c03d3c", "eb890be8fe24031760ae5092adc582ab36ecf5adc9a17cfe5ca5da46d0d7ed6c"},
		{"fr", "en", "5ad3e7d9bafe1ae7a521eb979fff7d5b822f7ac28133307e979230453853456e", "3021d5c58aae13317f5b23697568a96000833b4d7ade53e24a22ddccd79d1497"},
	}
	for _, tt := range tests {
		c := ConsentText(tt.locale)
		sum := sha256.Sum256([]byte(c.Text))
		if c.Version != "2026-11-1" || c.Locale != tt.wantLocale || c.SHA256 != tt.wantSHA256 || hex.EncodeToString(sum[:]) != tt.wantTextSHA256 {
			t.Errorf("ConsentText(%q) = version %s, locale %s, sha256 %s, text sha256 %x; want 2026-11-1, %s, %s, %s",
				tt.locale, c.Version, c.Locale, c.SHA256, sum, tt.wantLocale, tt.wantSHA256, tt.wantTextSHA256)
		}
	}
}

// A malformed or missing consent file is refused (at start-up: the
// embedded files are read when the program starts).
func TestLoadConsents(t *testing.T) {
	ok := fstest.MapFS{
		"consent/v1.en.txt":    {Data: []byte("I agree.\n")},
		"consent/v1.zh-CN.txt": {Data: []byte("本人同意。\n")},
	}
	with := func(name, data string) fstest.MapFS {
		m := fstest.MapFS{}
		for k, v := range ok {
			m[k] = v
		}
		if data == "" {
			delete(m, name)
		} else {
			m[name] = &fstest.MapFile{Data: []byte(data)}
		}
		return m
	}
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		current string
		want    string // "" for valid
	}{
		{"valid", ok, "v1", ""},
		{"no current version", ok, "v2", "no file of the current version v2"},
		{"a language missing", with("consent/v1.zh-CN.txt", ""), "v1", "version v1 has no zh-CN text"},
		{"a language missing in an old version", with("consent/v0.en.txt", "Old.\n"), "v1", "version v0 has no zh-CN text"},
		{"unknown locale", with("consent/v1.fr.txt", "J'accepte.\n"), "v1", "not VERSION.LOCALE.txt"},
		{"no locale", with("consent/v1.txt", "x\n"), "v1", "not VERSION.LOCALE.txt"},
		{"no final newline", with("consent/v1.en.txt", "I agree."), "v1", "exactly one newline"},
		{"two final newlines", with("consent/v1.en.txt", "I agree.\n\n"), "v1", "exactly one newline"},
		{"carriage return", with("consent/v1.en.txt", "I agree.\r\n"), "v1", "carriage returns"},
		{"empty", with("consent/v1.en.txt", "\n"), "v1", "exactly one newline"},
		{"not UTF-8", with("consent/v1.en.txt", "I agree\xff.\n"), "v1", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConsents(tt.fsys, tt.current)
			switch {
			case tt.want == "" && (err != nil || got["v1"]["zh-CN"] != "本人同意。" || got["v1"]["en"] != "I agree."):
				t.Errorf("loadConsents = %v, %v; want both texts without their final newline", got, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("loadConsents = %v, want an error saying %q", err, tt.want)
			}
		})
	}
	// The embedded files: every version complete, the current one there.
	if _, err := loadConsents(consentFiles, consentVersion); err != nil {
		t.Errorf("embedded consent texts: %v", err)
	}
}
