// Package postgres is models.Store on PostgreSQL (pgx through database/sql),
// selected with IDV_DATABASE_URL=postgres://...
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

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

// Dialect is PostgreSQL's flavour of the shared SQL.
func Dialect() sqldb.Dialect {
	return sqldb.Dialect{
		Name:           "postgres",
		Numbered:       true,
		ForUpdate:      " FOR UPDATE",
		SkipLocked:     " FOR UPDATE SKIP LOCKED",
		IsUnique:       func(err error) bool { return pgCode(err) == "23505" },
		IsUnavailable:  isUnavailable,
		IsDeadConn:     isDeadConn,
		LockMigrations: "SELECT pg_advisory_xact_lock(7311)",
		JSONText:       func(column, field string) string { return "(" + column + "::jsonb ->> '" + field + "')" },
	}
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// isDeadConn reports whether err is an existing connection found cut: the
// server's goodbye (57P01 admin shutdown, 57P02 crash shutdown) or the
// socket gone. A new connection that failed (the server is away) is not.
func isDeadConn(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return false
	}
	if c := pgCode(err); c == "57P01" || c == "57P02" {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

func isUnavailable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// Class 08: connection exception; 57: operator intervention (shutdown);
	// 40001/40P01: serialization failure and deadlock, safe to retry.
	if c := pgCode(err); len(c) == 5 && (c[:2] == "08" || c[:2] == "57" || c == "40001" || c == "40P01") {
		return true
	}
	return pgconn.SafeToRetry(err)
}

// Open connects to url and migrates the database.
func Open(ctx context.Context, url string, log *slog.Logger) (*sqldb.DB, error) {
	sdb, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	sdb.SetMaxOpenConns(20)
	db := sqldb.New(sdb, Dialect(), log)
	if err := db.Ping(ctx); err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if _, err := db.Migrate(ctx, Migrations()); err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return db, nil
}
