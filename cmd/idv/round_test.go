package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/storage/postgres"
	"remoteidv/storage/sqlite"
)

// TestOneNodePerRound: four nodes tick a whole-round job (the directory
// check) at once: one does the round, the others skip it until the
// interval has passed; a node that died mid-round (its lease never given
// back) holds the round only until its lease runs out.
func TestOneNodePerRound(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			var store models.Store
			var err error
			if kind == "sqlite" {
				store, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "idv.db"), slog.New(slog.DiscardHandler))
			} else {
				store, err = postgres.Open(ctx, testenv.PostgresURL(t), slog.New(slog.DiscardHandler))
			}
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			var clock atomic.Int64
			t0 := time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)
			now := func() time.Time { return t0.Add(time.Duration(clock.Load())) }
			var rounds atomic.Int32
			const interval = 5 * time.Minute
			nodes := make([]func(context.Context) error, 4)
			for i := range nodes {
				nodes[i] = oneNodePerRound(store, "directory-sync", fmt.Sprintf("node-%d/directory", i), interval, now, func(context.Context) error {
					rounds.Add(1)
					return nil
				})
			}
			tick := func() {
				t.Helper()
				var wg sync.WaitGroup
				for i, do := range nodes {
					wg.Go(func() {
						if err := do(ctx); err != nil {
							t.Errorf("node %d: %v", i, err)
						}
					})
				}
				wg.Wait()
			}
			for k := range 5 {
				clock.Store(int64(time.Duration(k) * interval))
				tick()
				if got := rounds.Load(); got != int32(k+1) {
					t.Fatalf("after %d ticks of four nodes: %d rounds, want %d", k+1, got, k+1)
				}
			}

			// A node takes the round and dies in it: nobody runs the round
			// until its lease runs out, then one node does.
			clock.Store(int64(5*interval + time.Second))
			err = store.Transact(ctx, func(tx models.Tx) error {
				_, err := tx.ClaimJobLease(ctx, "round:directory-sync", "dead-node/directory", now(), now().Add(interval-interval/10))
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			clock.Store(int64(5*interval + 2*time.Minute))
			tick()
			if got := rounds.Load(); got != 5 {
				t.Fatalf("while a dead node holds the round: %d rounds, want 5", got)
			}
			clock.Store(int64(6*interval + time.Second))
			tick()
			if got := rounds.Load(); got != 6 {
				t.Fatalf("after the dead node's lease ran out: %d rounds, want 6", got)
			}
		})
	}
}
