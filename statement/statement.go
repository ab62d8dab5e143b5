// Package statement renders a customer's transaction statement as PDF
// (github.com/go-pdf/fpdf) from the ledger: bank header, holder, masked
// account number, period, opening and closing balance, every transaction
// with its running balance, page x of y, the case reference and manifest
// hash, and the generation time in UTC and in the branch's zone. It also
// reads the ledger CSV that `idv ledger import` loads.
package statement

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"remoteidv/models"
)

// Statement is everything printed on one statement.
type Statement struct {
	BankName     string
	HolderName   string
	AccountNo    models.AccountNo
	PeriodFrom   string // YYYY-MM-DD, inclusive
	PeriodTo     string // YYYY-MM-DD, inclusive
	Currency     string
	Opening      int64 // minor units, balance before PeriodFrom
	Entries      []*models.LedgerEntry
	CaseRef      models.CaseID
	ManifestHash string
	GeneratedAt  time.Time
	BranchTZ     *time.Location
	// UnicodeFont is a TrueType font (e.g. Debian's DroidSansFallbackFull)
	// used for text the core PDF fonts cannot print, such as Chinese
	// names. Without it such characters are replaced by placeholders.
	UnicodeFont []byte
}

// Closing is the balance after the last entry.
func (s *Statement) Closing() int64 {
	b := s.Opening
	for _, e := range s.Entries {
		b += e.Amount
	}
	return b
}

// Render draws the statement as an A4 PDF. Text outside Windows-1252 (for
// example Chinese names) is set in s.UnicodeFont; without one such
// characters are replaced, since the core PDF fonts carry no CJK glyphs.
// Descriptions are cut to their column's width.
func Render(s *Statement) ([]byte, error) {
	for _, e := range s.Entries {
		if e.Currency != s.Currency {
			return nil, models.Errorf(models.EINVALID, "statement in %s has an entry in %s: one currency per statement", s.Currency, e.Currency)
		}
	}
	tz := s.BranchTZ
	if tz == nil {
		tz = time.UTC
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(s.GeneratedAt)
	pdf.SetModificationDate(s.GeneratedAt)
	pdf.SetCatalogSort(true)
	pdf.SetTitle("Transaction statement "+string(s.CaseRef), true)
	pdf.SetAuthor(s.BankName, true)
	pdf.AliasNbPages("{nb}")
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 20)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	if len(s.UnicodeFont) > 0 {
		pdf.AddUTF8FontFromBytes(unicodeFont, "", s.UnicodeFont)
		if err := pdf.Error(); err != nil {
			return nil, fmt.Errorf("render statement %s: load unicode font: %w", s.CaseRef, err)
		}
	}
	// text selects the font for v: Helvetica when Windows-1252 holds it,
	// else the Unicode font (which has one style), and returns what to print.
	text := func(style string, size float64, v string) string {
		if len(s.UnicodeFont) > 0 && !latin(v) {
			pdf.SetFont(unicodeFont, "", size)
			return v
		}
		pdf.SetFont("Helvetica", style, size)
		return tr(v)
	}

	const (
		wDate, wDesc, wAmt, wBal = 28.0, 84.0, 34.0, 34.0
		rowH                     = 5.5
	)
	header := func() {
		pdf.SetFont("Helvetica", "B", 9)
		pdf.SetFillColor(230, 230, 230)
		pdf.CellFormat(wDate, rowH, "Date", "B", 0, "L", true, 0, "")
		pdf.CellFormat(wDesc, rowH, "Description", "B", 0, "L", true, 0, "")
		pdf.CellFormat(wAmt, rowH, "Amount", "B", 0, "R", true, 0, "")
		pdf.CellFormat(wBal, rowH, "Balance", "B", 1, "R", true, 0, "")
		pdf.SetFont("Helvetica", "", 9)
	}
	// fit sets the font for v and cuts it, at a character, to width.
	fit := func(v string, width float64) string {
		r := []rune(v)
		if len(r) > 80 {
			r = r[:80]
		}
		for {
			out := text("", 9, string(r))
			if len(r) == 0 || pdf.GetStringWidth(out) <= width {
				return out
			}
			r = r[:len(r)-1]
		}
	}
	pdf.SetHeaderFunc(func() {
		pdf.CellFormat(0, 8, text("B", 14, s.BankName), "", 1, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 9)
		pdf.CellFormat(0, 5, "Transaction statement", "", 1, "L", false, 0, "")
		pdf.Ln(2)
		if pdf.PageNo() > 1 {
			header()
		}
	})
	pdf.SetFooterFunc(func() {
		pdf.SetY(-15)
		pdf.SetFont("Helvetica", "", 7)
		pdf.CellFormat(0, 4, fmt.Sprintf("Case %s  |  manifest SHA-256 %s", s.CaseRef, s.ManifestHash), "", 1, "L", false, 0, "")
		pdf.CellFormat(0, 4, fmt.Sprintf("Page %d of {nb}", pdf.PageNo()), "", 0, "R", false, 0, "")
	})
	pdf.AddPage()
	pdf.SetFont("Helvetica", "", 10)
	line := func(label, value string) {
		pdf.SetFont("Helvetica", "B", 10)
		pdf.CellFormat(45, 6, label, "", 0, "L", false, 0, "")
		pdf.CellFormat(0, 6, text("", 10, value), "", 1, "L", false, 0, "")
	}
	line("Account holder", s.HolderName)
	line("Account number", models.MaskAccountNo(s.AccountNo))
	line("Period", s.PeriodFrom+" to "+s.PeriodTo)
	line("Currency", s.Currency)
	line("Opening balance", Money(s.Opening))
	line("Closing balance", Money(s.Closing()))
	line("Generated", s.GeneratedAt.UTC().Format("2006-01-02 15:04:05")+" UTC / "+s.GeneratedAt.In(tz).Format("2006-01-02 15:04:05")+" "+tz.String())
	line("Case reference", string(s.CaseRef))
	pdf.Ln(3)
	header()
	bal := s.Opening
	pdf.CellFormat(wDate, rowH, s.PeriodFrom, "", 0, "L", false, 0, "")
	pdf.CellFormat(wDesc, rowH, "Opening balance", "", 0, "L", false, 0, "")
	pdf.CellFormat(wAmt, rowH, "", "", 0, "R", false, 0, "")
	pdf.CellFormat(wBal, rowH, Money(bal), "", 1, "R", false, 0, "")
	for _, e := range s.Entries {
		bal += e.Amount
		pdf.CellFormat(wDate, rowH, e.BookedAt.In(tz).Format("2006-01-02"), "", 0, "L", false, 0, "")
		pdf.CellFormat(wDesc, rowH, fit(e.Description, wDesc-2), "", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 9)
		pdf.CellFormat(wAmt, rowH, Money(e.Amount), "", 0, "R", false, 0, "")
		pdf.CellFormat(wBal, rowH, Money(bal), "", 1, "R", false, 0, "")
	}
	pdf.SetFont("Helvetica", "B", 9)
	pdf.CellFormat(wDate, rowH, s.PeriodTo, "T", 0, "L", false, 0, "")
	pdf.CellFormat(wDesc, rowH, fmt.Sprintf("Closing balance (%d transactions)", len(s.Entries)), "T", 0, "L", false, 0, "")
	pdf.CellFormat(wAmt, rowH, "", "T", 0, "R", false, 0, "")
	pdf.CellFormat(wBal, rowH, Money(bal), "T", 1, "R", false, 0, "")
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("render statement %s: %w", s.CaseRef, err)
	}
	return b.Bytes(), nil
}

// Money formats minor units as 1,234.56 (with a leading minus for debits).
func Money(v int64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	units := strconv.FormatInt(v/100, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range units {
		if i > 0 && (len(units)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	fmt.Fprintf(&b, ".%02d", v%100)
	return b.String()
}

// unicodeFont is the family name of Statement.UnicodeFont in the PDF.
const unicodeFont = "unicode"

// latin reports whether the core fonts' Windows-1252 encoding holds v.
func latin(v string) bool {
	for _, r := range v {
		if r > 0xff && !strings.ContainsRune("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ", r) {
			return false
		}
	}
	return true
}
