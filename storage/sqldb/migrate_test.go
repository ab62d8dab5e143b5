package sqldb_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	_ "modernc.org/sqlite"

	"remoteidv/storage/sqldb"
	"remoteidv/storage/sqlite"
)

func files(names ...string) fstest.MapFS {
	fs := fstest.MapFS{}
	for _, n := range names {
		table := "t" + strings.TrimSuffix(strings.SplitN(n, "_", 2)[0], ".sql")
		fs[n] = &fstest.MapFile{Data: []byte("CREATE TABLE " + table + " (x INTEGER)")}
	}
	return fs
}

func TestMigrate(t *testing.T) {
	tests := []struct {
		name   string
		steps  []fstest.MapFS // applied one after another to one database
		want   []int          // migrations applied by each step
		errSub string         // error of the last step
	}{
		{"in order", []fstest.MapFS{files("001_a.sql"), files("001_a.sql", "002_b.sql")}, []int{1, 1}, ""},
		{"gaps allowed", []fstest.MapFS{files("001_a.sql", "004_d.sql")}, []int{2}, ""},
		{"nothing new", []fstest.MapFS{files("001_a.sql"), files("001_a.sql")}, []int{1, 0}, ""},
		{"slotted in below", []fstest.MapFS{files("001_a.sql", "004_d.sql"), files("001_a.sql", "003_c.sql", "004_d.sql")}, []int{2, 0}, "cannot be slotted in"},
		{"database newer", []fstest.MapFS{files("001_a.sql", "002_b.sql"), files("001_a.sql")}, []int{2, 0}, "newer than this binary"},
		{"duplicate number", []fstest.MapFS{files("001_a.sql", "001_b.sql")}, []int{0}, "unique"},
		{"bad name", []fstest.MapFS{{"1_a.sql": &fstest.MapFile{Data: []byte("SELECT 1")}}}, []int{0}, "NNN_name.sql"},
		{"empty", []fstest.MapFS{{}}, []int{0}, "none found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sdb, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer sdb.Close()
			db := sqldb.New(sdb, sqlite.Dialect(), slog.New(slog.DiscardHandler))
			for i, fs := range tt.steps {
				n, err := db.Migrate(context.Background(), fs)
				last := i == len(tt.steps)-1
				if n != tt.want[i] {
					t.Fatalf("step %d: Migrate applied %d, want %d (err %v)", i, n, tt.want[i], err)
				}
				switch {
				case last && tt.errSub != "":
					if err == nil || !strings.Contains(err.Error(), tt.errSub) {
						t.Fatalf("step %d: Migrate = %v, want an error containing %q", i, err, tt.errSub)
					}
				case err != nil:
					t.Fatalf("step %d: Migrate = %v", i, err)
				}
			}
		})
	}
}
