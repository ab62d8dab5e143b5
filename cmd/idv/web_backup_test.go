package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/internal/testenv"
)

// TestWebBackupClerk runs the real `idv serve` in headless Chromium: a
// clerk opens a case, a supervisor makes another clerk its backup on the
// case page (a reason is required), and that clerk finds the case under
// "My cases", marked as backup.
func TestWebBackupClerk(t *testing.T) {
	idv := newE2EIDV(t, nil)
	if out, err := idv.cli("demo", "load"); err != nil {
		t.Fatalf("demo load: %v\n%s", err, out)
	}
	idv.serve()
	origin := idv.origin
	browser := testenv.Chromium(t, "")
	tab := func(name, user, landing string) *testenv.Tab {
		tb := testenv.NewTab(t, browser, name, origin)
		e2eLogin(t, tb, origin, user, landing)
		return tb
	}

	clerk := tab("clerk", "clerk", "/console")
	clerk.Do(t, "open a case", 30*time.Second,
		chromedp.WaitVisible("#lookup-q"),
		chromedp.SendKeys("#lookup-q", "Liu Yang"),
		chromedp.Click("#lookup-form button"),
		chromedp.WaitReady(`#account option[value="6222020200223344"]`),
		chromedp.SetValue("#slot-local", time.Now().Add(48*time.Hour).Format("2006-01-02")+"T10:00"),
		chromedp.SetValue("#slot-tz", "America/Toronto"),
		chromedp.Click("#create-case"),
		chromedp.WaitVisible(`#state[data-state="scheduled"]`),
		chromedp.WaitVisible(`#clerk-primary`),
	)
	caseID := testenv.Eval[string](t, clerk, "document.body.dataset.case")

	sup := tab("supervisor", "supervisor", "/review")
	sup.Do(t, "open the case page", 30*time.Second,
		chromedp.Navigate(origin+"/review/cases/"+caseID),
		chromedp.WaitVisible(`#reassign-section`),
		chromedp.WaitVisible(`body[data-ready]`),
	)
	backup := testenv.Eval[string](t, sup, `[...document.querySelectorAll('#reassign-clerk option')].find((o) => o.textContent.includes('(clerk2)')).value`)
	sup.Do(t, "make clerk2 the backup", 30*time.Second,
		chromedp.SetValue("#reassign-role", "backup"),
		chromedp.SetValue("#reassign-clerk", backup),
		chromedp.SendKeys("#reassign-reason", "covers the evening call"),
		chromedp.Click("#reassign-submit"),
		chromedp.WaitVisible(`#clerk-backup[data-staff="`+backup+`"]`),
	)
	if got := testenv.Eval[string](t, sup, "document.getElementById('clerk-backup').textContent"); !strings.Contains(got, "Zhao Lei") {
		t.Errorf("the case page's backup clerk = %q, want Zhao Lei", got)
	}

	clerk2 := tab("clerk2", "clerk2", "/console")
	row := `#mine tr[data-case="` + caseID + `"][data-role="backup"]`
	clerk2.Do(t, "find the case under My cases", 30*time.Second, chromedp.WaitVisible(row))
	if got := testenv.Eval[string](t, clerk2, `document.querySelector('`+row+` .badge').textContent`); got != "backup" {
		t.Errorf("the backup's mark in My cases = %q, want backup", got)
	}
}
