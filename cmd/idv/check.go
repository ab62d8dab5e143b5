package main

import (
	"context"
	"fmt"
	"strings"

	"remoteidv/models"
	"remoteidv/storage/archiver"
)

// checkUsage says how to call `idv check`.
const checkUsage = "usage: idv check [-objects=false] [config flags]"

// runCheck is `idv check`: what must hold in the stored data whatever
// crashed when. It runs each invariant's query (models.Invariants) and
// prints every row that breaks it, looks for every evidence item's bytes
// (its staged file or the stored object, with the recorded size and
// SHA-256) unless -objects=false, and runs the database's own integrity
// check (SQLite: PRAGMA integrity_check and foreign_key_check). It exits
// non-zero when anything is wrong. It only reads, and may run beside idv
// serve.
func runCheck(ctx context.Context, e *cliEnv, args []string) error {
	fs := subFlags("check", e)
	objects := fs.Bool("objects", true, "also look for every evidence item's bytes: the staged file while it waits, else the object in the evidence store")
	fs.Usage = func() { fmt.Fprintln(e.stderr, checkUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withApp(ctx, e, "check", fs.Args(), func(a *app, _ []string) error {
		problems := 0
		report := func(name string, vs []models.Violation) {
			if len(vs) == 0 {
				fmt.Fprintf(e.stdout, "ok      %s\n", name)
				return
			}
			problems += len(vs)
			fmt.Fprintf(e.stdout, "BROKEN  %s\n", name)
			for _, v := range vs {
				fmt.Fprintf(e.stdout, "        case %s, %s: %s\n", v.CaseID, v.Subject, v.Problem)
			}
		}
		for _, inv := range models.Invariants() {
			var vs []models.Violation
			if err := a.store.Transact(ctx, func(tx models.Tx) (err error) { vs, err = tx.Violations(ctx, inv); return }); err != nil {
				return fmt.Errorf("check: %w", err)
			}
			report(string(inv), vs)
		}
		if *objects {
			store, name, err := openEvidenceStore(ctx, a.cfg, a.log)
			if err != nil {
				return fmt.Errorf("check: %w", err)
			}
			vs, n, err := missingObjects(ctx, a.store, store)
			if err != nil {
				return fmt.Errorf("check: %w", err)
			}
			report(fmt.Sprintf("evidence objects: the bytes of %d items, staged or in the %s", n, name), vs)
		}
		var complaints []string
		err := a.store.Transact(ctx, func(tx models.Tx) (err error) { complaints, err = tx.IntegrityCheck(ctx); return })
		kind, _, _ := a.cfg.database()
		switch {
		case err != nil && len(complaints) == 0:
			return fmt.Errorf("check: %w", err)
		case len(complaints) > 0:
			problems += len(complaints)
			fmt.Fprintln(e.stdout, "BROKEN  database integrity")
			for _, c := range complaints {
				fmt.Fprintf(e.stdout, "        %s\n", strings.ReplaceAll(c, "\n", "; "))
			}
		case kind == "sqlite":
			fmt.Fprintln(e.stdout, "ok      database integrity (PRAGMA integrity_check: ok; foreign_key_check: none)")
		default:
			fmt.Fprintf(e.stdout, "ok      database integrity (%s checks its own pages; nothing to run)\n", kind)
		}
		if problems > 0 {
			return fmt.Errorf("check: %d problems", problems)
		}
		return nil
	})
}

// missingObjects looks for the bytes of every evidence item not yet
// expired: an archived item's object in the store (size and SHA-256 as
// recorded), a waiting item's staged file (its size), a waiting manifest's
// object (the sealer stores it itself). It returns the items whose bytes
// are missing or differ, and how many items it looked at.
func missingObjects(ctx context.Context, db models.Store, store models.EvidenceStore) ([]models.Violation, int, error) {
	var out []models.Violation
	n := 0
	broken := func(e *models.Evidence, format string, args ...any) {
		out = append(out, models.Violation{Invariant: models.InvEvidenceObject, CaseID: e.CaseID, Subject: string(e.ID), Problem: fmt.Sprintf(format, args...)})
	}
	for offset := 0; ; offset += 200 {
		var cases []*models.Case
		var items [][]*models.Evidence
		err := db.Transact(ctx, func(tx models.Tx) (err error) {
			if cases, _, err = tx.ListCases(ctx, models.CaseFilter{Limit: 200, Offset: offset}); err != nil {
				return err
			}
			items = make([][]*models.Evidence, len(cases))
			for i, c := range cases {
				if items[i], err = tx.EvidenceByCase(ctx, c.ID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, n, fmt.Errorf("evidence objects: %w", err)
		}
		for _, list := range items {
			for _, e := range list {
				if e.ExpiredAt != nil {
					continue
				}
				n++
				if e.ArchivedAt == nil && e.Staged != "" {
					whole, err := archiver.StagedWhole(e.Staged, e.Size)
					if err == nil && whole {
						continue
					}
					// The archiver may have stored it since the read.
					var cur *models.Evidence
					if rerr := db.Transact(ctx, func(tx models.Tx) (err error) { cur, err = tx.EvidenceByID(ctx, e.ID); return }); rerr != nil {
						return nil, n, fmt.Errorf("evidence objects: %w", rerr)
					}
					if cur.ArchivedAt == nil {
						// Stored, then the process stopped before marking
						// it: the archiver confirms it when it comes back.
						if info, serr := store.Stat(ctx, e.Key); serr == nil && archiver.Check(e, info) == nil {
							continue
						}
						if err == nil {
							err = fmt.Errorf("shorter or longer than the %d bytes recorded", e.Size)
						}
						broken(e, "waiting for the archiver, but its staged file %s is not whole and the store does not hold it: %v", e.Staged, err)
						continue
					}
					e = cur
				}
				info, err := store.Stat(ctx, e.Key)
				switch {
				case models.ErrorCodeOf(err) == models.EUNAVAILABLE:
					return nil, n, fmt.Errorf("evidence objects: %w", err)
				case err != nil:
					broken(e, "not in the evidence store as recorded (%s): %v", archiveState(e), err)
				default:
					if err := archiver.Check(e, info); err != nil {
						broken(e, "%s (%s)", models.ErrorMessageOf(err), archiveState(e))
					}
				}
			}
		}
		if len(cases) < 200 {
			return out, n, nil
		}
	}
}

func archiveState(e *models.Evidence) string {
	if e.ArchivedAt != nil {
		return "archived " + e.ArchivedAt.Format("2006-01-02 15:04:05Z")
	}
	return "not yet archived"
}
