package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"remoteidv/models"
)

func runAccounts(ctx context.Context, e *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		return usageError("usage: idv accounts import --csv FILE --images DIR")
	}
	fs := subFlags("accounts import", e)
	csvPath := fs.String("csv", "", "CSV file: "+strings.Join([]string{"account_no", "holder_name", "national_id", "email", "phone", "time_zone", "language", "photos", "signature"}, ",")+"[,holder_name_alt]")
	images := fs.String("images", "", "folder holding the photo and signature files the CSV names")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *csvPath == "" || *images == "" {
		return usageError("accounts import needs --csv and --images")
	}
	return withApp(ctx, e, "accounts import", fs.Args(), func(a *app, _ []string) error {
		f, err := os.Open(*csvPath)
		if err != nil {
			return fmt.Errorf("accounts import: %w", err)
		}
		defer f.Close()
		checker, closeChecker, err := a.photoChecker(ctx)
		if err != nil {
			return fmt.Errorf("accounts import: %w", err)
		}
		defer closeChecker()
		rep, err := a.accounts.ImportFrom(ctx, "cli", filepath.Base(*csvPath), f, os.DirFS(*images), checker)
		if err != nil && rep == nil {
			return fmt.Errorf("accounts import: %w", err)
		}
		for _, r := range rep.Rows {
			switch {
			case r.Error != "":
				fmt.Fprintf(e.stdout, "line %d %s: FAILED: %s\n", r.Line, models.MaskAccountNo(r.AccountNo), r.Error)
			case len(r.Problems) > 0:
				fmt.Fprintf(e.stdout, "line %d %s: imported, FLAGGED for review: %s\n", r.Line, models.MaskAccountNo(r.AccountNo), strings.Join(r.Problems, "; "))
			}
		}
		fmt.Fprintf(e.stdout, "imported %d accounts (%d flagged), %d failed; recorded as import run %s\n", rep.Imported, rep.Flagged, rep.Failed, rep.Run)
		if err != nil {
			return fmt.Errorf("accounts import: %w", err)
		}
		calibrateAfterImport(ctx, a, e.stdout)
		if rep.Failed > 0 {
			return fmt.Errorf("accounts import: %d rows failed", rep.Failed)
		}
		return nil
	})
}
