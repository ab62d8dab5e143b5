package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Tab is one browser tab with its own cookies (a separate browser
// context), watched for console errors and for requests leaving origin.
type Tab struct {
	Ctx    context.Context
	Close  context.CancelFunc // closes the tab early (it closes with the test anyway)
	Name   string
	origin string
	mu     sync.Mutex
	errs   []string
	away   []string
}

// NewTab opens a tab in a fresh browser context of browser (from
// Chromium); it closes with the test.
func NewTab(t testing.TB, browser context.Context, name, origin string) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tab := &Tab{Ctx: ctx, Close: cancel, Name: name, origin: origin}
	if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("open tab %s: %v", name, err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				tab.mu.Lock()
				tab.errs = append(tab.errs, string(m.Type)+": "+m.Text)
				tab.mu.Unlock()
			}
		}
	}()
	go func() {
		for ev, err := range chromedp.Events(ctx, network.RequestWillBeSent) {
			if err != nil {
				return
			}
			u, perr := url.Parse(ev.Request.URL)
			if perr != nil || u.Scheme == "data" || u.Scheme == "blob" || u.Scheme == "about" {
				continue
			}
			if o := u.Scheme + "://" + u.Host; o != tab.origin && strings.Replace(o, "ws", "http", 1) != tab.origin {
				tab.mu.Lock()
				tab.away = append(tab.away, ev.Request.URL)
				tab.mu.Unlock()
			}
		}
	}()
	return tab
}

// Problems lists the console errors and foreign requests seen so far,
// ignoring console errors that contain any of allowed (for example the
// 410 of a refused invite link, which the browser logs as an error).
func (tab *Tab) Problems(allowed ...string) []string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	var out []string
next:
	for _, e := range tab.errs {
		for _, a := range allowed {
			if strings.Contains(e, a) {
				continue next
			}
		}
		out = append(out, tab.Name+": console "+e)
	}
	for _, u := range tab.away {
		out = append(out, tab.Name+": request to another origin "+u)
	}
	return out
}

// Do runs steps in the tab within d; on failure the test fails showing
// what the page looked like.
func (tab *Tab) Do(t testing.TB, what string, d time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab.Ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		dctx, dcancel := context.WithTimeout(tab.Ctx, 5*time.Second)
		defer dcancel()
		page, _ := chromedp.Run(dctx, chromedp.Evaluate[string]("location.href + '\\n' + document.body.innerText"))
		t.Fatalf("%s: %s: %v\npage: %.3000s", tab.Name, what, err, page)
	}
}

// Eval evaluates a JavaScript expression (awaiting a promise) in the tab.
func Eval[T any](t testing.TB, tab *Tab, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab.Ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: eval %.80s: %v", tab.Name, expr, err)
	}
	return v
}

// Viewports are the sizes every page must work at: a phone and a laptop.
var Viewports = []struct {
	Name          string
	Width, Height int64
}{{"phone", 390, 844}, {"laptop", 1366, 768}}

// pageAudit finds form controls without an accessible name and whether the
// page is wider than the viewport (a broken phone layout).
const pageAudit = `(() => {
  const named = (e) => (e.labels && e.labels.length > 0) || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') ||
    ((e.tagName === 'BUTTON' || e.tagName === 'A') && e.textContent.trim() !== '');
  const bad = [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
    .filter((e) => !named(e)).map((e) => e.outerHTML.slice(0, 120));
  const overflow = document.documentElement.scrollWidth > window.innerWidth + 1;
  const wide = overflow ? [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 &&
    ![...e.children].some((k) => k.getBoundingClientRect().right > window.innerWidth + 1) && !e.closest('.scroll'))
    .slice(0, 3).map((e) => e.outerHTML.slice(0, 100)) : [];
  return JSON.stringify({ unlabelled: bad, overflow, width: document.documentElement.scrollWidth, wide });
})()`

// CheckPage renders the tab's current page at each of Viewports, fails the
// test on an unlabelled control, a page wider than the screen or a serious
// or critical axe-core violation, and saves a full-page screenshot per
// viewport as dir/<name>-<viewport>.png. The page's load figures (Perf)
// are added to dir/pages.tsv.
func (tab *Tab) CheckPage(t testing.TB, dir, name string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	axe := AxeScript(t)
	for _, vp := range Viewports {
		ctx, cancel := context.WithTimeout(tab.Ctx, 20*time.Second)
		err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.Width, vp.Height), chromedp.Sleep(300*time.Millisecond))
		if err != nil {
			cancel()
			t.Fatalf("%s: viewport %s: %v", name, vp.Name, err)
		}
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](pageAudit))
		if err != nil {
			cancel()
			t.Fatalf("%s: page audit: %v", name, err)
		}
		var a struct {
			Unlabelled []string `json:"unlabelled"`
			Overflow   bool     `json:"overflow"`
			Width      int      `json:"width"`
			Wide       []string `json:"wide"`
		}
		_ = json.Unmarshal([]byte(raw), &a)
		for _, u := range a.Unlabelled {
			t.Errorf("%s: control without a label: %s", name, u)
		}
		if a.Overflow {
			t.Errorf("%s at %s (%dx%d): the page is %d px wide, wider than the screen: %q", name, vp.Name, vp.Width, vp.Height, a.Width, a.Wide)
		}
		violations, err := tab.Axe(ctx, axe)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		for _, v := range violations {
			t.Errorf("%s at %s: axe-core: %s", name, vp.Name, v)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			t.Fatalf("%s: screenshot: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s.png", name, vp.Name)), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(tab.Ctx, 10*time.Second)
	defer cancel()
	_ = chromedp.Do(ctx, chromedp.EmulateViewport(1366, 768))
	perf, err := tab.Perf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "pages.tsv"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s\t%.0f\t%d\t%d\n", name, perf.InteractiveMS, perf.Bytes, perf.Resources); err != nil {
		t.Fatal(err)
	}
}
