package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"time"

	"remoteidv/statement/pades"
)

// statementUsage says how to call `idv statement verify`.
const statementUsage = "usage: idv statement verify -root BANK-STATEMENT-ROOT.pem STATEMENT.pdf"

// runStatement is `idv statement verify -root PEM FILE.pdf`: the offline
// check a statement's recipient (or the bank) runs. It needs no
// configuration, database or network, only the bank's statement root
// certificate: it says whether the file carries a valid signature of a
// certificate that chains to that root, over the whole file (nothing
// changed or added since), who signed it and when. Whether the bank has
// revoked the statement since is known only online, at the URL printed on
// its pages (/v/{statement-id}).
func runStatement(_ context.Context, e *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError(statementUsage)
	}
	fs := subFlags("statement verify", e)
	rootPath := fs.String("root", "", "the bank's statement root certificate(s) (PEM), as the bank publishes them")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 || *rootPath == "" {
		return usageError(statementUsage)
	}
	roots, err := pades.ReadRoots(*rootPath)
	if err != nil {
		return fmt.Errorf("statement verify: %w", err)
	}
	pdf, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("statement verify: %w", err)
	}
	fmt.Fprintf(e.stdout, "file      %s\nsha256    %x\n", fs.Arg(0), sha256.Sum256(pdf))
	res, err := pades.Verify(pdf, roots, time.Now())
	if err != nil {
		return fmt.Errorf("statement verify: %s is not a statement signed by the bank: %w", fs.Arg(0), err)
	}
	for i, s := range res.Signatures {
		fmt.Fprintf(e.stdout, "signature %d: %s (%s)\n", i+1, s.Subject, s.SubFilter)
		if !s.SigningTime.IsZero() {
			fmt.Fprintf(e.stdout, "  signed    %s\n", s.SigningTime.UTC().Format(time.RFC3339))
		}
		if !s.Timestamp.IsZero() {
			fmt.Fprintf(e.stdout, "  time-stamp %s (TSA trusted: %v)\n", s.Timestamp.UTC().Format(time.RFC3339), s.TimestampTrusted)
		}
		for _, c := range s.Chain[min(1, len(s.Chain)):] {
			fmt.Fprintf(e.stdout, "  issued by %s\n", c.Subject)
		}
	}
	if !res.WholeDocument {
		return fmt.Errorf("statement verify: %s was changed after the bank signed it (an update was appended): what the bank signed is intact, but the file says more", fs.Arg(0))
	}
	fmt.Fprintln(e.stdout, "valid: signed by the bank, unchanged since. Whether it was revoked since: the URL on its pages.")
	return nil
}
