package statement

import (
	"fmt"
	"sort"
	"time"

	"remoteidv/models"
)

// Balance is what the account held in one currency.
type Balance struct {
	Currency string // ISO 4217
	Amount   int64  // minor units
}

// Certificate is a balance certificate: the bank certifies that the
// account held these balances at the end of Date (in the branch's zone).
// It is one page, in Chinese and English side by side, framed like a
// statement (bank, title, ID, verification URL and QR code, page 1 of 1).
type Certificate struct {
	Bank          Bank
	Branch        Branch
	HolderName    string // as Statement.HolderName
	HolderNameAlt string // as Statement.HolderNameAlt
	AccountNo     models.AccountNo
	// Date is the day at whose end the balances stand, YYYY-MM-DD in the
	// branch's zone.
	Date string
	// Balances are the account's currencies: every currency it has a
	// booking in up to Date, a zero balance included. Printed CNY first,
	// then by currency code.
	Balances    []Balance
	StatementID string        // the document's ID, as Statement.StatementID
	CaseRef     models.CaseID // optional
	IssuedAt    time.Time
	BranchTZ    *time.Location
	VerifyURL   string // as Statement.VerifyURL
	UnicodeFont []byte // as Statement.UnicodeFont
}

// maxCertificateBalances keeps a certificate on its one page.
const maxCertificateBalances = 25

// check rejects a certificate that cannot be printed truthfully.
func (c *Certificate) check() error {
	if c.StatementID == "" {
		return models.Errorf(models.EINVALID, "certificate has no ID")
	}
	if _, err := time.Parse(models.DateLayout, c.Date); err != nil {
		return models.Errorf(models.EINVALID, "certificate %s: date %q is not YYYY-MM-DD", c.StatementID, c.Date)
	}
	if len(c.Balances) == 0 {
		return models.Errorf(models.EINVALID, "certificate %s has no balance: the account has no ledger data", c.StatementID)
	}
	if len(c.Balances) > maxCertificateBalances {
		return models.Errorf(models.EINVALID, "certificate %s: %d currencies do not fit its page (at most %d)", c.StatementID, len(c.Balances), maxCertificateBalances)
	}
	seen := map[string]bool{}
	for _, b := range c.Balances {
		if seen[b.Currency] {
			return models.Errorf(models.EINVALID, "certificate %s has two %s balances", c.StatementID, b.Currency)
		}
		seen[b.Currency] = true
	}
	return nil
}

// A certificate's balance table (mm).
const wCur, wAmount = 90.0, 60.0

// RenderCertificate draws the certificate as a one-page A4 PDF. The same
// certificate renders to the same bytes. It fails with EINVALID for a
// certificate without an ID, a date or any balance, with two balances of
// one currency, or with more currencies than its page holds.
func RenderCertificate(c *Certificate) ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	bals := append([]Balance(nil), c.Balances...)
	sort.SliceStable(bals, func(i, j int) bool { return currencyBefore(bals[i].Currency, bals[j].Currency) })
	r, err := begin(frame{bank: c.Bank, title: [2]string{"余额证明", "Balance certificate"}, noun: [2]string{"证明", "certificate"},
		id: c.StatementID, verifyURL: c.VerifyURL, font: c.UnicodeFont, tz: c.BranchTZ, issuedAt: c.IssuedAt})
	if err != nil {
		return nil, fmt.Errorf("render certificate %s: %w", c.StatementID, err)
	}
	r.account(c.HolderName, c.HolderNameAlt, string(c.AccountNo), c.Branch)
	r.line("日期 Date", c.Date+" 日终 end of day ("+r.tz.String()+")")
	r.issued(string(c.CaseRef))
	r.pdf.Ln(4)
	r.cell(0, 6, "兹证明上述账户于 "+c.Date+" 日终的余额如下。", "", 9.5, "L", "", 1)
	r.cell(0, 6, "This is to certify that at the end of "+c.Date+" the account above held the following balances.", "", 9.5, "L", "", 1)
	r.pdf.Ln(3)
	r.pdf.SetFillColor(230, 230, 230)
	r.cell(wCur, rowH+1, "币种 Currency", "B", 9.5, "L", "BF", 0)
	r.cell(wAmount, rowH+1, "余额 Balance", "B", 9.5, "R", "BF", 1)
	for _, b := range bals {
		r.cell(wCur, rowH+1, currencyName(b.Currency), "", 9.5, "L", "B", 0)
		r.cell(wAmount, rowH+1, Money(b.Amount), "B", 9.5, "R", "B", 1)
	}
	r.pdf.Ln(5)
	r.cell(0, 4.5, "本证明仅反映上述日期日终的余额，不代表此后的余额，亦不构成本行的任何担保。", "", 8, "L", "", 1)
	r.cell(0, 4.5, "It states the balances at the end of that date only and is no guarantee of later balances.", "", 8, "L", "", 1)
	b, err := r.finish()
	if err != nil {
		return nil, fmt.Errorf("render certificate %s: %w", c.StatementID, err)
	}
	return b, nil
}
