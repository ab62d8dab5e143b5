package main

import (
	"context"

	"remoteidv/verify/face/facecli"
)

// runModels is `idv models fetch`: it installs the face models.
func runModels(ctx context.Context, e *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "fetch" {
		return usageError("usage: idv models fetch [-dir DIR]")
	}
	return facecli.RunModelsFetch(ctx, args[1:], e.stdout, e.stderr)
}
