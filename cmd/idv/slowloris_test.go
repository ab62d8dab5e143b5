package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// dribble sends head at once, then msg one byte every gap until the
// server closes the connection (or msg ends), and reads what the server
// answered. It returns how long the connection lived, how much of msg was
// sent and the answer.
func dribble(t *testing.T, addr, head, msg string, gap time.Duration) (time.Duration, int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	answer := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(conn) // until the server closes
		answer <- string(b)
	}()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	sent := 0
	for ; sent < len(msg); sent++ {
		if _, err := conn.Write([]byte{msg[sent]}); err != nil {
			break
		}
		select {
		case a := <-answer:
			return time.Since(start), sent + 1, a
		case <-time.After(gap):
		}
	}
	select {
	case a := <-answer:
		return time.Since(start), sent, a
	case <-time.After(time.Minute):
		t.Fatalf("the server kept a dribbling connection open for a minute")
		return 0, 0, ""
	}
}

// TestSlowLoris: against idv serve as it runs (its http.Server, timeouts
// set to 2 s for headers and 4 s for the whole request), a client sending
// its headers, or its body, one byte at a time is cut off once the
// timeout passes, and the server goes on serving others.
func TestSlowLoris(t *testing.T) {
	const headerTimeout, readTimeout = 2 * time.Second, 4 * time.Second
	idv := newE2EIDV(t, map[string]string{"IDV_READ_HEADER_TIMEOUT": headerTimeout.String(), "IDV_READ_TIMEOUT": readTimeout.String()})
	idv.serve()
	addr := strings.TrimPrefix(idv.origin, "http://")
	body := `{"username":"clerk","password":"` + strings.Repeat("x", 500) + `"}`
	tests := []struct {
		name      string
		head, msg string // sent at once, then dribbled
		timeout   time.Duration
	}{
		{"headers", "", "GET /healthz HTTP/1.1\r\nHost: " + addr + "\r\nX-Slow: " + strings.Repeat("a", 500) + "\r\n\r\n", headerTimeout},
		{"body of a login", fmt.Sprintf("POST /api/auth/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, len(body)), body, readTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lived, sent, answer := dribble(t, addr, tt.head, tt.msg, 100*time.Millisecond)
			status, _, _ := strings.Cut(answer, "\r\n")
			t.Logf("cut after %s, %d of %d bytes sent; answer %q", lived.Round(time.Millisecond), sent, len(tt.msg), status)
			if sent >= len(tt.msg) {
				t.Fatalf("the whole request (%d bytes over %s) went through", len(tt.msg), lived)
			}
			if lived < tt.timeout-200*time.Millisecond || lived > tt.timeout+2*time.Second {
				t.Errorf("connection lived %s, want it cut at the %s timeout", lived, tt.timeout)
			}
			if strings.HasPrefix(status, "HTTP/1.1 2") {
				t.Errorf("the slow request was served: %q", status)
			}
		})
	}
	// Others are served all along.
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(conn)
	if err != nil && !errors.Is(err, io.EOF) || !strings.HasPrefix(string(b), "HTTP/1.1 200") {
		t.Errorf("GET /healthz after the slow clients: %q %v", b, err)
	}
}
