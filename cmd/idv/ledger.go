package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"remoteidv/models"
	"remoteidv/statement"
)

func runLedger(ctx context.Context, e *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		return usageError("usage: idv ledger import --csv FILE")
	}
	fs := subFlags("ledger import", e)
	csvPath := fs.String("csv", "", "CSV file: account_no,booked_at,description,amount,currency (idv demo load writes var/demo/ledger.csv)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *csvPath == "" {
		return usageError("ledger import needs --csv")
	}
	return withApp(ctx, e, "ledger import", fs.Args(), func(a *app, _ []string) error {
		n, total, err := importLedger(ctx, a, "cli", *csvPath)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "ledger: %d new transactions of %d read\n", n, total)
		return nil
	})
}

// importLedger loads a ledger CSV in one transaction (rows already present
// are skipped) and audits the import.
func importLedger(ctx context.Context, a *app, actor, path string) (added, total int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("ledger import: %w", err)
	}
	defer f.Close()
	entries, err := statement.ReadLedgerCSV(f)
	if err != nil {
		return 0, 0, fmt.Errorf("ledger import %s: %w", path, err)
	}
	err = a.store.Transact(ctx, func(tx models.Tx) error {
		if added, err = tx.AddLedgerEntries(ctx, entries); err != nil {
			return err
		}
		return a.chain.Append(ctx, tx, &models.AuditEvent{Actor: actor, Action: "ledger.imported",
			Detail: map[string]string{"file": filepath.Base(path), "read": fmt.Sprint(len(entries)), "added": fmt.Sprint(added)}})
	})
	if err != nil {
		return 0, 0, fmt.Errorf("ledger import %s: %w", path, err)
	}
	return added, len(entries), nil
}
