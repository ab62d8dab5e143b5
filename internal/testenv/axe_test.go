package testenv

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestAxeFindsViolations: the accessibility check CheckPage relies on
// reports what a page breaks (and nothing on a page that breaks nothing),
// under the project's own Content-Security-Policy.
func TestAxeFindsViolations(t *testing.T) {
	pages := map[string]string{
		"/bad": `<!doctype html><html><head><title>bad</title></head><body><main>
<img src="/x.png"><button></button><p style="color:#bbb;background:#fff">faint text</p>
<input type="text"></main></body></html>`,
		"/good": `<!doctype html><html lang="en"><head><title>good</title></head><body><main>
<h1>Statement</h1><img src="/x.png" alt="bank logo"><button>Send</button>
<label for="n">Name</label><input id="n" type="text"></main></body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	browser := Chromium(t, "")
	script := AxeScript(t)
	tests := []struct {
		path string
		want []string // rule IDs that must be reported (serious or critical)
	}{
		{"/bad", []string{"image-alt", "button-name", "color-contrast", "label", "html-has-lang"}},
		{"/good", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			tab := NewTab(t, browser, tt.path, srv.URL)
			ctx, cancel := context.WithTimeout(tab.Ctx, 30*time.Second)
			defer cancel()
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+tt.path)); err != nil {
				t.Fatal(err)
			}
			got, err := tab.Axe(ctx, script)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, v := range got {
				ids = append(ids, v.ID)
			}
			for _, w := range tt.want {
				if !slices.Contains(ids, w) {
					t.Errorf("axe did not report %s; it reported %v", w, got)
				}
			}
			if tt.want == nil && len(got) > 0 {
				t.Errorf("axe reported violations on a clean page: %v", got)
			}
		})
	}
}
