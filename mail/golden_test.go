package mail_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"remoteidv/mail"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestRenderGolden")

// TestRenderGolden renders every kind in every language (and a language
// without templates) with values that need escaping, and compares the
// subject, text and HTML with testdata/render/KIND.LANG.golden: what the
// customer receives changes only when a golden file does.
func TestRenderGolden(t *testing.T) {
	d := mail.Data{BankName: "Demo & Bank", HolderName: "Li <Wei>", Link: "https://idv.bank.example/join/t0k3n?a=1&b=2",
		SlotLocal: "2026-12-01 09:00 America/New_York", SlotBranch: "2026-12-01 22:00 Asia/Shanghai", Hours: 24, Code: "042917", Minutes: 10, PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", CaseRef: "case_7f3a"}
	// statement-encrypted, balance_certificate-encrypted: the document
	// whose attachment is the customer's password-protected envelope.
	for _, kind := range []string{mail.KindInvite, mail.KindCode, mail.KindStatement, "statement-encrypted", mail.TemplateBalanceCertificate, "balance_certificate-encrypted",
		mail.KindReminder, "reminder-1h", mail.KindReschedule, mail.KindCancel, mail.KindApproved, "approved-encrypted", mail.KindRejected} {
		for _, lang := range []string{mail.LangEnglish, mail.LangChinese, "fr"} {
			dk, rk := d, kind
			if base, ok := strings.CutSuffix(kind, "-encrypted"); ok {
				dk.Encrypted, rk = true, base
			}
			if base, ok := strings.CutSuffix(kind, "-1h"); ok {
				dk.Hours, rk = 1, base
			}
			subject, text, html, err := mail.Render(rk, lang, dk)
			if err != nil {
				t.Fatalf("Render(%s, %s) = %v", kind, lang, err)
			}
			got := "Subject: " + subject + "\n--- text\n" + text + "\n--- html\n" + html + "\n"
			path := filepath.Join("testdata", "render", kind+"."+lang+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -run TestRenderGolden -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("Render(%s, %s) differs from %s:\ngot:\n%s\nwant:\n%s", kind, lang, path, got, want)
			}
		}
	}
	if _, _, _, err := mail.Render("postcard", mail.LangEnglish, d); err == nil {
		t.Error(`Render("postcard") = nil error, want unknown kind`)
	}
}
