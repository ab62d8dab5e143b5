package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeFile is where scripts/setup.sh installs axe-core's axe.min.js (the npm
// package, pinned and checked by SHA-256), relative to the module root;
// IDV_AXE_JS names another copy.
const axeFile = "var/axe/axe.min.js"

// AxeScript returns axe-core's source. Without it the test fails: make
// test installs it, and a page check that silently skipped accessibility
// would pass what it never looked at.
func AxeScript(t testing.TB) string {
	t.Helper()
	path := os.Getenv("IDV_AXE_JS")
	if path == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatalf("axe-core: %v", err)
		}
		path = filepath.Join(root, axeFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("axe-core: %v (scripts/setup.sh test installs it; IDV_AXE_JS names another copy)", err)
	}
	return string(b)
}

// moduleRoot is the nearest directory above the working directory that
// holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("module root: %w", err)
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("module root: no go.mod above the working directory")
		}
		dir = up
	}
}

// AxeViolation is one rule axe-core found broken on a page, with the
// elements that break it.
type AxeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

func (v AxeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s: %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, " | "))
}

// axeRun runs axe-core (WCAG 2.0-2.2 A and AA rules and best practices)
// on the page and returns the serious and critical violations. The script
// is evaluated through the DevTools protocol, never fetched by the page.
const axeRun = `(async () => {
  const r = await axe.run(document, { resultTypes: ['violations'] });
  return JSON.stringify(r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ': ' + (n.failureSummary || '').split('\n').slice(0, 2).join(' ')),
  })));
})()`

// Axe runs axe-core on the tab's page as it is now.
func (tab *Tab) Axe(ctx context.Context, script string) ([]AxeViolation, error) {
	defined, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("typeof axe === 'object'"))
	if err != nil {
		return nil, fmt.Errorf("axe on %s: %w", tab.Name, err)
	}
	if !defined {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](script+"\n;undefined")); err != nil {
			return nil, fmt.Errorf("load axe-core in %s: %w", tab.Name, err)
		}
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("axe on %s: %w", tab.Name, err)
	}
	var out []AxeViolation
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("axe on %s: %w", tab.Name, err)
	}
	return out, nil
}

// PagePerf is what a page cost to load: the time until its document was
// interactive and the bytes it transferred (document and every resource).
type PagePerf struct {
	InteractiveMS float64 `json:"interactive"`
	Bytes         int64   `json:"bytes"`
	Resources     int     `json:"resources"`
}

const pagePerf = `(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  return JSON.stringify({
    interactive: nav ? nav.domInteractive - nav.startTime : 0,
    bytes: (nav ? nav.transferSize : 0) + res.reduce((s, r) => s + r.transferSize, 0),
    resources: res.length,
  });
})()`

// Perf reads the tab's page load figures from the Navigation and Resource
// Timing APIs.
func (tab *Tab) Perf(ctx context.Context) (PagePerf, error) {
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](pagePerf))
	if err != nil {
		return PagePerf{}, fmt.Errorf("page timing of %s: %w", tab.Name, err)
	}
	var p PagePerf
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return PagePerf{}, fmt.Errorf("page timing of %s: %w", tab.Name, err)
	}
	return p, nil
}
