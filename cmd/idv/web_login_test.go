package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/internal/testenv"
)

// TestWebLoginNotice runs the real `idv serve`: after two wrong passwords
// for the clerk, the clerk's next login in headless Chromium says so, in
// English and in Chinese, before going on to the console.
func TestWebLoginNotice(t *testing.T) {
	shots, err := filepath.Abs(filepath.Join("..", "..", "var", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	idv := newE2EIDV(t, nil)
	if out, err := idv.cli("demo", "load"); err != nil {
		t.Fatalf("demo load: %v\n%s", err, out)
	}
	idv.serve()
	wrong := func() {
		t.Helper()
		for range 2 {
			resp, err := http.Post(idv.origin+"/api/auth/login", "application/json", strings.NewReader(`{"username":"clerk","password":"not the password at all"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Fatalf("wrong login = %d, want 401", resp.StatusCode)
			}
		}
	}
	browser := testenv.Chromium(t, "")
	for _, tt := range []struct{ lang, want string }{{"en", "2 failed sign-in attempts"}, {"zh-CN", "有 2 次登录失败"}} {
		wrong()
		tab := testenv.NewTab(t, browser, "clerk-"+tt.lang, idv.origin)
		tab.Do(t, "log in after failed attempts", 20*time.Second,
			chromedp.Navigate(idv.origin+"/login?lang="+tt.lang),
			chromedp.WaitVisible("#login-form"),
			chromedp.SendKeys("#username", "clerk"),
			chromedp.SendKeys("#password", e2ePassword),
			chromedp.Click("#login-submit"),
			chromedp.WaitVisible("#login-notice"),
		)
		if got := testenv.Eval[string](t, tab, "document.getElementById('login-notice-text').textContent"); !strings.Contains(got, tt.want) {
			t.Fatalf("login notice (%s) = %q, want it to contain %q", tt.lang, got, tt.want)
		}
		tab.CheckPage(t, shots, "login-notice-"+tt.lang)
		tab.Do(t, "continue", 20*time.Second, chromedp.Click("#login-continue"), chromedp.WaitVisible("#logout"))
		if loc := testenv.Eval[string](t, tab, "location.pathname"); loc != "/console" {
			t.Fatalf("after the notice: %s, want /console", loc)
		}
	}
}
