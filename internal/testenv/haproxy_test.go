package testenv

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestHAProxy: requests alternate between the two backends (no
// stickiness, even on one kept-alive connection), the log and the
// response header say which served each, a drained backend gets no new
// requests, and a backend that stops answering is marked DOWN and skipped.
func TestHAProxy(t *testing.T) {
	var urls []string
	var servers []*httptest.Server
	for _, name := range []string{"a", "b"} {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }))
		t.Cleanup(s.Close)
		servers = append(servers, s)
		urls = append(urls, s.URL)
	}
	h := StartHAProxy(t, "", urls...)
	get := func() (string, string) {
		t.Helper()
		r, err := http.Get(h.URL + "/x?y=1")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return string(b), r.Header.Get("X-Idv-Backend")
	}
	var got []string
	for range 4 {
		body, hdr := get()
		got = append(got, body)
		if want := map[string]string{"a": "n0", "b": "n1"}[body]; hdr != want {
			t.Errorf("X-Idv-Backend = %q for a response of %s, want %s", hdr, body, want)
		}
	}
	if got[0] == got[1] || got[1] == got[2] || got[2] == got[3] {
		t.Errorf("backends in turn = %v, want them alternating", got)
	}
	time.Sleep(100 * time.Millisecond) // the log lines are written after the responses
	var logged []string
	for _, s := range h.Served() {
		if s.Path == "/x?y=1" && s.Method == "GET" && s.Status == 200 {
			logged = append(logged, map[string]string{urls[0]: "a", urls[1]: "b"}[s.Backend])
		}
	}
	if len(logged) != 4 || logged[0] != got[0] || logged[3] != got[3] {
		t.Errorf("Served() = %v, want %v", logged, got)
	}

	if err := h.Drain(urls[0]); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if body, _ := get(); body != "b" {
			t.Errorf("with a drained, a request went to %s", body)
		}
	}
	if err := h.Ready(urls[0]); err != nil {
		t.Fatal(err)
	}
	servers[1].Close()
	h.WaitState(urls[1], "DOWN", 10*time.Second)
	for range 3 {
		if body, _ := get(); body != "a" {
			t.Errorf("with b down, a request went to %q", body)
		}
	}
}
