package testenv

import (
	"os/exec"
	"testing"
)

// Poppler runs one of poppler's tools (Debian poppler-utils: pdfinfo,
// pdfdetach, pdftotext, pdfsig) with args and returns its combined output
// and whether it exited 0. A tool that is missing or cannot start fails
// the test: scripts/setup.sh installs them.
func Poppler(t testing.TB, tool string, args ...string) (string, bool) {
	t.Helper()
	bin, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s not found (apt-get install poppler-utils; scripts/setup.sh does): %v", tool, err)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		t.Fatalf("%s: %v", tool, err)
	}
	return string(out), err == nil
}
