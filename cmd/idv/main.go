// Command idv is remoteidv's single binary: the server (idv serve) and the
// operator's tools (migrate, users, tokens, accounts import, audit verify,
// check, demo, models fetch, face). It reads the configuration and wires the
// concrete adapters; it is the only package that knows them all.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // IANA zones even on hosts without tzdata
)

// command is one subcommand.
type command struct {
	name, help string
	run        func(ctx context.Context, env *cliEnv, args []string) error
}

// cliEnv is what commands read and write, injected for tests.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP server", runServe},
		{"migrate", "apply database migrations and exit", runMigrate},
		{"users", "manage staff: users add|list|disable|enable|hours|contact", runUsers},
		{"tokens", "API tokens: tokens create --user NAME --name LABEL --scope ROLES | list | revoke ID", runTokens},
		{"webhooks", "webhook endpoints: webhooks add --url URL --events TYPES | list | disable|enable|delete ID | deliveries | redeliver ID", runWebhooks},
		{"accounts", "import accounts: accounts import --csv FILE --images DIR", runAccounts},
		{"audit", "audit chain: audit verify | audit checkpoint | audit key", runAudit},
		{"nodes", "list the nodes serving on this database (live, dead, gone) and the job leases they hold", runNodes},
		{"check", "check the stored data's invariants, evidence objects and database integrity", runCheck},
		{"evidence", "check an evidence bundle offline: evidence verify -key PEM|-fingerprint FP bundle.zip", runEvidence},
		{"demo", "load demo staff, accounts and ledger: demo load", runDemo},
		{"statement", "check a statement PDF's bank signature offline: statement verify -root PEM FILE.pdf", runStatement},
		{"ledger", "import transactions for statements: ledger import --csv FILE [--through DATE]", runLedger},
		{"registry", "reference national ID registry for development: registry serve --records FILE", runRegistry},
		{"models", "install the face models: models fetch", runModels},
		{"face", "face engine tools: face info|eval DIR|calibrate DIR", runFace},
	}
}

type usageError string

func (u usageError) Error() string { return string(u) }

func run(ctx context.Context, e *cliEnv, args []string) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(e.stderr, "usage: idv COMMAND [flags]\n\ncommands:")
		for _, c := range cmds {
			fmt.Fprintf(e.stderr, "  %-10s %s\n", c.name, c.help)
		}
		fmt.Fprintln(e.stderr, "\n`idv COMMAND -h` lists a command's flags.")
		if len(args) == 0 {
			return usageError("no command given")
		}
		return nil
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	return usageError(fmt.Sprintf("unknown command %q (idv help lists them)", args[0]))
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "idv:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "idv:", err)
		os.Exit(1)
	}
}

// subFlags splits "idv users add --role clerk ..." into the config flags
// and the command's own: the command's flags come first, the rest (after
// "--" or unknown) go to the configuration.
func subFlags(name string, e *cliEnv) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}
