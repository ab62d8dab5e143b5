package signaling_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"remoteidv/internal/testenv"
	"remoteidv/signaling"
)

// rawSocket dials a signaling socket without a peer connection.
func rawSocket(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// closedWith reads until the server closes the socket and returns the
// code of the last error message it sent.
func closedWith(t *testing.T, ws *websocket.Conn, d time.Duration) string {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(d))
	code := ""
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatalf("socket still open after %s (last error %q)", d, code)
			}
			return code
		}
		var m signaling.Message
		if json.Unmarshal(b, &m) == nil && m.Type == signaling.TypeError {
			code = m.Code
		}
	}
}

// TestBadPeers: malformed, oversized, flooding and silent peers each lose
// only their own socket while a good call on the same hub keeps flowing.
func TestBadPeers(t *testing.T) {
	f := newFixture(t, signaling.Config{HandshakeTimeout: 5 * time.Second})
	src := source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 160), ogg: testenv.OpusTone(t, 2)}
	_, cu, cl, _ := f.newCall(0)
	customer, clerk := dial(t, cu, nil, src), dial(t, cl, nil, src)
	defer customer.close("")
	defer clerk.close("")
	waitCount(t, "clerk video packets", clerk.videoIn.Load, 20, 20*time.Second)

	_, _, badClerk, badObserver := f.newCall(1)
	join := `{"v":1,"type":"join"}`
	tests := []struct {
		name string
		url  string
		send []string
		want string
	}{
		{"not JSON", badObserver, []string{"{{{"}, "invalid"},
		{"unknown type", badObserver, []string{`{"v":1,"type":"hello"}`}, "invalid"},
		{"wrong version", badObserver, []string{`{"v":2,"type":"join"}`}, "invalid"},
		{"unknown field", badObserver, []string{`{"v":1,"type":"join","x":1}`}, "invalid"},
		{"invalid UTF-8 SDP", badObserver, []string{join, "{\"v\":1,\"type\":\"answer\",\"sdp\":\"\xff\xfe\"}"}, "invalid"},
		{"malformed SDP", badObserver, []string{join, `{"v":1,"type":"answer","sdp":"v=0\r\nbroken"}`}, "invalid"},
		{"SDP without fingerprint", badObserver, []string{join, `{"v":1,"type":"answer","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\n"}`}, "invalid"},
		{"oversized SDP", badObserver, []string{join, `{"v":1,"type":"answer","sdp":"` + strings.Repeat("a", 65<<10) + `"}`}, "too_large"},
		{"10 MB message", badObserver, []string{strings.Repeat("x", 10<<20)}, ""}, // closed by the read limit
		{"observer asks for a capture", badObserver, []string{`{"v":1,"type":"capture"}`}, "forbidden"},
		{"candidates, never answers", badClerk, append([]string{join}, repeat(`{"v":1,"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}}`, 19)...), "timeout"},
		{"never answers", badClerk, []string{join}, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := rawSocket(t, tt.url)
			for _, m := range tt.send {
				if err := ws.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
					break // the server may already have closed
				}
			}
			got := closedWith(t, ws, 10*time.Second)
			if tt.want != "" && got != tt.want {
				t.Errorf("closed with %q, want %q", got, tt.want)
			}
		})
	}
	// More than 20 messages a second, and more than 50 candidates.
	t.Run("rate", func(t *testing.T) {
		ws := rawSocket(t, badClerk)
		_ = ws.WriteMessage(websocket.TextMessage, []byte(join))
		for i := 0; i < 30; i++ {
			_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"candidate","candidate":{"candidate":""}}`))
		}
		if got := closedWith(t, ws, 10*time.Second); got != "rate_limited" {
			t.Errorf("flood closed with %q, want rate_limited", got)
		}
	})
	t.Run("candidates", func(t *testing.T) {
		ws := rawSocket(t, badClerk)
		_ = ws.WriteMessage(websocket.TextMessage, []byte(join))
		for i := 0; i < 60; i++ {
			if i%15 == 14 {
				time.Sleep(800 * time.Millisecond)
			}
			_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"candidate","candidate":{"candidate":""}}`))
		}
		if got := closedWith(t, ws, 10*time.Second); got != "too_many" {
			t.Errorf("closed with %q, want too_many", got)
		}
	})
	// The good call never noticed.
	before := clerk.videoIn.Load()
	waitCount(t, "clerk video packets after the bad peers", clerk.videoIn.Load, before+20, 10*time.Second)
	select {
	case <-clerk.closed:
		t.Fatal("the good clerk's socket closed")
	default:
	}
}

func repeat(m string, n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, m)
	}
	return out
}

// TestRevokedInvite: revoking the invite ends the customer's part of the
// call within 5 seconds; the clerk stays.
func TestRevokedInvite(t *testing.T) {
	f := newFixture(t, signaling.Config{RevokePoll: time.Second})
	src := source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 160), ogg: testenv.OpusTone(t, 2)}
	id, cu, cl, _ := f.newCall(0)
	customer, clerk := dial(t, cu, nil, src), dial(t, cl, nil, src)
	defer clerk.close("")
	defer customer.close("")
	waitCount(t, "clerk video packets", clerk.videoIn.Load, 20, 20*time.Second)
	if err := f.svc.RevokeInvites(context.Background(), f.clerk, id); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	select {
	case <-customer.closed:
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("customer removed after %s, want <= 5s", d)
		}
	case <-time.After(6 * time.Second):
		t.Fatal("the customer's call did not end within 5 s of the revocation")
	}
	select {
	case <-clerk.closed:
		t.Fatal("the clerk's socket closed too")
	case <-time.After(200 * time.Millisecond):
	}
}

// TestSocketsPerAddress: 500 signaling sockets from one address: past the
// per-address cap the hub answers 429 without upgrading, quickly; the
// sockets it took stay, a call from the same address keeps flowing, and
// once sockets close the address may open new ones.
func TestSocketsPerAddress(t *testing.T) {
	const limit = 30
	f := newFixture(t, signaling.Config{HandshakeTimeout: time.Minute, MaxSocketsPerAddr: limit})
	src := source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 160)}
	_, cu, cl, _ := f.newCall(0)
	customer, clerk := dial(t, cu, nil, src), dial(t, cl, nil, source{})
	defer customer.close("")
	defer clerk.close("")
	waitCount(t, "clerk video packets", clerk.videoIn.Load, 20, 20*time.Second)

	_, _, _, observer := f.newCall(1)
	start := time.Now()
	var open []*websocket.Conn
	defer func() {
		for _, ws := range open {
			ws.Close()
		}
	}()
	refused := 0
	for i := range 500 {
		ws, resp, err := websocket.DefaultDialer.Dial(observer, nil)
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		switch {
		case err == nil:
			open = append(open, ws)
		case resp != nil && resp.StatusCode == http.StatusTooManyRequests:
			refused++
		default:
			t.Fatalf("socket %d: %v (status %v)", i+1, err, resp)
		}
	}
	took := time.Since(start)
	// The good call's two sockets count too: they come from 127.0.0.1.
	if len(open) != limit-2 || refused != 500-(limit-2) {
		t.Fatalf("500 sockets from one address: %d opened, %d refused with 429; want %d and %d", len(open), refused, limit-2, 500-(limit-2))
	}
	if took > 20*time.Second {
		t.Errorf("500 sockets took %s, want the refusals quick (< 20s)", took)
	}
	t.Logf("500 sockets in %s: %d opened, %d refused with 429", took.Round(time.Millisecond), len(open), refused)
	before := clerk.videoIn.Load()
	waitCount(t, "clerk video packets during the flood", clerk.videoIn.Load, before+20, 10*time.Second)

	// Closing sockets frees their places.
	for _, ws := range open[:5] {
		ws.Close()
	}
	open = open[5:]
	deadline := time.Now().Add(10 * time.Second)
	for {
		ws, resp, err := websocket.DefaultDialer.Dial(observer, nil)
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if err == nil {
			open = append(open, ws)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no socket accepted 10 s after 5 closed: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
