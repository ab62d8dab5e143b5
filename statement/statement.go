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
// example Chinese names) is printed as "?": the core PDF fonts carry no CJK
// glyphs.
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
	pdf.SetHeaderFunc(func() {
		pdf.SetFont("Helvetica", "B", 14)
		pdf.CellFormat(0, 8, tr(s.BankName), "", 1, "L", false, 0, "")
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
		pdf.SetFont("Helvetica", "", 10)
		pdf.CellFormat(0, 6, tr(value), "", 1, "L", false, 0, "")
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
		desc := e.Description
		if len(desc) > 60 {
			desc = desc[:60]
		}
		pdf.CellFormat(wDate, rowH, e.BookedAt.In(tz).Format("2006-01-02"), "", 0, "L", false, 0, "")
		pdf.CellFormat(wDesc, rowH, tr(desc), "", 0, "L", false, 0, "")
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
