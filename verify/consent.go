package verify

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// Consent is a versioned consent text shown to the customer before the
// call; SHA256 is the hash of Text, recorded with the acceptance.
type Consent struct {
	Version string `json:"version"`
	Locale  string `json:"locale"`
	Text    string `json:"text"`
	SHA256  string `json:"sha256"`
}

// consentVersion names the current consent texts; a new wording gets a new
// version (new files consent/VERSION.LOCALE.txt, the old ones kept) so
// that stored hashes always identify what the customer read.
const consentVersion = "2026-11-1"

// consentLocales are the languages every version is written in; English
// is the fallback.
var consentLocales = []string{"en", "zh-CN"}

// consentFiles holds the texts, one file per version and language
// (VERSION.LOCALE.txt): the text, then one newline, which is not part of
// it. The bytes of a published version must never change.
//
//go:embed consent/*.txt
var consentFiles embed.FS

// consents is every version's texts by locale, read once at start-up: a
// malformed or missing file stops the program before it serves anyone.
var consents = mustLoadConsents(consentFiles)

func mustLoadConsents(fsys fs.FS) map[string]map[string]string {
	c, err := loadConsents(fsys, consentVersion)
	if err != nil {
		panic(err)
	}
	return c
}

// loadConsents reads consent/VERSION.LOCALE.txt from fsys and checks that
// every version has a text in every locale and that current is one of them.
func loadConsents(fsys fs.FS, current string) (map[string]map[string]string, error) {
	files, err := fs.Glob(fsys, "consent/*")
	if err != nil {
		return nil, fmt.Errorf("consent texts: %w", err)
	}
	out := map[string]map[string]string{}
	for _, name := range files {
		base, ok := strings.CutSuffix(path.Base(name), ".txt")
		dot := strings.LastIndexByte(base, '.')
		if !ok || dot <= 0 || !slices.Contains(consentLocales, base[dot+1:]) {
			return nil, fmt.Errorf("consent text %s: not VERSION.LOCALE.txt with a locale of %v", name, consentLocales)
		}
		version, locale := base[:dot], base[dot+1:]
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("consent text %s: %w", name, err)
		}
		text, ok := strings.CutSuffix(string(b), "\n")
		if !ok || strings.TrimSpace(text) == "" || strings.HasSuffix(text, "\n") || strings.Contains(text, "\r") || !utf8.ValidString(text) {
			return nil, fmt.Errorf("consent text %s: must be UTF-8 text without carriage returns, ending in exactly one newline", name)
		}
		if out[version] == nil {
			out[version] = map[string]string{}
		}
		out[version][locale] = text
	}
	if out[current] == nil {
		return nil, fmt.Errorf("consent texts: no file of the current version %s", current)
	}
	for version, texts := range out {
		for _, l := range consentLocales {
			if _, ok := texts[l]; !ok {
				return nil, fmt.Errorf("consent texts: version %s has no %s text (consent/%s.%s.txt)", version, l, version, l)
			}
		}
	}
	return out, nil
}

// ConsentText returns the current consent text in locale (English when the
// locale has none).
func ConsentText(locale string) Consent {
	texts := consents[consentVersion]
	text, ok := texts[locale]
	if !ok {
		locale, text = "en", texts["en"]
	}
	sum := sha256.Sum256([]byte(consentVersion + "\n" + locale + "\n" + text))
	return Consent{Version: consentVersion, Locale: locale, Text: text, SHA256: hex.EncodeToString(sum[:])}
}
