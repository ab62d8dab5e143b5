package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"remoteidv/models"
	"remoteidv/statement"
)

func runLedger(ctx context.Context, e *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		return usageError("usage: idv ledger import --csv FILE [--through DATE]")
	}
	fs := subFlags("ledger import", e)
	csvPath := fs.String("csv", "", "CSV file: account_no,booked_at,description,amount,currency (idv demo load writes var/demo/ledger.csv)")
	throughFlag := fs.String("through", "", "the file holds every booking up to the end of this day (YYYY-MM-DD, in IDV_BRANCH_TZ) or this instant (RFC 3339); default: now, for an export taken just before the import. Submission needs the ledger complete up to the end of the case's period")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *csvPath == "" {
		return usageError("ledger import needs --csv")
	}
	return withApp(ctx, e, "ledger import", fs.Args(), func(a *app, _ []string) error {
		tz, err := time.LoadLocation(a.cfg.BranchTZ)
		if err != nil {
			return fmt.Errorf("ledger import: IDV_BRANCH_TZ: %w", err)
		}
		through, err := parseThrough(*throughFlag, tz, time.Now())
		if err != nil {
			return err
		}
		n, total, err := importLedger(ctx, a, "cli", *csvPath, through)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "ledger: %d new transactions of %d read; complete up to %s\n", n, total, through.In(tz).Format(time.RFC3339))
		return nil
	})
}

// parseThrough reads --through: empty is now, a date is the midnight
// after it in tz, else an RFC 3339 instant; none may lie after now (an
// export cannot hold bookings not yet made).
func parseThrough(v string, tz *time.Location, now time.Time) (time.Time, error) {
	var t time.Time
	switch {
	case v == "":
		return now.UTC(), nil
	case len(v) == len(models.DateLayout):
		d, err := time.ParseInLocation(models.DateLayout, v, tz)
		if err != nil {
			return time.Time{}, models.Errorf(models.EINVALID, "--through %q is not a date (YYYY-MM-DD) or RFC 3339 time", v)
		}
		t = d.AddDate(0, 0, 1)
	default:
		var err error
		if t, err = time.Parse(time.RFC3339, v); err != nil {
			return time.Time{}, models.Errorf(models.EINVALID, "--through %q is not a date (YYYY-MM-DD) or RFC 3339 time", v)
		}
	}
	if t.After(now) {
		return time.Time{}, models.Errorf(models.EINVALID, "--through %s is in the future: a ledger cannot be complete beyond now", v)
	}
	return t.UTC(), nil
}

// importLedger loads a ledger CSV in one transaction (rows already present
// are skipped), records that the ledger is complete up to through, and
// audits the import.
func importLedger(ctx context.Context, a *app, actor, path string, through time.Time) (added, total int, err error) {
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
		if err := tx.RecordLedgerImport(ctx, &models.LedgerImport{ImportedAt: time.Now().UTC(), Through: through, Actor: actor, Source: filepath.Base(path),
			Read: len(entries), Added: added}); err != nil {
			return err
		}
		return a.chain.Append(ctx, tx, &models.AuditEvent{Actor: actor, Action: "ledger.imported",
			Detail: map[string]string{"file": filepath.Base(path), "read": fmt.Sprint(len(entries)), "added": fmt.Sprint(added), "through": through.Format(time.RFC3339)}})
	})
	if err != nil {
		return 0, 0, fmt.Errorf("ledger import %s: %w", path, err)
	}
	return added, len(entries), nil
}
