package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestStatementPasswordRoute: the customer's call page sets the password
// for the emailed statement; bad input is a 400 that says what is wrong,
// the answer never repeats the password, and the clerk's case shows only
// that one was chosen.
func TestStatementPasswordRoute(t *testing.T) {
	e := newEnv(t)
	id, link := e.invite(t)
	customer := consentedCustomer(t, e, link)
	clerk := e.login(t, "clerk")
	chosen := func() any {
		t.Helper()
		var v map[string]any
		if code := clerk.do("GET", "/api/cases/"+id, nil, &v); code != 200 {
			t.Fatalf("GET case: %d", code)
		}
		return v["statement_password"]
	}
	if got := chosen(); got != false {
		t.Fatalf("statement_password before = %v, want false", got)
	}

	const pw = "Tax office 2026"
	for _, tc := range []struct {
		name        string
		body        map[string]string
		status      int
		message     string
		secretShown string
	}{
		{"too short", map[string]string{"password": "short1", "confirm": "short1"}, 400, "8 to 128 characters", "short1"},
		{"too long", map[string]string{"password": strings.Repeat("p", 129), "confirm": strings.Repeat("p", 129)}, 400, "8 to 128 characters", strings.Repeat("p", 129)},
		{"mismatch", map[string]string{"password": pw, "confirm": pw + "!"}, 400, "the two passwords differ", pw},
		{"Chinese", map[string]string{"password": "报税用的密码很长", "confirm": "报税用的密码很长"}, 400, "only letters", "报税用的密码很长"},
		{"no confirmation", map[string]string{"password": pw}, 400, "differ", pw},
		{"unknown field", map[string]string{"password": pw, "confirm": pw, "hint": "x"}, 400, "unknown field", pw},
		{"ok", map[string]string{"password": pw, "confirm": pw}, 200, "", pw},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.body)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("POST", customer.base+"/call/statement-password", bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			resp, err := customer.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(raw), tc.message) || strings.Contains(string(raw), tc.secretShown) {
				t.Fatalf("POST /call/statement-password (%s) = %d %s; want %d saying %q, without the password", tc.name, resp.StatusCode, raw, tc.status, tc.message)
			}
		})
	}
	if got := chosen(); got != true {
		t.Fatalf("statement_password after = %v, want true", got)
	}
	var all bytes.Buffer
	for _, path := range []string{"/api/cases/" + id, "/api/cases/" + id + "/timeline"} {
		_, b, _ := getBytes(t, clerk, path)
		all.Write(b)
	}
	if !strings.Contains(all.String(), "statement.password_set") || strings.Contains(all.String(), pw) {
		t.Fatalf("case and timeline: want statement.password_set and never the password:\n%s", all.String())
	}
	// Staff cannot set it: the route is the customer cookie's.
	if code := clerk.do("POST", "/call/statement-password", map[string]string{"password": pw, "confirm": pw}, nil); code != http.StatusGone {
		t.Fatalf("clerk POST /call/statement-password = %d, want the customer pages' 410", code)
	}
}
