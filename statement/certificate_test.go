package statement_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/statement"
)

const certURL = "https://idv.example.cn/v/stm_7c1d2e"

// certificate is a balance certificate of four currencies, given out of
// order, one of them at zero and one overdrawn; the holder has both names.
func certificate(t testing.TB) *statement.Certificate {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return &statement.Certificate{
		Bank:       statement.Bank{Name: "Demo Bank", NameZH: "演示银行", Address: "1 Century Avenue, Pudong, Shanghai 200120"},
		Branch:     statement.Branch{Name: "Lujiazui Branch 陆家嘴支行", Address: "88 Yincheng Road, Shanghai"},
		HolderName: "Li Wei", HolderNameAlt: "李伟", AccountNo: "6222020200112233", Date: "2025-12-31",
		Balances: []statement.Balance{{Currency: "USD", Amount: 130000}, {Currency: "EUR", Amount: 0}, {Currency: "CNY", Amount: 123456789},
			{Currency: "NOK", Amount: -4550}},
		StatementID: "stm_7c1d2e", CaseRef: "case_bbbbbbbbbbbbbbbbbbbbbbbbbb", VerifyURL: certURL,
		IssuedAt: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), BranchTZ: shanghai, UnicodeFont: font(t),
	}
}

func mustCertificate(t testing.TB, c *statement.Certificate) []byte {
	t.Helper()
	b, err := statement.RenderCertificate(c)
	if err != nil {
		t.Fatalf("RenderCertificate: %v", err)
	}
	return b
}

// TestRenderCertificateGolden compares the certificate's text, Chinese
// and English, with testdata/certificate.txt (-update rewrites it).
func TestRenderCertificateGolden(t *testing.T) {
	if diff := golden(t, "certificate", pdfText(t, mustCertificate(t, certificate(t)))); diff != "" {
		t.Errorf("RenderCertificate text mismatch (-want +got):\n%s", diff)
	}
}

// TestRenderCertificateContents checks what the certificate must show,
// in both languages, independently of the golden's layout: one page, both
// names, the full account number, every currency CNY first with its
// balance, the date, ID, URL and QR code.
func TestRenderCertificateContents(t *testing.T) {
	pdf := mustCertificate(t, certificate(t))
	text := pdfText(t, pdf)
	if n := strings.Count(text, "\f"); n != 1 {
		t.Errorf("RenderCertificate = %d pages, want 1", n)
	}
	for _, want := range []string{
		"演示银行 Demo Bank", "余额证明 Balance certificate", "Li Wei / 李伟", "6222020200112233", "Lujiazui Branch 陆家嘴支行", "88 Yincheng Road, Shanghai",
		"2025-12-31 日终 end of day (Asia/Shanghai)", "2026-03-04 05:06:07 UTC", "2026-03-04 13:06:07 Asia/Shanghai", "case_bbbbbbbbbbbbbbbbbbbbbbbbbb",
		"兹证明上述账户于 2025-12-31 日终的余额如下", "This is to certify that at the end of 2025-12-31 the account above held the following balances.",
		"币种 Currency", "余额 Balance", "人民币 CNY", "欧元 EUR", "美元 USD", "NOK",
		"1,234,567.89", "1,300.00", "0.00", "-45.50",
		"Scan or visit to verify this certificate:", certURL, "证明编号 Certificate ID stm_7c1d2e", "Page 1 of 1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("RenderCertificate text lacks %q:\n%s", want, text)
		}
	}
	var order []int
	for _, cur := range []string{"人民币 CNY", "欧元 EUR", "NOK", "美元 USD"} {
		order = append(order, strings.Index(text, cur))
	}
	for i := 1; i < len(order); i++ {
		if order[i-1] > order[i] {
			t.Errorf("currencies at %v, want CNY, EUR, NOK, USD in that order", order)
		}
	}
	if strings.Contains(text, "statement") || strings.Contains(text, "对账单") {
		t.Errorf("the certificate calls itself a statement:\n%s", text)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "c.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, nil, "pdfimages", "poppler-utils", "-png", in, filepath.Join(dir, "img"))
	imgs, _ := filepath.Glob(filepath.Join(dir, "img-*.png"))
	if len(imgs) != 1 {
		t.Fatalf("pdfimages found %d images, want the one QR code", len(imgs))
	}
	if got := strings.TrimSpace(run(t, nil, "zbarimg", "zbar-tools", "--quiet", "--raw", imgs[0])); got != certURL {
		t.Errorf("QR code = %q, want %q", got, certURL)
	}
	if a, b := pdf, mustCertificate(t, certificate(t)); !bytes.Equal(a, b) {
		t.Errorf("RenderCertificate twice gave different bytes (%d and %d long)", len(a), len(b))
	}
}

func TestRenderCertificateInvalid(t *testing.T) {
	many := make([]statement.Balance, 26)
	for i := range many {
		many[i] = statement.Balance{Currency: string(rune('A'+i)) + "XX", Amount: 1}
	}
	tests := []struct {
		name   string
		modify func(c *statement.Certificate)
	}{
		{"no ID", func(c *statement.Certificate) { c.StatementID = "" }},
		{"no date", func(c *statement.Certificate) { c.Date = "" }},
		{"no balance", func(c *statement.Certificate) { c.Balances = nil }},
		{"two balances of one currency", func(c *statement.Certificate) { c.Balances[1].Currency = "USD" }},
		{"more currencies than a page holds", func(c *statement.Certificate) { c.Balances = many }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := certificate(t)
			tt.modify(c)
			if _, err := statement.RenderCertificate(c); models.ErrorCodeOf(err) != models.EINVALID {
				t.Errorf("RenderCertificate(%s) = %v, want invalid", tt.name, err)
			}
		})
	}
}

// TestRenderHolderNames: a statement prints the holder's second name
// beside the first when the bank has one, and the name once otherwise.
func TestRenderHolderNames(t *testing.T) {
	tests := []struct{ name, alt, want, unwanted string }{
		{"李伟", "Li Wei", "李伟 / Li Wei", "/ /"},
		{"Li Wei", "", "Li Wei", "Li Wei /"},
		{"Li Wei", "Li Wei", "Li Wei", "Li Wei /"},
	}
	for _, tt := range tests {
		s := sample(t, 2)
		s.HolderName, s.HolderNameAlt = tt.name, tt.alt
		text := pdfText(t, mustRender(t, s))
		if !strings.Contains(text, tt.want) || strings.Contains(text, tt.unwanted) {
			t.Errorf("Render(holder %q, %q) lacks %q or shows %q", tt.name, tt.alt, tt.want, tt.unwanted)
		}
	}
}
