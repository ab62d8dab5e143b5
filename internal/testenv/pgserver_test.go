package testenv

import (
	"context"
	"database/sql"
	"testing"
)

// TestPostgresRestart: a private server keeps its data across Restart;
// a session open across the restart is cut, a new one works.
func TestPostgresRestart(t *testing.T) {
	p := Postgres(t)
	ctx := context.Background()
	db, err := sql.Open("pgx", p.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.Restart()
	if err := conn.PingContext(ctx); err == nil {
		t.Error("a connection open across Restart still answers, want it cut")
	}
	conn.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT n FROM kept").Scan(&n); err != nil || n != 7 {
		t.Errorf("SELECT n FROM kept after Restart = %d, %v, want 7", n, err)
	}
}
