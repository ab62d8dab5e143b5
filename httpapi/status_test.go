package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCustomerStatusPage: the status page behind the customer's cookie
// shows where their own request stands, in their language, with nothing
// personal; it outlives the call (a cancelled case still shows, as
// cancelled) until the status lifetime ends; without a valid cookie, or
// with a forged one, it is the 410 page that shows no request; another
// customer's cookie shows only that customer's request. On SQLite and
// PostgreSQL.
func TestCustomerStatusPage(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnvOn(t, kind)
			id, link := e.invite(t)
			customer := consentedCustomer(t, e, link)

			tests := []struct {
				lang string
				want []string
			}{
				{"en", []string{`id="status-ref">` + id + `<`, "Tue 1 Dec 2026, 09:00 (America/New_York)", "Tue 1 Dec 2026, 22:00 (Asia/Shanghai)",
					`data-step="scheduled" data-state="done"`, `data-step="consent" data-state="done"`, `data-step="call" data-state="current"`,
					`data-step="statement" data-state="ahead"`, `>Video call</span> <span class="step-state">in progress<`}},
				{"zh-CN", []string{`id="status-ref">` + id + `<`, "2026年12月1日 09:00（America/New_York）", "2026年12月1日 22:00（Asia/Shanghai）",
					`data-step="call" data-state="current"`, `>视频通话</span> <span class="step-state">进行中<`}},
			}
			for _, tt := range tests {
				resp, page := fetchPage(t, customer, "GET", "/call/status?lang="+tt.lang, nil)
				body := mainOf(page)
				if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("status page (%s) = %d (Cache-Control %q), want 200 no-store", tt.lang, resp.StatusCode, resp.Header.Get("Cache-Control"))
				}
				for _, w := range tt.want {
					if !strings.Contains(body, w) {
						t.Errorf("status page (%s) lacks %q:\n%s", tt.lang, w, body)
					}
				}
				for _, personal := range []string{"Li Wei", "6222", "li.wei@", "110101", "+1 212"} {
					if strings.Contains(body, personal) {
						t.Errorf("status page (%s) shows %q", tt.lang, personal)
					}
				}
			}

			// No cookie, or a forged one: the page that shows no request.
			forged := e.anon(t)
			forged.http.Jar.SetCookies(mustURL(e.ts.URL), []*http.Cookie{{Name: "idv_customer", Value: "cs1_" + strings.Repeat("A", 43), Path: "/"}})
			for name, c := range map[string]*client{"no cookie": e.anon(t), "forged cookie": forged} {
				resp, page := fetchPage(t, c, "GET", "/call/status?lang=en", nil)
				body := mainOf(page)
				if resp.StatusCode != http.StatusGone || !strings.Contains(body, `id="status-none"`) || strings.Contains(body, id) || strings.Contains(body, "status-steps") {
					t.Errorf("status page with %s = %d:\n%s\nwant 410, no request shown", name, resp.StatusCode, body)
				}
			}

			// Another customer's cookie shows their request, never this one.
			e.now = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
			clerk := e.login(t, "clerk")
			other := e.createCase(t, clerk)
			otherLink := issue(t, clerk, other)
			e.now = time.Date(2026, 12, 1, 13, 50, 0, 0, time.UTC)
			stranger := e.anon(t)
			if r := join(t, stranger, otherLink); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("join the other case: %d", r.StatusCode)
			}
			_, page := fetchPage(t, stranger, "GET", "/call/status?lang=en", nil)
			if body := mainOf(page); strings.Contains(body, id) || !strings.Contains(body, other) || !strings.Contains(body, `data-step="consent" data-state="current"`) {
				t.Errorf("the other customer's status page:\n%s\nwant case %s (consent pending), never %s", body, other, id)
			}

			// Cancelled: the call page is gone, the status page says so.
			clerk = e.login(t, "clerk")
			if code := clerk.do("POST", "/api/cases/"+id+"/cancel", map[string]string{"reason": "customer asked"}, nil); code != 200 {
				t.Fatalf("cancel: %d", code)
			}
			if resp, _ := fetchPage(t, customer, "GET", "/call", nil); resp.StatusCode != http.StatusGone {
				t.Errorf("call page after the cancellation = %d, want 410", resp.StatusCode)
			}
			e.now = e.now.Add(10 * 24 * time.Hour)
			resp, page := fetchPage(t, customer, "GET", "/call/status?lang=en", nil)
			if body := mainOf(page); resp.StatusCode != 200 || !strings.Contains(body, `data-outcome="cancelled"`) || strings.Contains(body, `data-state="current"`) || strings.Contains(body, "customer asked") {
				t.Errorf("status page after the cancellation = %d:\n%s\nwant the cancelled outcome, no step in progress, no reason", resp.StatusCode, body)
			}
			// Past the status lifetime (30 days from the session's start).
			e.now = time.Date(2026, 12, 31, 14, 0, 0, 0, time.UTC)
			if resp, _ := fetchPage(t, customer, "GET", "/call/status", nil); resp.StatusCode != http.StatusGone {
				t.Errorf("status page 30 days on = %d, want 410", resp.StatusCode)
			}
		})
	}
}

// TestStatusCookieLifetime: the cookie the invite link is exchanged for
// lives as long as the status page (30 days), not just the call.
func TestStatusCookieLifetime(t *testing.T) {
	e := newEnv(t)
	_, link := e.invite(t)
	r := join(t, e.anon(t), link)
	var got *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == "idv_customer" {
			got = c
		}
	}
	// The session starts at 13:50 on the test clock, which the cookie's
	// age is counted on.
	if got == nil || got.MaxAge != 30*24*3600 || !got.HttpOnly || got.SameSite != http.SameSiteStrictMode {
		t.Fatalf("customer cookie = %+v, want HttpOnly, SameSite=Strict, about 30 days", got)
	}
}

// TestCreateCaseIntakeAPI: the intake fields of POST /api/cases are
// optional and validated; the record is shown on the case.
func TestCreateCaseIntakeAPI(t *testing.T) {
	e := newEnv(t)
	clerk := e.login(t, "clerk")
	tests := []struct {
		name   string
		intake any
		status int
	}{
		{"none", nil, 201},
		{"phone with notes", map[string]string{"channel": "phone", "received_at": "2026-11-27T09:30:00+08:00", "notes": "Called from New York"}, 201},
		{"email, time empty", map[string]string{"channel": "email"}, 201},
		{"unknown channel", map[string]string{"channel": "fax", "received_at": "2026-11-27T01:00:00Z"}, 400},
		{"no channel", map[string]string{"notes": "x"}, 400},
		{"bad time", map[string]string{"channel": "letter", "received_at": "yesterday"}, 400},
		{"future", map[string]string{"channel": "counter", "received_at": "2026-11-28T02:00:00Z"}, 400},
		{"unknown field", map[string]string{"channel": "phone", "via": "x"}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := newCaseBody()
			if tt.intake != nil {
				body["intake"] = tt.intake
			}
			var cs struct {
				ID     string
				Intake *struct {
					Channel    string `json:"channel"`
					ReceivedAt string `json:"received_at"`
					Notes      string `json:"notes"`
					RecordedBy string `json:"recorded_by"`
				}
			}
			if code := clerk.do("POST", "/api/cases", body, &cs); code != tt.status {
				t.Fatalf("POST /api/cases with intake %v = %d, want %d", tt.intake, code, tt.status)
			}
			if tt.status != 201 {
				return
			}
			created := cs.Intake
			if code := clerk.do("GET", "/api/cases/"+cs.ID, nil, &cs); code != 200 {
				t.Fatalf("GET case: %d", code)
			}
			in, _ := tt.intake.(map[string]string)
			switch {
			case in == nil && (cs.Intake != nil || created != nil):
				t.Errorf("intake = %+v, want none", cs.Intake)
			case in != nil && (cs.Intake == nil || created == nil || *cs.Intake != *created || cs.Intake.Channel != in["channel"] || cs.Intake.Notes != in["notes"] || cs.Intake.RecordedBy == ""):
				t.Errorf("intake = %+v (created %+v), want %v recorded by the clerk", cs.Intake, created, in)
			case in != nil && in["received_at"] != "" && cs.Intake.ReceivedAt != "2026-11-27T01:30:00Z":
				t.Errorf("received_at = %s, want 2026-11-27T01:30:00Z (UTC)", cs.Intake.ReceivedAt)
			case in != nil && in["received_at"] == "" && cs.Intake.ReceivedAt != "2026-11-27T02:00:00Z":
				t.Errorf("received_at = %s, want the creation time", cs.Intake.ReceivedAt)
			}
		})
	}
}
