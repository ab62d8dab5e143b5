package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remoteidv/internal/testenv"
	"remoteidv/mail"
	"remoteidv/mail/mailtest"
	"remoteidv/models"
	"remoteidv/statement/pades"
	"remoteidv/verify"
)

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestStatementPasswordEnvelope: the customer chooses a password during
// the call (refused when too short, too long, not ASCII or mistyped;
// replaceable until submission, staff see only that there is one), the
// case is submitted, approved, sealed and released, and the queued mail's
// attachment is the AES-256 envelope: poppler opens it only with the
// password, and the file it holds is byte for byte the approved, signed
// statement. The release deletes the password; it is never in the audit
// trail, the evidence or the logs.
func TestStatementPasswordEnvelope(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	font, err := os.ReadFile("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
	if err != nil {
		t.Fatalf("CJK font missing (%v): install fonts-droid-fallback", err)
	}
	signCfg, err := pades.GenerateDemo(t.TempDir(), "Demo Bank", f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	signCfg.Now = f.clock.Now
	signer, err := pades.Load(ctx, signCfg)
	if err != nil {
		t.Fatal(err)
	}
	f.editDesk(func(dd *verify.DeskDeps) { dd.StatementSigner, dd.StatementFont = signer, font })
	d := f.desk
	const (
		customer = "customer:cs_test"
		first    = "first choice 1"
		password = "Tax-Office 2026!"
	)
	f.callFacts()

	for _, tc := range []struct{ name, pw, confirm, says string }{
		{"too short", "Ab1!xyz", "Ab1!xyz", "8 to 128 characters"},
		{"too long", strings.Repeat("x", 129), strings.Repeat("x", 129), "8 to 128 characters"},
		{"mistyped", password, password + "?", "differ"},
		{"not ASCII", "税务局密码2026", "税务局密码2026", "only letters"},
	} {
		err := d.SetStatementPassword(ctx, f.caseID, customer, tc.pw, tc.confirm)
		wantErr(t, "SetStatementPassword("+tc.name+")", err, models.EINVALID)
		if !strings.Contains(err.Error(), tc.says) || strings.Contains(err.Error(), tc.pw) {
			t.Errorf("SetStatementPassword(%s) = %q, want a message saying %q without the password", tc.name, err, tc.says)
		}
	}
	if chosen, err := f.svc.StatementPasswordChosen(ctx, f.clerk, f.caseID); chosen || err != nil {
		t.Fatalf("StatementPasswordChosen before any = %v, %v", chosen, err)
	}
	for _, pw := range []string{first, password} {
		if err := d.SetStatementPassword(ctx, f.caseID, customer, pw, pw); err != nil {
			t.Fatalf("SetStatementPassword: %v", err)
		}
	}
	if chosen, err := f.svc.StatementPasswordChosen(ctx, f.clerk, f.caseID); !chosen || err != nil {
		t.Fatalf("StatementPasswordChosen = %v, %v; want true", chosen, err)
	}
	if set := f.events("statement.password_set"); len(set) != 2 || set[0].Actor != customer || set[0].Detail["replaced"] != "false" || set[1].Detail["replaced"] != "true" {
		t.Fatalf("statement.password_set events = %+v, want two by the customer (the second replacing)", set)
	}

	f.readyToSubmit(models.LetterScope{AccountNo: acctNo, Service: models.PurposeStatement, PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", RegisteredEmail: true})
	if _, err := d.Submit(ctx, f.clerk, f.caseID); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	err = d.SetStatementPassword(ctx, f.caseID, customer, "too late 12", "too late 12")
	wantErr(t, "SetStatementPassword(after submission)", err, models.ECONFLICT)
	stm, err := f.svc.CaseStatement(ctx, f.sup, f.caseID)
	if err != nil || stm == nil {
		t.Fatalf("CaseStatement = %v, %v", stm, err)
	}
	if _, _, err := d.Decide(ctx, f.sup, f.caseID, verify.DecisionInput{Decision: models.DecisionApprove, Reason: "complete",
		StepUpAt: f.clock.Now().Add(-time.Minute), StatementSHA256: stm.SHA256}); err != nil {
		t.Fatalf("Decide: %v", err)
	}
	if _, err := f.arch.Drain(ctx, "test/0"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Seal(ctx, f.caseID); err != nil {
		t.Fatalf("Seal: %v", err)
	}
	// A release that dies before its commit keeps the password: the next
	// one builds the envelope again.
	f.failsWhole(t, "case.release", func() error { _, err := d.Release(ctx, f.clerk, f.caseID); return err })
	if chosen, err := f.svc.StatementPasswordChosen(ctx, f.clerk, f.caseID); !chosen || err != nil {
		t.Fatalf("StatementPasswordChosen after a failed release = %v, %v; want still true", chosen, err)
	}
	rel, err := d.Release(ctx, f.clerk, f.caseID)
	if err != nil {
		t.Fatalf("Release: %v", err)
	}

	// The queued message, before any delivery.
	var queued *models.OutboundMail
	f.tx(func(tx models.Tx) error {
		if _, err := tx.EnvelopePasswordOf(ctx, f.caseID); models.ErrorCodeOf(err) != models.ENOTFOUND {
			t.Errorf("the password after the release: EnvelopePasswordOf = %v, want ENOTFOUND (deleted)", err)
		}
		msgs, err := tx.MailByCase(ctx, f.caseID)
		for _, m := range msgs {
			if m.Kind == mail.KindStatement {
				queued = m
			}
		}
		return err
	})
	if queued == nil || queued.Raw == nil {
		t.Fatal("no queued statement mail")
	}
	p, err := mailtest.Parse(queued.Raw)
	if err != nil {
		t.Fatal(err)
	}
	env := p.Attachments["statement-2025-01-01-2025-12-31.pdf"]
	if len(p.Attachments) != 1 || env == nil {
		t.Fatalf("attachments %d, want only statement-2025-01-01-2025-12-31.pdf", len(p.Attachments))
	}
	if !rel.Encrypted || rel.AttachmentSHA256 != hexSHA(env) || hexSHA(env) == stm.SHA256 || rel.Statement.SHA256 != stm.SHA256 {
		t.Fatalf("Release = encrypted %v, attachment %s (mailed %s), statement %s; want the envelope's hash and the approved statement's %s",
			rel.Encrypted, rel.AttachmentSHA256, hexSHA(env), rel.Statement.SHA256, stm.SHA256)
	}
	if !strings.Contains(p.Text, "视频核验时设定的密码") || !strings.Contains(p.HTML, "AES-256") {
		t.Errorf("statement mail (zh-CN) does not say the attachment is protected with the call's password:\n%s", p.Text)
	}
	if chosen, err := f.svc.StatementPasswordChosen(ctx, f.clerk, f.caseID); chosen || err != nil {
		t.Errorf("StatementPasswordChosen after the release = %v, %v; want false", chosen, err)
	}
	rels := f.events("case.release")
	if len(rels) != 1 || rels[0].Detail["encrypted"] != "true" || rels[0].Detail["statement_sha256"] != stm.SHA256 || rels[0].Detail["attachment_sha256"] != hexSHA(env) {
		t.Fatalf("case.release detail = %v, want encrypted, the statement's and the envelope's SHA-256", rels[0].Detail)
	}

	// poppler: nothing without the password, AES-256 with it, and the
	// attachment is the approved file, its signature intact.
	dir := t.TempDir()
	file := filepath.Join(dir, "mailed.pdf")
	if err := os.WriteFile(file, env, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{file}, {"-upw", first, file}, {"-upw", strings.ToLower(password), file}} {
		if out, ok := testenv.Poppler(t, "pdfinfo", args...); ok || !strings.Contains(out, "Incorrect password") {
			t.Errorf("pdfinfo %v = %v %q, want the incorrect-password failure", args[:len(args)-1], ok, out)
		}
	}
	if out, ok := testenv.Poppler(t, "pdfinfo", "-upw", password, file); !ok || !strings.Contains(out, "AES-256") {
		t.Fatalf("pdfinfo -upw = %v\n%s\nwant AES-256", ok, out)
	}
	saved := filepath.Join(dir, "statement.pdf")
	if out, ok := testenv.Poppler(t, "pdfdetach", "-upw", password, "-save", "1", "-o", saved, file); !ok {
		t.Fatalf("pdfdetach: %s", out)
	}
	got, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	if hexSHA(got) != stm.SHA256 {
		t.Fatalf("extracted statement SHA-256 %s, want the approved %s", hexSHA(got), stm.SHA256)
	}
	if res, err := pades.Verify(got, signer.Roots(), f.clock.Now()); err != nil || !res.WholeDocument || len(res.Signatures) != 1 {
		t.Fatalf("extracted statement's signature: %+v, %v; want one valid signature over the whole file", res, err)
	}
	if st, err := d.CheckStatement(ctx, stm.ID, hexSHA(got)); err != nil || !st.Issued || !st.Match {
		t.Fatalf("CheckStatement(extracted file) = %+v, %v; want issued, this file", st, err)
	}

	// Delivered, the raw message goes; the password was never written
	// anywhere a person or an auditor reads.
	// The statement and the approved notice (what happens next).
	if n, err := d.DeliverMail(ctx, "test"); n != 2 || err != nil {
		t.Fatalf("DeliverMail = %d, %v; want the statement and the approved notice", n, err)
	}
	f.smtp.Wait(t, 3, 5*time.Second)
	if _, err := f.arch.Drain(ctx, "test/0"); err != nil {
		t.Fatal(err)
	}
	secrets := []string{password, first}
	f.tx(func(tx models.Tx) error {
		evs, err := tx.AuditEvents(ctx, models.AuditFilter{CaseID: f.caseID})
		if err != nil {
			return err
		}
		for _, e := range evs {
			for k, v := range e.Detail {
				for _, s := range secrets {
					if strings.Contains(v, s) || strings.Contains(k, s) {
						t.Errorf("audit event %s detail %s holds the password", e.Action, k)
					}
				}
			}
		}
		items, err := tx.EvidenceByCase(ctx, f.caseID)
		if err != nil {
			return err
		}
		for _, e := range items {
			r, _, err := f.g.Evidence.Get(ctx, e.Key)
			if err != nil {
				return err
			}
			var b bytes.Buffer
			_, err = b.ReadFrom(r)
			r.Close()
			if err != nil {
				return err
			}
			for _, s := range secrets {
				if bytes.Contains(b.Bytes(), []byte(s)) {
					t.Errorf("evidence %s (%s) holds the password", e.ID, e.Kind)
				}
			}
		}
		return nil
	})
	logs := f.logs.String()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds the password")
		}
	}
}

// TestStatementPasswordDiscarded: a case that ends without a release
// (cancelled here; rejected, aborted and closed take the same path) drops
// the customer's password, and its event says so.
func TestStatementPasswordDiscarded(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	f.liveCall()
	if err := f.desk.SetStatementPassword(ctx, f.caseID, "customer:cs_test", "cancel me 1", "cancel me 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Cancel(ctx, f.clerk, f.caseID, "customer withdrew"); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	f.tx(func(tx models.Tx) error {
		if _, err := tx.EnvelopePasswordOf(ctx, f.caseID); models.ErrorCodeOf(err) != models.ENOTFOUND {
			t.Errorf("EnvelopePasswordOf after cancel = %v, want ENOTFOUND", err)
		}
		return nil
	})
	if ev := f.events("case.cancel"); len(ev) != 1 || ev[0].Detail["statement_password"] != "discarded" {
		t.Errorf("case.cancel events = %+v, want statement_password=discarded", ev)
	}
	err := f.desk.SetStatementPassword(ctx, f.caseID, "customer:cs_test", "after cancel", "after cancel")
	wantErr(t, "SetStatementPassword(cancelled)", err, models.ECONFLICT)
}
