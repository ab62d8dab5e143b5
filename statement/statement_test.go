package statement_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/models"
	"remoteidv/statement"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// cjkFont is Debian's fonts-droid-fallback, which scripts/setup.sh installs.
const cjkFont = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"

func font(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(cjkFont)
	if err != nil {
		t.Fatalf("CJK font missing (%v): install the Debian package fonts-droid-fallback (make test does)", err)
	}
	return b
}

const verifyURL = "https://idv.example.cn/v/stm_4f2a9c"

// sample is a statement of three currencies: n CNY entries, three USD
// entries and EUR with an opening balance but nothing booked in the period.
func sample(t testing.TB, n int) *statement.Statement {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	const no = "6222020200112233"
	s := &statement.Statement{
		Bank:       statement.Bank{Name: "Demo Bank", NameZH: "演示银行", Address: "1 Century Avenue, Pudong, Shanghai 200120"},
		Branch:     statement.Branch{Name: "Lujiazui Branch 陆家嘴支行", Address: "88 Yincheng Road, Shanghai"},
		HolderName: "李伟", AccountNo: no, PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31",
		StatementID: "stm_4f2a9c", CaseRef: "case_aaaaaaaaaaaaaaaaaaaaaaaaaa", VerifyURL: verifyURL,
		IssuedAt: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), BranchTZ: shanghai, UnicodeFont: font(t),
	}
	memos := []string{"Salary transfer", "Rent 房租", "Card payment", "ATM withdrawal"}
	day := time.Date(2025, 1, 2, 1, 0, 0, 0, time.UTC)
	cny := statement.Section{Currency: "CNY", Opening: 1234567}
	for i := 0; i < n; i++ {
		amt := int64((i*7919)%500000 + 100)
		if i%3 != 0 {
			amt = -amt / 4
		}
		cny.Entries = append(cny.Entries, &models.LedgerEntry{AccountNo: no, BookedAt: day.Add(time.Duration(i) * 6 * time.Hour), Description: memos[i%len(memos)], Amount: amt, Currency: "CNY"})
	}
	usd := statement.Section{Currency: "USD", Opening: 50000, Entries: []*models.LedgerEntry{
		{AccountNo: no, BookedAt: time.Date(2025, 2, 3, 20, 0, 0, 0, time.UTC), Description: "Wire from New York", Amount: 250000, Currency: "USD"},
		{AccountNo: no, BookedAt: time.Date(2025, 2, 10, 2, 0, 0, 0, time.UTC), Description: "学费 Tuition", Amount: -120000, Currency: "USD"},
		{AccountNo: no, BookedAt: time.Date(2025, 6, 30, 23, 30, 0, 0, time.UTC), Description: "Card payment", Amount: -4550, Currency: "USD"},
	}}
	eur := statement.Section{Currency: "EUR", Opening: 99900}
	// Given out of order: Render prints CNY, EUR, USD.
	s.Sections = []statement.Section{usd, eur, cny}
	return s
}

// pdfText extracts the text with poppler's pdftotext; a missing tool fails
// the test (it is installed by scripts/setup.sh).
func pdfText(t testing.TB, pdf []byte) string {
	t.Helper()
	return run(t, pdf, "pdftotext", "poppler-utils", "-layout", "-", "-")
}

// run pipes in to a Debian tool and returns its output.
func run(t testing.TB, in []byte, tool, pkg string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s not found (apt-get install %s; scripts/setup.sh does): %v", tool, pkg, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdin = bytes.NewReader(in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v: %s", tool, args, err, errb.String())
	}
	return out.String()
}

func mustRender(t testing.TB, s *statement.Statement) []byte {
	t.Helper()
	b, err := statement.Render(s)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return b
}

// TestRenderGolden compares the text of a one-page and a multi-page
// statement with testdata/*.txt (go test -run TestRenderGolden -update
// rewrites them).
func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name string
		n    int
	}{
		{"three_currencies", 5},
		{"four_pages", 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := golden(t, tt.name, pdfText(t, mustRender(t, sample(t, tt.n)))); diff != "" {
				t.Errorf("Render(%d CNY entries) text mismatch (-want +got):\n%s", tt.n, diff)
			}
		})
	}
}

// golden compares got with testdata/NAME.txt (rewriting it first with
// -update) and returns the difference, "" for none.
func golden(t *testing.T, name, got string) string {
	t.Helper()
	path := filepath.Join("testdata", name+".txt")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	return cmp.Diff(string(want), got)
}

// TestRenderContents checks what the customer's copy must show, in both
// languages, independently of the goldens' layout.
func TestRenderContents(t *testing.T) {
	s := sample(t, 120)
	text := pdfText(t, mustRender(t, s))
	pages := strings.Split(strings.TrimRight(text, "\f\n"), "\f")
	if len(pages) < 3 {
		t.Fatalf("Render(120 entries) = %d pages, want several", len(pages))
	}
	for i, p := range pages {
		for _, want := range []string{
			fmt.Sprintf("Page %d of %d", i+1, len(pages)), "演示银行 Demo Bank", "交易明细 Transaction statement", "stm_4f2a9c", verifyURL,
		} {
			if !strings.Contains(p, want) {
				t.Errorf("page %d lacks %q", i+1, want)
			}
		}
		// pdftotext spaces CJK text as it likes.
		if want := fmt.Sprintf("第%d页共%d页", i+1, len(pages)); !strings.Contains(strings.ReplaceAll(p, " ", ""), want) {
			t.Errorf("page %d lacks %q", i+1, want)
		}
	}
	var secs []statement.Section
	secs = append(secs, s.Sections...)
	statement.SortSections(secs)
	for _, want := range []string{
		"李伟", "6222020200112233", "Lujiazui Branch 陆家嘴支行", "88 Yincheng Road, Shanghai", "1 Century Avenue",
		"2025-01-01 至 to 2025-12-31", "2026-03-04 05:06:07 UTC", "2026-03-04 13:06:07 Asia/Shanghai", "case_aaaaaaaaaaaaaaaaaaaaaaaaaa",
		"户名 Account holder", "账号 Account number", "日期 Date", "摘要 Description", "金额 Amount", "余额 Balance",
		"期初余额 Opening balance", "期末余额 Closing balance", "收入合计 Total in", "支出合计 Total out",
		"币种 Currency: 人民币 CNY", "币种 Currency: 美元 USD", "币种 Currency: 欧元 EUR", "(续 continued)",
		"2025-02-04", // the USD wire booked 2025-02-03 20:00 UTC is 2025-02-04 in Shanghai
		"Rent 房租", "学费 Tuition",
		statement.Money(secs[0].Closing()), statement.Money(secs[0].TotalIn()), statement.Money(secs[0].TotalOut()),
		"1,754.50", "2,500.00", "-1,245.50", "999.00",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Render() text lacks %q", want)
		}
	}
	cnyAt, eurAt, usdAt := strings.Index(text, "人民币 CNY"), strings.Index(text, "欧元 EUR"), strings.Index(text, "美元 USD")
	if !(cnyAt < eurAt && eurAt < usdAt) {
		t.Errorf("sections at %d (CNY), %d (EUR), %d (USD); want CNY, EUR, USD", cnyAt, eurAt, usdAt)
	}
	if strings.Contains(text, "*2233") {
		t.Error("Render() masks the account number on the customer's copy")
	}
}

func TestSectionTotals(t *testing.T) {
	sec := statement.Section{Currency: "USD", Opening: 1000, Entries: []*models.LedgerEntry{{Amount: 500, Currency: "USD"}, {Amount: -200, Currency: "USD"}, {Amount: -50, Currency: "USD"}}}
	if in, out, cl := sec.TotalIn(), sec.TotalOut(), sec.Closing(); in != 500 || out != -250 || cl != 1250 {
		t.Errorf("TotalIn, TotalOut, Closing = %d, %d, %d; want 500, -250, 1250", in, out, cl)
	}
}

func TestSortSections(t *testing.T) {
	secs := []statement.Section{{Currency: "USD"}, {Currency: "AUD"}, {Currency: "CNY"}, {Currency: "EUR"}}
	statement.SortSections(secs)
	var got []string
	for _, s := range secs {
		got = append(got, s.Currency)
	}
	if diff := cmp.Diff([]string{"CNY", "AUD", "EUR", "USD"}, got); diff != "" {
		t.Errorf("SortSections (-want +got):\n%s", diff)
	}
}

// TestRenderQR decodes the QR code on every page (poppler's pdfimages, then
// zbar's zbarimg) and finds the verification URL.
func TestRenderQR(t *testing.T) {
	pdf := mustRender(t, sample(t, 120))
	dir := t.TempDir()
	in := filepath.Join(dir, "s.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, nil, "pdfimages", "poppler-utils", "-png", in, filepath.Join(dir, "img"))
	imgs, _ := filepath.Glob(filepath.Join(dir, "img-*.png"))
	pages := strings.Count(pdfText(t, pdf), "\f")
	if len(imgs) != pages || pages < 3 {
		t.Fatalf("pdfimages found %d images on %d pages, want one QR code a page", len(imgs), pages)
	}
	for _, img := range imgs {
		if got := strings.TrimSpace(run(t, nil, "zbarimg", "zbar-tools", "--quiet", "--raw", img)); got != verifyURL {
			t.Errorf("QR code %s = %q, want %q", filepath.Base(img), got, verifyURL)
		}
	}
	s := sample(t, 2)
	s.VerifyURL = ""
	text := pdfText(t, mustRender(t, s))
	if strings.Contains(text, "verify this statement") {
		t.Errorf("without a verification URL the page still offers one:\n%s", text)
	}
}

// TestRenderDeterministic: the same statement renders to the same bytes.
func TestRenderDeterministic(t *testing.T) {
	a, b := mustRender(t, sample(t, 40)), mustRender(t, sample(t, 40))
	if !bytes.Equal(a, b) {
		t.Errorf("Render twice gave different bytes (%d and %d long)", len(a), len(b))
	}
}

func TestRenderInvalid(t *testing.T) {
	tests := []struct {
		name   string
		modify func(s *statement.Statement)
	}{
		{"no ID", func(s *statement.Statement) { s.StatementID = "" }},
		{"no currency", func(s *statement.Statement) { s.Sections = nil }},
		{"entry in another currency", func(s *statement.Statement) { s.Sections[2].Entries[1].Currency = "USD" }},
		{"two sections of one currency", func(s *statement.Statement) { s.Sections[1].Currency = "USD" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sample(t, 3)
			tt.modify(s)
			if _, err := statement.Render(s); models.ErrorCodeOf(err) != models.EINVALID {
				t.Errorf("Render(%s) = %v, want invalid", tt.name, err)
			}
		})
	}
}

// TestRenderChinese: long Chinese descriptions are cut to their column;
// without the CJK font Chinese prints as visible placeholders, and Latin
// text still prints.
func TestRenderChinese(t *testing.T) {
	s := sample(t, 3)
	s.Sections[2].Entries[1].Description = strings.Repeat("长", 80)
	text := pdfText(t, mustRender(t, s))
	if !strings.Contains(text, strings.Repeat("长", 20)) {
		t.Errorf("long description missing:\n%s", text)
	}
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "长") && (strings.Contains(l, strings.Repeat("长", 35)) || !strings.Contains(l, statement.Money(s.Sections[2].Entries[1].Amount))) {
			t.Errorf("long description not cut to its column: %q", l)
		}
	}
	s.UnicodeFont = nil
	text = pdfText(t, mustRender(t, s))
	if strings.Contains(text, "李伟") || !strings.Contains(text, "Account holder") || !strings.Contains(text, "Opening balance") {
		t.Errorf("without the font Chinese cannot print, Latin still does; got:\n%s", text)
	}
	if !strings.Contains(text, ".. Date") {
		t.Errorf("without the font Chinese must print as placeholders; got:\n%s", text)
	}
}

func TestMoney(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{{0, "0.00"}, {5, "0.05"}, {-5, "-0.05"}, {123456789, "1,234,567.89"}, {-100000, "-1,000.00"}, {99999, "999.99"}}
	for _, tt := range tests {
		if got := statement.Money(tt.in); got != tt.want {
			t.Errorf("Money(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestReadLedgerCSV(t *testing.T) {
	head := "account_no,booked_at,description,amount,currency\n"
	good := head + "6222020200112233,2025-01-02T09:00:00Z,Salary transfer,4321.09,CNY\n6222020200112233,2025-01-03T09:00:00+08:00,Rent,-12.5,CNY\n"
	es, err := statement.ReadLedgerCSV(strings.NewReader(good))
	if err != nil {
		t.Fatalf("ReadLedgerCSV: %v", err)
	}
	if len(es) != 2 || es[0].Amount != 432109 || es[1].Amount != -1250 || !es[1].BookedAt.Equal(time.Date(2025, 1, 3, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("ReadLedgerCSV = %+v %+v, want amounts 432109, -1250", es[0], es[1])
	}
	bad := []string{
		"",
		"a,b,c,d,e\n",
		head + "6222,2025-01-02,x,1.00,CNY\n",
		head + "6222,2025-01-02T09:00:00Z,x,1.001,CNY\n",
		head + "6222,2025-01-02T09:00:00Z,x,1e3,CNY\n",
		head + "6222,2025-01-02T09:00:00Z,x,1.00,cny\n",
		head + "6222,2025-01-02T09:00:00Z,x,1.00\n",
		head + ",2025-01-02T09:00:00Z,x,1.00,CNY\n",
	}
	for i, in := range bad {
		if _, err := statement.ReadLedgerCSV(strings.NewReader(in)); models.ErrorCodeOf(err) != models.EINVALID {
			t.Errorf("ReadLedgerCSV(bad %d) = %v, want invalid", i, err)
		}
	}
}

// BenchmarkRender renders 10,000 transactions; the 1,000 case is the
// baseline, so the per-transaction cost reads as a ratio in one run.
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		s := sample(b, n)
		b.Run(fmt.Sprintf("tx=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := statement.Render(s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/tx")
		})
	}
}
