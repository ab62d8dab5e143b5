package verify

import (
	"context"
	"fmt"
	"time"

	"remoteidv/models"
	"remoteidv/statement"
)

// casePeriod returns the case's period as instants in the branch's zone:
// from its first day's midnight up to (not including) the midnight after
// its last day.
func (d *Desk) casePeriod(c *models.Case) (from, end time.Time, err error) {
	tz := d.svc.cfg.BranchTZ
	from, err1 := time.ParseInLocation(models.DateLayout, c.PeriodFrom, tz)
	to, err2 := time.ParseInLocation(models.DateLayout, c.PeriodTo, tz)
	if err1 != nil || err2 != nil {
		return time.Time{}, time.Time{}, models.Errorf(models.EINVALID, "case period %s..%s", c.PeriodFrom, c.PeriodTo)
	}
	return from, to.AddDate(0, 0, 1), nil
}

// statementProblem says why the case's document (its statement, or
// whatever document its service issues) cannot be produced from the
// ledger, or "" when it can. Submission needs it to be "" (the
// "statement" requirement), so that an approved case never fails at
// release for want of data. Every service needs the same of the ledger up
// to the end of the case's period (a balance certificate's period is its
// one date):
//   - no ledger import was ever recorded, or the latest one
//     (LedgerCoveredThrough, `idv ledger import --through`) ends before the
//     period does: the ledger may lack bookings of the period;
//   - the account has no booking at all up to the period's end: there is
//     no currency to print.
//
// A currency section is printed for every currency the account has a
// booking in before the period's end, so no section lacks data: a
// currency with an opening balance and no booking in the period prints
// its balance and zero totals.
//
// It returns the problem's code (models.Statement*) and text, both "" when
// the statement can be produced.
func (d *Desk) statementProblem(ctx context.Context, tx models.Tx, c *models.Case) (code, problem string, err error) {
	svc, err := serviceOf(c.Purpose)
	if err != nil {
		return "", "", err
	}
	_, end, err := d.casePeriod(c)
	if err != nil {
		return "", "", err
	}
	covered, err := tx.LedgerCoveredThrough(ctx)
	if err != nil {
		return "", "", err
	}
	tz := d.svc.cfg.BranchTZ
	if covered.IsZero() {
		return models.StatementNoImport, "no ledger has been imported (idv ledger import)", nil
	}
	if covered.Before(end) {
		return models.StatementLedgerBehind, fmt.Sprintf("the imported ledger is complete only up to %s, before %s; import a newer ledger",
			covered.In(tz).Format("2006-01-02 15:04 MST"), svc.ends(c)), nil
	}
	bal, err := tx.LedgerBalance(ctx, c.AccountNo, end)
	if err != nil {
		return "", "", err
	}
	if len(bal) == 0 {
		return models.StatementNoData, fmt.Sprintf("the ledger has no transaction of account %s up to %s", models.MaskAccountNo(c.AccountNo), c.PeriodTo), nil
	}
	return "", "", nil
}

// statementFor gathers the statement of the case's period (dates in the
// branch's zone) from the ledger: one section per currency the account has
// a booking in before the period's end (opening balance before the
// period, every entry in it), CNY first then by code. The caller
// sets StatementID, VerifyURL and the font (renderStatement). It fails with EPRECONDITION when the account has no
// ledger data up to the period's end (submission already refuses such a
// case: statementProblem).
func (d *Desk) statementFor(ctx context.Context, tx models.Tx, c *models.Case, acct *models.Account) (statement.Statement, error) {
	from, end, err := d.casePeriod(c)
	if err != nil {
		return statement.Statement{}, err
	}
	opening, err := tx.LedgerBalance(ctx, c.AccountNo, from)
	if err != nil {
		return statement.Statement{}, err
	}
	entries, err := tx.LedgerEntries(ctx, c.AccountNo, from, end)
	if err != nil {
		return statement.Statement{}, err
	}
	byCur := map[string]*statement.Section{}
	var secs []statement.Section
	section := func(cur string) *statement.Section {
		if s, ok := byCur[cur]; ok {
			return s
		}
		s := &statement.Section{Currency: cur, Opening: opening[cur]}
		byCur[cur] = s
		return s
	}
	for cur := range opening {
		section(cur)
	}
	for _, e := range entries {
		s := section(e.Currency)
		s.Entries = append(s.Entries, e)
	}
	for _, s := range byCur {
		secs = append(secs, *s)
	}
	if len(secs) == 0 {
		return statement.Statement{}, models.Errorf(models.EPRECONDITION, "the ledger has no transaction of account %s up to %s", models.MaskAccountNo(c.AccountNo), c.PeriodTo)
	}
	statement.SortSections(secs)
	bank, branch := d.issuer()
	return statement.Statement{
		Bank: bank, Branch: branch, HolderName: acct.HolderName, HolderNameAlt: acct.HolderNameAlt, AccountNo: acct.No,
		PeriodFrom: c.PeriodFrom, PeriodTo: c.PeriodTo, Sections: secs, CaseRef: c.ID,
		IssuedAt: d.svc.now().UTC(), BranchTZ: d.svc.cfg.BranchTZ,
	}, nil
}

// issuer is the bank and branch as the documents print them.
func (d *Desk) issuer() (statement.Bank, statement.Branch) {
	cfg := d.svc.cfg
	return statement.Bank{Name: cfg.BankName, NameZH: cfg.BankNameZH, Address: cfg.BankAddress},
		statement.Branch{Name: cfg.BranchName, Address: cfg.BranchAddress}
}

// certificateFor gathers the balance certificate of the case's date (the
// end of PeriodTo in the branch's zone) from the ledger: the balance of
// every currency the account has a booking in up to then, a zero one
// included. The caller sets StatementID, VerifyURL and the font
// (renderStatement). It fails with EPRECONDITION when the account has no
// ledger data up to the date (submission already refuses such a case:
// statementProblem).
func (d *Desk) certificateFor(ctx context.Context, tx models.Tx, c *models.Case, acct *models.Account) (statement.Certificate, error) {
	_, end, err := d.casePeriod(c)
	if err != nil {
		return statement.Certificate{}, err
	}
	bal, err := tx.LedgerBalance(ctx, c.AccountNo, end)
	if err != nil {
		return statement.Certificate{}, err
	}
	if len(bal) == 0 {
		return statement.Certificate{}, models.Errorf(models.EPRECONDITION, "the ledger has no transaction of account %s up to %s", models.MaskAccountNo(c.AccountNo), c.PeriodTo)
	}
	var bals []statement.Balance
	for cur, amt := range bal {
		bals = append(bals, statement.Balance{Currency: cur, Amount: amt})
	}
	bank, branch := d.issuer()
	return statement.Certificate{
		Bank: bank, Branch: branch, HolderName: acct.HolderName, HolderNameAlt: acct.HolderNameAlt, AccountNo: acct.No,
		Date: c.PeriodTo, Balances: bals, CaseRef: c.ID, IssuedAt: d.svc.now().UTC(), BranchTZ: d.svc.cfg.BranchTZ,
	}, nil
}
