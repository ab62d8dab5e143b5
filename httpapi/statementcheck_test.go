package httpapi_test

import (
	"net/http"
	"testing"
	"time"
)

// TestStatementCheckLimited: the public statement check counts every call
// against the caller's address, 30 a minute; the 31st gets 429 with
// Retry-After (HTML and JSON alike), and the next minute works again.
func TestStatementCheckLimited(t *testing.T) {
	e := newEnv(t)
	anon := e.anon(t)
	get := func(accept string) (int, string) {
		req, _ := http.NewRequest("GET", anon.base+"/v/stm_aaaaaaaaaaaaaaaaaaaaaaaaaa", nil)
		req.Header.Set("Accept", accept)
		resp, err := anon.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	for i := range 30 {
		if c, _ := get("text/html"); c != 200 {
			t.Fatalf("check %d = %d, want 200", i+1, c)
		}
	}
	if c, after := get("text/html"); c != 429 || after == "" {
		t.Fatalf("31st check = %d (Retry-After %q), want 429 with Retry-After", c, after)
	}
	if c, _ := get("application/json"); c != 429 {
		t.Fatalf("31st check as JSON = %d, want 429", c)
	}
	e.now = e.now.Add(61 * time.Second)
	if c, _ := get("text/html"); c != 200 {
		t.Fatalf("check in the next minute = %d, want 200", c)
	}
}
