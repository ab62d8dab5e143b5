package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/internal/testenv"
)

// TestWebCaseGuards runs the real `idv serve` and drives the clerk's,
// supervisor's and auditor's pages where they used to let people down:
//   - Create with a time zone the server refuses, Submit with requirements
//     missing, Capture before the customer joined, a wrong step-up
//     password and a bundle download before sealing each say why beside
//     the control that was used (an aria-live region), with the server's
//     words, not only in the banner at the top of the page;
//   - the signature verdict starts unchosen, and recording without a
//     choice is refused beside the control;
//   - a second "Issue an invite link" warns that the earlier link stops
//     working, and the revocation is in the case's timeline with its reason;
//   - Cancel asks for an in-page confirmation naming the consequence, and
//     going back changes nothing.
func TestWebCaseGuards(t *testing.T) {
	idv := newE2EIDV(t, nil)
	if out, err := idv.cli("demo", "load"); err != nil {
		t.Fatalf("demo load: %v\n%s", err, out)
	}
	idv.serve()
	origin := idv.origin
	browser := testenv.Chromium(t, testenv.Y4MFromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 320))
	// Each refusal below is an HTTP error status, which Chromium logs.
	allowed := []string{"status of 400", "status of 401", "status of 409", "status of 412", "status of 422"}
	var tabs []*testenv.Tab
	tab := func(name, user, landing string) *testenv.Tab {
		tb := testenv.NewTab(t, browser, name, origin)
		tabs = append(tabs, tb)
		e2eLogin(t, tb, origin, user, landing)
		return tb
	}
	// beside waits until the live region id beside a control reports an
	// error, and returns its text.
	beside := func(tb *testenv.Tab, what, id string) string {
		t.Helper()
		tb.Do(t, what, 30*time.Second, chromedp.Poll[chromedp.Void](`document.getElementById('`+id+`').dataset.kind === 'bad'`, chromedp.WithPollingTimeout(30*time.Second)))
		txt := testenv.Eval[string](t, tb, `document.getElementById('`+id+`').textContent`)
		if live := testenv.Eval[string](t, tb, `(() => { const e = document.getElementById('`+id+`'); return e.getAttribute('aria-live') || e.getAttribute('role') || '' })()`); live == "" {
			t.Errorf("%s: #%s is not a live region", what, id)
		}
		return txt
	}

	// Create: a zone the server refuses is named beside the button.
	clerk := tab("clerk", "clerk", "/console")
	clerk.Do(t, "look up the account", 30*time.Second,
		chromedp.WaitVisible("#lookup-q"),
		chromedp.SendKeys("#lookup-q", "Liu Yang"),
		chromedp.Click("#lookup-form button"),
		chromedp.WaitReady(`#account option[value="6222020200223344"]`),
		chromedp.SetValue("#slot-local", time.Now().Add(48*time.Hour).Format("2006-01-02")+"T10:00"),
		chromedp.SetValue("#slot-tz", "Mars/Olympus_Mons"),
		chromedp.Click("#create-case"),
	)
	if txt := beside(clerk, "create with a zone that does not exist", "create-out"); !strings.Contains(txt, "Mars/Olympus_Mons") {
		t.Errorf("beside Create: %q, want the server's words about the time zone", txt)
	}
	clerk.Do(t, "create the case", 30*time.Second,
		chromedp.SetValue("#slot-tz", "America/Toronto"),
		chromedp.Click("#create-case"),
		chromedp.WaitVisible(`#state[data-state="scheduled"]`),
		chromedp.WaitVisible(`body[data-ready]`),
	)
	caseID := testenv.Eval[string](t, clerk, "document.body.dataset.case")

	// The verdict starts unchosen; recording without one is refused beside it.
	if got := testenv.Eval[string](t, clerk, `(() => { const v = document.getElementById('verdict'); return v.value + '|' + v.selectedOptions[0].disabled })()`); got != "|true" {
		t.Errorf("the verdict control starts as %q, want the disabled placeholder (\"|true\")", got)
	}
	// The letter is not the step to do yet: the clerk opens it.
	clerk.Do(t, "record a signature without choosing a verdict", 20*time.Second,
		openStep("letter"),
		chromedp.SendKeys("#sig-reason", "letter forms match"),
		chromedp.Click("#sig-submit"),
	)
	if !waitText(t, clerk, "verdict-error", "Choose a verdict") {
		t.Errorf("beside the verdict: %q, want it to ask for a choice", testenv.Eval[string](t, clerk, "document.getElementById('verdict-error').textContent"))
	}
	if inv := testenv.Eval[string](t, clerk, "document.getElementById('verdict').getAttribute('aria-invalid') || ''"); inv != "true" {
		t.Errorf("the verdict control's aria-invalid = %q, want true", inv)
	}

	// A second invite warns first; going back keeps the link, confirming
	// replaces it and the timeline says why the first one stopped working.
	clerk.Do(t, "issue an invite link", 20*time.Second, chromedp.Click("#invite-issue"), chromedp.WaitVisible("#invite-ics"))
	first := testenv.Eval[string](t, clerk, "document.getElementById('invite-link').textContent")
	clerk.Do(t, "issue another: the page warns", 20*time.Second, chromedp.Click("#invite-issue"), chromedp.WaitVisible("#invite-confirm-yes"))
	if txt := testenv.Eval[string](t, clerk, "document.getElementById('invite-confirm-text').textContent"); !strings.Contains(txt, "the earlier link stops working") {
		t.Errorf("the invite warning says %q", txt)
	}
	clerk.Do(t, "go back", 20*time.Second, chromedp.Click("#invite-confirm-no"), chromedp.WaitNotPresent("#invite-confirm"))
	if got := testenv.Eval[string](t, clerk, "document.getElementById('invite-link').textContent"); got != first {
		t.Errorf("going back changed the invite link")
	}
	clerk.Do(t, "replace the invite", 20*time.Second,
		chromedp.Click("#invite-issue"),
		chromedp.WaitVisible("#invite-confirm-yes"),
		chromedp.Click("#invite-confirm-yes"),
		chromedp.Poll[chromedp.Void](`document.getElementById('invite-link') && document.getElementById('invite-link').textContent !== `+jsString(first), chromedp.WithPollingTimeout(20*time.Second)),
	)
	if !waitText(t, clerk, "timeline", "invite.revoked") {
		t.Errorf("the timeline does not show the replaced invite's revocation")
	}
	revoked := testenv.Eval[string](t, clerk, `fetch('/api/cases/`+caseID+`/timeline').then((r) => r.json()).then((j) => JSON.stringify(j.events.filter((e) => e.action === 'invite.revoked').map((e) => e.detail)))`)
	if !strings.Contains(revoked, `"reason":"replaced by a new invite"`) || strings.Count(revoked, `"invite":`) != 1 {
		t.Errorf("invite.revoked events: %s, want one, with reason \"replaced by a new invite\"", revoked)
	}

	// Capture before the customer joined: the server's refusal beside the buttons.
	clerk.Do(t, "join the call alone", 30*time.Second,
		openStep("call"), // blocked (no consent yet), but the clerk may open it
		chromedp.Click("#call-join"),
		chromedp.WaitVisible(`body[data-call="joined"], body[data-call="connected"]`),
		chromedp.Click("#call-capture"),
	)
	if txt := beside(clerk, "capture with no customer in the call", "call-error"); !strings.Contains(txt, "No picture of the customer") && !strings.Contains(txt, "consent") {
		t.Errorf("beside Capture: %q, want why no capture was taken", txt)
	} else {
		t.Logf("beside Capture: %s", txt)
	}
	clerk.Do(t, "leave the call", 20*time.Second, chromedp.Click("#call-leave"), chromedp.WaitVisible(`body[data-call="ended"]`))

	// Submit with requirements missing: what is missing, beside the button.
	clerk.Do(t, "submit too early", 20*time.Second, openStep("submit"), chromedp.Click("#submit-case"))
	if txt := beside(clerk, "submit with requirements missing", "submit-out"); !strings.Contains(txt, "requirements missing") || !strings.Contains(txt, "Recording and biometric consent") {
		t.Errorf("beside Submit: %q, want the server's words and the missing requirements", txt)
	}

	// Cancel asks first, naming the consequence; going back changes nothing.
	clerk.Do(t, "cancel: the page asks first", 20*time.Second,
		chromedp.SendKeys("#cancel-reason", "the customer asked to cancel"),
		chromedp.Click("#cancel-case"),
		chromedp.WaitVisible("#cancel-confirm-yes"),
	)
	if txt := testenv.Eval[string](t, clerk, "document.getElementById('cancel-confirm-text').textContent"); txt != "Cancel this case? The customer's link stops working and a live call ends." {
		t.Errorf("the cancel confirmation says %q", txt)
	}
	clerk.Do(t, "go back", 20*time.Second, chromedp.Click("#cancel-confirm-no"), chromedp.WaitNotPresent("#cancel-confirm"))
	time.Sleep(time.Second)
	if st := testenv.Eval[string](t, clerk, "document.getElementById('state').dataset.state"); st != "in_session" {
		t.Errorf("after going back the case is %s, want in_session", st)
	}

	// A wrong step-up password is named beside the decision, and the
	// supervisor stays on the page.
	sup := tab("supervisor", "supervisor", "/review")
	sup.Do(t, "a decision with a wrong password", 30*time.Second,
		chromedp.Navigate(origin+"/review/cases/"+caseID),
		chromedp.WaitVisible(`body[data-ready]`),
		chromedp.Click("#d-reject"),
		chromedp.SendKeys("#decision-reason", "not ready"),
		chromedp.SendKeys("#stepup-password", "not the password"),
		chromedp.Click("#decision-send"),
	)
	if txt := beside(sup, "a wrong step-up password", "decision-out"); !strings.Contains(txt, "The password is not correct") || !strings.Contains(txt, "wrong password") {
		t.Errorf("beside the decision: %q, want the wrong password named, with the server's words", txt)
	}
	if loc := testenv.Eval[string](t, sup, "location.pathname + '|' + document.getElementById('stepup-password').value"); loc != "/review/cases/"+caseID+"|" {
		t.Errorf("after a wrong password: %q, want still on the case with the password field emptied", loc)
	}

	// The bundle before sealing: the server's refusal beside the link.
	aud := tab("auditor", "auditor", "/audit")
	aud.Do(t, "download the bundle of an unsealed case", 30*time.Second,
		chromedp.Navigate(origin+"/audit/cases/"+caseID),
		chromedp.WaitVisible(`body[data-ready]`),
		chromedp.Click("#bundle-link"),
	)
	t.Logf("beside the bundle link: %s", beside(aud, "bundle before sealing", "bundle-out"))

	// Cancel, confirmed this time.
	clerk.Do(t, "cancel, confirmed", 20*time.Second,
		chromedp.Click("#cancel-case"),
		chromedp.WaitVisible("#cancel-confirm-yes"),
		chromedp.Click("#cancel-confirm-yes"),
		chromedp.WaitVisible(`#state[data-state="cancelled"]`),
	)

	for _, tb := range tabs {
		for _, p := range tb.Problems(allowed...) {
			t.Error(p)
		}
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}
