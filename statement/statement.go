// Package statement renders a customer's transaction statement as PDF
// (github.com/go-pdf/fpdf) from the ledger, in Chinese and English side by
// side: the bank's and branch's names and addresses, the holder, the full
// account number (it is the customer's own copy), the period, the
// statement ID and issue time (UTC and the branch's zone), then one
// section per currency with its opening balance, every transaction with
// its running balance, the closing balance and the totals in and out.
// Every page carries "page x of y" and, when given, a verification URL as
// text and as a QR code (github.com/skip2/go-qrcode). It also reads the
// ledger CSV that `idv ledger import` loads.
package statement

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	qrcode "github.com/skip2/go-qrcode"

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
	// whichever script the account import gave it; one name is on file).
	HolderName string
	AccountNo  models.AccountNo // printed in full: this is the customer's copy
	PeriodFrom string           // YYYY-MM-DD, inclusive, in the branch's zone
	PeriodTo   string           // YYYY-MM-DD, inclusive
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
	sort.SliceStable(secs, func(i, j int) bool {
		a, b := secs[i].Currency, secs[j].Currency
		if (a == "CNY") != (b == "CNY") {
			return a == "CNY"
		}
		return a < b
	})
}

// currencyZH names common currencies in Chinese for the section headings.
var currencyZH = map[string]string{"CNY": "人民币", "USD": "美元", "EUR": "欧元", "GBP": "英镑", "HKD": "港币", "JPY": "日元",
	"AUD": "澳大利亚元", "CAD": "加拿大元", "SGD": "新加坡元", "CHF": "瑞士法郎"}

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

// Page geometry (mm, A4 portrait).
const (
	margin                   = 15.0
	footerH                  = 30.0 // room for the QR code, URL and page number
	qrSize                   = 20.0
	wDate, wDesc, wAmt, wBal = 24.0, 86.0, 35.0, 35.0
	rowH                     = 5.5
	labelW                   = 52.0
)

// renderer draws one statement; it keeps the fpdf document and the
// current section (whose table header repeats on a new page).
type renderer struct {
	s    *Statement
	pdf  *fpdf.Fpdf
	tr   func(string) string
	tz   *time.Location
	open *Section // the section whose table runs over the page break
}

// Render draws the statement as an A4 PDF. The same statement renders to
// the same bytes. It fails with EINVALID for a statement without an ID or
// without any currency section, or with an entry in the wrong section.
func Render(s *Statement) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	secs := append([]Section(nil), s.Sections...)
	SortSections(secs)
	r := &renderer{s: s, tz: s.BranchTZ}
	if r.tz == nil {
		r.tz = time.UTC
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	r.pdf = pdf
	pdf.SetCreationDate(s.IssuedAt)
	pdf.SetModificationDate(s.IssuedAt)
	pdf.SetCatalogSort(true)
	pdf.SetTitle("Transaction statement "+s.StatementID, true)
	pdf.SetAuthor(s.Bank.Name, true)
	pdf.AliasNbPages(nbAlias)
	pdf.SetMargins(margin, margin, margin)
	pdf.SetCellMargin(1) // the padding cell assumes
	pdf.SetAutoPageBreak(true, footerH)
	r.tr = pdf.UnicodeTranslatorFromDescriptor("")
	if len(s.UnicodeFont) > 0 {
		pdf.AddUTF8FontFromBytes(unicodeFont, "", s.UnicodeFont)
		if err := pdf.Error(); err != nil {
			return nil, fmt.Errorf("render statement %s: load unicode font: %w", s.StatementID, err)
		}
	}
	if s.VerifyURL != "" {
		png, err := qrcode.Encode(s.VerifyURL, qrcode.Medium, 256)
		if err != nil {
			return nil, fmt.Errorf("render statement %s: qr code: %w", s.StatementID, err)
		}
		pdf.RegisterImageOptionsReader("qr", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(png))
	}
	pdf.SetFont("Helvetica", "", 9)
	pdf.SetHeaderFunc(r.header)
	pdf.SetFooterFunc(r.footer)
	pdf.AddPage()
	r.details()
	for i := range secs {
		r.section(&secs[i])
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("render statement %s: %w", s.StatementID, err)
	}
	return b.Bytes(), nil
}

// header prints the bank and the title on every page, and the running
// section's table header on a page it continues onto.
func (r *renderer) header() {
	s := r.s
	name := s.Bank.Name
	if s.Bank.NameZH != "" {
		name = s.Bank.NameZH + " " + s.Bank.Name
	}
	r.cell(0, 8, name, "B", 14, "L", "", 1)
	if s.Bank.Address != "" {
		r.cell(0, 4.5, s.Bank.Address, "", 8, "L", "", 1)
	}
	r.cell(0, 6, "交易明细 Transaction statement", "B", 11, "L", "", 0)
	r.cell(0, 6, "编号 ID "+s.StatementID, "", 8, "R", "", 1)
	r.pdf.Ln(2)
	if r.open != nil && r.pdf.PageNo() > 1 {
		r.sectionTitle(r.open, " (续 continued)")
		r.tableHeader()
	}
}

// footer prints the verification URL and its QR code and "page x of y".
func (r *renderer) footer() {
	pdf := r.pdf
	top := -footerH + 4
	if r.s.VerifyURL != "" {
		pdf.ImageOptions("qr", 210-margin-qrSize, 297+top, qrSize, qrSize, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		pdf.SetXY(margin, 297+top+2)
		r.cell(180-qrSize-2, 4.5, "扫码或访问以核验本对账单 Scan or visit to verify this statement:", "", 7.5, "L", "", 2)
		r.cell(180-qrSize-2, 4.5, r.s.VerifyURL, "", 7.5, "L", "", 2)
	}
	pdf.SetXY(margin, 297+top+12)
	r.cell(90, 4.5, "对账单编号 Statement ID "+r.s.StatementID, "", 7.5, "L", "", 0)
	r.cell(180-qrSize-2-90, 4.5, fmt.Sprintf("第 %d 页 共 %s 页 Page %d of %s", pdf.PageNo(), nbAlias, pdf.PageNo(), nbAlias), "", 7.5, "R", "", 1)
}

// details prints the holder, account, branch, period and issue time.
func (r *renderer) details() {
	s := r.s
	line := func(label, value string) {
		r.cell(labelW, 5.5, label, "B", 9.5, "L", "", 0)
		r.cell(0, 5.5, value, "", 9.5, "L", "", 1)
	}
	line("户名 Account holder", s.HolderName)
	line("账号 Account number", string(s.AccountNo))
	if s.Branch.Name != "" || s.Branch.Address != "" {
		line("开户网点 Branch", s.Branch.Name)
		if s.Branch.Address != "" {
			line("网点地址 Branch address", s.Branch.Address)
		}
	}
	line("期间 Period", s.PeriodFrom+" 至 to "+s.PeriodTo)
	line("出具时间 Issued", s.IssuedAt.UTC().Format("2006-01-02 15:04:05")+" UTC / "+s.IssuedAt.In(r.tz).Format("2006-01-02 15:04:05")+" "+r.tz.String())
	if s.CaseRef != "" {
		line("核验案件 Case reference", string(s.CaseRef))
	}
	var curs []string
	for _, sec := range s.Sections {
		curs = append(curs, sec.Currency)
	}
	sort.Strings(curs)
	line("币种 Currencies", strings.Join(curs, ", "))
	r.pdf.Ln(3)
}

func (r *renderer) sectionTitle(sec *Section, suffix string) {
	title := "币种 Currency: " + sec.Currency
	if zh := currencyZH[sec.Currency]; zh != "" {
		title = "币种 Currency: " + zh + " " + sec.Currency
	}
	r.cell(0, 7, title+suffix, "B", 10.5, "L", "", 1)
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

// run is a stretch of text drawn in one font.
type run struct {
	text string
	cjk  bool // needs the Unicode font
}

// runs splits v into Latin runs (Helvetica) and the rest (the Unicode
// font). Spaces join the run they follow.
func runs(v string) []run {
	var out []run
	for _, c := range v {
		cjk := !latin(string(c))
		if c == ' ' && len(out) > 0 {
			cjk = out[len(out)-1].cjk
		}
		if len(out) > 0 && out[len(out)-1].cjk == cjk {
			out[len(out)-1].text += string(c)
			continue
		}
		out = append(out, run{string(c), cjk})
	}
	return out
}

// font selects the font for a run and returns the bytes to print.
func (r *renderer) font(x run, style string, size float64) string {
	if x.cjk && len(r.s.UnicodeFont) > 0 {
		r.pdf.SetFont(unicodeFont, "", size)
		return x.text
	}
	r.pdf.SetFont("Helvetica", style, size)
	return r.tr(x.text)
}

// width measures v drawn run by run.
func (r *renderer) width(v, style string, size float64) float64 {
	w := 0.0
	for _, x := range runs(v) {
		w += r.pdf.GetStringWidth(r.font(x, style, size))
	}
	return w
}

// fit cuts v, at a character, to width.
func (r *renderer) fit(v, style string, size, width float64) string {
	c := []rune(v)
	if len(c) > 80 {
		c = c[:80]
	}
	for len(c) > 0 && r.width(string(c), style, size) > width {
		c = c[:len(c)-1]
	}
	return string(c)
}

// cell draws v in a box of width w (0: to the right margin) run by run,
// aligned "L" or "R"; border is fpdf's ("B", "T", ...) plus "F" to fill.
// ln is fpdf's: 0 right, 1 next line, 2 below.
func (r *renderer) cell(w, h float64, v, style string, size float64, align, border string, ln int) {
	pdf := r.pdf
	if w == 0 {
		pw, _ := pdf.GetPageSize()
		_, _, right, _ := pdf.GetMargins()
		w = pw - right - pdf.GetX()
	}
	fill := strings.Contains(border, "F")
	border = strings.ReplaceAll(border, "F", "")
	if latin(v) { // one Helvetica run: fpdf's own cell (1 mm padding, as below)
		pdf.SetFont("Helvetica", style, size)
		pdf.CellFormat(w, h, r.tr(v), border, ln, align, fill, 0, "")
		return
	}
	x, y := pdf.GetXY()
	// Trigger the page break (and the header) before drawing any run.
	pdf.CellFormat(w, h, "", border, 0, "L", fill, 0, "")
	if pdf.GetY() != y {
		x, y = pdf.GetX()-w, pdf.GetY()
	}
	const pad = 1.0
	tx := x + pad
	if align == "R" {
		tx = x + w - pad - r.width(v, style, size)
	}
	keep := pdf.GetCellMargin()
	pdf.SetCellMargin(0)
	for _, run := range runs(v) {
		t := r.font(run, style, size)
		rw := pdf.GetStringWidth(t)
		pdf.SetXY(tx, y)
		pdf.CellFormat(rw, h, t, "", 0, "L", false, 0, "")
		tx += rw
	}
	pdf.SetCellMargin(keep)
	switch ln {
	case 1:
		left, _, _, _ := pdf.GetMargins()
		pdf.SetXY(left, y+h)
	case 2:
		pdf.SetXY(x, y+h)
	default:
		pdf.SetXY(x+w, y)
	}
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

// nbAlias stands for the page count until the document is finished; in
// Helvetica it is about as wide as two digits, so the text after it keeps
// its place.
const nbAlias = "{#}"

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
