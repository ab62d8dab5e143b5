package postgres_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/storage/postgres"
	"remoteidv/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) models.Store {
		db, err := postgres.Open(context.Background(), testenv.PostgresURL(t), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// Two processes starting at once both migrate; the advisory lock makes one
// wait for the other.
func TestConcurrentMigrate(t *testing.T) {
	url := testenv.PostgresURL(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			db, err := postgres.Open(context.Background(), url, slog.New(slog.DiscardHandler))
			if err == nil {
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d: %v", i, err)
		}
	}
}
