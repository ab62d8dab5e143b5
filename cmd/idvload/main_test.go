package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoopbackOnly(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", false}, // a name could resolve elsewhere
		{"http://10.0.0.1:8080", false},
		{"https://127.0.0.1:8080", false},
		{"http://bank.example", false},
	}
	for _, tt := range tests {
		if err := loopbackOnly(tt.url); (err == nil) != tt.ok {
			t.Errorf("loopbackOnly(%s) = %v, want ok %v", tt.url, err, tt.ok)
		}
	}
}

// TestSmoke runs the whole load test at a tiny count: idv serve on a fresh
// PostgreSQL schema, the set-up, both phases and the report. It checks
// that it runs, not how fast.
func TestSmoke(t *testing.T) {
	idv := filepath.Join(t.TempDir(), "idv")
	if out, err := exec.Command("go", "build", "-o", idv, "remoteidv/cmd/idv").CombinedOutput(); err != nil {
		t.Fatalf("go build idv: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, []string{"-idv", idv, "-rate", "30", "-duration", "1s", "-baseline", "300ms", "-max", "25"}, &out)
	if err != nil {
		t.Fatalf("run = %v", err)
	}
	report := out.String()
	for _, k := range mix {
		if !strings.Contains(report, "| "+k.name+" |") {
			t.Errorf("report has no row %q:\n%s", k.name, report)
		}
	}
	if !strings.Contains(report, "| "+healthzKind+" | 10 % |") || !strings.Contains(report, "VmHWM") {
		t.Errorf("report lacks the baseline row or the memory line:\n%s", report)
	}
}
