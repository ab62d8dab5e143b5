package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/internal/testenv"
)

// TestWebIntake runs the real `idv serve` and has a clerk open a case from
// the console with its intake record (a phone call, its time on the
// clerk's clock, a note): the case page shows how the request came in.
func TestWebIntake(t *testing.T) {
	idv := newE2EIDV(t, nil)
	if out, err := idv.cli("demo", "load"); err != nil {
		t.Fatalf("demo load: %v\n%s", err, out)
	}
	idv.serve()
	browser := testenv.Chromium(t, testenv.Y4MFromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 320))
	clerk := testenv.NewTab(t, browser, "clerk", idv.origin)
	e2eLogin(t, clerk, idv.origin, "clerk", "/console")
	const note = "Called from Toronto at 8pm their time"
	clerk.Do(t, "create a case with its intake", 30*time.Second,
		chromedp.WaitVisible("#lookup-q"),
		chromedp.SendKeys("#lookup-q", "Liu Yang"),
		chromedp.Click("#lookup-form button"),
		chromedp.WaitReady(`#account option[value="6222020200223344"]`),
		chromedp.SetValue("#slot-local", time.Now().Add(48*time.Hour).Format("2006-01-02")+"T10:00"),
		chromedp.SetValue("#slot-tz", "America/Toronto"),
		chromedp.SetValue("#intake-channel", "phone"),
		chromedp.SetValue("#intake-received", time.Now().Add(-2*time.Hour).Format("2006-01-02T15:04")),
		chromedp.SendKeys("#intake-notes", note),
		chromedp.Click("#create-case"),
		chromedp.WaitVisible(`#case-intake[data-channel="phone"]`),
	)
	if txt := testenv.Eval[string](t, clerk, "document.getElementById('case-intake').textContent"); !strings.Contains(txt, "Phone") || !strings.Contains(txt, note) {
		t.Errorf("the case page's intake reads %q, want the channel and the note", txt)
	}
}
