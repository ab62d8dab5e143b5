package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
)

// subFlags splits "idv users add --role clerk ..." into the config flags
// and the command's own: the command's flags come first, the rest (after
// "--" or unknown) go to the configuration.
func subFlags(name string, e *cliEnv) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

func runUsers(ctx context.Context, e *cliEnv, args []string) error {
	if len(args) == 0 {
		return usageError("usage: idv users add|list|disable|enable [flags] [-- config flags]")
	}
	verb, args := args[0], args[1:]
	fs := subFlags("users "+verb, e)
	username := fs.String("username", "", "login name")
	name := fs.String("name", "", "display name")
	var roles []models.Role
	fs.Func("role", "role: clerk, supervisor, auditor or admin (repeatable)", func(s string) error {
		for _, part := range strings.Split(s, ",") {
			r, err := models.ParseRole(part)
			if err != nil {
				return err
			}
			roles = append(roles, r)
		}
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withApp(ctx, e, "users "+verb, fs.Args(), func(a *app, _ []string) error {
		switch verb {
		case "add":
			pw := e.getenv("IDV_NEW_PASSWORD")
			if pw == "" {
				fmt.Fprint(e.stderr, "password (at least 12 characters): ")
				line, err := bufio.NewReader(e.stdin).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("users add: read password: %w", err)
				}
				pw = strings.TrimRight(line, "\r\n")
			}
			st, err := a.access.CreateStaff(ctx, "cli", *username, *name, pw, roles)
			if err != nil {
				return fmt.Errorf("users add: %w", err)
			}
			fmt.Fprintf(e.stdout, "added %s (%s) with roles %v\n", st.Username, st.ID, st.Roles)
		case "list":
			var all []*models.Staff
			if err := a.store.Transact(ctx, func(tx models.Tx) (err error) { all, err = tx.ListStaff(ctx); return }); err != nil {
				return err
			}
			for _, st := range all {
				state := "active"
				if !st.Active() {
					state = "disabled"
				}
				fmt.Fprintf(e.stdout, "%-20s %-28s %-8s %v\n", st.Username, st.DisplayName, state, st.Roles)
			}
		case "disable", "enable":
			if err := a.access.SetDisabled(ctx, "cli", *username, verb == "disable"); err != nil {
				return fmt.Errorf("users %s: %w", verb, err)
			}
			fmt.Fprintf(e.stdout, "%sd %s\n", verb, *username)
		default:
			return usageError("usage: idv users add|list|disable|enable")
		}
		return nil
	})
}

func runTokens(ctx context.Context, e *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError("usage: idv tokens create --user NAME --name LABEL")
	}
	fs := subFlags("tokens create", e)
	user := fs.String("user", "", "staff member the token acts as")
	label := fs.String("name", "", "what the token is for")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	return withApp(ctx, e, "tokens create", fs.Args(), func(a *app, _ []string) error {
		raw, tok, err := a.access.CreateToken(ctx, "cli", *user, *label)
		if err != nil {
			return fmt.Errorf("tokens create: %w", err)
		}
		fmt.Fprintf(e.stderr, "token %s for %s (shown once; only its hash is kept):\n", tok.ID, *user)
		fmt.Fprintln(e.stdout, raw)
		return nil
	})
}

func runAccounts(ctx context.Context, e *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		return usageError("usage: idv accounts import --csv FILE --images DIR")
	}
	fs := subFlags("accounts import", e)
	csvPath := fs.String("csv", "", "CSV file: "+strings.Join([]string{"account_no", "holder_name", "national_id", "email", "phone", "time_zone", "language", "photos", "signature"}, ","))
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
		if rep.Failed > 0 {
			return fmt.Errorf("accounts import: %d rows failed", rep.Failed)
		}
		return nil
	})
}

// printKey prints the signing key's fingerprint, as auditors pin it.
func printKey(w io.Writer, pub ed25519.PublicKey) {
	fmt.Fprintf(w, "signing key: fingerprint %s (key id %s)\n", audit.Fingerprint(pub), audit.KeyID(pub))
}

func runAudit(ctx context.Context, e *cliEnv, args []string) error {
	if len(args) > 0 && args[0] == "key" {
		// What the bank publishes: auditors pass the fingerprint (or the
		// PEM) to idv evidence verify.
		return withApp(ctx, e, "audit key", args[1:], func(a *app, _ []string) error {
			pub := a.key.Public().(ed25519.PublicKey)
			pem, err := audit.MarshalPublicKey(pub)
			if err != nil {
				return fmt.Errorf("audit key: %w", err)
			}
			printKey(e.stdout, pub)
			_, err = e.stdout.Write(pem)
			return err
		})
	}
	if len(args) > 0 && args[0] == "checkpoint" {
		return withApp(ctx, e, "audit checkpoint", args[1:], func(a *app, _ []string) error {
			// Like idv serve, publish the newest note to the write-once store.
			store, name, err := openEvidenceStore(ctx, a.cfg, a.log)
			if err != nil {
				return fmt.Errorf("audit checkpoint: %w", err)
			}
			cpr := audit.Checkpointer{Store: a.store, Key: a.key, Now: time.Now, Publish: store}
			cp, err := cpr.Checkpoint(ctx)
			if err != nil {
				return err
			}
			printKey(e.stdout, a.key.Public().(ed25519.PublicKey))
			if cp == nil {
				fmt.Fprintln(e.stdout, "the newest checkpoint already covers the chain head")
			} else {
				fmt.Fprintf(e.stdout, "signed checkpoint of seq %d %s (key %s), merkle log size %d root %s:\n%s", cp.Seq, cp.Hash, cp.KeyID, cp.Seq, cp.Root, cp.Note)
			}
			if err := cpr.PublishLatest(ctx); err != nil {
				return fmt.Errorf("audit checkpoint: %w", err)
			}
			fmt.Fprintf(e.stdout, "published to %s\n", name)
			return nil
		})
	}
	if len(args) == 0 || args[0] != "verify" {
		return usageError("usage: idv audit verify [-json] [-kept checkpoint.note] [-published=false] | idv audit checkpoint | idv audit key")
	}
	fs := subFlags("audit verify", e)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	keptPath := fs.String("kept", "", "a checkpoint note saved earlier (GET /api/audit/checkpoints/latest): the log must still extend it")
	published := fs.Bool("published", true, "also check every checkpoint note published to the evidence store: the log must extend each")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	return withApp(ctx, e, "audit verify", fs.Args(), func(a *app, _ []string) error {
		rep, err := audit.VerifyStore(ctx, a.store, a.key.Public().(ed25519.PublicKey))
		if err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else {
			for _, p := range rep.Problems {
				fmt.Fprintln(e.stdout, "PROBLEM", p)
			}
		}
		if *keptPath != "" {
			kept, err := os.ReadFile(*keptPath)
			if err != nil {
				return fmt.Errorf("audit verify: %w", err)
			}
			if _, err := audit.VerifyKept(ctx, a.store, a.key.Public().(ed25519.PublicKey), kept); err != nil {
				fmt.Fprintln(e.stdout, "PROBLEM", models.ErrorMessageOf(err))
				return fmt.Errorf("audit verify: the log does not extend the kept checkpoint %s: %w", *keptPath, err)
			}
		}
		if !rep.OK() {
			return fmt.Errorf("audit verify: %d problems in %d events and %d checkpoints", len(rep.Problems), rep.Events, rep.Checkpoints)
		}
		pubNotes, pubNewest := 0, int64(0)
		if *published {
			store, name, err := openEvidenceStore(ctx, a.cfg, a.log)
			if err != nil {
				return fmt.Errorf("audit verify: %w", err)
			}
			if pubNotes, pubNewest, err = audit.VerifyPublished(ctx, a.store, a.key.Public().(ed25519.PublicKey), store); err != nil {
				fmt.Fprintln(e.stdout, "PROBLEM", models.ErrorMessageOf(err))
				return fmt.Errorf("audit verify: checkpoints published to %s: %w", name, err)
			}
		}
		fmt.Fprintf(e.stdout, "OK: %d events, %d signed checkpoints, head %d %s\n", rep.Events, rep.Checkpoints, rep.Head.Seq, rep.Head.Hash)
		printKey(e.stdout, a.key.Public().(ed25519.PublicKey))
		fmt.Fprintf(e.stdout, "merkle log: size %d, root %s (recomputed from the events; matches the stored log)\n", rep.TreeSize, rep.Root)
		if cp := rep.Latest; cp != nil {
			fmt.Fprintf(e.stdout, "latest signed checkpoint: size %d at %s, consistent with every earlier one\n", cp.Seq, cp.At.Format(time.RFC3339))
		}
		if *keptPath != "" {
			fmt.Fprintf(e.stdout, "the log extends the kept checkpoint %s\n", *keptPath)
		}
		if *published {
			fmt.Fprintf(e.stdout, "published checkpoints: %d in the evidence store (newest of size %d), all extended by the log\n", pubNotes, pubNewest)
		}
		return nil
	})
}
