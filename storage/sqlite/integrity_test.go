package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"remoteidv/models"
	"remoteidv/storage/sqlite"
)

// integrity runs IntegrityCheck on the database file at path.
func integrity(t *testing.T, path string) ([]string, error) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var problems []string
	err = db.Transact(ctx, func(tx models.Tx) (err error) { problems, err = tx.IntegrityCheck(ctx); return })
	return problems, err
}

// TestIntegrityCheck: a sound file has no complaints; a row whose foreign
// key points nowhere, and an index page damaged on disk, are reported.
func TestIntegrityCheck(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "idv.db")
	db, err := sqlite.Open(ctx, path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO ledger_entries (account_no, booked_at, description, amount, currency) VALUES ('6222', 1, 'x', 1, 'CNY')`); err == nil {
		t.Fatal("a ledger entry of a missing account was accepted with foreign keys on")
	}
	db.Close()
	if problems, err := integrity(t, path); err != nil || len(problems) > 0 {
		t.Fatalf("IntegrityCheck(sound file) = %q, %v; want none", problems, err)
	}

	// A row written with foreign keys off refers to a missing account.
	off, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(0)")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 400 {
		if _, err := off.ExecContext(ctx, `INSERT INTO ledger_entries (account_no, booked_at, description, amount, currency) VALUES ('6222', ?, ?, ?, 'CNY')`,
			i, fmt.Sprintf("entry %d %s", i, strings.Repeat("x", 40)), i); err != nil {
			t.Fatal(err)
		}
	}
	var root, pageSize int64
	if err := off.QueryRowContext(ctx, `SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ledger_entries'`).Scan(&root); err != nil {
		t.Fatal(err)
	}
	if err := off.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	if _, err := off.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	off.Close()
	problems, err := integrity(t, path)
	if err != nil || len(problems) == 0 || !strings.Contains(problems[0], "foreign key: ledger_entries row") {
		t.Fatalf("IntegrityCheck(dangling foreign key) = %q, %v; want the ledger rows named", problems, err)
	}

	// Damage the unique index's root page on disk (its cells, not its header).
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := []byte(strings.Repeat("\xa5", 256))
	if _, err := f.WriteAt(junk, (root-1)*pageSize+pageSize-512); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// The damage may also fail the transaction: the complaints count.
	problems, err = integrity(t, path)
	if len(problems) == 0 || !strings.Contains(strings.Join(problems, "\n"), "sqlite_autoindex_ledger_entries_1") {
		t.Fatalf("IntegrityCheck(damaged index page) = %q, %v; want integrity_check's complaints naming the index", problems, err)
	}
}
