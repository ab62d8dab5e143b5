package mail

import (
	"strings"
	"testing"
	"testing/fstest"
)

// A malformed or missing template file is refused (at start-up: the
// embedded files are parsed when the program starts).
func TestParseTemplates(t *testing.T) {
	full := func() fstest.MapFS {
		m := fstest.MapFS{}
		for _, k := range kinds {
			for _, l := range languages {
				m["templates/"+k+"."+l+".tmpl"] = &fstest.MapFile{Data: []byte(`{{define "subject"}}S{{end}}{{define "text"}}T {{.Code}}{{end}}{{define "html"}}<p>{{.Code}}</p>{{end}}`)}
			}
		}
		return m
	}
	with := func(name, data string) fstest.MapFS {
		m := full()
		if data == "" {
			delete(m, name)
		} else {
			m[name] = &fstest.MapFile{Data: []byte(data)}
		}
		return m
	}
	tests := []struct {
		name string
		fsys fstest.MapFS
		want string // "" for valid
	}{
		{"valid", full(), ""},
		{"a language missing", with("templates/code.zh-CN.tmpl", ""), "no code template in zh-CN"},
		{"a part missing", with("templates/invite.en.tmpl", `{{define "subject"}}S{{end}}{{define "text"}}T{{end}}`), `defines no "html"`},
		{"syntax error", with("templates/statement.en.tmpl", `{{define "subject"}}{{.BankName{{end}}`), "statement.en.tmpl"},
		{"unknown kind", with("templates/postcard.en.tmpl", `{{define "subject"}}S{{end}}`), "not KIND.LANG.tmpl"},
		{"unknown language", with("templates/code.fr.tmpl", `{{define "subject"}}S{{end}}`), "not KIND.LANG.tmpl"},
		{"unknown field", with("templates/code.en.tmpl", `{{define "subject"}}{{.Nope}}{{end}}{{define "text"}}T{{end}}{{define "html"}}H{{end}}`), "can't evaluate field Nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseTemplates(tt.fsys)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("parseTemplates = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("parseTemplates = %v, want an error saying %q", err, tt.want)
			}
		})
	}
	// The embedded files parse and render.
	if _, err := parseTemplates(templateFiles); err != nil {
		t.Errorf("embedded templates: %v", err)
	}
}
