package postgres_test

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"testing"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/storage/postgres"
	"remoteidv/storage/sqldb"
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

// A database from before the Merkle log (migration 009) gets it backfilled.
func TestLegacyMerkleLog(t *testing.T) {
	sdb, err := sql.Open("pgx", testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	storagetest.RunLegacyLog(t, sqldb.New(sdb, postgres.Dialect(), slog.New(slog.DiscardHandler)), postgres.Migrations())
}

// A database from before migration 010 loses the bodies of delivered mail.
func TestLegacyOutbox(t *testing.T) {
	sdb, err := sql.Open("pgx", testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	storagetest.RunLegacyOutbox(t, sqldb.New(sdb, postgres.Dialect(), slog.New(slog.DiscardHandler)), postgres.Migrations())
}

// A database from before token scopes (migration 015) keeps its tokens.
func TestLegacyTokens(t *testing.T) {
	sdb, err := sql.Open("pgx", testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	storagetest.RunLegacyTokens(t, sqldb.New(sdb, postgres.Dialect(), slog.New(slog.DiscardHandler)), postgres.Migrations())
}

// A database from before services (migration 023) keeps its cases.
func TestLegacyCases(t *testing.T) {
	sdb, err := sql.Open("pgx", testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	storagetest.RunLegacyCases(t, sqldb.New(sdb, postgres.Dialect(), slog.New(slog.DiscardHandler)), postgres.Migrations())
}

func TestSealedDescriptors(t *testing.T) {
	db, err := postgres.Open(context.Background(), testenv.PostgresURL(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	storagetest.RunSealedDescriptors(t, db)
}

// A database from before OIDC sign-in (migration 032) keeps its staff and
// takes members of source oidc.
func TestLegacyStaff(t *testing.T) {
	sdb, err := sql.Open("pgx", testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	storagetest.RunLegacyStaff(t, sqldb.New(sdb, postgres.Dialect(), slog.New(slog.DiscardHandler)), postgres.Migrations())
}

// TestFirstTransactionAfterRestart: a restart of PostgreSQL cuts every
// pooled connection; the next transactions, each on one of those dead
// connections, still run (on fresh ones) instead of failing once each.
// When the server is down they fail clearly, as unavailable.
func TestFirstTransactionAfterRestart(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, pg.URL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Five connections in the pool: five transactions at once.
	read := func(tx models.Tx) error { _, err := tx.Nodes(ctx); return err }
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 5 {
		wg.Go(func() {
			<-start
			if err := db.Transact(ctx, func(tx models.Tx) error {
				if err := read(tx); err != nil {
					return err
				}
				_, err := db.SQL().ExecContext(ctx, "SELECT pg_sleep(0.2)")
				return err
			}); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	pg.Restart()
	for i := range 6 {
		if err := db.Transact(ctx, read); err != nil {
			t.Fatalf("transaction %d after the restart: %v", i+1, err)
		}
	}
	pg.Stop()
	err = db.Transact(ctx, read)
	if models.ErrorCodeOf(err) != models.EUNAVAILABLE {
		t.Errorf("transaction with the server down = %v, want unavailable", err)
	}
	pg.Start()
}
