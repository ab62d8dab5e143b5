package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

var (
	colourLiteral = regexp.MustCompile(`#[0-9a-fA-F]{3,8}\b|\b(rgba?|hsla?)\(|:\s*[^;{}]*\b(white|black|red|green|blue|gr[ae]y|orange|yellow)\b`)
	tokenUse      = regexp.MustCompile(`var\((--[a-z0-9-]+)\)`)
	tokenDef      = regexp.MustCompile(`(--[a-z0-9-]+)\s*:`)
	cssComment    = regexp.MustCompile(`(?s)/\*.*?\*/`)
)

// TestOneVisualLanguage: every colour of every page comes from base.css's
// tokens (checked for contrast once, by axe-core on every page), the page
// families' sheets use only tokens base.css defines, and every page loads
// base.css before its family's sheet.
func TestOneVisualLanguage(t *testing.T) {
	base, err := fs.ReadFile(staticFiles, "static/base.css")
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	for _, m := range tokenDef.FindAllStringSubmatch(string(base), -1) {
		defined[m[1]] = true
	}
	sheets := 0
	err = fs.WalkDir(staticFiles, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".css") || path == "static/base.css" {
			return err
		}
		sheets++
		b, err := fs.ReadFile(staticFiles, path)
		if err != nil {
			return err
		}
		css := cssComment.ReplaceAllStringFunc(string(b), func(c string) string { return strings.Repeat("\n", strings.Count(c, "\n")) })
		for i, code := range strings.Split(css, "\n") {
			if m := colourLiteral.FindString(code); m != "" {
				t.Errorf("%s:%d: colour %q outside base.css: use a token (var(--...)) from base.css", path, i+1, m)
			}
			for _, m := range tokenUse.FindAllStringSubmatch(code, -1) {
				if !defined[m[1]] && !strings.Contains(string(b), m[1]+":") {
					t.Errorf("%s:%d: %s is not a token of base.css", path, i+1, m[1])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sheets < 3 {
		t.Fatalf("checked %d style sheets, want staff.css, print.css and call.css at least", sheets)
	}
	for _, head := range []struct{ file, family string }{{"templates/layout.html", "/static/staff/staff.css"}, {"templates/cust_head.html", "/static/call.css"}} {
		b, err := fs.ReadFile(templateFiles, head.file)
		if err != nil {
			t.Fatal(err)
		}
		i, j := strings.Index(string(b), `href="/static/base.css"`), strings.Index(string(b), `href="`+head.family+`"`)
		if i < 0 || j < 0 || i > j {
			t.Errorf("%s: base.css must be linked before %s", head.file, head.family)
		}
	}
}
