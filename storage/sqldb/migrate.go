package sqldb

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"time"
)

var migrationName = regexp.MustCompile(`^(\d{3})_[a-z0-9_]+\.sql$`)

// Migration is one numbered, forward-only schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads NNN_name.sql files from fsys in order. Numbers must
// be unique; gaps are allowed (features developed side by side reserve
// numbers), but Migrate never applies a number below one already applied.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %q is not named NNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("read migrations: none found")
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range out {
		if m.Version < 1 || (i > 0 && m.Version == out[i-1].Version) {
			return nil, fmt.Errorf("migration %s: numbers must be unique and start at 001", m.Name)
		}
	}
	return out, nil
}

// Migrate applies the migrations the database has not seen yet, each in its
// own transaction, and returns how many it applied. A database that is
// newer than the binary is refused.
func (db *DB) Migrate(ctx context.Context, fsys fs.FS) (int, error) {
	ms, err := LoadMigrations(fsys)
	if err != nil {
		return 0, err
	}
	applied := 0
	for _, m := range ms {
		done, err := db.applyMigration(ctx, m)
		if err != nil {
			return applied, err
		}
		if done {
			applied++
			db.log.InfoContext(ctx, "migration applied", "database", db.dialect.Name, "migration", m.Name)
		}
	}
	var newest int
	if err := db.db.QueryRowContext(ctx, `SELECT COALESCE(max(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
		return applied, fmt.Errorf("migrate: read version: %w", err)
	}
	if last := ms[len(ms)-1].Version; newest > last {
		return applied, fmt.Errorf("migrate: database schema version %d is newer than this binary's %d; upgrade idv", newest, last)
	}
	return applied, nil
}

const createSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`

// applyMigration runs m unless it ran before. The table of applied
// migrations is created inside the locked transaction, so that processes
// starting together do not race to create it.
func (db *DB) applyMigration(ctx context.Context, m Migration) (bool, error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate %s: begin: %w", m.Name, err)
	}
	defer func() { _ = tx.Rollback() }()
	if db.dialect.LockMigrations != "" {
		if _, err := tx.ExecContext(ctx, db.dialect.LockMigrations); err != nil {
			return false, fmt.Errorf("migrate %s: lock: %w", m.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, createSchemaMigrations); err != nil {
		return false, fmt.Errorf("migrate %s: create schema_migrations: %w", m.Name, err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, db.q(`SELECT count(*) FROM schema_migrations WHERE version = ?`), m.Version).Scan(&n); err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.Name, err)
	}
	if n > 0 {
		return false, nil
	}
	var newest int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(max(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.Name, err)
	}
	if newest > m.Version {
		return false, fmt.Errorf("migrate %s: the database already has the newer migration %03d; a migration cannot be slotted in below it", m.Name, newest)
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`), m.Version, m.Name, us(time.Now())); err != nil {
		return false, fmt.Errorf("migrate %s: record: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate %s: commit: %w", m.Name, err)
	}
	return true, nil
}
