package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"remoteidv/mail"
	"remoteidv/mail/mailtest"
	"remoteidv/models"
	"remoteidv/verify"
	"remoteidv/web"
)

// fetchPage sends method to path with the headers given (a form body on
// POST) without following redirects, and returns the answer and its body.
func fetchPage(t *testing.T, c *client, method, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if method == "POST" {
		body = strings.NewReader(url.Values{}.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// mainOf is the page's <main>: the head carries the whole message
// catalogue for the scripts, so texts are looked for after it.
func mainOf(page string) string {
	_, m, _ := strings.Cut(page, "<main>")
	return m
}

// issue has the clerk issue a new invite for case id (revoking the
// case's earlier ones) and returns the link's path.
func issue(t *testing.T, clerk *client, id string) string {
	t.Helper()
	var inv struct{ Link string }
	if code := clerk.do("POST", "/api/cases/"+id+"/invite", nil, &inv); code != 201 {
		t.Fatalf("invite: %d", code)
	}
	return strings.TrimPrefix(inv.Link, "http://127.0.0.1:8080")
}

// TestInviteBeforeItsWindow: a live invite opened before its window (15
// minutes before the 09:00 America/New_York slot, 14:00 UTC) shows when the
// call opens in both zones, in the customer's language, and that the same
// link will work then; it spends nothing, so the link works once the window
// opens. A revoked, used, expired or unknown link keeps the one 410 page,
// the same bytes whatever the reason.
func TestInviteBeforeItsWindow(t *testing.T) {
	e := newEnv(t)
	clerk := e.login(t, "clerk")
	id := e.createCase(t, clerk)
	revoked := issue(t, clerk, id)
	link := issue(t, clerk, id) // revokes the first

	e.now = time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC) // 45 minutes before the window
	msgs := web.Messages()
	for _, tt := range []struct {
		method, accept, lang string
	}{
		{"GET", "", "en"}, {"GET", "zh-CN,zh;q=0.9", "zh-CN"}, {"HEAD", "", ""}, {"POST", "en", "en"}, {"POST", "zh-CN", "zh-CN"},
	} {
		name := tt.method + " " + tt.accept
		resp, page := fetchPage(t, e.anon(t), tt.method, link, http.Header{"Accept-Language": {tt.accept}})
		if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 0 {
			t.Fatalf("%s of a link before its window = %d with cookies %v, want 200 and no cookie", name, resp.StatusCode, resp.Cookies())
		}
		if tt.lang == "" {
			continue
		}
		m := msgs[tt.lang]
		if !strings.Contains(page, `<html lang="`+tt.lang+`"`) {
			t.Errorf("%s: the early page is not in %s", name, tt.lang)
		}
		page = mainOf(page)
		for _, want := range []string{m["cust.early_title"], m["cust.early_same_link"],
			"08:45", "America/New_York", "21:45", "Asia/Shanghai"} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: the early page lacks %q:\n%.1500s", name, want, page)
			}
		}
		if strings.Contains(page, m["cust.gone"]) || strings.Contains(page, `id="accept"`) {
			t.Errorf("%s: the early page shows the dead-link text or the consent button:\n%s", name, page)
		}
	}

	// The dead links, before the window too: one page for every reason.
	gone := map[string]string{}
	_, gone["unknown"] = expectGone(t, e.anon(t), "/join/iv1_"+strings.Repeat("A", 43))
	_, gone["revoked"] = expectGone(t, e.anon(t), revoked)

	// The early views spent nothing: the link works in its window.
	e.now = time.Date(2026, 12, 1, 13, 50, 0, 0, time.UTC)
	if r := join(t, e.anon(t), link); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the link in its window after early views = %d, want 303", r.StatusCode)
	}
	e.now = time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)
	_, gone["used, before the window"] = expectGone(t, e.anon(t), link)
	e.now = time.Date(2026, 12, 1, 14, 31, 0, 0, time.UTC)
	_, gone["used and expired"] = expectGone(t, e.anon(t), link)

	// An unused link of a case that was cancelled, before its window.
	e.now = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	clerk = e.login(t, "clerk") // the clock moved past the session's idle time
	other := e.createCase(t, clerk)
	cancelled := issue(t, clerk, other)
	if code := clerk.do("POST", "/api/cases/"+other+"/cancel", map[string]string{"reason": "customer asked"}, nil); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	e.now = time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)
	_, gone["cancelled"] = expectGone(t, e.anon(t), cancelled)
	// An unused link past its window.
	e.now = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	clerk = e.login(t, "clerk")
	third := e.createCase(t, clerk)
	expired := issue(t, clerk, third)
	e.now = time.Date(2026, 12, 1, 14, 31, 0, 0, time.UTC)
	_, gone["expired"] = expectGone(t, e.anon(t), expired)

	want := gone["unknown"]
	for why, page := range gone {
		if page != want {
			t.Errorf("the %s link's page differs from the unknown link's:\n%s\nwant\n%s", why, page, want)
		}
	}
}

// expectGone fetches link with no cookie and wants the one 410 page.
func expectGone(t *testing.T, c *client, link string) (*http.Response, string) {
	t.Helper()
	resp, page := fetchPage(t, c, "GET", link, http.Header{"Accept-Language": {"en"}})
	if resp.StatusCode != http.StatusGone || !strings.Contains(mainOf(page), web.Messages()["en"]["cust.gone"]) {
		t.Fatalf("GET %s = %d, want the 410 page:\n%.800s", link, resp.StatusCode, page)
	}
	return resp, page
}

// TestReopenedLinkInTheCustomersBrowser: the browser that spent the link
// and holds the customer's live session for its case goes back to the
// call page when the link is opened again (GET or the landing page's
// POST); any other browser, or a session for another case, or the same
// browser once the session is over, gets the one 410 page.
func TestReopenedLinkInTheCustomersBrowser(t *testing.T) {
	e := newEnv(t)
	id, link := e.invite(t)
	customer := e.anon(t)
	if r := join(t, customer, link); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("join: %d", r.StatusCode)
	}
	for _, method := range []string{"GET", "HEAD", "POST"} {
		resp, _ := fetchPage(t, customer, method, link, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/call" || len(resp.Cookies()) != 0 {
			t.Errorf("%s of the used link in the customer's browser = %d to %q (cookies %v), want 303 to /call and no new cookie",
				method, resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
		}
	}
	expectGone(t, e.anon(t), link)

	// A live session of another case does not open this case's link.
	e.now = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	clerk := e.login(t, "clerk")
	other := e.createCase(t, clerk)
	otherLink := issue(t, clerk, other)
	e.now = time.Date(2026, 12, 1, 13, 50, 0, 0, time.UTC)
	stranger := e.anon(t)
	if r := join(t, stranger, otherLink); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("join the other case: %d", r.StatusCode)
	}
	expectGone(t, stranger, link)

	// Once the invite is revoked, the session is over: the one 410 page.
	clerk = e.login(t, "clerk")
	if code := clerk.do("DELETE", "/api/cases/"+id+"/invite", nil, nil); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	expectGone(t, customer, link)
}

// customerWithCode opens the case's link, consents, asks for an email
// code and returns the customer's browser and the code as it was queued.
func customerWithCode(t *testing.T, e *env) (*client, string) {
	t.Helper()
	id, link := e.invite(t)
	customer := consentedCustomer(t, e, link)
	if code := customer.do("POST", "/call/code", nil, nil); code != 202 {
		t.Fatalf("request code: %d", code)
	}
	var code string
	err := e.store.Transact(t.Context(), func(tx models.Tx) error {
		ms, err := tx.MailByCase(t.Context(), models.CaseID(id))
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ms, func(m *models.OutboundMail) bool { return m.Kind == mail.KindCode })
		if i < 0 {
			return fmt.Errorf("no code mail queued")
		}
		p, err := mailtest.Parse(ms[i].Raw)
		if err != nil {
			return err
		}
		code = regexp.MustCompile(`\b[0-9]{6}\b`).FindString(p.Text)
		return nil
	})
	if err != nil || code == "" {
		t.Fatalf("the queued code: %q %v", code, err)
	}
	return customer, code
}

// TestCodeLockoutSaysWhatHappens: the fifth wrong code's refusal names
// the call page's lockout text (cust.locked), and that text says what
// really happens, in both languages: the bank has been told, nothing will
// be sent, ask the bank for a new invite; never that a document is coming.
func TestCodeLockoutSaysWhatHappens(t *testing.T) {
	e := newEnv(t)
	customer, code := customerWithCode(t, e)
	var wrong []string
	for i := 0; len(wrong) < verify.CodeMaxFailures; i++ {
		if c := fmt.Sprintf("%06d", i); c != code {
			wrong = append(wrong, c)
		}
	}
	for i, c := range wrong {
		var out struct {
			Error struct {
				Code    string   `json:"code"`
				Details []string `json:"details"`
			} `json:"error"`
		}
		status := customer.do("POST", "/call/code/verify", map[string]string{"code": c}, &out)
		last := i == len(wrong)-1
		switch {
		case !last && status != http.StatusForbidden:
			t.Fatalf("wrong code %d = %d, want 403", i+1, status)
		case last && (status != http.StatusGone || !slices.Equal(out.Error.Details, []string{"cust.locked"})):
			t.Fatalf("the fifth wrong code = %d %+v, want 410 naming cust.locked", status, out.Error)
		}
	}
	for _, tt := range []struct {
		lang string
		want []string
	}{
		{"en", []string{"bank has been told", "nothing will be sent", "ask the bank for a new invite"}},
		{"zh-CN", []string{"银行已收到通知", "不会向您发送任何文件", "请联系银行重新发送邀请"}},
	} {
		text := web.Messages()[tt.lang]["cust.locked"]
		for _, w := range tt.want {
			if !strings.Contains(text, w) {
				t.Errorf("cust.locked (%s) = %q, want it to say %q", tt.lang, text, w)
			}
		}
		for _, bad := range []string{"on its way", "is sent to", "将发送", "发送到您"} {
			if strings.Contains(text, bad) {
				t.Errorf("cust.locked (%s) = %q promises a delivery (%q)", tt.lang, text, bad)
			}
		}
	}
}

// TestCallPageRemembersSteps: the call page shows the email code and the
// letter as done from the server's state, in either language, so a reload
// or a language switch does not ask again.
func TestCallPageRemembersSteps(t *testing.T) {
	e := newEnv(t)
	customer, code := customerWithCode(t, e)
	msgs := web.Messages()
	for _, k := range []string{"cust.code_done", "cust.letter_done"} {
		if msgs["en"][k] == "" || msgs["zh-CN"][k] == "" {
			t.Fatalf("no message %s in both languages", k)
		}
	}
	page := func(lang string) string {
		resp, p := fetchPage(t, customer, "GET", "/call?lang="+lang, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET /call = %d", resp.StatusCode)
		}
		return mainOf(p)
	}
	p := page("en")
	if strings.Contains(p, `data-done`) || strings.Contains(p, msgs["en"]["cust.code_done"]) || strings.Contains(p, msgs["en"]["cust.letter_done"]) {
		t.Fatalf("the call page shows steps done before any:\n%s", p)
	}
	if c := customer.do("POST", "/call/code/verify", map[string]string{"code": code}, nil); c != 200 {
		t.Fatalf("right code: %d", c)
	}
	for _, lang := range []string{"en", "zh-CN"} {
		p := page(lang)
		if !strings.Contains(p, `id="code-step" aria-labelledby="code-h" data-done="true"`) || !strings.Contains(p, `<div id="code-ask" hidden>`) ||
			!strings.Contains(p, msgs[lang]["cust.code_done"]) {
			t.Errorf("%s: after the code, the page does not show it done:\n%s", lang, p)
		}
		if strings.Contains(p, msgs[lang]["cust.letter_done"]) {
			t.Errorf("%s: the letter shows as done before any upload", lang)
		}
	}
	if c := customer.raw("POST", "/call/letter", "image/png", bytes.NewReader(letterPNG(t)), nil); c != 201 {
		t.Fatalf("letter: %d", c)
	}
	for _, lang := range []string{"en", "zh-CN"} {
		p := page(lang)
		if !strings.Contains(p, `id="letter-step" aria-labelledby="letter-h" data-done="true"`) || !strings.Contains(p, `<div id="letter-ask" hidden>`) ||
			!strings.Contains(p, msgs[lang]["cust.letter_done"]) || !strings.Contains(p, msgs[lang]["cust.code_done"]) {
			t.Errorf("%s: after the letter, the page does not show both steps done:\n%s", lang, p)
		}
	}
}
