package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/internal/demobrowser"
	"remoteidv/internal/testenv"
	"remoteidv/mail/mailtest"
)

// TestWebCustomerReturns drives the customer's pages in headless Chromium
// against the real `idv serve` where the customer comes back to them:
//
//   - a link opened before its window shows when the call opens (both
//     zones) and that the same link works then, in either language;
//   - after the email code and the letter, a reload and a language switch
//     show both done, from the server's state (local storage is cleared
//     first), and ask for neither again;
//   - reopening the used link in the customer's own browser goes back to
//     the call page; another browser gets the one dead-link page;
//   - before any clerk joins, the page says the customer is waiting for the
//     clerk, never that the clerk can see them;
//   - five wrong codes lock the invite, and the page says what really
//     happens (nothing will be sent, the bank has been told, ask for a new
//     invite) and stays so: no "the call has ended" nor "what happens next".
func TestWebCustomerReturns(t *testing.T) {
	smtp := mailtest.Start(t, mailtest.Options{})
	idv := newE2EIDV(t, map[string]string{
		"IDV_SMTP_ADDR": smtp.Addr, "IDV_SMTP_TLS": "none", "IDV_MAIL_INTERVAL": "1s", "IDV_REGISTRY_HOURS": "00:00-23:59",
	})
	origin := idv.origin
	if out, err := idv.cli("demo", "load"); err != nil {
		t.Fatalf("demo load: %v\n%s", err, out)
	}
	out, err := idv.cli("tokens", "create", "--user", "clerk", "--name", "returns", "--scope", "clerk")
	fields := strings.Fields(out)
	if err != nil || len(fields) == 0 {
		t.Fatalf("tokens create: %v\n%s", err, out)
	}
	bearer := fields[len(fields)-1]
	idv.serve()
	api := func(method, path string, body, out any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, origin+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s = %d", method, path, resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	// invite opens a case for account at slot (Toronto time) and returns its link.
	invite := func(account string, slot time.Time) string {
		t.Helper()
		toronto, _ := time.LoadLocation("America/Toronto")
		var cs struct{ ID string }
		api("POST", "/api/cases", map[string]any{"account_no": account, "purpose": "transaction_statement",
			"period_from": "2025-01-01", "period_to": "2025-12-31",
			"slot": map[string]string{"local": slot.In(toronto).Format("2006-01-02T15:04"), "time_zone": "America/Toronto"}}, &cs)
		var inv struct{ Link string }
		api("POST", "/api/cases/"+cs.ID+"/invite", nil, &inv)
		if !strings.HasPrefix(inv.Link, origin+"/join/") {
			t.Fatalf("invite link %q", inv.Link)
		}
		return inv.Link
	}
	y4m := testenv.Y4MFromPhoto(t, testenv.JohnsPhoto(t, "John_Simm", 0), 2, 320)
	browser := testenv.Chromium(t, y4m)
	var tabs []*testenv.Tab
	tab := func(name string) *testenv.Tab {
		tb := testenv.NewTab(t, browser, name, origin)
		tabs = append(tabs, tb)
		return tb
	}
	text := func(tb *testenv.Tab) string { return testenv.Eval[string](t, tb, "document.body.innerText") }

	// 1. Before the window: when it opens, and that the same link works.
	slot := time.Now().Add(2 * time.Hour).Truncate(time.Minute)
	early := invite("6222020200778899", slot)
	opens := slot.Add(-15 * time.Minute)
	toronto, _ := time.LoadLocation("America/Toronto")
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	ahead := tab("early")
	ahead.Do(t, "open a link before its window", 20*time.Second, chromedp.Navigate(early+"?lang=en"), chromedp.WaitVisible("main"))
	txt := text(ahead)
	for _, want := range []string{"Your call has not opened yet", opens.In(toronto).Format("15:04") + " (America/Toronto)",
		opens.In(shanghai).Format("15:04") + " (Asia/Shanghai)", "open this same link again"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the page of a link before its window lacks %q:\n%s", want, txt)
		}
	}
	if strings.Contains(txt, "not valid") {
		t.Errorf("a link before its window shows the dead-link page:\n%s", txt)
	}
	shots, err := filepath.Abs(filepath.Join("..", "..", "var", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	ahead.CheckPage(t, shots, "customer-early")
	ahead.Do(t, "the same page in Chinese", 20*time.Second, chromedp.Click(`a[hreflang="zh-CN"]`), chromedp.WaitVisible(`html[lang="zh-CN"] main`))
	if txt := text(ahead); !strings.Contains(txt, "您的通话尚未开放") || !strings.Contains(txt, opens.In(shanghai).Format("15:04")+"（Asia/Shanghai）") {
		t.Errorf("the Chinese page of a link before its window:\n%s", txt)
	}
	ahead.CheckPage(t, shots, "customer-early-zh")

	// 2. The customer: consent, waiting for the clerk, code, letter.
	link := invite("6222020200223344", time.Now().Add(3*time.Minute))
	customer := tab("customer")
	customer.Do(t, "open the invite and join", 30*time.Second,
		chromedp.Navigate(link+"?lang=en"), chromedp.WaitVisible("#accept"), chromedp.Click("#accept"),
		chromedp.WaitReady(`body[data-ready]`),
		chromedp.WaitVisible(`body[data-state="connected"][data-clerk="waiting"]`),
	)
	if !waitText(t, customer, "status", "Waiting for the bank clerk") || strings.Contains(text(customer), "can see and hear you") {
		t.Errorf("before any clerk joined, the page says %q", testenv.Eval[string](t, customer, "document.getElementById('status').textContent"))
	}
	before := len(smtp.Messages())
	customer.Do(t, "pass the device check", 20*time.Second, demobrowser.Press("#device-next"), chromedp.WaitVisible("#code"))
	customer.Do(t, "ask for the email code", 20*time.Second, demobrowser.Press("#code-send"))
	code, _ := mailWith(t, smtp, before, regexp.MustCompile(`\b[0-9]{6}\b`), 60*time.Second)
	customer.Do(t, "enter the code and upload the letter", 30*time.Second,
		chromedp.SendKeys("#code", code), demobrowser.Press("#code-check"),
		chromedp.WaitVisible(`body[data-code="verified"]`),
		chromedp.SetUploadFiles("#letter", []string{e2eLetter(t, t.TempDir())}),
		chromedp.Click("#letter-upload"),
		chromedp.WaitReady(`body[data-letter="uploaded"]`),
	)
	// 3. Reload and switch language: both steps stay done, from the server.
	for _, step := range []struct {
		what   string
		action chromedp.Action[chromedp.Void]
		lang   string
		code   string
		letter string
	}{
		{"reload", chromedp.Reload(), "en", "already been checked", "already has your letter"},
		{"switch to Chinese", chromedp.Click(`a[hreflang="zh-CN"]`), "zh-CN", "已核验通过", "银行已收到您的授权书"},
	} {
		// The old page is marked, so only the new one can satisfy the waits.
		testenv.Eval[bool](t, customer, "(localStorage.clear(), sessionStorage.clear(), document.body.dataset.old = '1', true)")
		customer.Do(t, step.what, 30*time.Second, step.action,
			chromedp.WaitVisible(`html[lang="`+step.lang+`"] body[data-ready]:not([data-old])`),
			chromedp.WaitReady(`body[data-code="verified"][data-letter="uploaded"]`),
		)
		if testenv.Eval[bool](t, customer, `[...document.querySelectorAll('#code, #code-send, #letter')].some((e) => !!e.offsetParent)`) {
			t.Errorf("after %s the page asks for the code or the letter again", step.what)
		}
		if !waitText(t, customer, "code-status", step.code) || !waitText(t, customer, "letter-status", step.letter) {
			t.Errorf("after %s: code %q, letter %q", step.what, testenv.Eval[string](t, customer, "document.getElementById('code-status').textContent"),
				testenv.Eval[string](t, customer, "document.getElementById('letter-status').textContent"))
		}
		if step.lang == "zh-CN" {
			customer.CheckPage(t, shots, "customer-call-zh")
		}
	}
	// 4. The used link again: the customer's browser goes to its call page;
	// another browser gets the dead-link page.
	customer.Do(t, "reopen the used link", 30*time.Second, chromedp.Navigate(link), chromedp.WaitReady(`body[data-ready]`))
	if loc := testenv.Eval[string](t, customer, "location.pathname"); loc != "/call" || !testenv.Eval[bool](t, customer, "!!document.getElementById('remote')") {
		t.Errorf("reopening the used link in the customer's browser landed on %s:\n%s", loc, text(customer))
	}
	other := tab("other-browser")
	other.Do(t, "the used link in another browser", 20*time.Second, chromedp.Navigate(link), chromedp.WaitVisible("main"))
	if txt := text(other); !strings.Contains(txt, "not valid") {
		t.Errorf("another browser with the used link: %s", txt)
	}

	// 5. Five wrong codes: the lockout says what really happens.
	locked := tab("locked")
	locked.Do(t, "open another invite and join", 30*time.Second,
		chromedp.Navigate(invite("6222020200445566", time.Now().Add(3*time.Minute))+"?lang=en"), chromedp.WaitVisible("#accept"), chromedp.Click("#accept"),
		chromedp.WaitReady(`body[data-ready]`),
	)
	before = len(smtp.Messages())
	locked.Do(t, "ask for a code", 20*time.Second, demobrowser.Press("#device-next"), chromedp.WaitVisible("#code"), demobrowser.Press("#code-send"))
	good, _ := mailWith(t, smtp, before, regexp.MustCompile(`\b[0-9]{6}\b`), 60*time.Second)
	n, _ := strconv.Atoi(good)
	for i := 1; i <= 5; i++ {
		testenv.Eval[bool](t, locked, "(document.getElementById('code').value = '', true)")
		locked.Do(t, fmt.Sprintf("wrong code %d", i), 20*time.Second,
			chromedp.SendKeys("#code", fmt.Sprintf("%06d", (n+i)%1000000)), demobrowser.Press("#code-check"))
		if i < 5 && !waitText(t, locked, "code-status", fmt.Sprintf("%d tries left", 5-i)) {
			t.Fatalf("wrong code %d: %q", i, testenv.Eval[string](t, locked, "document.getElementById('code-status').textContent"))
		}
	}
	locked.Do(t, "the lockout", 20*time.Second, chromedp.WaitVisible(`body[data-state="locked"] #status`))
	time.Sleep(3 * time.Second) // the server ends the revoked session's call: the page must stay as it is
	txt = text(locked)
	for _, want := range []string{"nothing will be sent", "The bank has been told", "ask the bank for a new invite"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the lockout page lacks %q:\n%s", want, txt)
		}
	}
	for _, bad := range []string{"What happens next", "The call has ended", "sent to the email"} {
		if strings.Contains(txt, bad) {
			t.Errorf("the lockout page says %q:\n%s", bad, txt)
		}
	}
	if s := testenv.Eval[string](t, locked, "document.body.dataset.state"); s != "locked" {
		t.Errorf("after the lockout the page's state became %q", s)
	}
	locked.CheckPage(t, shots, "customer-locked")
	// The status page the customer keeps after the call, in both languages.
	for _, lang := range []string{"en", "zh-CN"} {
		customer.Do(t, "the status page ("+lang+")", 20*time.Second, chromedp.Navigate(origin+"/call/status?lang="+lang), chromedp.WaitVisible(`html[lang="`+lang+`"] main`))
		customer.CheckPage(t, shots, "customer-status-"+lang)
	}
	for _, tb := range tabs {
		for _, p := range tb.Problems("410", "403", "Gone", "Forbidden") {
			t.Error(p)
		}
	}
}
