// Package sqlite is the embedded default database: models.Store on SQLite
// (modernc.org/sqlite, no cgo) with WAL, a busy timeout, foreign keys on and
// write transactions that start IMMEDIATE, so writers queue instead of
// failing halfway.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"remoteidv/storage/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded schema files.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	return sub
}

// Dialect is SQLite's flavour of the shared SQL.
func Dialect() sqldb.Dialect {
	return sqldb.Dialect{
		Name:          "sqlite",
		IsUnique:      isUnique,
		IsUnavailable: isBusy,
		JSONText:      func(column, field string) string { return "json_extract(" + column + ", '$." + field + "')" },
		// "ok" is integrity_check's answer for a sound file; every
		// foreign key pointing nowhere is a complaint too.
		Integrity: `SELECT integrity_check FROM pragma_integrity_check WHERE integrity_check <> 'ok'
UNION ALL SELECT 'foreign key: ' || "table" || ' row ' || coalesce(rowid, '?') || ' refers to a missing ' || parent FROM pragma_foreign_key_check`,
	}
}

func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func isBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// Open opens (creating if needed) the database file at path and migrates it.
func Open(ctx context.Context, path string, log *slog.Logger) (*sqldb.DB, error) {
	if path != ":memory:" && !strings.HasPrefix(path, "file:") {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(FULL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + strings.TrimPrefix(path, "file:") + "?" + q.Encode()
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	sdb.SetMaxOpenConns(8)
	db := sqldb.New(sdb, Dialect(), log)
	if err := db.Ping(ctx); err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if _, err := db.Migrate(ctx, Migrations()); err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}
