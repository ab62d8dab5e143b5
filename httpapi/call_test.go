package httpapi_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/verify"
)

// invite opens a case, issues its invite and moves the clock into the
// invite's window; it returns the case and the link's path.
func (e *env) invite(t *testing.T) (string, string) {
	t.Helper()
	e.now = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	clerk := e.login(t, "clerk")
	id := e.createCase(t, clerk)
	var inv struct{ Link string }
	if code := clerk.do("POST", "/api/cases/"+id+"/invite", nil, &inv); code != 201 {
		t.Fatalf("invite: %d", code)
	}
	e.now = time.Date(2026, 12, 1, 13, 50, 0, 0, time.UTC)
	return id, strings.TrimPrefix(inv.Link, "http://127.0.0.1:8080")
}

// get fetches path without following redirects.
func getNoFollow(t *testing.T, c *client, path string, header http.Header) *http.Response {
	t.Helper()
	return doNoFollow(t, c, "GET", path, nil, header)
}

// join presses the landing page's button of invite link path (an empty
// form: the consent is asked on /call), without following the redirect.
func join(t *testing.T, c *client, path string) *http.Response {
	t.Helper()
	return doNoFollow(t, c, "POST", path, url.Values{}, http.Header{"Sec-Fetch-Site": {"same-origin"}})
}

// consentedCustomer is a new customer browser that has spent link and
// consented (English text): the call routes take it from there.
func consentedCustomer(t *testing.T, e *env, link string) *client {
	t.Helper()
	customer := e.anon(t)
	if r := join(t, customer, link); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("open invite: %d", r.StatusCode)
	}
	ct := verify.ConsentText("en")
	if code := customer.raw("POST", "/call/consent", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"version": {ct.Version}, "locale": {"en"}}.Encode()), nil); code != http.StatusSeeOther {
		t.Fatalf("consent: %d", code)
	}
	return customer
}

// doNoFollow sends method to path (form, when not nil, as its body)
// without following redirects.
func doNoFollow(t *testing.T, c *client, method, path string, form url.Values, header http.Header) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestCustomerSession(t *testing.T) {
	e := newEnv(t)
	id, link := e.invite(t)

	// Two first uses at once: exactly one gets the cookie.
	var wg sync.WaitGroup
	clients := []*client{e.anon(t), e.anon(t), e.anon(t)}
	resps := make([]*http.Response, len(clients))
	for i, c := range clients {
		wg.Go(func() { resps[i] = join(t, c, link) })
	}
	wg.Wait()
	var customer *client
	for i, r := range resps {
		switch r.StatusCode {
		case http.StatusSeeOther:
			if customer != nil {
				t.Fatal("two first uses of one invite both won")
			}
			customer = clients[i]
			if loc := r.Header.Get("Location"); loc != "/call" {
				t.Errorf("redirect to %q, want /call (no token)", loc)
			}
			cookies := r.Cookies()
			if len(cookies) != 1 || cookies[0].Name != "idv_customer" || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/" {
				t.Errorf("cookie = %+v, want idv_customer HttpOnly SameSite=Strict Path=/", cookies)
			}
		case http.StatusGone:
		default:
			t.Fatalf("first use: status %d", r.StatusCode)
		}
	}
	if customer == nil {
		t.Fatal("no first use won")
	}
	if r := join(t, e.anon(t), link); r.StatusCode != http.StatusGone {
		t.Errorf("reused link: status %d, want 410", r.StatusCode)
	}

	// Consent before anything else; the socket refuses without it.
	var page string
	if code := customer.raw("GET", "/call", "", nil, nil); code != 200 {
		t.Fatalf("GET /call = %d", code)
	}
	page = body(t, customer, "/call")
	if !strings.Contains(page, verify.ConsentText("en").Text[:40]) || !strings.Contains(page, `action="/call/consent"`) {
		t.Fatalf("consent page missing the text or form:\n%s", page)
	}
	if r := getNoFollow(t, customer, "/call/ws", nil); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("socket before consent: status %d, want 422", r.StatusCode)
	}
	form := url.Values{"version": {verify.ConsentText("en").Version}, "locale": {"en"}}
	req, _ := http.NewRequest("POST", customer.base+"/call/consent", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := customer.http.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site consent: %v %v, want 403", resp, err)
	}
	if code := customer.raw("POST", "/call/consent", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil); code != http.StatusSeeOther {
		t.Fatalf("consent: status %d, want 303", code)
	}
	if page = body(t, customer, "/call"); !strings.Contains(page, `src="/static/call.js"`) || strings.Contains(page, "<script>") {
		t.Fatalf("call page: want the module script and no inline script:\n%s", page)
	}
	if code := customer.raw("GET", "/static/call.js", "", nil, nil); code != 200 {
		t.Errorf("GET /static/call.js = %d", code)
	}
	var evs []*models.AuditEvent
	if err := e.store.Transact(t.Context(), func(tx models.Tx) (err error) {
		evs, err = tx.AuditEvents(t.Context(), models.AuditFilter{CaseID: models.CaseID(id)})
		return
	}); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range evs {
		actions = append(actions, ev.Action)
		if ev.Action == "customer.consent" && (ev.Detail["version"] == "" || len(ev.Detail["text_sha256"]) != 64 || ev.Detail["locale"] != "en") {
			t.Errorf("consent event detail = %v", ev.Detail)
		}
	}
	if !strings.Contains(strings.Join(actions, " "), "customer.session_started customer.consent") {
		t.Errorf("audit actions = %v, want customer.session_started then customer.consent", actions)
	}
	if strings.Contains(e.logs.String(), link[strings.LastIndex(link, "/")+1:]) {
		t.Error("the invite token appears in the logs")
	}

	// Revoking the invite ends the customer session.
	clerk := e.login(t, "clerk")
	if code := clerk.do("DELETE", "/api/cases/"+id+"/invite", nil, nil); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	if code := customer.raw("GET", "/call", "", nil, nil); code != http.StatusGone {
		t.Errorf("GET /call after revocation = %d, want 410", code)
	}
}

func body(t *testing.T, c *client, path string) string {
	t.Helper()
	resp, err := c.http.Get(c.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// TestInvalidLinksRateLimited: unknown links get the one 410 page, and past
// 20 failures a minute the address gets 429.
func TestInvalidLinksRateLimited(t *testing.T) {
	e := newEnv(t)
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, base: e.ts.URL, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	codes := map[int]int{}
	for i := 0; i < 25; i++ {
		codes[getNoFollow(t, c, "/join/iv1_"+strings.Repeat("A", 43), nil).StatusCode]++
	}
	if codes[http.StatusGone] != 20 || codes[http.StatusTooManyRequests] != 5 {
		t.Errorf("25 bad links: statuses %v, want 20 x 410 then 429", codes)
	}
	if code := c.raw("GET", "/call", "", nil, nil); code != http.StatusTooManyRequests {
		t.Errorf("GET /call with no cookie once limited = %d, want 429", code)
	}
}

// TestInviteLinkSurvivesScanners: fetching the invite link (a mail
// scanner, a link preview, the customer twice) shows the landing page in
// the customer's language and spends nothing; only the page's button (a
// same-origin POST) spends it, and a spent link gets the one 410 answer.
func TestInviteLinkSurvivesScanners(t *testing.T) {
	e := newEnv(t)
	_, link := e.invite(t)
	scanner := e.anon(t)
	for i, tt := range []struct {
		method, lang, wantLang string
	}{
		{"GET", "", "en"}, {"HEAD", "", ""}, {"GET", "zh-CN,zh;q=0.9", "zh-CN"}, {"HEAD", "en", ""}, {"GET", "en-GB", "en"},
	} {
		req, _ := http.NewRequest(tt.method, scanner.base+link, nil)
		if tt.lang != "" {
			req.Header.Set("Accept-Language", tt.lang)
		}
		resp, err := scanner.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 0 {
			t.Fatalf("fetch %d: %s %s = %d with cookies %v, want 200 and no cookie", i, tt.method, link, resp.StatusCode, resp.Cookies())
		}
		if tt.wantLang == "" {
			continue
		}
		page := string(b)
		if !strings.Contains(page, `<html lang="`+tt.wantLang+`"`) || !strings.Contains(page, `<form method="post" action="`+link+`">`) || !strings.Contains(page, `id="accept"`) {
			t.Fatalf("fetch %d: %s %s (Accept-Language %q) is not the landing page in %s posting to the link: %.600s", i, tt.method, link, tt.lang, tt.wantLang, page)
		}
	}
	// Another site's form cannot spend it (nor sign a browser in).
	if r := doNoFollow(t, e.anon(t), "POST", link, url.Values{}, http.Header{"Sec-Fetch-Site": {"cross-site"}}); r.StatusCode != http.StatusForbidden || len(r.Cookies()) != 0 {
		t.Fatalf("cross-site POST %s = %d %v, want 403 and no cookie", link, r.StatusCode, r.Cookies())
	}
	// The customer presses the button, accepting the consent shown.
	customer := e.anon(t)
	ct := verify.ConsentText("en")
	r := doNoFollow(t, customer, "POST", link, url.Values{"version": {ct.Version}, "locale": {"en"}}, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/call" || len(r.Cookies()) != 1 {
		t.Fatalf("POST %s after the scanner = %d to %q with %v, want 303 to /call with the session cookie", link, r.StatusCode, r.Header.Get("Location"), r.Cookies())
	}
	resp, err := customer.http.Get(customer.base + "/call")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "call.js") || strings.Contains(string(b), `id="accept"`) {
		t.Fatalf("GET /call after the button = %d %.300s, want the call page (consent recorded on the landing page)", resp.StatusCode, b)
	}
	// Spent: the button and the link both get the one 410 answer.
	for _, method := range []string{"POST", "GET"} {
		var form url.Values
		if method == "POST" {
			form = url.Values{}
		}
		if r := doNoFollow(t, e.anon(t), method, link, form, nil); r.StatusCode != http.StatusGone || len(r.Cookies()) != 0 {
			t.Errorf("%s %s once spent = %d %v, want 410 and no cookie", method, link, r.StatusCode, r.Cookies())
		}
	}
}
