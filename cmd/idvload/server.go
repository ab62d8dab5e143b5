package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// server is an `idv serve` this program started, on its own PostgreSQL
// schema and data folder.
type server struct {
	base    string
	pid     int
	dataDir string
	cmd     *exec.Cmd
	done    chan error
	logf    *os.File
	cleanup []func()
}

// startServer makes a schema on the PostgreSQL server at pgURL, loads the
// demo data into it with `idv demo load` and starts `idv serve` on a free
// port of 127.0.0.1.
func startServer(ctx context.Context, idv, pgURL string) (s *server, err error) {
	s = &server{}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	if s.dataDir, err = os.MkdirTemp("", "idvload-"); err != nil {
		return nil, err
	}
	s.cleanup = append(s.cleanup, func() { os.RemoveAll(s.dataDir) })
	dbURL, dropSchema, err := newSchema(ctx, pgURL)
	if err != nil {
		return nil, err
	}
	s.cleanup = append(s.cleanup, dropSchema)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s.base = "http://" + addr
	env := append(os.Environ(),
		"IDV_DATABASE_URL="+dbURL,
		"IDV_DATA_DIR="+s.dataDir,
		"IDV_EVIDENCE_DIR="+filepath.Join(s.dataDir, "evidence"),
		"IDV_SIGNING_KEY="+filepath.Join(s.dataDir, "keys", "audit.pem"),
		"IDV_LISTEN="+addr,
		"IDV_LOG_LEVEL=warn",
		"IDV_TRUSTED_PROXIES=127.0.0.1", // the load generator stands in for the bank's proxy (the spray's X-Forwarded-For)
		"IDV_REQUIRE_MODELS=false",
	)
	signing, err := statementSigning(filepath.Join(s.dataDir, "keys", "statement"), time.Now())
	if err != nil {
		return nil, err
	}
	env = append(env, signing...)
	if s.logf, err = os.Create(filepath.Join(s.dataDir, "idv.log")); err != nil {
		return nil, err
	}
	load := exec.CommandContext(ctx, idv, "demo", "load")
	load.Env, load.Stdout, load.Stderr = env, s.logf, s.logf
	if err := load.Run(); err != nil {
		return nil, fmt.Errorf("idv demo load: %w\n%s", err, s.logTail())
	}
	s.cmd = exec.Command(idv, "serve")
	s.cmd.Env, s.cmd.Stdout, s.cmd.Stderr = env, s.logf, s.logf
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start idv serve: %w", err)
	}
	s.pid = s.cmd.Process.Pid
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			s.cmd = nil
			return nil, fmt.Errorf("idv serve exited during start-up: %v\n%s", err, s.logTail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("idv serve not ready at %s after 2m\n%s", s.base, s.logTail())
		}
	}
}

func (s *server) stop() {
	if s.cmd != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
		s.cmd = nil
	}
	if s.logf != nil {
		s.logf.Close()
	}
	for i := len(s.cleanup) - 1; i >= 0; i-- {
		s.cleanup[i]()
	}
}

func (s *server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dataDir, "idv.log"))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// newSchema creates a schema for this run (as internal/testenv does for
// tests) and returns the URL that uses it and a function dropping it.
func newSchema(ctx context.Context, base string) (string, func(), error) {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("PostgreSQL is required at %s: %w", redact(base), err)
	}
	schema := "load_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			fmt.Fprintf(os.Stderr, "idvload: drop schema %s: %v\n", schema, err)
		}
		admin.Close()
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// readPasswords reads the demo's passwords.txt ("user password" lines).
func readPasswords(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if user, pw, ok := strings.Cut(strings.TrimSpace(sc.Text()), " "); ok {
			out[user] = pw
		}
	}
	return out, sc.Err()
}

// demoAccounts are the demo's account numbers and time zones (cmd/idv
// demo.go); each gets a case.
var demoAccounts = []struct{ no, tz string }{
	{"6222020200112233", "America/New_York"},
	{"6222020200445566", "America/Los_Angeles"},
	{"6222020200778899", "Europe/London"},
	{"6222020200990011", "Australia/Sydney"},
	{"6222020200223344", "America/Toronto"},
}

// prepare logs the clerk in, opens a case per demo account with its slot
// now and issues an invite for each: the fixture of the mix.
func prepare(ctx context.Context, base string, passwords map[string]string) (*fixture, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: time.Minute}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if err := callJSON(ctx, c, "", "POST", base+"/api/auth/login", map[string]string{"username": "clerk", "password": passwords["clerk"]}, &me); err != nil {
		return nil, fmt.Errorf("clerk login: %w", err)
	}
	f := &fixture{base: base, passwords: passwords}
	u, _ := url.Parse(base)
	var parts []string
	for _, ck := range jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	f.cookies = strings.Join(parts, "; ")
	for _, a := range demoAccounts {
		zone, err := time.LoadLocation(a.tz)
		if err != nil {
			return nil, err
		}
		// A slot tomorrow, then moved to now: invites work from 15 minutes
		// before the slot.
		var cs struct {
			ID string `json:"id"`
		}
		tomorrow := time.Now().In(zone).AddDate(0, 0, 1)
		body := map[string]any{"account_no": a.no, "purpose": "transaction_statement", "period_from": "2025-01-01", "period_to": "2025-12-31",
			"slot": map[string]string{"local": tomorrow.Format("2006-01-02") + "T09:00", "time_zone": a.tz}}
		if err := callJSON(ctx, c, me.CSRF, "POST", base+"/api/cases", body, &cs); err != nil {
			return nil, fmt.Errorf("open a case for %s: %w", a.no, err)
		}
		now := time.Now().In(zone).Add(2 * time.Minute)
		if err := callJSON(ctx, c, me.CSRF, "POST", base+"/api/cases/"+cs.ID+"/reschedule", map[string]any{"slot": map[string]string{"local": now.Format("2006-01-02T15:04"), "time_zone": a.tz}}, nil); err != nil {
			return nil, fmt.Errorf("reschedule %s: %w", cs.ID, err)
		}
		var inv struct {
			Link string `json:"link"`
		}
		if err := callJSON(ctx, c, me.CSRF, "POST", base+"/api/cases/"+cs.ID+"/invite", nil, &inv); err != nil {
			return nil, fmt.Errorf("invite for %s: %w", cs.ID, err)
		}
		lu, err := url.Parse(inv.Link)
		if err != nil || !strings.HasPrefix(lu.Path, "/join/") {
			return nil, fmt.Errorf("invite for %s: link %q is not /join/<token>", cs.ID, inv.Link)
		}
		f.cases = append(f.cases, cs.ID)
		f.invites = append(f.invites, lu.Path)
	}
	return f, nil
}

func callJSON(ctx context.Context, c *http.Client, csrf, method, u string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, u, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// vmHWM returns the peak resident memory of process pid in bytes, from
// /proc/<pid>/status.
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/" + strconv.Itoa(pid) + "/status")
}
