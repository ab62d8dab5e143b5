package access_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"remoteidv/access"
	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/storage/postgres"
	"remoteidv/storage/sqlite"
)

// TestClientLimitsShared: two nodes (two access services, each with its
// own connection to one database) count an address's bad links and wrong
// codes together: 10 failures on each block the address on both; the two
// kinds count apart; the window's end frees it; another address is not
// touched.
func TestClientLimitsShared(t *testing.T) {
	for _, kind := range dbKinds {
		t.Run(kind, func(t *testing.T) {
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
			clk := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
			var nodes [2]*access.Service
			for i := range nodes {
				db, err := open()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				nodes[i] = &access.Service{Store: db, Now: clk.Now, Rand: rand.Reader, Log: slog.New(slog.DiscardHandler),
					Limits: access.Limits{ClientMax: 20, ClientWindow: time.Minute}}
			}
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
