package storagetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/models"
)

// testAuthLimits: a counter is created at its first read, written back,
// listed when due and forgotten when idle; concurrent increments through
// AuthLimitForUpdate lose none (the row lock serializes them).
func testAuthLimits(t *testing.T, s models.Store) {
	ctx := context.Background()
	var l *models.AuthLimit
	tx(t, s, func(tx models.Tx) (err error) { l, err = tx.AuthLimitForUpdate(ctx, "account", "h1"); return })
	if diff := cmp.Diff(&models.AuthLimit{Scope: "account", Subject: "h1"}, l); diff != "" {
		t.Fatalf("new counter (-want +got):\n%s", diff)
	}
	want := &models.AuthLimit{Scope: "account", Subject: "h1", Failures: 3, WindowStart: t0, LastAt: t0.Add(time.Second),
		LockedUntil: t0.Add(time.Hour), Unseen: 2, UnseenLockedAt: t0.Add(time.Minute)}
	tx(t, s, func(tx models.Tx) error { return tx.PutAuthLimit(ctx, want) })
	tx(t, s, func(tx models.Tx) (err error) { l, err = tx.AuthLimitForUpdate(ctx, "account", "h1"); return })
	if diff := cmp.Diff(want, l); diff != "" {
		t.Fatalf("counter read back (-want +got):\n%s", diff)
	}
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.PutAuthLimit(ctx, &models.AuthLimit{Scope: "bogus", Subject: "x"}) })
	wantCode(t, "PutAuthLimit(missing)", err, models.ENOTFOUND)

	// Concurrent increments.
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Transact(ctx, func(tx models.Tx) error {
				l, err := tx.AuthLimitForUpdate(ctx, "addr", "192.0.2.1")
				if err != nil {
					return err
				}
				l.Failures++
				l.LastAt = t0
				return tx.PutAuthLimit(ctx, l)
			})
			if err != nil {
				t.Errorf("increment: %v", err)
			}
		}()
	}
	wg.Wait()
	tx(t, s, func(tx models.Tx) (err error) { l, err = tx.AuthLimitForUpdate(ctx, "addr", "192.0.2.1"); return })
	if l.Failures != 20 {
		t.Fatalf("20 concurrent increments = %d", l.Failures)
	}

	// Due audit windows, oldest first.
	for i, src := range []string{"198.51.100.2", "198.51.100.1", "198.51.100.3"} {
		tx(t, s, func(tx models.Tx) error {
			l, err := tx.AuthLimitForUpdate(ctx, "audit:auth.token_rejected", src)
			if err != nil {
				return err
			}
			l.WindowStart, l.LastAt, l.Failures = t0.Add(time.Duration(i)*time.Minute), t0.Add(time.Duration(i)*time.Minute), i%2 // only the second has events counted
			return tx.PutAuthLimit(ctx, l)
		})
	}
	var due []*models.AuthLimit
	tx(t, s, func(tx models.Tx) (err error) {
		due, err = tx.AuthLimitsDue(ctx, "audit:", t0.Add(time.Hour), 10)
		return
	})
	if len(due) != 1 || due[0].Subject != "198.51.100.1" {
		t.Fatalf("AuthLimitsDue = %v, want only 198.51.100.1 (counted, window started)", due)
	}

	// Idle counters go, unless locked past the cut, or holding what an owner must be told.
	var n int64
	tx(t, s, func(tx models.Tx) (err error) { n, err = tx.DeleteIdleAuthLimits(ctx, t0.Add(30*time.Minute)); return })
	// addr (idle) and the audit rows without a count go; h1 (locked until t0+1h, unseen) and the counted audit row stay.
	if n != 3 {
		t.Fatalf("DeleteIdleAuthLimits = %d, want 3", n)
	}
	tx(t, s, func(tx models.Tx) (err error) {
		due, err = tx.AuthLimitsDue(ctx, "audit:", t0.Add(time.Hour), 10)
		return
	})
	if len(due) != 1 {
		t.Fatalf("the counted audit row was deleted")
	}
}
