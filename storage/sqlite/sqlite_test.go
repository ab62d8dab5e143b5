package sqlite_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"

	"remoteidv/models"
	"remoteidv/storage/sqldb"
	"remoteidv/storage/sqlite"
	"remoteidv/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) models.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "idv.db"), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestMigrateTwice(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "idv.db")
	log := slog.New(slog.DiscardHandler)
	db, err := sqlite.Open(ctx, path, log)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	db.Close()
	db, err = sqlite.Open(ctx, path, log)
	if err != nil {
		t.Fatalf("Open(again): %v", err)
	}
	defer db.Close()
	n, err := db.Migrate(ctx, sqlite.Migrations())
	if err != nil || n != 0 {
		t.Fatalf("Migrate(migrated db) = %d, %v; want 0, nil", n, err)
	}
	for _, p := range []struct{ pragma, want string }{{"journal_mode", "wal"}, {"foreign_keys", "1"}, {"busy_timeout", "10000"}} {
		var got string
		if err := db.SQL().QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(&got); err != nil || got != p.want {
			t.Errorf("PRAGMA %s = %q (%v), want %q", p.pragma, got, err, p.want)
		}
	}
}

// A database from before the Merkle log (migration 009) gets it backfilled.
func TestLegacyMerkleLog(t *testing.T) {
	sdb, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	storagetest.RunLegacyLog(t, sqldb.New(sdb, sqlite.Dialect(), slog.New(slog.DiscardHandler)), sqlite.Migrations())
}

// A database from before migration 010 loses the bodies of delivered mail.
func TestLegacyOutbox(t *testing.T) {
	sdb, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "legacy.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	storagetest.RunLegacyOutbox(t, sqldb.New(sdb, sqlite.Dialect(), slog.New(slog.DiscardHandler)), sqlite.Migrations())
}

// A database from before token scopes (migration 015) keeps its tokens.
func TestLegacyTokens(t *testing.T) {
	sdb, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "legacy.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	storagetest.RunLegacyTokens(t, sqldb.New(sdb, sqlite.Dialect(), slog.New(slog.DiscardHandler)), sqlite.Migrations())
}

func TestSealedDescriptors(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "idv.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	storagetest.RunSealedDescriptors(t, db)
}

// A database from before services (migration 023) keeps its cases and
// what refers to them across the rebuild of the cases table.
func TestLegacyCases(t *testing.T) {
	sdb, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "legacy.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	storagetest.RunLegacyCases(t, sqldb.New(sdb, sqlite.Dialect(), slog.New(slog.DiscardHandler)), sqlite.Migrations())
}

// A database from before OIDC sign-in (migration 032) keeps its staff,
// their roles, sessions and tokens across the rebuild of the staff table.
func TestLegacyStaff(t *testing.T) {
	sdb, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "legacy.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	storagetest.RunLegacyStaff(t, sqldb.New(sdb, sqlite.Dialect(), slog.New(slog.DiscardHandler)), sqlite.Migrations())
}
