package signaling_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/access"
	"remoteidv/audit"
	"remoteidv/httpapi"
	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/signaling"
)

// TestBrowserCustomer: the customer is headless Chromium with a fake camera
// showing John Salley. It opens the invite link (exchanged for a cookie,
// then redirected), accepts the consent, and joins; the clerk is a Go peer.
// Media flows both ways, a capture identifies John Salley, and after the
// clerk ends the call the recording is complete.
func TestBrowserCustomer(t *testing.T) {
	f := newFixture(t, signaling.Config{})
	log := slog.New(slog.DiscardHandler)
	now := f.g.Now
	acc := &access.Service{Store: f.store, Chain: audit.Chain{Now: now}, Now: now, Rand: rand.Reader, Idle: 15 * time.Minute, Absolute: 12 * time.Hour, Log: log}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	srv, err := httpapi.New(httpapi.Config{MaxBodyBytes: 64 << 10, BankName: "Demo Bank", AuditKey: pub}, httpapi.Services{Access: acc, Verify: f.svc,
		Desk: f.g.Desk, Calls: f.calls, Hub: f.hub, Store: f.store, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(srv.Handler())
	defer web.Close()

	id, tok := f.openCase(0)
	y4m := testenv.Y4MFromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 320)
	clerkMedia := source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Schneider", 0), 2, 160), ogg: testenv.OpusTone(t, 2)}
	browser := testenv.Chromium(t, y4m)

	run := func(what string, d time.Duration, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, d)
		defer cancel()
		if err := chromedp.Do(ctx, steps...); err != nil {
			dctx, dcancel := context.WithTimeout(browser, 5*time.Second)
			defer dcancel()
			page, _ := chromedp.Run(dctx, chromedp.Evaluate[string]("location.href + ' ' + document.documentElement.outerHTML"))
			t.Fatalf("%s: %v\npage: %.2000s", what, err, page)
		}
	}
	run("open the invite and accept the consent", 20*time.Second,
		chromedp.Navigate(web.URL+"/join/"+tok),
		chromedp.WaitVisible("#accept"),
		chromedp.Click("#accept"),
		chromedp.WaitReady("#remote"), // the page opens on the device check; the call shows when the clerk joins
	)
	url, err := chromedp.Run(browser, chromedp.Location())
	if err != nil || url != web.URL+"/call" {
		t.Fatalf("page address = %q, %v, want the token-free %s/call", url, err, web.URL)
	}
	clerk := dial(t, wsURL(f.srv.URL, "/ws/"+string(id)+"/clerk"), nil, clerkMedia)
	defer clerk.close("")
	run("customer connected", 20*time.Second, chromedp.WaitVisible(`body[data-state="connected"]`))
	waitCount(t, "clerk video packets from Chromium", clerk.videoIn.Load, 30, 20*time.Second)
	waitCount(t, "clerk audio packets from Chromium", clerk.audioIn.Load, 30, 10*time.Second)
	ctx, cancel := context.WithTimeout(browser, 20*time.Second)
	defer cancel()
	for {
		w, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.getElementById('remote').videoWidth"))
		if err != nil {
			t.Fatalf("the customer page never showed the clerk's video: %v", err)
		}
		if w > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	clerk.send(signaling.Message{Type: signaling.TypeCapture})
	res, ok := clerk.waitFor(signaling.TypeResult, 30*time.Second)
	if !ok || res.Result != "MATCH" {
		t.Fatalf("capture from Chromium = %+v (ok %v), want MATCH", res, ok)
	}
	t.Logf("capture from Chromium: %s in %d ms", res.Result, res.Millis)

	clerk.send(signaling.Message{Type: signaling.TypeBye, Reason: "verified"})
	run("customer sees the end", 10*time.Second, chromedp.WaitVisible(`body[data-state="ended"]`))
	calls := f.waitEnded(id, 30*time.Second)
	if len(calls) != 1 || calls[0].Recording != models.RecordingComplete || len(calls[0].Segments) != 4 {
		t.Fatalf("calls = %+v, want one complete call with 4 segments", calls)
	}
}
