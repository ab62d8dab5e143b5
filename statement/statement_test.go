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

func sample(n int) *statement.Statement {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	s := &statement.Statement{BankName: "Demo Bank", HolderName: "Li Wei", AccountNo: "6222020200112233", PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31",
		Currency: "CNY", Opening: 1234567, CaseRef: "case_aaaaaaaaaaaaaaaaaaaaaaaaaa", ManifestHash: strings.Repeat("ab", 32),
		GeneratedAt: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), BranchTZ: shanghai}
	memos := []string{"Salary transfer", "Rent", "Card payment", "ATM withdrawal"}
	day := time.Date(2025, 1, 2, 1, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		amt := int64((i*7919)%500000 + 100)
		if i%3 != 0 {
			amt = -amt / 4
		}
		s.Entries = append(s.Entries, &models.LedgerEntry{AccountNo: s.AccountNo, BookedAt: day.Add(time.Duration(i) * 6 * time.Hour), Description: memos[i%len(memos)], Amount: amt, Currency: "CNY"})
	}
	return s
}

// pdfText extracts the text with poppler's pdftotext; a missing tool fails
// the test (it is installed by scripts/setup.sh).
func pdfText(t testing.TB, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatalf("pdftotext not found (apt-get install poppler-utils): %v", err)
	}
	cmd := exec.Command(bin, "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("pdftotext: %v: %s", err, errb.String())
	}
	return out.String()
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name string
		n    int
	}{
		{"empty", 0},
		{"four_pages", 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf, err := statement.Render(sample(tt.n))
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			got := pdfText(t, pdf)
			golden := filepath.Join("testdata", tt.name+".txt")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run with -update): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("Render(%d entries) text mismatch (-want +got):\n%s", tt.n, diff)
			}
		})
	}
}

func TestRenderContents(t *testing.T) {
	s := sample(120)
	pdf, err := statement.Render(s)
	if err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, pdf)
	for _, want := range []string{
		"Demo Bank", "Li Wei", "************2233", "2025-01-01 to 2025-12-31",
		"Opening balance", "12,345.67", "Closing balance", statement.Money(s.Closing()),
		"Page 1 of 4", "Page 4 of 4", "case_aaaaaaaaaaaaaaaaaaaaaaaaaa", strings.Repeat("ab", 32),
		"2026-03-04 05:06:07 UTC", "2026-03-04 13:06:07 Asia/Shanghai",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Render() text lacks %q", want)
		}
	}
	if strings.Contains(text, "6222020200112233") {
		t.Error("Render() shows the full account number")
	}
	s.Entries[5].Currency = "USD"
	if _, err := statement.Render(s); models.ErrorCodeOf(err) != models.EINVALID {
		t.Errorf("Render(two currencies) = %v, want invalid", err)
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
		s := sample(n)
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

// cjkFont is Debian's fonts-droid-fallback, which scripts/setup.sh installs.
const cjkFont = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"

// TestRenderChinese: Chinese names and descriptions print with the Unicode
// font, and Latin text keeps the core font.
func TestRenderChinese(t *testing.T) {
	font, err := os.ReadFile(cjkFont)
	if err != nil {
		t.Fatalf("Unicode font missing (%v): install the Debian package fonts-droid-fallback (make test does)", err)
	}
	s := sample(3)
	s.HolderName = "李伟"
	s.Entries[0].Description = "工资转账 Salary"
	s.Entries[1].Description = strings.Repeat("长", 80) // cut to the column, at a character
	s.UnicodeFont = font
	pdf, err := statement.Render(s)
	if err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, pdf)
	for _, want := range []string{"李伟", "工资转账 Salary", strings.Repeat("长", 20), "Demo Bank", "Opening balance"} {
		if !strings.Contains(text, want) {
			t.Errorf("Render() text lacks %q:\n%s", want, text)
		}
	}
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "长") && (strings.Contains(l, strings.Repeat("长", 35)) || !strings.Contains(l, "-20.04")) {
			t.Errorf("long description not cut to its column: %q", l)
		}
	}
	s.UnicodeFont = nil
	if text := pdfText(t, mustRender(t, s)); strings.Contains(text, "李伟") || !strings.Contains(text, "Salary") {
		t.Errorf("without the font Chinese cannot print, Latin still does; got:\n%s", text)
	}
}

func mustRender(t *testing.T, s *statement.Statement) []byte {
	t.Helper()
	b, err := statement.Render(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
