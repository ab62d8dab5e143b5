package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
)

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
