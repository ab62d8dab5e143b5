package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Languages the pages speak, in the order of the language switch.
var Languages = []string{"en", "zh-CN"}

// Catalogue holds every message of the pages in each language; the
// pages' scripts get the same messages (see Page.Messages), so a key is
// written once.
type Catalogue map[string]map[string]string

// catalogueFiles holds one file per language, i18n/LANG.json: the
// language's own name (for the language switch) and its messages by key.
//
//go:embed i18n/*.json
var catalogueFiles embed.FS

// catalogue is what the files hold.
type catalogue struct {
	msgs  Catalogue
	names map[string]string // each language's name in itself
}

// embedded is the catalogue of catalogueFiles, read once when the program
// starts: a malformed file, or a key missing in one language, stops it
// (a panic at initialization) before it serves a page.
var embedded = mustLoadCatalogue(catalogueFiles)

func mustLoadCatalogue(fsys fs.FS) catalogue {
	c, err := loadCatalogue(fsys)
	if err != nil {
		panic(err)
	}
	return c
}

// Messages returns the catalogue of the pages (a copy the caller may keep).
func Messages() Catalogue {
	out := make(Catalogue, len(embedded.msgs))
	for lang, m := range embedded.msgs {
		out[lang] = maps.Clone(m)
	}
	return out
}

// loadCatalogue reads i18n/LANG.json for every language of Languages (and
// no other) and checks that each has a name and the same keys, none empty
// or written twice.
func loadCatalogue(fsys fs.FS) (catalogue, error) {
	c := catalogue{msgs: Catalogue{}, names: map[string]string{}}
	files, err := fs.Glob(fsys, "i18n/*")
	if err != nil {
		return c, fmt.Errorf("catalogue: %w", err)
	}
	for _, name := range files {
		lang, ok := strings.CutSuffix(path.Base(name), ".json")
		if !ok || !slices.Contains(Languages, lang) {
			return c, fmt.Errorf("catalogue %s: not LANG.json with a language of %v", name, Languages)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return c, fmt.Errorf("catalogue %s: %w", name, err)
		}
		if c.names[lang], c.msgs[lang], err = parseCatalogueFile(b); err != nil {
			return c, fmt.Errorf("catalogue %s: %w", name, err)
		}
	}
	for _, lang := range Languages {
		if c.msgs[lang] == nil {
			return c, fmt.Errorf("catalogue: no file for %s (i18n/%s.json)", lang, lang)
		}
		for _, other := range Languages {
			for k := range c.msgs[other] {
				if _, ok := c.msgs[lang][k]; !ok {
					return c, fmt.Errorf("catalogue: i18n/%s.json lacks %q (present in %s)", lang, k, other)
				}
			}
		}
	}
	return c, nil
}

// parseCatalogueFile reads {"language": NAME, "messages": {KEY: TEXT,
// ...}}, refusing anything else, a key written twice and an empty text.
func parseCatalogueFile(b []byte) (string, map[string]string, error) {
	var f struct {
		Language string          `json:"language"`
		Messages json.RawMessage `json:"messages"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return "", nil, err
	}
	if strings.TrimSpace(f.Language) == "" {
		return "", nil, fmt.Errorf(`no "language" (the language's own name)`)
	}
	dec = json.NewDecoder(bytes.NewReader(f.Messages))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", nil, fmt.Errorf(`"messages" is not an object of texts by key`)
	}
	msgs := map[string]string{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", nil, err
		}
		key, ok := t.(string)
		if !ok {
			return "", nil, fmt.Errorf("message key %v is not a string", t)
		}
		var text string
		if err := dec.Decode(&text); err != nil {
			return "", nil, fmt.Errorf("message %q: %w", key, err)
		}
		if _, dup := msgs[key]; dup {
			return "", nil, fmt.Errorf("message %q written twice", key)
		}
		if strings.TrimSpace(text) == "" {
			return "", nil, fmt.Errorf("message %q is empty", key)
		}
		msgs[key] = text
	}
	if len(msgs) == 0 {
		return "", nil, fmt.Errorf(`"messages" is empty`)
	}
	return f.Language, msgs, nil
}

// T returns the message key in lang, falling back to English and then to
// the key itself, so a missing message shows as its key, never as nothing.
func (c Catalogue) T(lang, key string) string {
	if m, ok := c[lang][key]; ok {
		return m
	}
	if m, ok := c["en"][key]; ok {
		return m
	}
	return key
}

// Keys lists the keys of lang, sorted.
func (c Catalogue) Keys(lang string) []string {
	keys := make([]string, 0, len(c[lang]))
	for k := range c[lang] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Negotiate picks the page language: an explicit choice (the switch's
// cookie) first, else the browser's Accept-Language by quality, else English.
func Negotiate(choice, acceptLanguage string) string {
	if l := match(choice); l != "" {
		return l
	}
	type pref struct {
		lang string
		q    float64
	}
	var prefs []pref
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if l := match(tag); l != "" && q > 0 {
			prefs = append(prefs, pref{l, q})
		}
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	if len(prefs) > 0 {
		return prefs[0].lang
	}
	return "en"
}

// match maps a language tag to one of Languages ("" for none): any
// Chinese tag is shown Simplified Chinese, any English tag English.
func match(tag string) string {
	t := strings.ToLower(strings.TrimSpace(tag))
	switch {
	case t == "en" || strings.HasPrefix(t, "en-"):
		return "en"
	case t == "zh" || strings.HasPrefix(t, "zh-"):
		return "zh-CN"
	}
	return ""
}
