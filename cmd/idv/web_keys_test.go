package main

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/archiver/archivertest"
)

// addVirtualKey gives tab a security key: Chromium's virtual
// authenticator (DevTools WebAuthn domain), a USB CTAP2 key that verifies
// its user and is touched at once whenever a page asks.
func addVirtualKey(t *testing.T, tab *testenv.Tab) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab.Ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	if _, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportUsb, HasUserVerification: true, IsUserVerified: true,
		AutomaticPresenceSimulation: true}}); err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
}

// enrolmentCode issues a one-time enrolment code for username's first
// key with `idv users enrol` and returns it.
func enrolmentCode(t *testing.T, idv *e2eIDV, username string) string {
	t.Helper()
	out, err := idv.cli("users", "enrol", "--username", username)
	lines := strings.Fields(out)
	if err != nil || len(lines) == 0 {
		t.Fatalf("users enrol: %v\n%s", err, out)
	}
	return lines[len(lines)-1]
}

// TestWebSecurityKey runs the real `idv serve` at http://localhost (keys
// need a domain name) with the default policy (supervisors need a key)
// and Chromium's virtual authenticator: the supervisor signs in with the
// password, is sent to the key page, registers a key with the one-time
// enrolment code the operator issued after re-entering the password, and approves a case pending review by touching the key;
// the approval's audit event names the case and its statement. The key
// page is checked in both languages.
func TestWebSecurityKey(t *testing.T) {
	idv := newE2EIDV(t, map[string]string{
		"IDV_REQUIRE_MODELS": "false", "IDV_MODELS_DIR": t.TempDir(), "IDV_NEW_PASSWORD": e2ePassword, "IDV_SEAL_INTERVAL": "1s",
	})
	idv.origin = strings.Replace(idv.origin, "127.0.0.1", "localhost", 1)
	idv.env["IDV_PUBLIC_URL"] = idv.origin
	if out, err := idv.cli("users", "add", "--username", "sup", "--name", "Supervisor", "--role", "supervisor"); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	var c *models.Case
	var statementSHA string
	func() {
		db := idv.openStore()
		defer db.Close()
		st, err := archiver.NewStager(filepath.Join(idv.dir, "staging"), time.Now, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		c = archivertest.SeedCase(t, db, models.StatePendingReview)
		ctx := context.Background()
		if err := db.Transact(ctx, func(tx models.Tx) error {
			_, err := tx.AddLedgerEntries(ctx, []*models.LedgerEntry{{AccountNo: c.AccountNo, BookedAt: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC),
				Description: "Salary transfer", Amount: 500000, Currency: "CNY"}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		statementSHA = archivertest.SeedStatement(t, db, st, c.ID)
	}()
	idv.serve()

	shots, err := filepath.Abs(filepath.Join("..", "..", "var", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	browser := testenv.Chromium(t, "")
	sup := testenv.NewTab(t, browser, "supervisor", idv.origin)
	addVirtualKey(t, sup)

	sup.Do(t, "sign in with the password: the key page asks for a key", 30*time.Second,
		chromedp.Navigate(idv.origin+"/login"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#username", "sup"),
		chromedp.SendKeys("#password", e2ePassword),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#keys-required"),
		chromedp.WaitVisible("#keys-add"),
	)
	if p := testenv.Eval[string](t, sup, "location.pathname"); p != "/keys" {
		t.Fatalf("after the password the supervisor is on %s, want /keys", p)
	}
	// The first key needs a one-time enrolment code (IDV_WEBAUTHN_ENROLMENT=admin):
	// the operator issues it (an admin on the staff page would do the same).
	code := enrolmentCode(t, idv, "sup")
	sup.Do(t, "the key page asks for the enrolment code", 10*time.Second, chromedp.WaitVisible("#key-enrolment"))
	sup.CheckPage(t, shots, "keys-register")
	sup.Do(t, "the key page in Chinese", 20*time.Second, chromedp.Navigate(idv.origin+"/keys?lang=zh-CN"), chromedp.WaitVisible("#keys-add"))
	sup.CheckPage(t, shots, "keys-register-zh")
	sup.Do(t, "register a key after re-entering the password", 30*time.Second,
		chromedp.Navigate(idv.origin+"/keys?lang=en"),
		chromedp.WaitVisible("#keys-add"),
		chromedp.SendKeys("#key-name", "virtual key"),
		chromedp.SendKeys("#key-enrolment", code),
		chromedp.SendKeys("#key-password", e2ePassword),
		chromedp.Click("#key-add"),
		chromedp.WaitVisible("#keys-list li"),
		chromedp.WaitVisible("#keys-continue"),
	)
	sup.CheckPage(t, shots, "keys")

	sup.Do(t, "open the case: the decision is signed with the key", 30*time.Second,
		chromedp.Navigate(idv.origin+"/review/cases/"+string(c.ID)),
		chromedp.WaitVisible("#decision-key-hint"),
		chromedp.WaitVisible(`#state[data-state="pending_review"]`),
	)
	if got := testenv.Eval[string](t, sup, "document.getElementById('statement-sha256').textContent"); got != statementSHA {
		t.Fatalf("the page shows statement %q, want %q", got, statementSHA)
	}
	sup.Do(t, "approve by touching the key", 60*time.Second,
		chromedp.Click("#d-approve"),
		chromedp.SendKeys("#decision-reason", "every check passed"),
		chromedp.Click("#decision-send"),
		chromedp.WaitNotPresent(`#state[data-state="pending_review"]`),
	)
	if st := idv.caseState(c.ID); st != models.StateApproved && st != models.StateSealed {
		t.Fatalf("after the key's approval the case is %s, want approved or sealed", st)
	}
	var signed []*models.AuditEvent
	idv.withStore(func(ctx context.Context, tx models.Tx) error {
		evs, err := tx.AuditEvents(ctx, models.AuditFilter{CaseID: c.ID})
		for _, e := range evs {
			if e.Action == "auth.webauthn_stepup" {
				signed = append(signed, e)
			}
		}
		return err
	})
	if len(signed) != 1 || signed[0].Detail["decision"] != "approve" || signed[0].Detail["statement_sha256"] != statementSHA ||
		signed[0].Detail["factor"] != "webauthn" {
		t.Fatalf("auth.webauthn_stepup events of the case = %+v, want one approval of its statement", signed)
	}
}
