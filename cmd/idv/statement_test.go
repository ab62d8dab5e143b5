package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remoteidv/statement"
	"remoteidv/statement/pades"
)

// TestStatementVerifyCLI: `idv statement verify -root PEM FILE.pdf` accepts a
// statement signed with the bank's certificate and refuses an altered copy,
// a copy with an update appended, an unsigned statement and one checked
// against another bank's root.
func TestStatementVerifyCLI(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	cfg, err := pades.GenerateDemo(filepath.Join(dir, "bank"), "Demo Bank", now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := pades.GenerateDemo(filepath.Join(dir, "other"), "Other Bank", now)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := pades.Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := statement.Render(&statement.Statement{
		Bank: statement.Bank{Name: "Demo Bank"}, HolderName: "Li Wei", AccountNo: "6222020200112233", PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31",
		Sections: []statement.Section{{Currency: "CNY", Opening: 100000}}, StatementID: "stm_cli", VerifyURL: "https://idv.bank.example/v/stm_cli", IssuedAt: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := signer.Sign(context.Background(), unsigned, now)
	if err != nil {
		t.Fatal(err)
	}
	altered := bytes.Clone(signed)
	i := bytes.Index(altered, []byte("/Producer"))
	if i < 0 {
		t.Fatal("no /Producer in the signed statement")
	}
	altered[i+12] ^= 0x01
	appended := append(bytes.Clone(signed), []byte("\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n")...)
	bankRoot := filepath.Join(cfg.ChainFile)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, file, root string
		want             string // "" for success
	}{
		{"the signed statement", write("signed.pdf", signed), bankRoot, ""},
		{"a byte changed", write("altered.pdf", altered), bankRoot, "is not a statement signed by the bank"},
		{"an update appended", write("appended.pdf", appended), bankRoot, ""},
		{"unsigned", write("unsigned.pdf", unsigned), bankRoot, "is not a statement signed by the bank"},
		{"another bank's root", write("signed2.pdf", signed), other.ChainFile, "is not a statement signed by the bank"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCLI(t, dir, "statement", "verify", "-root", tc.root, tc.file)
			if tc.name == "an update appended" {
				// Either the appended bytes break the file or Verify says the
				// signature no longer covers it: never "valid".
				if err == nil || strings.Contains(out, "valid: signed by the bank") {
					t.Fatalf("statement verify(%s) = %v\n%s\nwant a refusal", tc.name, err, out)
				}
				return
			}
			if tc.want == "" {
				if err != nil || !strings.Contains(out, "valid: signed by the bank, unchanged since") || !strings.Contains(out, "Demo Bank") {
					t.Fatalf("statement verify(%s) = %v\n%s\nwant valid", tc.name, err, out)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("statement verify(%s) = %v\n%s\nwant an error naming %q", tc.name, err, out, tc.want)
			}
		})
	}
	if _, err := runCLI(t, dir, "statement", "verify", filepath.Join(dir, "signed.pdf")); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("statement verify without -root = %v, want the usage", err)
	}
}
