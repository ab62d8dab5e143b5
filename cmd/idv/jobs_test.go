package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// jobFunc makes a job of a function (tests only).
type jobFunc func(ctx context.Context) error

func (f jobFunc) Run(ctx context.Context) error { return f(ctx) }

// events records what happened, in order.
type events struct {
	mu  sync.Mutex
	got []string
}

func (e *events) add(s string) { e.mu.Lock(); e.got = append(e.got, s); e.mu.Unlock() }
func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.got...)
}

func TestEvery(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if err := (every{name: "x", log: log, do: func(context.Context) error { return nil }}).Run(context.Background()); err == nil {
		t.Error("every{interval 0}.Run = nil, want an error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls := make(chan struct{}, 10)
	rounds := 0
	j := every{name: "flaky round", interval: 10 * time.Millisecond, atStart: true, log: log, do: func(context.Context) error {
		rounds++
		select {
		case calls <- struct{}{}:
		default:
		}
		if rounds == 1 {
			return errors.New("boom")
		}
		return nil
	}}
	done := make(chan error, 1)
	go func() { done <- j.Run(ctx) }()
	for range 3 { // the failed first round does not stop it
		select {
		case <-calls:
		case <-time.After(5 * time.Second):
			t.Fatal("every did not go on after a failed round")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("every.Run after cancel = %v, want nil", err)
	}
	if !strings.Contains(logs.String(), `msg="flaky round" err=boom`) {
		t.Errorf("log = %q, want the failed round logged under the job's name", logs.String())
	}

	// Without atStart the first round waits for the interval.
	var n int
	(every{name: "late", interval: time.Hour, log: log, do: func(context.Context) error { n++; return nil }}).Run(cancelled())
	if n != 0 {
		t.Errorf("every{atStart false} ran %d rounds before its interval, want 0", n)
	}
}

func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// startServer serves a handler that blocks until release is closed.
func startServer(t *testing.T, ev *events, release chan struct{}) (*http.Server, func() error, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev.add("request started")
		<-release
		ev.add("request done")
	})}
	url := "http://" + ln.Addr().String()
	go func() {
		resp, err := http.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	t.Cleanup(func() { hs.Close() })
	serve := func() error { return hs.Serve(ln) }
	return hs, serve, url
}

// At shutdown the requests drain first, then drained runs, and only then
// do the jobs see their context end.
func TestServeAndRunShutdownOrder(t *testing.T) {
	ev := &events{}
	release := make(chan struct{})
	hs, serve, _ := startServer(t, ev, release)
	ctx, cancel := context.WithCancel(context.Background())
	stopper := func(name string) job {
		return jobFunc(func(jctx context.Context) error {
			<-jctx.Done()
			ev.add(name + " stopped")
			return nil
		})
	}
	done := make(chan error, 1)
	go func() {
		done <- serveAndRun(ctx, slog.New(slog.DiscardHandler), hs, serve, func() { ev.add("drained") }, []job{stopper("a"), stopper("b")})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for len(ev.list()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the handler")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	time.Sleep(50 * time.Millisecond) // the jobs must still run while the request drains
	if got := ev.list(); len(got) != 1 {
		t.Fatalf("events while a request drains = %v, want only the request started", got)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("serveAndRun = %v, want nil", err)
	}
	got := ev.list()
	if len(got) != 5 || got[1] != "request done" || got[2] != "drained" {
		t.Errorf("events = %v, want request started, request done, drained, then both jobs stopped", got)
	}
}

// A job that fails stops the server and the other jobs; its error is
// serveAndRun's.
func TestServeAndRunJobFails(t *testing.T) {
	ev := &events{}
	release := make(chan struct{})
	close(release)
	hs, serve, url := startServer(t, ev, release)
	boom := errors.New("boom")
	other := jobFunc(func(ctx context.Context) error {
		<-ctx.Done()
		ev.add("other stopped")
		return nil
	})
	failing := jobFunc(func(ctx context.Context) error { return boom })
	done := make(chan error, 1)
	go func() {
		done <- serveAndRun(context.Background(), slog.New(slog.DiscardHandler), hs, serve, func() { ev.add("drained") }, []job{other, failing})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Errorf("serveAndRun = %v, want the job's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serveAndRun did not stop after a job failed")
	}
	got := ev.list()
	if len(got) < 2 || got[len(got)-2] != "drained" || got[len(got)-1] != "other stopped" {
		t.Errorf("events = %v, want drained, then the other job stopped", got)
	}
	if _, err := http.Get(url); err == nil {
		t.Error("the server still answers after a job failed")
	}
}
