package verify_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"remoteidv/mail"
	"remoteidv/mail/mailtest"
	"remoteidv/models"
	"remoteidv/statement/pades"
	"remoteidv/verify"
)

// TestCreateCaseServices: each service checks its own period; a balance
// certificate is as at one date (period_from empty or equal to it), and a
// purpose nobody offers is refused.
func TestCreateCaseServices(t *testing.T) {
	tests := []struct {
		name             string
		purpose          models.Purpose
		from, to         string
		code             models.ErrorCode // "" when created
		wantFrom, wantTo string
	}{
		{"statement", models.PurposeStatement, "2025-01-01", "2025-12-31", "", "2025-01-01", "2025-12-31"},
		{"certificate, date alone", models.PurposeBalanceCertificate, "", "2025-12-31", "", "2025-12-31", "2025-12-31"},
		{"certificate, both ends the date", models.PurposeBalanceCertificate, "2025-12-31", "2025-12-31", "", "2025-12-31", "2025-12-31"},
		{"certificate over a period", models.PurposeBalanceCertificate, "2025-01-01", "2025-12-31", models.EINVALID, "", ""},
		{"certificate without a date", models.PurposeBalanceCertificate, "", "", models.EINVALID, "", ""},
		{"certificate in the future", models.PurposeBalanceCertificate, "", "2027-01-01", models.EINVALID, "", ""},
		{"statement without its start", models.PurposeStatement, "", "2025-12-31", models.EINVALID, "", ""},
		{"unknown purpose", "postcard", "2025-01-01", "2025-12-31", models.EINVALID, "", ""},
		{"no purpose", "", "2025-01-01", "2025-12-31", models.EINVALID, "", ""},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := goodCase()
			in.Purpose, in.PeriodFrom, in.PeriodTo = tt.purpose, tt.from, tt.to
			c, err := f.svc.CreateCase(context.Background(), f.clerk, in)
			if got := models.ErrorCodeOf(err); got != tt.code || (err != nil) != (tt.code != "") {
				t.Fatalf("CreateCase(%s) = %v, want code %q", tt.name, err, tt.code)
			}
			if err == nil && (c.Purpose != tt.purpose || c.PeriodFrom != tt.wantFrom || c.PeriodTo != tt.wantTo) {
				t.Errorf("CreateCase(%s) = %s %s..%s, want %s %s..%s", tt.name, c.Purpose, c.PeriodFrom, c.PeriodTo, tt.purpose, tt.wantFrom, tt.wantTo)
			}
		})
	}
}

// certificateCase opens a balance-certificate case of Li Wei's account as
// at date, with its invite, and makes it the fixture's case.
func (f *deskFixture) certificateCase(date string) {
	f.t.Helper()
	ctx := context.Background()
	cs, err := f.svc.CreateCase(ctx, f.clerk, verify.NewCase{AccountNo: acctNo, Purpose: models.PurposeBalanceCertificate, PeriodTo: date,
		Slot: verify.Slot{Local: "2026-12-01T09:00", TimeZone: "America/New_York"}})
	if err != nil {
		f.t.Fatal(err)
	}
	inv, err := f.svc.IssueInvite(ctx, f.clerk, cs.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	f.caseID, f.link = cs.ID, inv.Link
}

// TestCertificateRequirement: the balance certificate's requirement is
// the statement's, up to the end of its date: a ledger imported through
// the date, with data of the account.
func TestCertificateRequirement(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		date   string
		forget bool
		code   string
		reason string
	}{
		{"covered", "2025-12-31", false, "", ""},
		{"the coverage's last full day", "2026-01-05", false, "", ""},
		{"after the last import", "2026-06-30", false, models.StatementLedgerBehind,
			"complete only up to 2026-01-06 08:00 CST, before the certificate's date ends (2026-06-30)"},
		{"before the account's first booking", "2024-10-31", false, models.StatementNoData, "no transaction of account ************2222 up to 2024-10-31"},
		{"no import", "2025-12-31", true, models.StatementNoImport, "no ledger has been imported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.certificateCase(tt.date)
			if tt.forget {
				f.forgetLedgerImports(t)
			}
			r, err := f.desk.Requirements(ctx, f.clerk, f.caseID)
			if err != nil {
				t.Fatal(err)
			}
			if r.StatementReady != (tt.reason == "") || r.StatementCode != tt.code || !strings.Contains(r.StatementProblem, tt.reason) || (tt.reason == "" && r.StatementProblem != "") {
				t.Errorf("Requirements(certificate %s) = ready %v, %s %q; want ready %v, %s %q", tt.date, r.StatementReady, r.StatementCode, r.StatementProblem,
					tt.reason == "", tt.code, tt.reason)
			}
		})
	}
}

// readyToSubmit gives the fixture's case, after callFacts, everything
// else submission asks besides its document: the letter with scope, the
// signature verdict, the registry check and the email code.
func (f *deskFixture) readyToSubmit(scope models.LetterScope) {
	t := f.t
	t.Helper()
	ctx := context.Background()
	d := f.desk
	l, err := d.UploadLetter(ctx, f.clerk, f.caseID, signedLetter(t, 600, 400))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.RecordLetterScope(ctx, f.clerk, f.caseID, l.ID, scope); err != nil {
		t.Fatalf("RecordLetterScope: %v", err)
	}
	if _, err := d.RecordSignature(ctx, f.clerk, f.caseID, verify.SignatureInput{Letter: l.ID, Region: verify.Region{X: 280, Y: 300, W: 160, H: 60},
		Verdict: "pass", Reason: "same letter forms"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.RunRegistryCheck(ctx, f.clerk, f.caseID); err != nil {
		t.Fatal(err)
	}
	sent := len(f.smtp.Messages())
	if _, err := d.RequestCode(ctx, f.caseID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DeliverMail(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	p, err := mailtest.Parse(f.smtp.Wait(t, sent+1, 5*time.Second)[sent].Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.VerifyCode(ctx, f.caseID, sixDigits.FindString(p.Text)); err != nil {
		t.Fatal(err)
	}
}

// TestBalanceCertificateEndToEnd: a balance-certificate case goes from
// the call to its delivery like a statement's: blocked while the ledger
// is behind its date, then signed at submission, approved by its hash,
// sealed, released as the certificate (one page, every currency, CNY
// first) under its own name and mail, and checked at /v as a balance
// certificate.
func TestBalanceCertificateEndToEnd(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	f.certificateCase("2025-12-31")
	// A letter for a statement of that day does not authorize a certificate.
	l, err := f.desk.UploadLetter(ctx, f.clerk, f.caseID, signedLetter(t, 600, 400))
	if err != nil {
		t.Fatal(err)
	}
	scope := models.LetterScope{AccountNo: acctNo, Service: models.PurposeStatement, PeriodFrom: "2025-12-31", PeriodTo: "2025-12-31", RegisteredEmail: true}
	_, err = f.desk.RecordLetterScope(ctx, f.clerk, f.caseID, l.ID, scope)
	if models.ErrorCodeOf(err) != models.EINVALID || !strings.Contains(err.Error(), `the letter authorizes "transaction_statement", the case is for "balance_certificate"`) {
		t.Fatalf("RecordLetterScope(a statement's letter) = %v, want refused naming both services", err)
	}
	scope.Service = models.PurposeBalanceCertificate
	f.callFacts()
	f.readyToSubmit(scope)

	// The ledger ends before the certificate's day does: no submission.
	f.forgetLedgerImports(t)
	f.recordLedgerImport(t, time.Date(2025, 12, 31, 12, 0, 0, 0, time.UTC)) // 20:00 in Shanghai
	_, err = f.desk.Submit(ctx, f.clerk, f.caseID)
	wantStatementBlock(t, "Submit(ledger ends within the certificate's day)", err, "before the certificate's date ends (2025-12-31)")
	f.recordLedgerImport(t, ledgerThrough)

	signer := f.demoSigner()
	font, err := os.ReadFile("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
	if err != nil {
		t.Fatalf("CJK font missing (%v): install the Debian package fonts-droid-fallback (make test does)", err)
	}
	f.editDesk(func(dd *verify.DeskDeps) { dd.StatementSigner, dd.StatementFont = signer, font })
	d := f.desk
	if _, err := d.Submit(ctx, f.clerk, f.caseID); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	stm, err := f.svc.CaseStatement(ctx, f.sup, f.caseID)
	if err != nil {
		t.Fatal(err)
	}
	apr, _, err := d.Decide(ctx, f.sup, f.caseID, verify.DecisionInput{Decision: models.DecisionApprove, Reason: "evidence complete",
		StepUpAt: f.clock.Now().Add(-time.Minute), StatementSHA256: stm.SHA256})
	if err != nil || apr.Action.Purpose != models.PurposeBalanceCertificate || apr.Action.StatementSHA256 != stm.SHA256 {
		t.Fatalf("Decide = %+v, %v; want the approval of this certificate", apr, err)
	}
	// The customer is told what happens next (the approved notice) first.
	before := len(f.smtp.Messages())
	if n, err := d.DeliverMail(ctx, "test"); n < 1 || err != nil {
		t.Fatalf("DeliverMail(after the decision) = %d, %v; want the approved notice", n, err)
	}
	f.smtp.Wait(t, before+1, 5*time.Second)
	// A late booking before the date changes nothing that is sent.
	f.tx(func(tx models.Tx) error {
		_, err := tx.AddLedgerEntries(ctx, []*models.LedgerEntry{{AccountNo: acctNo, BookedAt: time.Date(2025, 6, 30, 3, 0, 0, 0, time.UTC),
			Description: "LATE BOOKING AFTER APPROVAL", Amount: -999900, Currency: "CNY"}})
		return err
	})
	if _, err := f.arch.Drain(ctx, "test/0"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Seal(ctx, f.caseID); err != nil {
		t.Fatalf("Seal: %v", err)
	}
	sent := len(f.smtp.Messages())
	// The email code's mail was queued on the same (frozen) clock
	// reading: Release names the message it queued, not the case's newest.
	rel, err := d.Release(ctx, f.clerk, f.caseID)
	if err != nil || rel.Mail.Kind != mail.KindStatement {
		t.Fatalf("Release = %+v, %v; want the document's mail (filed as %s)", rel, err, mail.KindStatement)
	}
	if n, err := d.DeliverMail(ctx, "test"); n != 1 || err != nil {
		t.Fatalf("DeliverMail = %d, %v; want 1", n, err)
	}
	p, err := mailtest.Parse(f.smtp.Wait(t, sent+1, 5*time.Second)[sent].Data)
	if err != nil {
		t.Fatal(err)
	}
	pdf := p.Attachments["balance-certificate-2025-12-31.pdf"]
	if sum := sha256.Sum256(pdf); hex.EncodeToString(sum[:]) != stm.SHA256 {
		t.Fatalf("sent %d bytes as balance-certificate-2025-12-31.pdf (attachments %v), want exactly the approved file %s", len(pdf), p.AttachTypes, stm.SHA256)
	}
	if p.Subject != "Demo Bank：您的余额证明（2025-12-31 日终）" || !strings.Contains(p.Text, "余额证明") || strings.Contains(p.Text, "交易明细") {
		t.Errorf("certificate mail: subject %q, text %q; want the balance certificate's", p.Subject, p.Text)
	}
	if res, err := pades.Verify(pdf, signer.Roots(), f.clock.Now()); err != nil || !res.WholeDocument || len(res.Signatures) != 1 {
		t.Fatalf("the sent certificate's signature: %+v, %v; want one valid signature over the whole file", res, err)
	}
	text := pdfText(t, pdf)
	for _, want := range []string{"余额证明 Balance certificate", "Li Wei", acctNo, "2025-12-31 日终 end of day (Asia/Shanghai)", string(stm.ID), "/v/" + string(stm.ID),
		string(f.caseID), "Page 1 of 1", "人民币 CNY 4,799.50", "港币 HKD 800.00", "美元 USD 1,300.00"} {
		if !strings.Contains(strings.Join(strings.Fields(text), " "), want) {
			t.Errorf("released certificate lacks %q:\n%s", want, text)
		}
	}
	if c, h, u := strings.Index(text, "CNY"), strings.Index(text, "HKD"), strings.Index(text, "USD"); !(c < h && h < u) {
		t.Errorf("balances at %d (CNY), %d (HKD), %d (USD); want CNY first, then by code", c, h, u)
	}
	if strings.Contains(text, "Opening balance") || strings.Contains(text, "Salary transfer") {
		t.Errorf("the certificate lists transactions:\n%s", text)
	}
	if got := f.state(); got != models.StateClosed {
		t.Fatalf("state after delivery = %s, want closed", got)
	}
	st, err := d.CheckStatement(ctx, stm.ID, stm.SHA256)
	if err != nil || !st.Issued || !st.Match || st.Document != models.PurposeBalanceCertificate || st.DocumentName != "余额证明 Balance certificate" {
		t.Fatalf("CheckStatement(certificate) = %+v, %v; want an issued balance certificate, this file", st, err)
	}
}

// demoSigner is a signer with a demo CA and signing certificate made now,
// on the fixture's clock.
func (f *deskFixture) demoSigner() *pades.Signer {
	f.t.Helper()
	cfg, err := pades.GenerateDemo(f.t.TempDir(), "Demo Bank", f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	cfg.Now = f.clock.Now
	signer, err := pades.Load(context.Background(), cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return signer
}
