package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
)

func TestLedgerImport(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.csv")
	if err := writeDemoLedger(path); err != nil {
		t.Fatal(err)
	}
	// The ledger's accounts must exist.
	env := map[string]string{"IDV_DATABASE_URL": "sqlite:" + filepath.Join(dir, "idv.db"), "IDV_SIGNING_KEY": filepath.Join(dir, "key.pem"), "IDV_LOG_LEVEL": "warn"}
	cfg, _, err := loadConfig("test", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := openApp(ctx, cfg, newLogger(cfg, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	err = a.store.Transact(ctx, func(tx models.Tx) error {
		for _, d := range demoAccounts {
			if err := tx.UpsertAccount(ctx, &models.Account{No: models.AccountNo(d.no), HolderName: d.name, NationalID: d.nationalID, Email: d.email,
				Phone: d.phone, TimeZone: d.tz, Language: d.lang, ImportedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, dir, "ledger", "import", "--csv", path)
	if err != nil || !strings.Contains(out, "new transactions") || strings.Contains(out, " 0 new") {
		t.Fatalf("ledger import = %v\n%s", err, out)
	}
	out, err = runCLI(t, dir, "ledger", "import", "--csv", path)
	if err != nil || !strings.Contains(out, "ledger: 0 new transactions") {
		t.Fatalf("ledger import again = %v\n%s, want 0 new", err, out)
	}
	// --through records how far the ledger is complete; the latest
	// coverage counts, and none may lie in the future.
	if out, err := runCLI(t, dir, "ledger", "import", "--csv", path, "--through", "2026-01-01"); err != nil || !strings.Contains(out, "complete up to 2026-01-02T00:00:00+08:00") {
		t.Fatalf("ledger import --through 2026-01-01 = %v\n%s", err, out)
	}
	if out, err := runCLI(t, dir, "ledger", "import", "--csv", path, "--through", "2999-01-01"); err == nil || !strings.Contains(err.Error(), "in the future") {
		t.Fatalf("ledger import --through 2999-01-01 = %v\n%s, want refused", err, out)
	}
	a, err = openApp(ctx, cfg, newLogger(cfg, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	err = a.store.Transact(ctx, func(tx models.Tx) error {
		got, err := tx.LedgerCoveredThrough(ctx)
		if err == nil && time.Since(got) > time.Hour {
			t.Errorf("LedgerCoveredThrough after imports without --through = %v, want about now", got)
		}
		return err
	})
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.csv")
	_ = os.WriteFile(bad, []byte("account_no,booked_at,description,amount,currency\n1,yesterday,x,1.00,CNY\n"), 0o600)
	if out, err := runCLI(t, dir, "ledger", "import", "--csv", bad); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("ledger import of a bad file = %v\n%s, want an error naming line 2", err, out)
	}
}

func TestParseThrough(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time // zero: refused
	}{
		{"", now},
		{"2025-12-31", time.Date(2025, 12, 31, 16, 0, 0, 0, time.UTC)},
		{"2026-03-04T05:00:00Z", time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)},
		{"2026-03-04", time.Time{}}, // the end of today is still to come
		{"2026-03-04T06:00:00Z", time.Time{}},
		{"31/12/2025", time.Time{}},
		{"yesterday", time.Time{}},
	}
	for _, tt := range tests {
		got, err := parseThrough(tt.in, shanghai, now)
		if tt.want.IsZero() {
			if models.ErrorCodeOf(err) != models.EINVALID {
				t.Errorf("parseThrough(%q) = %v, %v; want invalid", tt.in, got, err)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseThrough(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
