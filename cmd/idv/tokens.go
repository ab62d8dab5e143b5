package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"remoteidv/access"
	"remoteidv/models"
)

const tokensUsage = "usage: idv tokens create --user NAME --name LABEL --scope ROLE[,ROLE] [--days N] | list [--user NAME] | revoke ID"

// runTokens mints, lists and revokes API tokens as the operator (audited
// as cli): a token's scope is still a subset of its member's roles.
func runTokens(ctx context.Context, e *cliEnv, args []string) error {
	if len(args) == 0 {
		return usageError(tokensUsage)
	}
	verb, args := args[0], args[1:]
	if verb != "create" && verb != "list" && verb != "revoke" {
		return usageError(tokensUsage)
	}
	fs := subFlags("tokens "+verb, e)
	user := fs.String("user", "", "staff member the token acts as (list: only theirs)")
	label := fs.String("name", "", "what the token is for")
	days := fs.Int("days", 0, "days the token lives (default and most: IDV_TOKEN_LIFETIME)")
	var scope []models.Role
	fs.Func("scope", "roles the token may use, a subset of the member's: clerk, supervisor, auditor, admin (comma-separated or repeated)", func(s string) error {
		for _, part := range strings.Split(s, ",") {
			r, err := models.ParseRole(part)
			if err != nil {
				return err
			}
			scope = append(scope, r)
		}
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	var id string
	if verb == "revoke" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return usageError(tokensUsage)
		}
		id, rest = rest[0], rest[1:]
	}
	return withApp(ctx, e, "tokens "+verb, rest, func(a *app, _ []string) error {
		switch verb {
		case "create":
			raw, tok, err := a.access.CreateToken(ctx, "cli", *user, access.TokenRequest{Name: *label, Scope: scope, Lifetime: time.Duration(*days) * 24 * time.Hour})
			if err != nil {
				return fmt.Errorf("tokens create: %w", err)
			}
			fmt.Fprintf(e.stderr, "token %s for %s, scope %s, expires %s (shown once; only its hash is kept):\n",
				tok.ID, *user, roleList(tok.Scope), tok.ExpiresAt.Format(time.RFC3339))
			fmt.Fprintln(e.stdout, raw)
		case "list":
			ls, err := a.access.ListTokens(ctx, nil)
			if err != nil {
				return fmt.Errorf("tokens list: %w", err)
			}
			now := time.Now()
			fmt.Fprintf(e.stdout, "%-28s %-16s %-20s %-8s %-22s %-20s %-20s %s\n", "ID", "USER", "NAME", "STATE", "SCOPE (NOW)", "EXPIRES", "LAST USED", "REVOKED")
			for _, l := range ls {
				t := l.Token
				if *user != "" && l.Username != *user {
					continue
				}
				state := t.State(now)
				fmt.Fprintf(e.stdout, "%-28s %-16s %-20s %-8s %-22s %-20s %-20s %s\n", t.ID, l.Username, t.Name, state,
					roleList(t.Scope)+" ("+roleList(l.Roles)+")", t.ExpiresAt.UTC().Format(time.RFC3339), when(t.LastUsed), when(t.RevokedAt))
			}
		case "revoke":
			if err := a.access.RevokeToken(ctx, nil, models.TokenID(id)); err != nil {
				return fmt.Errorf("tokens revoke: %w", err)
			}
			fmt.Fprintf(e.stdout, "revoked %s\n", id)
		}
		return nil
	})
}

func roleList(rs []models.Role) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
