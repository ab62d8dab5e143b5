package main

import (
	"context"
	"fmt"
)

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
