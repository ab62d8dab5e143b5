package statement

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	qrcode "github.com/skip2/go-qrcode"
)

// Page geometry (mm, A4 portrait).
const (
	margin  = 15.0
	footerH = 30.0 // room for the QR code, URL and page number
	qrSize  = 20.0
	labelW  = 52.0
)

// frame is what every page of a document the bank issues carries around
// its body, whatever the document: the bank's name and address, the
// bilingual title and the document's ID at the top; the verification URL
// as text and QR code, the ID again and "page x of y" at the bottom.
type frame struct {
	bank Bank
	// title is the document's name in Chinese and in English, e.g.
	// {"交易明细", "Transaction statement"}.
	title [2]string
	// noun names the document in the footer's lines, in both languages:
	// e.g. {"对账单", "statement"}.
	noun      [2]string
	id        string
	verifyURL string
	font      []byte // Statement.UnicodeFont
	tz        *time.Location
	issuedAt  time.Time
}

// renderer draws one document on A4 pages in its frame. The statement
// keeps the section whose table runs over a page break (open) so that
// the page it continues on repeats its heading.
type renderer struct {
	f    frame
	s    *Statement // the statement being drawn; nil for other documents
	pdf  *fpdf.Fpdf
	tr   func(string) string
	tz   *time.Location
	open *Section
}

// begin starts a document in frame f: A4, the fonts, the QR code of the
// verification URL, the frame drawn on every page, and the first page.
// The same frame and body give the same bytes.
func begin(f frame) (*renderer, error) {
	r := &renderer{f: f, tz: f.tz}
	if r.tz == nil {
		r.tz = time.UTC
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	r.pdf = pdf
	pdf.SetCreationDate(f.issuedAt)
	pdf.SetModificationDate(f.issuedAt)
	pdf.SetCatalogSort(true)
	pdf.SetTitle(f.title[1]+" "+f.id, true)
	pdf.SetAuthor(f.bank.Name, true)
	pdf.AliasNbPages(nbAlias)
	pdf.SetMargins(margin, margin, margin)
	pdf.SetCellMargin(1) // the padding cell assumes
	pdf.SetAutoPageBreak(true, footerH)
	r.tr = pdf.UnicodeTranslatorFromDescriptor("")
	if len(f.font) > 0 {
		pdf.AddUTF8FontFromBytes(unicodeFont, "", f.font)
		if err := pdf.Error(); err != nil {
			return nil, fmt.Errorf("load unicode font: %w", err)
		}
	}
	if f.verifyURL != "" {
		png, err := qrcode.Encode(f.verifyURL, qrcode.Medium, 256)
		if err != nil {
			return nil, fmt.Errorf("qr code: %w", err)
		}
		pdf.RegisterImageOptionsReader("qr", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(png))
	}
	pdf.SetFont("Helvetica", "", 9)
	pdf.SetHeaderFunc(r.header)
	pdf.SetFooterFunc(r.footer)
	pdf.AddPage()
	return r, nil
}

// finish closes the document and returns its bytes.
func (r *renderer) finish() ([]byte, error) {
	var b bytes.Buffer
	if err := r.pdf.Output(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// header prints the bank and the title on every page, and the running
// section's table header on a page it continues onto.
func (r *renderer) header() {
	f := r.f
	name := f.bank.Name
	if f.bank.NameZH != "" {
		name = f.bank.NameZH + " " + f.bank.Name
	}
	r.cell(0, 8, name, "B", 14, "L", "", 1)
	if f.bank.Address != "" {
		r.cell(0, 4.5, f.bank.Address, "", 8, "L", "", 1)
	}
	r.cell(0, 6, f.title[0]+" "+f.title[1], "B", 11, "L", "", 0)
	r.cell(0, 6, "编号 ID "+f.id, "", 8, "R", "", 1)
	r.pdf.Ln(2)
	if r.open != nil && r.pdf.PageNo() > 1 {
		r.sectionTitle(r.open, " (续 continued)")
		r.tableHeader()
	}
}

// footer prints the verification URL and its QR code and "page x of y".
func (r *renderer) footer() {
	pdf, f := r.pdf, r.f
	top := -footerH + 4
	if f.verifyURL != "" {
		pdf.ImageOptions("qr", 210-margin-qrSize, 297+top, qrSize, qrSize, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		pdf.SetXY(margin, 297+top+2)
		r.cell(180-qrSize-2, 4.5, "扫码或访问以核验本"+f.noun[0]+" Scan or visit to verify this "+f.noun[1]+":", "", 7.5, "L", "", 2)
		r.cell(180-qrSize-2, 4.5, f.verifyURL, "", 7.5, "L", "", 2)
	}
	pdf.SetXY(margin, 297+top+12)
	r.cell(90, 4.5, f.noun[0]+"编号 "+strings.ToUpper(f.noun[1][:1])+f.noun[1][1:]+" ID "+f.id, "", 7.5, "L", "", 0)
	r.cell(180-qrSize-2-90, 4.5, fmt.Sprintf("第 %d 页 共 %s 页 Page %d of %s", pdf.PageNo(), nbAlias, pdf.PageNo(), nbAlias), "", 7.5, "R", "", 1)
}

// line prints one labelled detail ("户名 Account holder", the name).
func (r *renderer) line(label, value string) {
	r.cell(labelW, 5.5, label, "B", 9.5, "L", "", 0)
	r.cell(0, 5.5, value, "", 9.5, "L", "", 1)
}

// account prints the holder (both names when the bank has both), the full
// account number and the branch.
func (r *renderer) account(holder, holderAlt string, no string, br Branch) {
	if holderAlt != "" && holderAlt != holder {
		holder += " / " + holderAlt
	}
	r.line("户名 Account holder", holder)
	r.line("账号 Account number", no)
	if br.Name != "" || br.Address != "" {
		r.line("开户网点 Branch", br.Name)
		if br.Address != "" {
			r.line("网点地址 Branch address", br.Address)
		}
	}
}

// issued prints the issue time (UTC and the branch's zone) and the case.
func (r *renderer) issued(caseRef string) {
	at := r.f.issuedAt
	r.line("出具时间 Issued", at.UTC().Format("2006-01-02 15:04:05")+" UTC / "+at.In(r.tz).Format("2006-01-02 15:04:05")+" "+r.tz.String())
	if caseRef != "" {
		r.line("核验案件 Case reference", caseRef)
	}
}

// currencyZH names common currencies in Chinese for the section headings.
var currencyZH = map[string]string{"CNY": "人民币", "USD": "美元", "EUR": "欧元", "GBP": "英镑", "HKD": "港币", "JPY": "日元",
	"AUD": "澳大利亚元", "CAD": "加拿大元", "SGD": "新加坡元", "CHF": "瑞士法郎"}

// currencyName is "人民币 CNY", or the code alone for a currency without a
// Chinese name here.
func currencyName(cur string) string {
	if zh := currencyZH[cur]; zh != "" {
		return zh + " " + cur
	}
	return cur
}

// currencyBefore orders currencies CNY first, then by code.
func currencyBefore(a, b string) bool {
	if (a == "CNY") != (b == "CNY") {
		return a == "CNY"
	}
	return a < b
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
	if x.cjk && len(r.f.font) > 0 {
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
