package statement_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/statement"
	"remoteidv/statement/pades"
)

// signedStatement renders the sample statement and signs it with a demo
// bank certificate made in dir; it returns the file and the demo root.
func signedStatement(t testing.TB, dir string) ([]byte, string) {
	t.Helper()
	cfg, err := pades.GenerateDemo(dir, "Demo Bank", time.Now())
	if err != nil {
		t.Fatalf("GenerateDemo: %v", err)
	}
	signer, err := pades.Load(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pades.Load: %v", err)
	}
	s := sample(t, 5)
	s.IssuedAt = time.Now().UTC().Truncate(time.Second)
	signed, err := signer.Sign(context.Background(), mustRender(t, s), s.IssuedAt)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return signed, cfg.ChainFile
}

func envelope(t testing.TB, signed []byte) *statement.Envelope {
	t.Helper()
	return &statement.Envelope{
		Bank: statement.Bank{Name: "Demo Bank", NameZH: "演示银行"}, StatementID: "stm_4f2a9c",
		FileName: "statement-2025-01-01-2025-12-31.pdf", VerifyURL: verifyURL,
		IssuedAt: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), UnicodeFont: font(t), Rand: rand.Reader,
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestEnvelopeWithPoppler seals a signed statement and checks the result
// with poppler, an independent reader: without the password (or with a
// wrong one) nothing opens; with it pdfinfo reports AES-256, pdftotext
// reads the bilingual cover, and pdfdetach saves an attachment that is
// byte-identical to the signed statement, whose signature pdfsig still
// validates against the demo root.
func TestEnvelopeWithPoppler(t *testing.T) {
	dir := t.TempDir()
	signed, root := signedStatement(t, filepath.Join(dir, "ca"))
	const pw = "correct horse battery 9"
	env := envelope(t, signed)
	sealed, err := env.Seal(signed, pw)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if bytes.Contains(sealed, []byte("stm_4f2a9c")) || bytes.Contains(sealed, []byte(pw)) {
		t.Fatal("the sealed envelope holds the statement ID or the password in clear")
	}
	f := filepath.Join(dir, "envelope.pdf")
	if err := os.WriteFile(f, sealed, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no password", []string{f}},
		{"wrong password", []string{"-upw", "correct horse battery 8", f}},
		{"prefix of the password", []string{"-upw", "correct horse", f}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out, ok := testenv.Poppler(t, "pdfinfo", tc.args...); ok || !strings.Contains(out, "Incorrect password") {
				t.Errorf("pdfinfo %v = %v, %q; want a failure for the incorrect password", tc.args, ok, out)
			}
			if out, ok := testenv.Poppler(t, "pdfdetach", append([]string{"-list"}, tc.args...)...); ok {
				t.Errorf("pdfdetach -list %v succeeded: %q", tc.args, out)
			}
		})
	}

	info, ok := testenv.Poppler(t, "pdfinfo", "-upw", pw, f)
	if !ok || !strings.Contains(info, "algorithm:AES-256") {
		t.Fatalf("pdfinfo -upw = %v\n%s\nwant Encrypted ... algorithm:AES-256", ok, info)
	}
	text, ok := testenv.Poppler(t, "pdftotext", "-upw", pw, "-layout", f, "-")
	if !ok {
		t.Fatalf("pdftotext -upw: %s", text)
	}
	for _, want := range []string{"演示银行 Demo Bank", "您的交易明细 stm_4f2a9c 作为附件包含在本文件中", "Your transaction statement stm_4f2a9c is attached to this file as:",
		env.FileName, sha(signed), verifyURL, "请在以下网址核验 Check it at:", "This file is encrypted (AES-256) with the password you chose during the video call."} {
		if !strings.Contains(text, want) {
			t.Errorf("cover text lacks %q:\n%s", want, text)
		}
	}
	list, ok := testenv.Poppler(t, "pdfdetach", "-upw", pw, "-list", f)
	if !ok || !strings.Contains(list, "1 embedded files") || !strings.Contains(list, "1: "+env.FileName) {
		t.Errorf("pdfdetach -list = %v %q, want one file named %s", ok, list, env.FileName)
	}
	saved := filepath.Join(dir, "out.pdf")
	if out, ok := testenv.Poppler(t, "pdfdetach", "-upw", pw, "-save", "1", "-o", saved, f); !ok {
		t.Fatalf("pdfdetach -save: %s", out)
	}
	got, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	if sha(got) != sha(signed) || !bytes.Equal(got, signed) {
		t.Fatalf("extracted attachment SHA-256 %s, want the signed statement's %s", sha(got), sha(signed))
	}
	sig := pdfsigTrusting(t, dir, root, saved)
	for _, want := range []string{"Signature Validation: Signature is Valid.", "Certificate Validation: Certificate is Trusted.", "Total document signed"} {
		if !strings.Contains(sig, want) {
			t.Errorf("pdfsig of the extracted statement lacks %q:\n%s", want, sig)
		}
	}
}

// pdfsigTrusting runs pdfsig on file with an NSS database (certutil, from
// libnss3-tools) that trusts the PEM root.
func pdfsigTrusting(t testing.TB, dir, rootPEM, file string) string {
	t.Helper()
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		t.Fatal("certutil not found: install the Debian package libnss3-tools (scripts/setup.sh does)")
	}
	nss := filepath.Join(dir, "nss")
	if err := os.Mkdir(nss, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-N", "-d", "sql:" + nss, "--empty-password"}, {"-A", "-d", "sql:" + nss, "-n", "root", "-t", "CT,C,C", "-i", rootPEM}} {
		if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	out, ok := testenv.Poppler(t, "pdfsig", "-nssdir", "sql:"+nss, file)
	if !ok {
		t.Fatalf("pdfsig: %s", out)
	}
	return out
}

// TestEnvelopeFreshKeys: two envelopes of the same file under the same
// password differ (the owner password and the file key are random), and
// both open.
func TestEnvelopeFreshKeys(t *testing.T) {
	signed := mustRender(t, sample(t, 2))
	env := envelope(t, signed)
	a, err := env.Seal(signed, "password-1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.Seal(signed, "password-1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Error("two envelopes are identical: the keys are not fresh")
	}
}

func TestEnvelopeSealInvalid(t *testing.T) {
	signed := mustRender(t, sample(t, 1))
	for _, tc := range []struct {
		name string
		edit func(*statement.Envelope)
		pdf  []byte
		pw   string
	}{
		{"short password", nil, signed, "1234567"},
		{"long password", nil, signed, strings.Repeat("x", 129)},
		{"control character", nil, signed, "password\n1"},
		{"not ASCII", nil, signed, "password密码"},
		{"full-width", nil, signed, "ｐａｓｓｗｏｒｄ"},
		{"empty file", nil, nil, "password-1"},
		{"no file name", func(e *statement.Envelope) { e.FileName = "" }, signed, "password-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := envelope(t, signed)
			if tc.edit != nil {
				tc.edit(env)
			}
			out, err := env.Seal(tc.pdf, tc.pw)
			if models.ErrorCodeOf(err) != models.EINVALID || out != nil {
				t.Fatalf("Seal = %d bytes, %v; want EINVALID", len(out), err)
			}
			if tc.pw != "" && len(tc.pw) > 3 && strings.Contains(err.Error(), tc.pw) {
				t.Errorf("the error quotes the password: %v", err)
			}
		})
	}
}

func TestCheckEnvelopePassword(t *testing.T) {
	for _, tc := range []struct {
		pw string
		ok bool
	}{
		{"12345678", true},
		{"correct horse battery staple", true},
		{`~!@#$%^&*()_+{}|:"<>?`, true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("密", 8), false},
		{"password\u3000", false}, // the ideographic space
		{"ｐａｓｓｗｏｒｄ", false},
		{"1234567", false},
		{strings.Repeat("a", 129), false},
		{"tab\tinside", false},
		{"", false},
	} {
		if err := statement.CheckEnvelopePassword(tc.pw); (err == nil) != tc.ok {
			t.Errorf("CheckEnvelopePassword(%d chars) = %v, want ok %v", len([]rune(tc.pw)), err, tc.ok)
		}
	}
}

// TestEnvelopeLongPassword: passwords up to the longest allowed open the
// envelope and release the attachment unchanged (128 characters are one
// more than AES-256 uses: the 128th does not matter, as in every reader). poppler's command-line
// tools cut -upw at 32 bytes (a fixed buffer of poppler 22.12's utils), so
// the full-length cases are read with pdfcpu's decryption, and poppler
// checks the longest password its tools take and that they cut what is
// longer (which shows the longer ones are really used whole).
func TestEnvelopeLongPassword(t *testing.T) {
	signed := mustRender(t, sample(t, 1))
	dir := t.TempDir()
	for _, tc := range []struct {
		name, pw string
	}{
		{"32 bytes", "01234567890123456789012345678901"},
		{"128 ASCII characters", strings.Repeat("abcd", 32)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sealed, err := envelope(t, signed).Seal(signed, tc.pw)
			if err != nil {
				t.Fatal(err)
			}
			conf := model.NewAESConfiguration(tc.pw, "", 256)
			att, err := api.ExtractAttachmentsRaw(bytes.NewReader(sealed), "", nil, conf)
			if err != nil || len(att) != 1 {
				t.Fatalf("pdfcpu extract with the password = %d files, %v", len(att), err)
			}
			got, err := io.ReadAll(att[0])
			if err != nil || !bytes.Equal(got, signed) {
				t.Fatalf("pdfcpu extract: %d bytes (%v), want the %d signed bytes", len(got), err, len(signed))
			}
			if _, err := api.ExtractAttachmentsRaw(bytes.NewReader(sealed), "", nil, model.NewAESConfiguration(tc.pw[:len(tc.pw)-3]+"xyz", "", 256)); err == nil {
				t.Error("pdfcpu opened the envelope with a shorter password")
			}
			f := filepath.Join(dir, "e.pdf")
			if err := os.WriteFile(f, sealed, 0o600); err != nil {
				t.Fatal(err)
			}
			out, ok := testenv.Poppler(t, "pdfinfo", "-upw", tc.pw, f)
			if want := len(tc.pw) <= 32; ok != want {
				t.Errorf("pdfinfo -upw <%d bytes> = %v %q, want success %v", len(tc.pw), ok, out, want)
			}
		})
	}
}

// BenchmarkEnvelopeSeal measures what a password adds to a release: the
// envelope around a 1000-transaction statement, against rendering that
// statement (the baseline, in the same run).
func BenchmarkEnvelopeSeal(b *testing.B) {
	s := sample(b, 1000)
	pdf := mustRender(b, s)
	env := envelope(b, pdf)
	b.Run("baseline=render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := statement.Render(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("seal", func(b *testing.B) {
		b.ReportAllocs()
		var out []byte
		for b.Loop() {
			var err error
			if out, err = env.Seal(pdf, "benchmark password"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(out)-len(pdf)), "extra-bytes")
	})
}
