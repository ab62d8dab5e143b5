package httpapi_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestStylesServed: every style sheet a staff page and a customer page link
// is served as text/css (a sheet the router does not serve is refused by
// the browser, and the page falls back to bare HTML).
func TestStylesServed(t *testing.T) {
	e := newEnv(t)
	link := regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)"`)
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(e.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	seen := map[string]bool{}
	for _, page := range []string{"/login", "/v/stm_none"} {
		_, html := get(page)
		sheets := link.FindAllStringSubmatch(html, -1)
		if len(sheets) < 2 {
			t.Errorf("%s links %d style sheets, want base.css and its family's", page, len(sheets))
		}
		for _, m := range sheets {
			seen[m[1]] = true
		}
	}
	for _, want := range []string{"/static/base.css", "/static/staff/staff.css", "/static/staff/print.css", "/static/call.css"} {
		if !seen[want] {
			t.Errorf("no page links %s", want)
		}
	}
	for sheet := range seen {
		resp, body := get(sheet)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || body == "" {
			t.Errorf("GET %s = %d %q (%d bytes), want 200 text/css", sheet, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
}
