package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/internal/testenv"
)

// TestWebOIDCLogin: in headless Chromium a clerk clicks "Sign in with
// Bank SSO" on the login page (checked in English and Chinese), signs in
// at the provider's own page and lands on the console with the role their
// provider group maps to; a user whose groups map to no role gets the
// login page saying so (checked too).
func TestWebOIDCLogin(t *testing.T) {
	shots, err := filepath.Abs(filepath.Join("..", "..", "var", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	idv, o := newOIDCIDV(t)
	browser := testenv.Chromium(t, "")

	zh := testenv.NewTab(t, browser, "login-zh", idv.origin)
	zh.Do(t, "open the Chinese login page", 20*time.Second, chromedp.Navigate(idv.origin+"/login?lang=zh-CN"), chromedp.WaitVisible("#sso-start"))
	if got := testenv.Eval[string](t, zh, "document.getElementById('sso-start').textContent"); got != "使用银行统一身份认证登录" {
		t.Errorf("Chinese sign-in button = %q", got)
	}
	zh.CheckPage(t, shots, "login-sso-zh-CN")

	tab := testenv.NewTab(t, browser, "clerk-oidc", idv.origin)
	tab.Do(t, "open the login page", 20*time.Second, chromedp.Navigate(idv.origin+"/login?lang=en"), chromedp.WaitVisible("#sso-start"))
	if got := testenv.Eval[string](t, tab, "document.getElementById('sso-start').textContent"); got != "Sign in with Bank SSO" {
		t.Errorf("sign-in button = %q, want Sign in with Bank SSO", got)
	}
	tab.CheckPage(t, shots, "login-sso-en")
	tab.Do(t, "sign in at the provider", 30*time.Second,
		chromedp.Click("#sso-start"),
		chromedp.WaitVisible(`input[name="username"]`), // the provider's page
		chromedp.SendKeys(`input[name="username"]`, "lin"),
		chromedp.SendKeys(`input[name="password"]`, "lin-pass"),
		chromedp.Click(`button[type="submit"]`),
		chromedp.WaitVisible("#logout"),
	)
	if loc := testenv.Eval[string](t, tab, "location.pathname"); loc != "/console" {
		t.Fatalf("after the provider: %s, want /console", loc)
	}
	if roles := testenv.Eval[string](t, tab, "fetch('/api/auth/me').then(r => r.json()).then(m => m.username + ':' + m.roles.join(','))"); roles != "lin:clerk" {
		t.Errorf("signed in as %s, want lin:clerk", roles)
	}

	nora := testenv.NewTab(t, browser, "nora-oidc", idv.origin)
	nora.Do(t, "sign in with no mapped group", 30*time.Second,
		chromedp.Navigate(idv.origin+"/login?lang=en"),
		chromedp.WaitVisible("#sso-start"),
		chromedp.Click("#sso-start"),
		chromedp.WaitVisible(`input[name="username"]`),
		chromedp.SendKeys(`input[name="username"]`, "nora"),
		chromedp.SendKeys(`input[name="password"]`, "nora-pass"),
		chromedp.Click(`button[type="submit"]`),
		chromedp.WaitVisible("#sso-error"),
	)
	if got := testenv.Eval[string](t, nora, "document.getElementById('sso-error').textContent"); !strings.Contains(got, "no group that may use this service") {
		t.Errorf("refusal page says %q", got)
	}
	nora.CheckPage(t, shots, "login-sso-norole-en")

	// A supervisor from the provider steps up there before deciding: the
	// review page offers the link in place of a password, the provider
	// asks again, and the page comes back with the session stepped up
	// (the session cookie, SameSite=Strict, survives the cross-site
	// return). A case page is a shell; its API applies the case rules.
	sup := testenv.NewTab(t, browser, "mei-oidc", idv.origin)
	signIn := func(user, pass string) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{chromedp.WaitVisible(`input[name="username"]`), chromedp.SendKeys(`input[name="username"]`, user),
			chromedp.SendKeys(`input[name="password"]`, pass), chromedp.Click(`button[type="submit"]`)}
	}
	steps := []chromedp.Action[chromedp.Void]{chromedp.Navigate(idv.origin + "/login?lang=en"), chromedp.WaitVisible("#sso-start"), chromedp.Click("#sso-start")}
	steps = append(append(steps, signIn("mei", "mei-pass")...), chromedp.WaitVisible("#logout"),
		chromedp.Navigate(idv.origin+"/review/cases/case_none?lang=en"), chromedp.WaitVisible("#stepup-sso"))
	sup.Do(t, "open a review page as a supervisor from the provider", 30*time.Second, steps...)
	if n := testenv.Eval[int](t, sup, "document.querySelectorAll('#stepup-password').length"); n != 0 {
		t.Errorf("the review page asks a member from the provider for a password")
	}
	sup.CheckPage(t, shots, "review-sso-stepup-en")
	steps = append([]chromedp.Action[chromedp.Void]{chromedp.Click("#stepup-sso")}, signIn("mei", "mei-pass")...)
	steps = append(steps, chromedp.WaitVisible("#stepup-sso"))
	sup.Do(t, "step up at the provider", 30*time.Second, steps...)
	if loc := testenv.Eval[string](t, sup, "location.pathname"); loc != "/review/cases/case_none" {
		t.Errorf("after the step-up: %s, want the review page again", loc)
	}
	text, _ := auditText(t, idv)
	if !strings.Contains(text, `auth.stepup  {"factor":"identity_provider","method":"oidc"}`) {
		t.Errorf("the browser's step-up is not in the audit trail:\n%s", text)
	}

	for _, tb := range []*testenv.Tab{zh, tab, nora, sup} {
		for _, p := range tb.Problems("403", "404") { // the shell's case does not exist
			if !strings.Contains(p, o.Issuer) && !strings.Contains(p, strings.TrimSuffix(o.Issuer, "/")) { // the provider is another origin by design
				t.Error(p)
			}
		}
	}
}
