package access_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"remoteidv/access"
	"remoteidv/audit"
	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/storage/postgres"
	"remoteidv/storage/sqlite"
)

// twoNodes is two access services, each with its own connection to one
// fresh database of kind, as two nodes have, with one name key.
func twoNodes(t *testing.T, kind string, clk *clock) [2]*access.Service {
	t.Helper()
	ctx := context.Background()
	var open func() (models.Store, error)
	switch kind {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "idv.db")
		open = func() (models.Store, error) { return sqlite.Open(ctx, path, slog.New(slog.DiscardHandler)) }
	case "postgres":
		url := testenv.PostgresURL(t)
		open = func() (models.Store, error) { return postgres.Open(ctx, url, slog.New(slog.DiscardHandler)) }
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	var nodes [2]*access.Service
	for i := range nodes {
		db, err := open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		nodes[i] = &access.Service{Store: db, Chain: audit.Chain{Now: clk.Now}, Now: clk.Now, Rand: rand.Reader, Log: slog.New(slog.DiscardHandler),
			Idle: 15 * time.Minute, Absolute: 12 * time.Hour, Limits: access.Limits{ClientMax: 20, ClientWindow: time.Minute}, NameKey: key}
	}
	return nodes
}

// TestFlushSuppressedOnTwoNodes: both nodes flush the suppressed security
// events at once: each source's count is written once.
func TestFlushSuppressedOnTwoNodes(t *testing.T) {
	for _, kind := range dbKinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			clk := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
			nodes := twoNodes(t, kind, clk)
			for _, addr := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
				for i := range 3 { // the first audited, two counted
					if _, _, err := nodes[i%2].Login(ctx, "nobody-"+addr, "wrong", "", addr); err == nil {
						t.Fatal("Login(unknown name) = nil, want an error")
					}
				}
			}
			clk.t = clk.t.Add(6 * time.Minute) // past the audit window (5m)
			var written [4]int
			var wg sync.WaitGroup
			for i := range written {
				wg.Go(func() {
					n, err := nodes[i%2].FlushSuppressed(ctx)
					if err != nil {
						t.Errorf("FlushSuppressed: %v", err)
					}
					written[i] = n
				})
			}
			wg.Wait()
			if total := written[0] + written[1] + written[2] + written[3]; total != 3 {
				t.Errorf("4 flushes at once on 2 nodes wrote %v summaries, want 3 in all", written)
			}
			var evs []*models.AuditEvent
			if err := nodes[0].Store.Transact(ctx, func(tx models.Tx) (err error) { evs, err = tx.AuditEvents(ctx, models.AuditFilter{}); return }); err != nil {
				t.Fatal(err)
			}
			if n := countActions(evs, "auth.events_suppressed"); n != 3 {
				t.Errorf("%d auth.events_suppressed events, want 3 (one per source)", n)
			}
		})
	}
}

// TestClientLimitsShared: two nodes (two access services, each with its
// own connection to one database) count an address's bad links and wrong
// codes together: 10 failures on each block the address on both; the two
// kinds count apart; the window's end frees it; another address is not
// touched.
func TestClientLimitsShared(t *testing.T) {
	for _, kind := range dbKinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			clk := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
			nodes := twoNodes(t, kind, clk)
			blocked := func(n int, kind, addr string) bool {
				t.Helper()
				b, err := nodes[n].ClientBlocked(ctx, kind, addr)
				if err != nil {
					t.Fatalf("ClientBlocked: %v", err)
				}
				return b
			}
			const addr = "203.0.113.7"
			for i := range 20 {
				if blocked(i%2, access.ClientBadLink, addr) {
					t.Fatalf("blocked after %d failures, want 20 allowed", i)
				}
				if err := nodes[i%2].ClientFailed(ctx, access.ClientBadLink, addr); err != nil {
					t.Fatal(err)
				}
			}
			if !blocked(0, access.ClientBadLink, addr) || !blocked(1, access.ClientBadLink, addr) {
				t.Fatal("10 bad links on each node: not blocked on both, want the 20 counted together")
			}
			if blocked(0, access.ClientBadCode, addr) || blocked(1, access.ClientBadLink, "203.0.113.8") {
				t.Fatal("wrong codes or another address blocked by bad links, want them counted apart")
			}
			clk.t = clk.t.Add(time.Minute)
			if blocked(1, access.ClientBadLink, addr) {
				t.Fatal("still blocked after the window, want free")
			}
			if err := nodes[1].ClientFailed(ctx, access.ClientBadLink, addr); err != nil || blocked(0, access.ClientBadLink, addr) {
				t.Fatalf("one failure in a new window: %v, blocked; want counted from 1", err)
			}
		})
	}
}
