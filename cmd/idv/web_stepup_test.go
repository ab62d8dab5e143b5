package main

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"remoteidv/internal/testenv"
)

// TestStepUpKeepsPolls runs the real `idv serve` and pins down the race
// between a supervisor's step-up (which rotates the session) and the case
// page's 3-second poll that left with the old cookie: the poll is held in
// the browser while the step-up runs, then answered with what the server
// really answers the old cookie after the rotation (fetched from Go with
// that cookie): 401. The page must send the poll again on the new session
// and stay where it is; before the fix the 401 sent the supervisor to the
// sign-in page in the middle of approving.
func TestStepUpKeepsPolls(t *testing.T) {
	idv := newE2EIDV(t, nil)
	if out, err := idv.cli("demo", "load"); err != nil {
		t.Fatalf("demo load: %v\n%s", err, out)
	}
	idv.serve()
	browser := testenv.Chromium(t, "")
	tab := testenv.NewTab(t, browser, "supervisor", idv.origin)
	tab.Do(t, "sign in and open the review queue", 30*time.Second,
		chromedp.Navigate(idv.origin+"/login"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#username", "supervisor"),
		chromedp.SendKeys("#password", e2ePassword),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#logout"),
		chromedp.Navigate(idv.origin+"/review"),
		chromedp.WaitVisible("#logout"),
	)
	ctx, cancel := context.WithTimeout(tab.Ctx, 60*time.Second)
	defer cancel()
	jar, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{idv.origin + "/"}})
	if err != nil || len(jar.Cookies) == 0 {
		t.Fatalf("the supervisor's cookies: %v, %v", jar, err)
	}
	paused := make(chan *fetch.EventRequestPaused, 4)
	go func() {
		for ev, err := range chromedp.Events(ctx, fetch.RequestPaused) {
			if err != nil {
				return
			}
			paused <- &ev
		}
	}()
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: "*/api/cases?limit=1&poll=1", RequestStage: fetch.RequestStageRequest}}}); err != nil {
		t.Fatalf("Fetch.enable: %v", err)
	}
	// The page's own module instance (same URL), so the poll and the
	// step-up share its state as the case page's do.
	testenv.Eval[bool](t, tab, `(async () => {
		const m = await import('/static/staff/common.js');
		window.m = m;
		window.poll = m.api('GET', '/api/cases?limit=1&poll=1').then((r) => ({ ok: true, total: r.total }), (e) => ({ ok: false, err: String(e) }));
		return true;
	})()`)
	var held *fetch.EventRequestPaused
	select {
	case held = <-paused:
	case <-ctx.Done():
		t.Fatal("the poll never left the page")
	}
	testenv.Eval[bool](t, tab, `(async () => {
		window.stepUp = window.m.api('POST', '/api/auth/step-up', { password: `+"`"+e2ePassword+"`"+` }).then(() => true, () => false);
		return true;
	})()`)
	if !testenv.Eval[bool](t, tab, `window.stepUp`) {
		t.Fatal("the step-up failed")
	}
	// What the server answers the poll's old cookie now.
	req, err := http.NewRequestWithContext(ctx, "GET", idv.origin+"/api/cases?limit=1&poll=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range jar.Cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the old session after the step-up = %d %s, want 401", resp.StatusCode, body)
	}
	if _, err := chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: held.RequestID, ResponseCode: int64(resp.StatusCode),
		ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: resp.Header.Get("Content-Type")}}, Body: body}); err != nil {
		t.Fatalf("Fetch.fulfillRequest: %v", err)
	}
	// The page sends the poll again (with the new session): let it through.
	select {
	case again := <-paused:
		if _, err := chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: again.RequestID}); err != nil {
			t.Fatalf("Fetch.continueRequest: %v", err)
		}
	case <-time.After(10 * time.Second):
		// Before the fix nothing is sent again: the page goes to /login (below).
	}
	if _, err := chromedp.Call(ctx, fetch.Disable, cdp.Empty{}); err != nil {
		t.Fatalf("Fetch.disable: %v", err)
	}
	type result struct {
		OK    bool   `json:"ok"`
		Total int    `json:"total"`
		Err   string `json:"err"`
	}
	if loc := testenv.Eval[string](t, tab, "location.pathname"); loc != "/review" {
		t.Fatalf("after the step-up the supervisor is on %s, want still /review", loc)
	}
	if got := testenv.Eval[result](t, tab, `window.poll`); !got.OK {
		t.Fatalf("the poll that overlapped the step-up failed: %s", got.Err)
	}
}
