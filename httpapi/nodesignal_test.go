package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"remoteidv/httpapi"
	"remoteidv/internal/testenv"
	"remoteidv/signaling"
)

// TestNodeSignals: the call of a case runs on node A while the clerk's
// socket came in through node B. A logout through B ends the clerk's
// socket at once, and a cancel through B ends the call on A at once: B
// tells A (there is no heartbeat in this test, the slower path that would
// otherwise reach A). The signal route believes nothing but a fresh
// signature of the cluster secret over the exact body.
func TestNodeSignals(t *testing.T) {
	// Neither hub re-checks its participants on its own here.
	e, a, b := twoNodesWith(t, clusterSecret, signaling.Config{RevokePoll: noPoll})
	frames := ivfFrames(t, testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 1, 320))
	id, link := e.invite(t)
	customer := consentedCustomer(t, e, link)
	clerk := e.login(t, "clerk")
	cust := dialMedia(t, wsOf(a.url, "/call/ws"), cookieHeader(e, customer), frames)
	clk := dialMedia(t, wsOf(b.url, "/api/cases/"+id+"/call/ws"), cookieHeader(e, clerk), frames)
	waitLive(t, a.hub, id)
	clk.waitVideo(t, "clerk (through B)", 30)

	clerk.base = b.url
	if code := clerk.do("POST", "/api/auth/logout", nil, nil); code != http.StatusNoContent {
		t.Fatalf("logout through B: %d", code)
	}
	if !clk.closedWithin(5 * time.Second) {
		t.Fatal("the clerk logged out through B, and the socket of that login stays in the call on A")
	}
	if cust.closedWithin(time.Second) {
		t.Fatal("the clerk's logout ended the customer's socket")
	}

	sup := e.login(t, "supervisor")
	sup.base = b.url
	if code := sup.do("POST", "/api/cases/"+id+"/cancel", map[string]string{"reason": "customer withdrew"}, nil); code != http.StatusOK {
		t.Fatalf("cancel through B: %d", code)
	}
	if !cust.closedWithin(5 * time.Second) {
		t.Fatal("the case was cancelled through B, and its call on A goes on")
	}
	if liveOn(a.hub, id) {
		t.Error("the cancelled case's call is still live on A")
	}

	body := `{"op":"end_session","session":"` + strings.Repeat("0", 64) + `","reason":"test"}`
	header := func(secret []byte, at time.Time, signedBody string) string {
		ts := strconv.FormatInt(at.Unix(), 10)
		return ts + ":" + httpapi.SignalMAC(secret, ts, []byte(signedBody))
	}
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"valid", header(clusterSecret, e.now, body), http.StatusNoContent},
		{"no signature", "", http.StatusUnauthorized},
		{"other secret", header([]byte("another secret, 32 bytes or more!!"), e.now, body), http.StatusUnauthorized},
		{"other body", header(clusterSecret, e.now, strings.Replace(body, "end_session", "end_staff", 1)), http.StatusUnauthorized},
		{"stale", header(clusterSecret, e.now.Add(-time.Minute), body), http.StatusUnauthorized},
		{"a proxied socket's signature", signed(clusterSecret, "POST", "/internal/node/signal", "127.0.0.1", e.now, 1).Get("X-Idv-Node-Sig"), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", a.url+"/internal/node/signal", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if tt.header != "" {
				req.Header.Set("X-Idv-Node-Signal", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("signal: %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}
