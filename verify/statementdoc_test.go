package verify_test

import (
	"bytes"
	"context"
	"database/sql"
	"os/exec"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/verify"
)

// forgetLedgerImports deletes the recorded ledger imports, as on a
// database where none was ever run (imports only ever add coverage).
func (f *deskFixture) forgetLedgerImports(t *testing.T) {
	t.Helper()
	db, ok := f.db.(interface{ SQL() *sql.DB })
	if !ok {
		t.Fatalf("fixture store %T has no SQL()", f.db)
	}
	if _, err := db.SQL().ExecContext(context.Background(), `DELETE FROM ledger_imports`); err != nil {
		t.Fatal(err)
	}
}

func (f *deskFixture) recordLedgerImport(t *testing.T, through time.Time) {
	t.Helper()
	f.tx(func(tx models.Tx) error {
		return tx.RecordLedgerImport(context.Background(), &models.LedgerImport{ImportedAt: f.clock.Now(), Through: through, Actor: "test", Source: "ledger.csv"})
	})
}

// submitBlockedByLedger, on a case meeting every other requirement:
// without a ledger import, then with one ending before the period does,
// Submit fails naming only the statement and saying why; it leaves the
// fixture's coverage restored.
func (f *deskFixture) submitBlockedByLedger(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	f.forgetLedgerImports(t)
	_, err := f.desk.Submit(ctx, f.clerk, f.caseID)
	wantStatementBlock(t, "Submit(no ledger import)", err, "no ledger has been imported")
	// Complete up to 2025-12-31 00:00 in Shanghai: the period's last day
	// is missing.
	f.recordLedgerImport(t, time.Date(2025, 12, 30, 16, 0, 0, 0, time.UTC))
	_, err = f.desk.Submit(ctx, f.clerk, f.caseID)
	wantStatementBlock(t, "Submit(ledger ends before the period)", err, "complete only up to 2025-12-31 00:00 CST")
	f.recordLedgerImport(t, ledgerThrough)
}

func wantStatementBlock(t *testing.T, what string, err error, reason string) {
	t.Helper()
	wantErr(t, what, err, models.EPRECONDITION)
	if d := models.ErrorDetailsOf(err); len(d) != 1 || d[0] != "statement" || !strings.Contains(err.Error(), reason) {
		t.Fatalf("%s = %v (missing %v), want only the statement missing, saying %q", what, err, d, reason)
	}
}

// TestStatementRequirement: the "statement" requirement and its reason
// for an account without ledger data, a period the ledger does not cover
// yet, no ledger import at all, and a case whose statement can be made.
func TestStatementRequirement(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	newCase := func(no models.AccountNo, from, to string) models.CaseID {
		t.Helper()
		cs, err := f.svc.CreateCase(ctx, f.clerk, verify.NewCase{AccountNo: no, Purpose: models.PurposeStatement, PeriodFrom: from, PeriodTo: to,
			Slot: verify.Slot{Local: "2026-12-01T09:00", TimeZone: "America/New_York"}})
		if err != nil {
			t.Fatal(err)
		}
		return cs.ID
	}
	tests := []struct {
		name   string
		id     models.CaseID
		forget bool // no ledger import recorded
		code   string
		reason string // "" when the statement can be made
	}{
		{"covered", f.caseID, false, "", ""},
		{"period ends on the coverage's day", newCase(acctNo, "2025-06-01", "2026-01-05"), false, "", ""},
		{"account without ledger data", newCase("6222000033334444", "2025-01-01", "2025-12-31"), false, models.StatementNoData, "no transaction of account ************4444 up to 2025-12-31"},
		{"period after the last import", newCase(acctNo, "2026-01-01", "2026-06-30"), false, models.StatementLedgerBehind, "complete only up to 2026-01-06 08:00 CST, before the period ends (2026-06-30)"},
		{"no import", f.caseID, true, models.StatementNoImport, "no ledger has been imported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.forget {
				f.forgetLedgerImports(t)
			}
			r, err := f.desk.Requirements(ctx, f.clerk, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if r.StatementReady != (tt.reason == "") || r.StatementCode != tt.code || !strings.Contains(r.StatementProblem, tt.reason) || (tt.reason == "" && r.StatementProblem != "") {
				t.Errorf("Requirements(%s) statement = %v %q, want ready %v, reason %q", tt.name, r.StatementReady, r.StatementProblem, tt.reason == "", tt.reason)
			}
			if got := strings.Join(r.Missing(), ","); strings.Contains(got, "statement") != (tt.reason != "") {
				t.Errorf("Requirements(%s).Missing() = %s", tt.name, got)
			}
		})
	}
}

// checkStatementText reads the released PDF (poppler's pdftotext; a
// missing tool fails): three currency sections, CNY first, the full
// account number, the statement ID and page numbers.
func checkStatementText(t *testing.T, pdf []byte, id models.CaseID, stm models.StatementID) {
	t.Helper()
	text := pdfText(t, pdf)
	for _, want := range []string{acctNo, "Li Wei", "Demo Bank", string(stm), "/v/" + string(stm), string(id), "Page 1 of 1",
		"2025-01-01", "Opening balance", "Closing balance", "Total in", "Total out",
		"Salary transfer", "5,000.00", "-1,200.50", "Wire from New York", "2025-02-04", "Tuition", "1,300.00", "800.00"} {
		if !strings.Contains(text, want) {
			t.Errorf("released statement lacks %q:\n%s", want, text)
		}
	}
	var at []string // the section headings' currencies, in order
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "Currency:") {
			f := strings.Fields(l)
			at = append(at, f[len(f)-1])
		}
	}
	if got := strings.Join(at, ","); got != "CNY,HKD,USD" {
		t.Errorf("released statement's sections = %s, want CNY,HKD,USD:\n%s", got, text)
	}
	if strings.Contains(text, "After the period") || strings.Contains(text, "Before the period") {
		t.Errorf("released statement lists a booking outside its period:\n%s", text)
	}
}

// pdfText is the PDF's text as poppler's pdftotext lays it out (a missing
// tool fails).
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatalf("pdftotext not found (apt-get install poppler-utils; scripts/setup.sh does): %v", err)
	}
	cmd := exec.Command(bin, "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}
