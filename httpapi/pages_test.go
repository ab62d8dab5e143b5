package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"remoteidv/audit"
)

// TestStaffPages: each page follows the role policy of the API it drives
// (not signed in: 303 to /login; another role: the 403 page), speaks the
// browser's language or the switch's, and carries the strict headers.
func TestStaffPages(t *testing.T) {
	e := newEnv(t)
	callers := map[string]*client{"anonymous": e.anon(t)}
	for _, who := range []string{"clerk", "supervisor", "auditor", "admin"} {
		callers[who] = e.login(t, who)
	}
	id := e.createCase(t, callers["clerk"])
	tests := []struct {
		path    string
		allowed string // the one role allowed
	}{
		{"/console", "clerk"},
		{"/console/cases/" + id, "clerk"},
		{"/review", "supervisor"},
		{"/review/cases/" + id, "supervisor"},
		{"/audit", "auditor"},
		{"/audit/cases/" + id, "auditor"},
		{"/admin", "admin"},
	}
	for _, tt := range tests {
		for who, c := range callers {
			resp := getNoFollow(t, c, tt.path, nil)
			want := http.StatusForbidden
			switch who {
			case tt.allowed:
				want = http.StatusOK
			case "anonymous":
				want = http.StatusSeeOther
			}
			if resp.StatusCode != want {
				t.Errorf("GET %s as %s = %d, want %d", tt.path, who, resp.StatusCode, want)
			}
			if who == "anonymous" && resp.Header.Get("Location") != "/login" {
				t.Errorf("GET %s anonymously redirects to %q, want /login", tt.path, resp.Header.Get("Location"))
			}
		}
	}
	homes := map[string]string{"anonymous": "/login", "clerk": "/console", "supervisor": "/review", "auditor": "/audit", "admin": "/admin"}
	for who, want := range homes {
		if got := getNoFollow(t, callers[who], "/", nil).Header.Get("Location"); got != want {
			t.Errorf("GET / as %s redirects to %q, want %q", who, got, want)
		}
	}

	page := func(c *client, path string, h http.Header) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", c.base+path, nil)
		for k, v := range h {
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
	resp, body := page(callers["anonymous"], "/login", http.Header{"Accept-Language": {"zh-CN,zh;q=0.9"}})
	if !strings.Contains(body, `lang="zh-CN"`) || !strings.Contains(body, "员工登录") {
		t.Errorf("login page with Accept-Language zh-CN is not in Chinese:\n%.600s", body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers: CSP %q, Referrer-Policy %q", csp, resp.Header.Get("Referrer-Policy"))
	}
	// The switch wins over the browser, and is remembered.
	_, body = page(callers["clerk"], "/console?lang=zh-CN", http.Header{"Accept-Language": {"en-US"}})
	if !strings.Contains(body, "今日视频通话") {
		t.Error("?lang=zh-CN did not switch the console to Chinese")
	}
	_, body = page(callers["clerk"], "/console", http.Header{"Accept-Language": {"en-US"}})
	if !strings.Contains(body, "今日视频通话") {
		t.Error("the language choice was not remembered")
	}
	_, body = page(callers["clerk"], "/console?lang=en", nil)
	if !strings.Contains(body, "Today&#39;s calls") && !strings.Contains(body, "Today's calls") {
		t.Errorf("?lang=en did not switch back:\n%.800s", body)
	}
	for _, asset := range []string{"/static/staff/staff.css", "/static/staff/common.js", "/static/staff/case.js"} {
		if r, _ := page(callers["anonymous"], asset, nil); r.StatusCode != 200 {
			t.Errorf("GET %s = %d", asset, r.StatusCode)
		}
	}
}

// The auditor's pages show the signing key's fingerprint, to pin it and
// to verify a bundle with (idv evidence verify -fingerprint).
func TestAuditPagesShowKeyFingerprint(t *testing.T) {
	e := newEnv(t)
	id := e.createCase(t, e.login(t, "clerk"))
	aud := e.login(t, "auditor")
	fp := audit.Fingerprint(e.pub)
	for path, want := range map[string]string{
		"/audit":             `<code id="key-fingerprint">` + fp + `</code>`,
		"/audit/cases/" + id: `<code id="bundle-command">idv evidence verify -fingerprint ` + fp + ` bundle.zip</code>`,
	} {
		resp, err := aud.http.Get(aud.base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
			t.Errorf("GET %s = %d, want a page with %s", path, resp.StatusCode, want)
		}
	}
}
