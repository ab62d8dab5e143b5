package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/internal/testenv"
)

const e2ePassword = "correct horse battery staple"

// e2eIDV runs idv commands in the test process on a fresh data folder
// (SQLite, local evidence, the installed face models) whose demo staff
// all have e2ePassword. Long-running commands (serve) stop when the test
// ends; their output is shown if the test failed.
type e2eIDV struct {
	t      *testing.T
	ctx    context.Context
	dir    string
	origin string // where serve listens
	env    map[string]string
	log    testenv.SyncBuffer
	done   chan error
	n      int // commands running
}

// newE2EIDV prepares the folder and the environment; extra settings are
// added to (or replace) the defaults.
func newE2EIDV(t *testing.T, extra map[string]string) *e2eIDV {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "demo"), 0o750); err != nil {
		t.Fatal(err)
	}
	var pw strings.Builder
	for _, s := range demoStaff {
		fmt.Fprintf(&pw, "%s %s\n", s.user, e2ePassword)
	}
	if err := os.WriteFile(filepath.Join(dir, "demo", "passwords.txt"), []byte(pw.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := freeAddr(t)
	models := extra["IDV_MODELS_DIR"] // tests without face checks need no models
	if models == "" {
		models = modelsDir(t)
	}
	ctx, stop := context.WithCancel(context.Background())
	e := &e2eIDV{t: t, ctx: ctx, dir: dir, origin: "http://" + listen, done: make(chan error, 8), env: map[string]string{
		"IDV_DATABASE_URL": "sqlite:" + filepath.Join(dir, "idv.db"), "IDV_SIGNING_KEY": filepath.Join(dir, "key.pem"),
		"IDV_DATA_DIR": dir, "IDV_EVIDENCE_DIR": filepath.Join(dir, "evidence"), "IDV_MODELS_DIR": models,
		"IDV_LISTEN": listen, "IDV_PUBLIC_URL": "http://" + listen, "IDV_LOG_LEVEL": "warn", "IDV_FACE_RECOGNIZERS": "2",
	}}
	if extra["IDV_DEMO"] != "true" { // demo mode makes its own, as make run does
		for k, v := range statementSigningEnv(t, filepath.Join(dir, "statement-pki")) {
			e.env[k] = v
		}
	}
	for k, v := range extra {
		e.env[k] = v
	}
	t.Cleanup(func() {
		stop()
		for range e.n {
			if err := <-e.done; err != nil {
				t.Errorf("idv: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("idv log:\n%s", e.log.String())
		}
	})
	return e
}

// cli runs one command to its end and returns its output.
func (e *e2eIDV) cli(args ...string) (string, error) {
	var out bytes.Buffer
	err := run(e.ctx, &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &out, getenv: func(k string) string { return e.env[k] }}, args)
	return out.String(), err
}

// start runs a long-running command until the test ends.
func (e *e2eIDV) start(args ...string) {
	e.n++
	go func() {
		e.done <- run(e.ctx, &cliEnv{stdin: strings.NewReader(""), stdout: &e.log, stderr: &e.log, getenv: func(k string) string { return e.env[k] }}, args)
	}()
}

// serve starts idv serve and waits until it answers.
func (e *e2eIDV) serve() {
	e.t.Helper()
	e.start("serve")
	waitHTTP(e.t, e.origin+"/healthz", 60*time.Second)
}

// e2eLogin logs user in on the staff login page and checks the landing page.
func e2eLogin(t *testing.T, tab *testenv.Tab, origin, user, landing string) {
	t.Helper()
	e2eLoginWith(t, tab, origin, user, e2ePassword, landing)
}

// e2eLoginWith is e2eLogin with the member's password (a directory
// member's, which is not e2ePassword).
func e2eLoginWith(t *testing.T, tab *testenv.Tab, origin, user, password, landing string) {
	t.Helper()
	tab.Do(t, "log in as "+user, 20*time.Second,
		chromedp.Navigate(origin+"/login?lang=en"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#username", user),
		chromedp.SendKeys("#password", password),
		chromedp.Click("#login-submit"),
		chromedp.WaitVisible("#logout"),
	)
	if loc := testenv.Eval[string](t, tab, "location.pathname"); loc != landing {
		t.Fatalf("%s landed on %s, want %s", user, loc, landing)
	}
}

// freeAddr returns a free 127.0.0.1 port.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitHTTP waits until url answers.
func waitHTTP(t *testing.T, url string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if r, err := http.Get(url); err == nil {
			r.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never answered", url)
}
