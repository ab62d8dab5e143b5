// Package web holds the pages and scripts served to browsers, embedded in
// the binary: server-rendered HTML templates and ES-module JavaScript
// (no inline script, no third-party origins, so the strict Content
// Security Policy holds). So far: the customer's consent and call pages.
package web

import (
	"embed"
	"html/template"
	"io"
	"io/fs"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/*
var staticFiles embed.FS

// Pages is the set of parsed templates.
type Pages struct{ t *template.Template }

// Load parses the embedded templates.
func Load() (*Pages, error) {
	t, err := template.ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	return &Pages{t: t}, nil
}

// Render writes the named page ("consent.html", "call.html", "gone.html").
func (p *Pages) Render(w io.Writer, name string, data any) error {
	return p.t.ExecuteTemplate(w, name, data)
}

// Static is the folder of scripts and styles, served under /static/.
func Static() fs.FS {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded folder exists at build time
	}
	return sub
}
