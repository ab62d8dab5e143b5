package main

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/storage/sqlite"
	"remoteidv/verify"
)

// TestNodes: a node registers, heartbeats with its running calls, is
// listed live by idv nodes, refuses a second process under its ID, and
// is listed gone after a graceful stop.
func TestNodes(t *testing.T) {
	dir := t.TempDir()
	if out, err := runCLI(t, dir, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "idv.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	calls := []models.LiveCall{{CaseID: "case_a"}, {CaseID: "case_b"}, {CaseID: "case_c"}}
	const beatEvery = 50 * time.Millisecond
	newBeat := func(url string) *nodeBeat {
		b, err := newNodeBeat(store, "idv-1", url, beatEvery, func() []models.LiveCall { return calls }, time.Now, rand.Reader, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ctx := context.Background()

	// A process killed right after it registered: its restart waits until
	// the dead row has gone quiet, then takes the ID over.
	if err := newBeat("http://10.0.0.1:8080").Register(ctx); err != nil {
		t.Fatalf("Register: %v", err)
	}
	beat := newBeat("http://10.0.0.1:8080")
	start := time.Now()
	if err := beat.Register(ctx); err != nil {
		t.Fatalf("Register after a crash: %v", err)
	}
	if waited := time.Since(start); waited < 2*beatEvery {
		t.Errorf("Register after a crash took over after %v, want it to wait until the dead row was quiet (%v)", waited, deadAfter(beatEvery))
	}
	// With the cluster secret, each heartbeat renews the leases of the
	// calls running here (serve.go).
	cn := &verify.CallNodes{Store: store, Self: "idv-1", DeadAfter: deadAfter(beatEvery), TTL: time.Minute, Now: time.Now}
	beat.onBeat = func(ctx context.Context) error {
		return cn.Renew(ctx, liveCases([]models.LiveCall{{CaseID: "case_live"}}))
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- beat.Run(runCtx) }()

	// A second live process under the ID is refused.
	twin := newBeat("http://10.0.0.9:8080")
	if err := twin.Register(ctx); models.ErrorCodeOf(err) != models.ECONFLICT {
		t.Fatalf("Register(a second process under a live node ID) = %v, want ECONFLICT", err)
	}
	time.Sleep(50 * time.Millisecond)
	out, err := runCLI(t, dir, "nodes")
	if err != nil || !strings.Contains(out, "idv-1") || !strings.Contains(out, "live") || !strings.Contains(out, "http://10.0.0.1:8080") {
		t.Errorf("idv nodes (running) = %v\n%s\nwant idv-1 live at http://10.0.0.1:8080", err, out)
	}
	if !strings.Contains(out, "call:case_live") || !strings.Contains(out, "idv-1/call") {
		t.Errorf("idv nodes (running) =\n%s\nwant the call lease call:case_live of idv-1/call renewed by the heartbeat", out)
	}
	if f := strings.Fields(out); len(f) < 12 || f[11] != "3" {
		t.Errorf("idv nodes: calls column %v, want 3", f)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	out, err = runCLI(t, dir, "nodes")
	if err != nil || !strings.Contains(out, "gone") {
		t.Errorf("idv nodes (stopped) = %v\n%s\nwant idv-1 gone", err, out)
	}
	// Stopped gracefully, the ID is free at once for the next start.
	if err := twin.Register(ctx); err != nil {
		t.Errorf("Register after the node went: %v", err)
	}
}

func TestNodeIdentity(t *testing.T) {
	host := mustHostname(t)
	addr := "127.0.0.1:8443"
	for _, tc := range []struct {
		cfg             NodeConfig
		tls             bool
		wantID, wantURL string
	}{
		{NodeConfig{}, false, host + "-8443", "http://" + host + ":8443"},
		{NodeConfig{}, true, host + "-8443", "https://" + host + ":8443"},
		{NodeConfig{ID: "idv-a"}, false, "idv-a", "http://" + host + ":8443"},
		{NodeConfig{ID: "idv-a", URL: "http://10.1.1.1:9000"}, false, "idv-a", "http://10.1.1.1:9000"},
	} {
		cfg := Config{Node: tc.cfg}
		if tc.tls {
			cfg.TLSCert = "c.pem"
		}
		id, u, err := nodeIdentity(cfg, addr)
		if err != nil || string(id) != tc.wantID || u != tc.wantURL {
			t.Errorf("nodeIdentity(%+v, tls %v) = %q, %q, %v, want %q, %q", tc.cfg, tc.tls, id, u, err, tc.wantID, tc.wantURL)
		}
	}
}

func mustHostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
