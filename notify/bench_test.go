package notify_test

import (
	"context"
	"fmt"
	"testing"

	"remoteidv/models"
)

// BenchmarkDispatch: turning 100 letter uploads (2 clerks each, mail and
// webhook) into notifications on SQLite, against reading the same events
// (the baseline: the dispatcher's own read of the log).
func BenchmarkDispatch(b *testing.B) {
	const events = 100
	ctx := context.Background()
	b.Run("read-baseline", func(b *testing.B) {
		e := newEnv(b, "sqlite")
		for i := range events {
			e.event(b, "customer:cus_1", "letter.uploaded", "case_1", map[string]string{"letter": fmt.Sprint("let_", i)})
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := e.db.Transact(ctx, func(tx models.Tx) error {
				_, err := tx.AuditEvents(ctx, models.AuditFilter{Limit: events})
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("dispatch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			e := newEnv(b, "sqlite")
			for i := range events {
				e.event(b, "customer:cus_1", "letter.uploaded", "case_1", map[string]string{"letter": fmt.Sprint("let_", i)})
			}
			b.StartTimer()
			n, err := e.svc.Dispatch(ctx)
			if err != nil || n != 2*events {
				b.Fatalf("Dispatch = %d, %v", n, err)
			}
		}
	})
}
