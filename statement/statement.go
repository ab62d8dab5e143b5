// Package statement renders the documents the bank issues from the ledger
// as PDF (github.com/go-pdf/fpdf), in Chinese and English side by side: a
// customer's transaction statement (Render) and a balance certificate
// (RenderCertificate). Both show the bank's and branch's names and
// addresses, the holder (in both scripts when the bank has both names),
// the full account number (it is the customer's own copy), the document's
// ID and issue time (UTC and the branch's zone). A statement then has the
// period and one section per currency with its opening balance, every
// transaction with its running balance, the closing balance and the
// totals in and out; a certificate the balance of every currency at the
// end of one day. Every page carries "page x of y" and, when given, a
// verification URL as text and as a QR code (github.com/skip2/go-qrcode).
// It also reads the ledger CSV that `idv ledger import` loads.
package statement

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"remoteidv/models"
)

// Bank is the issuing bank as printed in every page's header.
type Bank struct {
	Name    string // e.g. "Demo Bank"
	NameZH  string // the Chinese name, e.g. "演示银行"; empty to print Name only
	Address string
}

// Branch is the account's branch, printed under the holder's details.
type Branch struct {
	Name    string
	Address string
}

// Section is one currency of the account: its balance before the period
// and the entries booked in the period, in booking order.
type Section struct {
	Currency string // ISO 4217
	Opening  int64  // minor units, balance before PeriodFrom
	Entries  []*models.LedgerEntry
}

// Closing is the balance after the section's last entry.
func (s Section) Closing() int64 { return s.Opening + s.TotalIn() + s.TotalOut() }

// TotalIn sums the credits (positive amounts).
func (s Section) TotalIn() int64 {
	var t int64
	for _, e := range s.Entries {
		if e.Amount > 0 {
			t += e.Amount
		}
	}
	return t
}

// TotalOut sums the debits (negative amounts; the result is <= 0).
func (s Section) TotalOut() int64 {
	var t int64
	for _, e := range s.Entries {
		if e.Amount < 0 {
			t += e.Amount
		}
	}
	return t
}

// Statement is everything printed on one statement.
type Statement struct {
	Bank   Bank
	Branch Branch
	// HolderName is the holder's name as the account record holds it (in
	// whichever script the account import gave it); HolderNameAlt is the
	// name in the other script when the bank has it ("" when not). Both
	// print, "HolderName / HolderNameAlt".
	HolderName    string
	HolderNameAlt string
	AccountNo     models.AccountNo // printed in full: this is the customer's copy
	PeriodFrom    string           // YYYY-MM-DD, inclusive, in the branch's zone
	PeriodTo      string           // YYYY-MM-DD, inclusive
	// Sections are the account's currencies; Render prints them CNY first,
	// then by currency code (SortSections).
	Sections    []Section
	StatementID string        // the caller's identifier of this statement, printed on every page
	CaseRef     models.CaseID // the verification case; optional
	IssuedAt    time.Time
	BranchTZ    *time.Location
	// VerifyURL, when set, is printed on every page as text and as a QR
	// code.
	VerifyURL string
	// UnicodeFont is a TrueType font with CJK glyphs (e.g. Debian's
	// DroidSansFallbackFull), embedded for the Chinese text; Latin text
	// stays in Helvetica. Without it every character the core fonts lack
	// prints as "?" (visibly, never silently dropped).
	UnicodeFont []byte
}

// Transactions counts the entries of all sections.
func (s *Statement) Transactions() int {
	n := 0
	for _, sec := range s.Sections {
		n += len(sec.Entries)
	}
	return n
}

// SortSections orders sections CNY first, then by currency code.
func SortSections(secs []Section) {
	sort.SliceStable(secs, func(i, j int) bool { return currencyBefore(secs[i].Currency, secs[j].Currency) })
}

// check rejects a statement that cannot be printed truthfully.
func (s *Statement) check() error {
	if s.StatementID == "" {
		return models.Errorf(models.EINVALID, "statement has no ID")
	}
	if len(s.Sections) == 0 {
		return models.Errorf(models.EINVALID, "statement %s has no currency section: the account has no ledger data", s.StatementID)
	}
	seen := map[string]bool{}
	for _, sec := range s.Sections {
		if seen[sec.Currency] {
			return models.Errorf(models.EINVALID, "statement %s has two %s sections", s.StatementID, sec.Currency)
		}
		seen[sec.Currency] = true
		for _, e := range sec.Entries {
			if e.Currency != sec.Currency {
				return models.Errorf(models.EINVALID, "statement %s: the %s section has an entry in %s", s.StatementID, sec.Currency, e.Currency)
			}
		}
	}
	return nil
}

// A statement's table columns and rows (mm).
const (
	wDate, wDesc, wAmt, wBal = 24.0, 86.0, 35.0, 35.0
	rowH                     = 5.5
)

// Render draws the statement as an A4 PDF. The same statement renders to
// the same bytes. It fails with EINVALID for a statement without an ID or
// without any currency section, or with an entry in the wrong section.
func Render(s *Statement) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	secs := append([]Section(nil), s.Sections...)
	SortSections(secs)
	r, err := begin(frame{bank: s.Bank, title: [2]string{"交易明细", "Transaction statement"}, noun: [2]string{"对账单", "statement"},
		id: s.StatementID, verifyURL: s.VerifyURL, font: s.UnicodeFont, tz: s.BranchTZ, issuedAt: s.IssuedAt})
	if err != nil {
		return nil, fmt.Errorf("render statement %s: %w", s.StatementID, err)
	}
	r.s = s
	r.details()
	for i := range secs {
		r.section(&secs[i])
	}
	b, err := r.finish()
	if err != nil {
		return nil, fmt.Errorf("render statement %s: %w", s.StatementID, err)
	}
	return b, nil
}

// details prints the holder, account, branch, period and issue time.
func (r *renderer) details() {
	s := r.s
	r.account(s.HolderName, s.HolderNameAlt, string(s.AccountNo), s.Branch)
	r.line("期间 Period", s.PeriodFrom+" 至 to "+s.PeriodTo)
	r.issued(string(s.CaseRef))
	var curs []string
	for _, sec := range s.Sections {
		curs = append(curs, sec.Currency)
	}
	sort.Strings(curs)
	r.line("币种 Currencies", strings.Join(curs, ", "))
	r.pdf.Ln(3)
}

func (r *renderer) sectionTitle(sec *Section, suffix string) {
	r.cell(0, 7, "币种 Currency: "+currencyName(sec.Currency)+suffix, "B", 10.5, "L", "", 1)
}

func (r *renderer) tableHeader() {
	r.pdf.SetFillColor(230, 230, 230)
	r.cell(wDate, rowH, "日期 Date", "B", 8.5, "L", "BF", 0)
	r.cell(wDesc, rowH, "摘要 Description", "B", 8.5, "L", "BF", 0)
	r.cell(wAmt, rowH, "金额 Amount", "B", 8.5, "R", "BF", 0)
	r.cell(wBal, rowH, "余额 Balance", "B", 8.5, "R", "BF", 1)
}

// section prints one currency: opening balance, entries, closing balance
// and totals.
func (r *renderer) section(sec *Section) {
	pdf := r.pdf
	// Keep the title, table header and first rows together.
	if pdf.GetY()+5*rowH+7 > 297-footerH {
		pdf.AddPage()
	}
	r.sectionTitle(sec, "")
	r.tableHeader()
	r.open = sec
	row := func(date, desc, amt, bal, style, border string) {
		r.cell(wDate, rowH, date, style, 8.5, "L", border, 0)
		r.cell(wDesc, rowH, r.fit(desc, style, 8.5, wDesc-2), style, 8.5, "L", border, 0)
		r.cell(wAmt, rowH, amt, style, 8.5, "R", border, 0)
		r.cell(wBal, rowH, bal, style, 8.5, "R", border, 1)
	}
	bal := sec.Opening
	row(r.s.PeriodFrom, "期初余额 Opening balance", "", Money(bal), "", "")
	for _, e := range sec.Entries {
		bal += e.Amount
		row(e.BookedAt.In(r.tz).Format(models.DateLayout), e.Description, Money(e.Amount), Money(bal), "", "")
	}
	r.open = nil
	if pdf.GetY()+3*rowH > 297-footerH {
		pdf.AddPage()
	}
	row(r.s.PeriodTo, "期末余额 Closing balance", "", Money(sec.Closing()), "B", "T")
	in, out := 0, 0
	for _, e := range sec.Entries {
		if e.Amount > 0 {
			in++
		} else if e.Amount < 0 {
			out++
		}
	}
	row("", fmt.Sprintf("收入合计 Total in (%d 笔 transactions)", in), Money(sec.TotalIn()), "", "", "")
	row("", fmt.Sprintf("支出合计 Total out (%d 笔 transactions)", out), Money(sec.TotalOut()), "", "", "")
	pdf.Ln(4)
}
