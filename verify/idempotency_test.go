package verify_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"remoteidv/internal/testenv"
	"remoteidv/storage/postgres"
	"remoteidv/verify/verifytest"
)

// TestIdempotentDatabaseAway: the database goes away while a decision
// runs (a restart, as in cmd/idv TestCluster) and the request fails with
// 503; the key must not stay "still being processed" for the stale
// window: the answer is stored once the database is back, so the
// client's retry with the same key runs again at once.
func TestIdempotentDatabaseAway(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, pg.URL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := verifytest.New(t, verifytest.Options{Store: db}).Service
	var back sync.WaitGroup
	r1, err := svc.Idempotent(ctx, "stf_s1 POST /decision k1", []byte(`{"a":1}`), func() (int, []byte) {
		pg.Stop() // the decision's transaction fails with it
		back.Go(func() {
			time.Sleep(time.Second)
			pg.Start()
		})
		return http.StatusServiceUnavailable, []byte(`{"error":"database unavailable"}`)
	})
	back.Wait()
	if err != nil || r1.Status != http.StatusServiceUnavailable {
		t.Fatalf("Idempotent(database away) = %+v, %v; want the 503", r1, err)
	}
	calls := 0
	r2, err := svc.Idempotent(ctx, "stf_s1 POST /decision k1", []byte(`{"a":1}`), func() (int, []byte) { calls++; return 200, []byte(`{"ok":true}`) })
	if err != nil || r2.Status != 200 || r2.Replay || calls != 1 {
		t.Fatalf("Idempotent(retry once the database is back) = %+v, %v, %d runs; want a fresh run answering 200", r2, err, calls)
	}
}
