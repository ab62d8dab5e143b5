package web

import (
	"bytes"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"remoteidv/models"
)

// rawKey finds a message key shown as text (T falls back to the key).
var rawKey = regexp.MustCompile(`>\s*[a-z]+\.[a-z_]+\s*<`)

func TestCatalogueComplete(t *testing.T) {
	c := Messages()
	for _, lang := range Languages {
		for _, other := range Languages {
			for _, k := range c.Keys(other) {
				if strings.TrimSpace(c[lang][k]) == "" {
					t.Errorf("%s lacks %q (present in %s)", lang, k, other)
				}
			}
		}
	}
	if len(c.Keys("en")) < 100 {
		t.Errorf("only %d messages", len(c.Keys("en")))
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		choice, accept, want string
	}{
		{"", "", "en"},
		{"", "zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"},
		{"", "zh-TW", "zh-CN"},
		{"", "fr-FR,en;q=0.5,zh;q=0.4", "en"},
		{"", "fr-FR,zh;q=0.6,en;q=0.5", "zh-CN"},
		{"", "en;q=0,zh;q=0.1", "zh-CN"},
		{"en", "zh-CN", "en"},
		{"zh-CN", "en-US", "zh-CN"},
		{"xx", "en-GB", "en"},
	}
	for _, tt := range tests {
		if got := Negotiate(tt.choice, tt.accept); got != tt.want {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", tt.choice, tt.accept, got, tt.want)
		}
	}
}

// Every staff template renders in both languages without a missing key
// (a missing key would show as the key itself, e.g. "case.title").
func TestStaffPagesRender(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	c := Messages()
	for _, name := range []string{"login", "console", "case", "queue", "admin", "forbidden", "board"} {
		for _, mode := range []string{"clerk", "review", "audit"} {
			for _, lang := range Languages {
				var b bytes.Buffer
				data := Page{Name: name, Title: "app.name", Script: "common.js", Lang: lang, Path: "/x", Bank: "Demo Bank", User: "Clerk",
					Mode: mode, CaseID: "case_1", Options: []string{"scheduled"}, Services: []string{string(models.PurposeStatement), string(models.PurposeBalanceCertificate)}, Nav: []NavItem{{Href: "/console", Key: "nav.console"}}, Msgs: c}
				if err := p.Render(&b, "staff_"+name+".html", data); err != nil {
					t.Fatalf("render %s/%s/%s: %v", name, mode, lang, err)
				}
				html := b.String()
				if k := rawKey.FindString(html); k != "" {
					t.Errorf("%s/%s/%s shows a message key instead of a message: %s", name, mode, lang, k)
				}
				if strings.Contains(html, "style=") || strings.Contains(html, "onclick=") {
					t.Errorf("%s/%s: inline style or handler breaks the CSP", name, mode)
				}
			}
		}
	}
}

// Every key a script asks for (t('...')) is in the catalogue.
func TestScriptKeysInCatalogue(t *testing.T) {
	c := Messages()
	files, err := staticFiles.ReadDir("static/staff")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"../call.js"}
	for _, f := range files {
		names = append(names, f.Name())
	}
	call := regexp.MustCompile(`\bt\('([a-z_]+\.[a-z_.]+)'\)`)
	n := 0
	for _, name := range names {
		b, err := staticFiles.ReadFile(path.Clean("static/staff/" + name))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			n++
			if _, ok := c["en"][m[1]]; !ok {
				t.Errorf("%s asks for %q, which is not in the catalogue", name, m[1])
			}
		}
	}
	if n < 20 {
		t.Errorf("found only %d t() calls", n)
	}
}

// The customer's pages render in both languages, with no raw key.
func TestCustomerPagesRender(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"consent", "call", "gone", "early", "status"} {
		for _, lang := range Languages {
			var b bytes.Buffer
			data := CustomerPage{Page: Page{Name: name, Title: "cust.title", Script: "call.js", Lang: lang, Path: "/call", Bank: "Demo Bank", Msgs: Messages()},
				Customer: "2026-12-01T09:00:00-05:00 America/New_York", Branch: "2026-12-01T22:00:00+08:00 Asia/Shanghai", Clerk: "Clerk", Version: "v1", Text: "text"}
			if err := p.Render(&b, name+".html", data); err != nil {
				t.Fatalf("render %s/%s: %v", name, lang, err)
			}
			html := b.String()
			if k := rawKey.FindString(html); k != "" {
				t.Errorf("%s/%s shows a message key instead of a message: %s", name, lang, k)
			}
			if !strings.Contains(html, `lang="`+lang+`"`) || strings.Contains(html, "style=") {
				t.Errorf("%s/%s: wrong lang attribute or inline style", name, lang)
			}
		}
	}
}

// Every error code has a message in every language: the pages show it
// before the server's (English) detail.
func TestErrorMessagesComplete(t *testing.T) {
	c := Messages()
	for _, lang := range Languages {
		for _, code := range models.ErrorCodes() {
			if _, ok := c[lang]["err."+string(code)]; !ok {
				t.Errorf("%s: no message err.%s", lang, code)
			}
		}
	}
}

// A malformed catalogue file, or a key missing in one language, is
// refused (at start-up: the embedded files are read when the program
// starts).
func TestLoadCatalogue(t *testing.T) {
	const (
		en = `{"language": "English", "messages": {"a.b": "A", "c.d": "C"}}`
		zh = `{"language": "简体中文", "messages": {"a.b": "甲", "c.d": "丙"}}`
	)
	files := func(en, zh string, extra ...string) fstest.MapFS {
		m := fstest.MapFS{}
		if en != "" {
			m["i18n/en.json"] = &fstest.MapFile{Data: []byte(en)}
		}
		if zh != "" {
			m["i18n/zh-CN.json"] = &fstest.MapFile{Data: []byte(zh)}
		}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = &fstest.MapFile{Data: []byte(extra[i+1])}
		}
		return m
	}
	tests := []struct {
		name string
		fsys fstest.MapFS
		want string // "" for valid
	}{
		{"valid", files(en, zh), ""},
		{"a language missing", files(en, ""), "no file for zh-CN"},
		{"a key missing in one language", files(en, `{"language": "简体中文", "messages": {"a.b": "甲"}}`), `i18n/zh-CN.json lacks "c.d"`},
		{"a key only in one language", files(en, `{"language": "简体中文", "messages": {"a.b": "甲", "c.d": "丙", "e.f": "戊"}}`), `i18n/en.json lacks "e.f"`},
		{"a key written twice", files(`{"language": "English", "messages": {"a.b": "A", "c.d": "C", "a.b": "B"}}`, zh), `"a.b" written twice`},
		{"an empty message", files(`{"language": "English", "messages": {"a.b": " ", "c.d": "C"}}`, zh), `"a.b" is empty`},
		{"a message not a string", files(`{"language": "English", "messages": {"a.b": 1, "c.d": "C"}}`, zh), `message "a.b"`},
		{"no language name", files(`{"messages": {"a.b": "A", "c.d": "C"}}`, zh), `no "language"`},
		{"unknown field", files(`{"language": "English", "msgs": {}}`, zh), "unknown field"},
		{"not JSON", files(`{"language": "English", "messages": {"a.b": "A",}}`, zh), "i18n/en.json"},
		{"an unknown language", files(en, zh, "i18n/fr.json", en), "not LANG.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadCatalogue(tt.fsys)
			switch {
			case tt.want == "" && (err != nil || c.msgs["zh-CN"]["c.d"] != "丙" || c.names["zh-CN"] != "简体中文"):
				t.Errorf("loadCatalogue = %+v, %v; want the messages and names", c, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("loadCatalogue = %v, want an error saying %q", err, tt.want)
			}
		})
	}
	if _, err := loadCatalogue(catalogueFiles); err != nil {
		t.Errorf("embedded catalogue: %v", err)
	}
}

// Messages hands out a copy: a caller changing it changes no page.
func TestMessagesIsACopy(t *testing.T) {
	Messages()["en"]["app.name"] = "changed"
	if got := Messages().T("en", "app.name"); got != "Remote identity verification" {
		t.Errorf(`Messages().T("en", "app.name") = %q after a caller changed its copy`, got)
	}
}

// Every service a case may be opened for has its name in every language
// (the console's select, the case page, the public check page).
func TestServiceNames(t *testing.T) {
	c := Messages()
	for _, p := range models.Purposes {
		for _, lang := range Languages {
			if strings.TrimSpace(c[lang]["service."+string(p)]) == "" {
				t.Errorf("%s has no name for the service %s (service.%s)", lang, p, p)
			}
		}
	}
}
