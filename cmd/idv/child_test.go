package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/storage/sqlite"
)

// TestMain lets the test binary play idv: started with IDV_TEST_CHILD=1
// it runs main with its arguments. The child-process tests (crashes,
// SIGTERM, a full disk) start `idv serve` that way, so that signals, exit
// codes and kill -9 are real and no separate build is needed.
func TestMain(m *testing.M) {
	if os.Getenv("IDV_TEST_CHILD") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child is idv running as a child process.
type child struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	log   *testenv.SyncBuffer
	done  chan struct{}
	state *os.ProcessState
}

// spawn starts `idv args...` as a child process with e's environment,
// extra added (an empty value removes a variable). It is killed, if still
// running, when the test ends; its output is logged if the test failed.
func (e *e2eIDV) spawn(name string, extra map[string]string, args ...string) *child {
	e.t.Helper()
	env := map[string]string{}
	for k, v := range e.env {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	vars := []string{"IDV_TEST_CHILD=1", "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}
	for k, v := range env {
		if v != "" {
			vars = append(vars, k+"="+v)
		}
	}
	sort.Strings(vars)
	c := &child{t: e.t, name: name, cmd: exec.Command(os.Args[0], args...), log: &testenv.SyncBuffer{}, done: make(chan struct{})}
	c.cmd.Env = vars
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		e.t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = c.cmd.Wait()
		c.state = c.cmd.ProcessState
		close(c.done)
	}()
	e.t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		if e.t.Failed() {
			e.t.Logf("%s (pid %d, %v) output:\n%s", name, c.cmd.Process.Pid, c.state, c.log.String())
		}
	})
	return c
}

// serving waits until the child answers on origin, failing at once if it
// exits first.
func (c *child) serving(origin string, d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			c.t.Fatalf("%s exited (%v) before serving:\n%s", c.name, c.state, c.log.String())
		default:
		}
		if r, err := http.Get(origin + "/healthz"); err == nil {
			r.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("%s never answered on %s", c.name, origin)
}

// exit waits up to d for the child to end and returns how.
func (c *child) exit(d time.Duration) *os.ProcessState {
	c.t.Helper()
	select {
	case <-c.done:
		return c.state
	case <-time.After(d):
		c.t.Fatalf("%s still running after %v:\n%s", c.name, d, c.log.String())
		return nil
	}
}

// killedBy reports whether the child ended by signal sig.
func killedBy(st *os.ProcessState, sig syscall.Signal) bool {
	ws, ok := st.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// staffAPI is a member of staff using the JSON API with a session cookie.
type staffAPI struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

// loginAPI logs user in with e2ePassword.
func loginAPI(t *testing.T, base, user string) *staffAPI {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &staffAPI{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 2 * time.Minute}}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if code, b, err := s.call("POST", "/api/auth/login", map[string]string{"username": user, "password": e2ePassword}, nil); err != nil || code != 200 || json.Unmarshal(b, &me) != nil {
		t.Fatalf("login %s: %d %s %v", user, code, b, err)
	}
	s.csrf = me.CSRF
	return s
}

// call sends a request (body as JSON unless it is a []byte) and returns
// the status and body; err is a transport error (the server died).
func (s *staffAPI) call(method, path string, body any, header map[string]string) (int, []byte, error) {
	var r io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		r, ct = bytes.NewReader(b), header["Content-Type"]
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.base+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	if r != nil {
		req.Header.Set("Content-Type", ct)
	}
	if s.csrf != "" && method != "GET" {
		req.Header.Set("X-CSRF-Token", s.csrf)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// must sends a request that must answer want.
func (s *staffAPI) must(want int, method, path string, body any, header map[string]string) []byte {
	s.t.Helper()
	code, b, err := s.call(method, path, body, header)
	if err != nil || code != want {
		s.t.Fatalf("%s %s = %d %s (%v), want %d", method, path, code, b, err, want)
	}
	return b
}

// stepUp re-enters the password (approvals need it).
func (s *staffAPI) stepUp() {
	s.t.Helper()
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal(s.must(200, "POST", "/api/auth/step-up", map[string]string{"password": e2ePassword}, nil), &me); err != nil {
		s.t.Fatal(err)
	}
	s.csrf = me.CSRF
}

// withStore opens the data folder's database in the test (the server may
// be running: SQLite in WAL mode takes both) and runs fn in a transaction.
func (e *e2eIDV) withStore(fn func(ctx context.Context, tx models.Tx) error) {
	e.t.Helper()
	ctx := context.Background()
	db := e.openStore()
	defer db.Close()
	if err := db.Transact(ctx, func(tx models.Tx) error { return fn(ctx, tx) }); err != nil {
		e.t.Fatal(err)
	}
}

// openStore opens the data folder's database in the test; the caller
// closes it.
func (e *e2eIDV) openStore() models.Store {
	e.t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(e.dir, "idv.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		e.t.Fatal(err)
	}
	return db
}

// caseState reads a case's state from the database.
func (e *e2eIDV) caseState(id models.CaseID) models.CaseState {
	e.t.Helper()
	var st models.CaseState
	e.withStore(func(ctx context.Context, tx models.Tx) error {
		c, err := tx.CaseByID(ctx, id)
		if err == nil {
			st = c.State
		}
		return err
	})
	return st
}

// waitState waits up to d for the case to reach state.
func (e *e2eIDV) waitState(id models.CaseID, state models.CaseState, d time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for {
		got := e.caseState(id)
		if got == state {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("case %s is %s after %v, want %s", id, got, d, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// check runs `idv check` and fails the test unless every invariant holds
// and SQLite's integrity check says ok.
func (e *e2eIDV) check(when string) {
	e.t.Helper()
	out, err := e.cli("check")
	if err != nil || !strings.Contains(out, "PRAGMA integrity_check: ok") || strings.Contains(out, "BROKEN") {
		e.t.Fatalf("idv check %s = %v:\n%s", when, err, out)
	}
}

// idempotencyKey returns a fresh Idempotency-Key header.
func idempotencyKey(n int) map[string]string {
	return map[string]string{"Idempotency-Key": fmt.Sprintf("test-%d-%d", time.Now().UnixNano(), n)}
}
