package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs idv with args against a database and key in dir.
func runCLI(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{
		"IDV_DATABASE_URL": "sqlite:" + filepath.Join(dir, "idv.db"),
		"IDV_SIGNING_KEY":  filepath.Join(dir, "key.pem"),
		"IDV_DATA_DIR":     dir,
		"IDV_EVIDENCE_DIR": filepath.Join(dir, "evidence"),
		"IDV_NEW_PASSWORD": "correct horse battery staple",
		"IDV_LOG_LEVEL":    "warn",
	}
	err := run(context.Background(), &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}, args)
	return out.String() + errb.String(), err
}

// TestServeRefusesWithoutModels: a server that cannot run face checks must
// not start silently.
func TestServeRefusesWithoutModels(t *testing.T) {
	dir := t.TempDir()
	modelsDir := filepath.Join(dir, "models")
	if err := os.MkdirAll(modelsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// One altered file is as bad as none.
	if err := os.WriteFile(filepath.Join(modelsDir, "shape_predictor_5_face_landmarks.dat"), []byte("not the model"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"IDV_DATABASE_URL": "sqlite:" + filepath.Join(dir, "idv.db"),
		"IDV_SIGNING_KEY":  filepath.Join(dir, "key.pem"),
		"IDV_DATA_DIR":     dir,
		"IDV_EVIDENCE_DIR": filepath.Join(dir, "evidence"),
		"IDV_MODELS_DIR":   modelsDir,
		"IDV_LISTEN":       "127.0.0.1:0",
	}
	var out bytes.Buffer
	err := run(context.Background(), &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &out, getenv: func(k string) string { return env[k] }}, []string{"serve"})
	if err == nil || !strings.Contains(err.Error(), "shape_predictor_5_face_landmarks.dat") || !strings.Contains(err.Error(), "idv models fetch") {
		t.Fatalf("serve without intact models = %v, want an error naming the file and the fix", err)
	}
}

// TestCommandUsage: every command answers a missing or unknown verb with
// its usage (exit status 2), before it opens anything.
func TestCommandUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"models"}, "usage: idv models fetch [-dir DIR]"},
		{[]string{"models", "get"}, "usage: idv models fetch [-dir DIR]"},
		{[]string{"face"}, "usage: idv face info|eval|calibrate ..."},
		{[]string{"face", "bogus"}, "usage: idv face info|eval|calibrate ..."},
		{[]string{"users"}, "usage: idv users add|list|disable|enable|enrol|hours|contact [flags] [-- config flags]"},
		{[]string{"tokens"}, tokensUsage},
		{[]string{"tokens", "mint"}, tokensUsage},
		{[]string{"tokens", "revoke"}, tokensUsage},
		{[]string{"accounts"}, "usage: idv accounts import --csv FILE --images DIR"},
		{[]string{"ledger", "export"}, "usage: idv ledger import --csv FILE [--through DATE]"},
		{[]string{"registry"}, "usage: idv registry serve --records FILE [--listen 127.0.0.1:8090] [--api-key KEY]"},
		{[]string{"demo"}, "usage: idv demo load|customer|story [flags] [config flags]"},
		{[]string{"evidence"}, evidenceUsage},
		{[]string{"nope"}, `unknown command "nope" (idv help lists them)`},
	}
	for _, tt := range tests {
		_, err := runCLI(t, t.TempDir(), tt.args...)
		if !errors.As(err, new(usageError)) || err.Error() != tt.want {
			t.Errorf("idv %s = %v, want the usage error %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
}
