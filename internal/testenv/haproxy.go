package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// HAProxy is Debian's haproxy run by a test in front of some backends:
// HTTP mode, round-robin with no stickiness (each request goes to the
// next backend that is up, whatever connection or cookie it came with),
// WebSockets carried as tunnels, health checks on /healthz, listening on
// a free loopback port. The test reads which backend served each request
// (Served) and takes backends in and out (Drain, Ready) through
// HAProxy's runtime API.
type HAProxy struct {
	// URL is the front end's URL (http://127.0.0.1:port).
	URL string
	// Config is the configuration haproxy runs with.
	Config string

	tb       testing.TB
	backends []string // URL per server; server i is named "n<i>"
	admin    string   // the runtime API's Unix socket
	log      *SyncBuffer
	done     chan struct{}
}

// HAProxyBinEnv names the environment variable that can point at the
// haproxy binary; without it haproxy is looked up in PATH and /usr/sbin.
const HAProxyBinEnv = "IDV_HAPROXY_BIN"

// haproxyConfig is the configuration: what a deployment would use (see
// the README's "Growing past one machine"), with the health checks'
// interval shortened so that a test does not wait for them.
const haproxyConfig = `global
	log stdout format raw local0
	stats socket %[1]s mode 600 level admin
	maxconn 2000

defaults
	mode http
	log global
	# One line per request as soon as its response starts (a WebSocket's
	# 101 too, not when the tunnel closes): the server that served it.
	option logasap
	log-format "idv-lb server=%%s status=%%ST request=%%{+Q}r"
	option redispatch
	retries 2
	timeout connect 2s
	timeout client 60s
	timeout server 60s
	timeout http-request 10s
	# A WebSocket (the call's signaling) idles between messages.
	timeout tunnel 1h

frontend idv
	bind %[2]s
	option forwardfor
	default_backend nodes

backend nodes
	balance roundrobin
	option httpchk GET /healthz
	http-check expect status 200
	# Which node answered (for people reading responses; tests use the log).
	http-response set-header X-Idv-Backend %%s
	default-server check inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions
%[3]s`

// HAProxyBinary returns the path of the haproxy binary, or an error telling
// how to get it.
func HAProxyBinary() (string, error) {
	if p := os.Getenv(HAProxyBinEnv); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/haproxy"); err == nil {
		return "/usr/sbin/haproxy", nil
	}
	return "", fmt.Errorf("haproxy not found (apt-get install haproxy, as scripts/setup.sh test-deps does, or set %s)", HAProxyBinEnv)
}

// StartHAProxy starts haproxy on listen (127.0.0.1:port; empty: a free
// port) in front of backends (base URLs, http://host:port) and waits
// until it answers and every backend passed its health check. It stops at
// cleanup; its log is printed if the test failed. (A cluster's nodes are
// told the public URL before the load balancer in front of them starts:
// pick the address first.)
func StartHAProxy(tb testing.TB, listen string, backends ...string) *HAProxy {
	tb.Helper()
	bin, err := HAProxyBinary()
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	if listen == "" {
		listen = "127.0.0.1:" + freePort(tb)
	}
	var servers strings.Builder
	for i, b := range backends {
		u, err := url.Parse(b)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			tb.Fatalf("haproxy backend %q: want http://host:port", b)
		}
		fmt.Fprintf(&servers, "\tserver n%d %s\n", i, u.Host)
	}
	h := &HAProxy{URL: "http://" + listen, tb: tb, backends: backends, admin: filepath.Join(dir, "admin.sock"),
		log: &SyncBuffer{}, done: make(chan struct{})}
	h.Config = fmt.Sprintf(haproxyConfig, h.admin, listen, servers.String())
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(h.Config), 0o600); err != nil {
		tb.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-q", "-f", cfg).CombinedOutput(); err != nil {
		tb.Fatalf("haproxy -c: %v\n%s\n%s", err, out, h.Config)
	}
	cmd := exec.Command(bin, "-db", "-f", cfg)
	cmd.Stdout, cmd.Stderr = h.log, h.log
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start haproxy: %v", err)
	}
	go func() {
		_ = cmd.Wait()
		close(h.done)
	}()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-h.done
		if tb.Failed() {
			tb.Logf("haproxy log:\n%s", h.log.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-h.done:
			tb.Fatalf("haproxy exited at start:\n%s", h.log.String())
		default:
		}
		up := 0
		for i := range backends {
			if st, err := h.state(i); err == nil && st == "UP" {
				up++
			}
		}
		if up == len(backends) {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("haproxy: %d of %d backends up after 20s:\n%s", up, len(backends), h.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r, err := http.Get(h.URL + "/healthz"); err != nil {
		tb.Fatalf("haproxy does not answer on %s: %v", h.URL, err)
	} else {
		r.Body.Close()
	}
	return h
}

// command runs one command of the runtime API and returns its answer.
func (h *HAProxy) command(cmd string) (string, error) {
	c, err := net.DialTimeout("unix", h.admin, 2*time.Second)
	if err != nil {
		return "", fmt.Errorf("haproxy runtime API: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintln(c, cmd); err != nil {
		return "", fmt.Errorf("haproxy runtime API %q: %w", cmd, err)
	}
	var b strings.Builder
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	return b.String(), sc.Err()
}

func (h *HAProxy) index(backend string) int {
	for i, b := range h.backends {
		if b == backend {
			return i
		}
	}
	h.tb.Fatalf("haproxy: %s is not a backend of %v", backend, h.backends)
	return -1
}

// state returns server i's status as HAProxy's statistics show it: UP,
// DOWN, MAINT, DRAIN, or a transition ("UP 1/2").
func (h *HAProxy) state(i int) (string, error) {
	out, err := h.command("show stat")
	if err != nil {
		return "", err
	}
	// CSV: pxname,svname,...; the status is the 18th field.
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, ",")
		if len(f) > 17 && f[0] == "nodes" && f[1] == fmt.Sprintf("n%d", i) {
			return f[17], nil
		}
	}
	return "", fmt.Errorf("haproxy: no statistics for server n%d:\n%s", i, out)
}

// State returns backend's status (UP, DOWN, MAINT, DRAIN, ...).
func (h *HAProxy) State(backend string) string {
	h.tb.Helper()
	st, err := h.state(h.index(backend))
	if err != nil {
		h.tb.Fatal(err)
	}
	return st
}

// WaitState waits up to d for backend's status to be want.
func (h *HAProxy) WaitState(backend, want string, d time.Duration) {
	h.tb.Helper()
	deadline := time.Now().Add(d)
	for {
		st, err := h.state(h.index(backend))
		if err == nil && st == want {
			return
		}
		if time.Now().After(deadline) {
			h.tb.Fatalf("haproxy: backend %s is %q (%v) after %v, want %s", backend, st, err, d, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Drain stops sending new requests to backend (requests already under
// way, WebSockets included, go on), as an operator does before an
// upgrade. It may be called from any goroutine.
func (h *HAProxy) Drain(backend string) error { return h.setState(backend, "drain") }

// Ready puts backend back into the rotation.
func (h *HAProxy) Ready(backend string) error { return h.setState(backend, "ready") }

func (h *HAProxy) setState(backend, state string) error {
	i := slices.Index(h.backends, backend)
	if i < 0 {
		return fmt.Errorf("haproxy: %s is not a backend of %v", backend, h.backends)
	}
	cmd := fmt.Sprintf("set server nodes/n%d state %s", i, state)
	out, err := h.command(cmd)
	if err == nil && strings.TrimSpace(out) != "" {
		err = errors.New(strings.TrimSpace(out))
	}
	if err != nil {
		return fmt.Errorf("haproxy %s: %w", cmd, err)
	}
	return nil
}

// Served is one request as HAProxy logged it.
type Served struct {
	// Backend is the URL of the backend that served it; empty when
	// HAProxy answered itself (no backend up).
	Backend string
	Status  int
	Method  string
	Path    string // with the query
}

// Served returns the requests served so far, in the order their
// responses started.
func (h *HAProxy) Served() []Served {
	var out []Served
	for _, line := range strings.Split(h.log.String(), "\n") {
		i := strings.Index(line, "idv-lb server=")
		if i < 0 {
			continue
		}
		var srv, req string
		var s Served
		f := strings.SplitN(line[i+len("idv-lb "):], " ", 3)
		if len(f) < 3 {
			continue
		}
		srv = strings.TrimPrefix(f[0], "server=")
		_, _ = fmt.Sscanf(strings.TrimPrefix(f[1], "status="), "%d", &s.Status)
		req = strings.Trim(strings.TrimPrefix(f[2], "request="), `"`)
		if rf := strings.Fields(req); len(rf) >= 2 {
			s.Method, s.Path = rf[0], rf[1]
		}
		var n int
		if _, err := fmt.Sscanf(srv, "n%d", &n); err == nil && n >= 0 && n < len(h.backends) {
			s.Backend = h.backends[n]
		}
		out = append(out, s)
	}
	return out
}

// Log returns haproxy's output so far: the request lines and its notices
// (a server going DOWN or UP).
func (h *HAProxy) Log() string { return h.log.String() }
