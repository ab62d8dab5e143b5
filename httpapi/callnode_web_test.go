package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/verify"
)

// roundRobin is a load balancer without stickiness: each request goes
// to the next backend, keeping the Host the browser used.
type roundRobin struct {
	mu       sync.Mutex
	backends []string
	next     int
}

func (lb *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	lb.mu.Lock()
	target, _ := url.Parse(lb.backends[lb.next%len(lb.backends)])
	lb.next++
	lb.mu.Unlock()
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host
	}}
	rp.ServeHTTP(w, r)
}

// remove takes a backend out (its health check failed).
func (lb *roundRobin) remove(u string) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	lb.backends = slices.DeleteFunc(lb.backends, func(b string) bool { return b == u })
}

// TestWebCallRejoinsAnotherNode: the customer's page in Chromium and
// the clerk's case page in another tab, both behind a round-robin load
// balancer in front of two nodes; the call's node goes away and both
// pages rejoin by themselves, on the other node, and meet again.
func TestWebCallRejoinsAnotherNode(t *testing.T) {
	e, a, b := twoNodes(t, clusterSecret)
	t.Cleanup(func() {
		// It failed 3 of 7 runs on 2026-12-06 (the clerk's join never
		// connected), at stop 27's code too: what the nodes said is the
		// first clue.
		if t.Failed() {
			t.Logf("the nodes' log:\n%s", e.logs.String())
		}
	})
	lb := &roundRobin{backends: []string{a.url, b.url}}
	front := httptest.NewServer(lb)
	t.Cleanup(front.Close)
	id, link := e.invite(t)
	browser := testenv.Chromium(t, testenv.Y4MFromPhoto(t, testenv.JohnsPhoto(t, "John_Simm", 0), 2, 320))
	customer := testenv.NewTab(t, browser, "customer", front.URL)
	customer.Do(t, "open the invite and join", 40*time.Second,
		chromedp.Navigate(front.URL+link+"?lang=en"), chromedp.WaitVisible("#accept"), chromedp.Click("#accept"),
		chromedp.WaitVisible(`body[data-state="connected"]`))
	clerkTab := testenv.NewTab(t, browser, "clerk", front.URL)
	clerkTab.Do(t, "log in and join the call", 60*time.Second, chromedp.Navigate(front.URL+"/login?lang=en"), chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#username", "clerk"), chromedp.SendKeys("#password", password), chromedp.Click("#login-submit"), chromedp.WaitVisible("#logout"),
		chromedp.Navigate(front.URL+"/console/cases/"+id), chromedp.WaitVisible("#call-join"), chromedp.Click("#call-join"),
		chromedp.WaitVisible(`body[data-call="connected"]`))
	customer.Do(t, "see the clerk", 30*time.Second, chromedp.WaitVisible(`body[data-state="connected"][data-clerk="joined"]`))

	// The call's node goes away: out of the load balancer, calls ended,
	// leases freed, marked gone (as idv serve's shutdown).
	// Every state the page goes through from here on.
	testenv.Eval[bool](t, customer, `(window.states = [], new MutationObserver(() => window.states.push(document.body.dataset.state))
		.observe(document.body, { attributes: true, attributeFilter: ['data-state'] }), true)`)
	testenv.Eval[bool](t, clerkTab, `(window.states = [], new MutationObserver(() => window.states.push(document.body.dataset.call))
		.observe(document.body, { attributes: true, attributeFilter: ['data-call'] }), true)`)
	gone, stays := a, b
	if liveOn(b.hub, id) {
		gone, stays = b, a
	}
	lb.remove(gone.url)
	gone.ts.Close()
	gone.hub.Close()
	ctx := t.Context()
	if err := (&verify.CallNodes{Store: e.store, Self: gone.id, Now: time.Now}).ReleaseAll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Transact(ctx, func(tx models.Tx) error {
		return tx.NodeGone(ctx, gone.id, "i-"+string(gone.id), time.Now().UTC())
	}); err != nil {
		t.Fatal(err)
	}
	clerkTab.Do(t, "the clerk's page rejoins on the other node", 40*time.Second,
		chromedp.Poll[chromedp.Void](`window.states.includes("joining") && window.states.lastIndexOf("connected") > window.states.indexOf("joining")`, chromedp.WithPollingTimeout(40*time.Second)))
	if states := testenv.Eval[[]string](t, clerkTab, "window.states"); slices.Contains(states, "ended") {
		t.Errorf("the clerk's page showed the call ended on its way to the other node: %v", states)
	}
	customer.Do(t, "notice the node going away", 20*time.Second, chromedp.Poll[chromedp.Void](`window.states.includes("connecting")`, chromedp.WithPollingTimeout(20*time.Second)))
	customer.Do(t, "rejoin on the other node and see the clerk again", 40*time.Second,
		chromedp.Poll[chromedp.Void](`window.states.lastIndexOf("connected") > window.states.indexOf("connecting")`, chromedp.WithPollingTimeout(40*time.Second)),
		chromedp.WaitVisible(`body[data-state="connected"][data-clerk="joined"]`))
	if states := testenv.Eval[[]string](t, customer, "window.states"); slices.Contains(states, "ended") {
		t.Errorf("the page showed the call ended on its way to the other node: %v", states)
	}
	waitLive(t, stays.hub, id)
	if st := testenv.Eval[string](t, customer, "document.body.dataset.state"); st != "connected" {
		t.Errorf("page state %q after the rejoin, want connected", st)
	}
	for _, tab := range []*testenv.Tab{customer, clerkTab} {
		if p := tab.Problems(); len(p) > 0 {
			t.Errorf("page problems: %v", p)
		}
	}
}
