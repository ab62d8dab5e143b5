package face

import (
	"os"
	"regexp"
	"testing"
)

// GoFaceVersion must be the version go.mod requires, and the dlib version
// the one Debian's libdlib-dev ships (19.24).
func TestEngineVersion(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/Kagami/go-face (\S+)`).FindSubmatch(mod)
	if m == nil || string(m[1]) != GoFaceVersion {
		t.Errorf("go.mod requires go-face %q, GoFaceVersion = %q: keep them in step", m, GoFaceVersion)
	}
	if v := DlibVersion(); !regexp.MustCompile(`^19\.24\.[0-9]+$`).MatchString(v) {
		t.Errorf("DlibVersion() = %q, want 19.24.x (Debian 12's libdlib-dev)", v)
	}
}
