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
	bad := filepath.Join(dir, "bad.csv")
	_ = os.WriteFile(bad, []byte("account_no,booked_at,description,amount,currency\n1,yesterday,x,1.00,CNY\n"), 0o600)
	if out, err := runCLI(t, dir, "ledger", "import", "--csv", bad); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("ledger import of a bad file = %v\n%s, want an error naming line 2", err, out)
	}
}
