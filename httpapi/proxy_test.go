package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestForwardedProtoFromTrustedProxiesOnly: behind a TLS-terminating proxy
// the session cookie is Secure and HSTS is sent when a trusted proxy says
// X-Forwarded-Proto: https; the same header from anyone else (the test
// client at 127.0.0.1 when only 10.0.0.0/8 is trusted, or when nothing is)
// changes nothing. The client address is believed from the same proxies.
func TestForwardedProtoFromTrustedProxiesOnly(t *testing.T) {
	tests := []struct {
		name    string
		proxies []string
		proto   string
		secure  bool
		remote  string // the client address the access log records
	}{
		{"no proxy trusted", nil, "https", false, "127.0.0.1"},
		{"another proxy trusted", []string{"10.0.0.0/8"}, "https", false, "127.0.0.1"},
		{"trusted proxy, https", []string{"127.0.0.1"}, "https", true, "198.51.100.7"},
		{"trusted CIDR, https", []string{"10.0.0.0/8", "127.0.0.0/8"}, "HTTPS", true, "198.51.100.7"},
		{"trusted proxy, http", []string{"127.0.0.1"}, "http", false, "198.51.100.7"},
		{"trusted proxy, no header", []string{"127.0.0.1"}, "", false, "198.51.100.7"},
		{"trusted proxy, appended by the proxy", []string{"127.0.0.1"}, "http, https", true, "198.51.100.7"},
		{"trusted proxy, https forged before it", []string{"127.0.0.1"}, "https, http", false, "198.51.100.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvWith(t, "sqlite", envOptions{proxies: tt.proxies})
			req, _ := http.NewRequest("POST", e.ts.URL+"/api/auth/login", strings.NewReader(fmt.Sprintf(`{"username":"clerk","password":%q}`, password)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", "198.51.100.7")
			if tt.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || len(resp.Cookies()) != 1 {
				t.Fatalf("login = %d with cookies %v", resp.StatusCode, resp.Cookies())
			}
			if got := resp.Cookies()[0].Secure; got != tt.secure {
				t.Errorf("session cookie Secure = %v, want %v", got, tt.secure)
			}
			if got := resp.Header.Get("Strict-Transport-Security") != ""; got != tt.secure {
				t.Errorf("HSTS sent = %v (%q), want %v", got, resp.Header.Get("Strict-Transport-Security"), tt.secure)
			}
			if want := `route=/api/auth/login status=200`; !strings.Contains(e.logs.String(), want) || !strings.Contains(e.logs.String(), "remote="+tt.remote+" ") {
				t.Errorf("access log does not record the client as %s:\n%s", tt.remote, e.logs.String())
			}
		})
	}
}

// TestIPv6LimitsCountTheSlash64: the per-address failure limit counts an
// IPv6 client by its /64 (the host part is the client's to choose), so
// invalid invite links from many addresses of one /64 share the 20 a
// minute; another /64 has its own.
func TestIPv6LimitsCountTheSlash64(t *testing.T) {
	e := newEnvWith(t, "sqlite", envOptions{proxies: []string{"127.0.0.1"}})
	c := e.anon(t)
	from := func(addr string) int {
		return getNoFollow(t, c, "/join/iv1_"+strings.Repeat("A", 43), http.Header{"X-Forwarded-For": {addr}}).StatusCode
	}
	for i := range 20 {
		if code := from(fmt.Sprintf("2001:db8:1:2::%x", i+1)); code != http.StatusGone {
			t.Fatalf("invalid link %d from its own address of 2001:db8:1:2::/64 = %d, want 410", i+1, code)
		}
	}
	for _, tt := range []struct {
		addr string
		want int
	}{
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", http.StatusTooManyRequests}, // same /64, new address
		{"2001:db8:1:2::1", http.StatusTooManyRequests},
		{"2001:db8:1:3::1", http.StatusGone}, // the next /64
		{"192.0.2.1", http.StatusGone},
		{"::ffff:192.0.2.2", http.StatusGone}, // IPv4-mapped: an IPv4 address of its own
	} {
		if code := from(tt.addr); code != tt.want {
			t.Errorf("invalid link from %s after 20 from 2001:db8:1:2::/64 = %d, want %d", tt.addr, code, tt.want)
		}
	}
}
