package mail

import (
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	texttemplate "text/template"
)

// Kinds of message the service sends. KindStatement is the case's released
// document, whichever service the case is for: the outbox files every
// document under it (its delivery closes the case), while each document
// has its own template.
const (
	KindInvite    = "invite"
	KindCode      = "code"
	KindStatement = "statement"
	// Customer communications: a reminder before the slot, the slot
	// moved (with the updated calendar file), the call cancelled (with the
	// calendar's cancellation), and what happens after the decision.
	KindReminder   = "reminder"
	KindReschedule = "reschedule"
	KindCancel     = "cancel"
	KindApproved   = "approved"
	KindRejected   = "rejected"
	// KindStaff is a notification to a member of staff (Data.Notice
	// says which); the outbox files it under its own kind.
	KindStaff = "staff"
)

// Templates of released documents other than the transaction statement
// (whose template is KindStatement's): Render takes them like a kind,
// OutboxKind files them as KindStatement.
const (
	TemplateBalanceCertificate = "balance_certificate"
)

// KindNotice is the outbox kind of every customer notice (the templates
// of notices).
const KindNotice = "notice"

// OutboxKind is the kind the outbox files a message rendered from
// template t under: KindStatement for every document's template,
// KindNotice for every notice's, t itself otherwise.
func OutboxKind(t string) string {
	switch {
	case slices.Contains(documents, t):
		return KindStatement
	case slices.Contains(notices, t):
		return KindNotice
	}
	return t
}

// Languages the templates are written in; any other falls back to English.
const (
	LangEnglish = "en"
	LangChinese = "zh-CN"
)

// Data fills a template. Only the fields a kind uses need be set.
type Data struct {
	BankName   string
	HolderName string
	Link       string // invite
	SlotLocal  string // invite, reminder, reschedule, cancel: the call time in the customer's zone
	SlotBranch string // reminder, reschedule, cancel: the call time in the branch's zone
	Hours      int    // reminder: how many hours before the call it is sent
	Code       string // code: the six digits
	Minutes    int    // code: validity
	PeriodFrom string // statement
	PeriodTo   string // statement; a balance certificate's date
	CaseRef    string
	// Staff notifications: the kind (models.NotifyKind), the member's
	// name, the masked account number and the link to the case's page.
	Notice    string
	StaffName string
	AccountNo string
	// Encrypted (statement) says the attachment is the AES-256 envelope
	// locked with the password the customer chose during the call.
	Encrypted bool
}

// kinds (with the documents' templates) and languages every template file
// set must cover.
var (
	documents = []string{KindStatement, TemplateBalanceCertificate}
	notices   = []string{KindReminder, KindReschedule, KindCancel, KindApproved, KindRejected}
	kinds     = []string{KindInvite, KindCode, KindStatement, TemplateBalanceCertificate,
		KindReminder, KindReschedule, KindCancel, KindApproved, KindRejected, KindStaff}
	languages = []string{LangEnglish, LangChinese}
	parts     = []string{"subject", "text", "html"}
)

// templateFiles holds one file per kind and language,
// templates/KIND.LANG.tmpl, defining the templates "subject", "text" and
// "html" (text/template syntax; the HTML part is escaped as HTML).
//
//go:embed templates/*.tmpl
var templateFiles embed.FS

// template is one kind's message in one language: subject and text parsed
// as text, the body's HTML alternative as HTML.
type template struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// templates holds every kind's templates by language, parsed once at
// start-up: a malformed or missing file stops the program before it
// sends anything.
var templates = mustParseTemplates(templateFiles)

func mustParseTemplates(fsys fs.FS) map[string]map[string]template {
	t, err := parseTemplates(fsys)
	if err != nil {
		panic(err)
	}
	return t
}

// parseTemplates parses templates/KIND.LANG.tmpl from fsys and checks that
// every kind has a file in every language defining every part.
func parseTemplates(fsys fs.FS) (map[string]map[string]template, error) {
	files, err := fs.Glob(fsys, "templates/*")
	if err != nil {
		return nil, fmt.Errorf("mail templates: %w", err)
	}
	out := map[string]map[string]template{}
	for _, name := range files {
		base, ok := strings.CutSuffix(path.Base(name), ".tmpl")
		kind, lang, _ := strings.Cut(base, ".")
		if !ok || !slices.Contains(kinds, kind) || !slices.Contains(languages, lang) {
			return nil, fmt.Errorf("mail template %s: not KIND.LANG.tmpl with a kind of %v and a language of %v", name, kinds, languages)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("mail template %s: %w", name, err)
		}
		var t template
		if t.text, err = texttemplate.New(base).Option("missingkey=error").Parse(string(b)); err != nil {
			return nil, fmt.Errorf("mail template %s: %w", name, err)
		}
		if t.html, err = htmltemplate.New(base).Option("missingkey=error").Parse(string(b)); err != nil {
			return nil, fmt.Errorf("mail template %s: %w", name, err)
		}
		for _, p := range parts {
			if t.text.Lookup(p) == nil {
				return nil, fmt.Errorf("mail template %s: defines no %q", name, p)
			}
		}
		// A field Data lacks fails only when executed: try every part now.
		if err := t.execute(io.Discard, io.Discard, io.Discard, Data{}); err != nil {
			return nil, fmt.Errorf("mail template %s: %w", name, err)
		}
		if out[kind] == nil {
			out[kind] = map[string]template{}
		}
		out[kind][lang] = t
	}
	for _, kind := range kinds {
		for _, lang := range languages {
			if _, ok := out[kind][lang]; !ok {
				return nil, fmt.Errorf("mail templates: no %s template in %s (templates/%s.%s.tmpl)", kind, lang, kind, lang)
			}
		}
	}
	return out, nil
}

// Render fills the kind's template in lang (English when the language has
// no template) and returns the subject, the plain text and the HTML body.
// HTML values are escaped.
func Render(kind, lang string, d Data) (subject, text, html string, err error) {
	byLang, ok := templates[kind]
	if !ok {
		return "", "", "", fmt.Errorf("render mail: unknown kind %q", kind)
	}
	t, ok := byLang[lang]
	if !ok {
		t = byLang[LangEnglish]
	}
	var sb, tb, hb strings.Builder
	if err := t.execute(&sb, &tb, &hb, d); err != nil {
		return "", "", "", fmt.Errorf("render %s mail %w", kind, err)
	}
	return sb.String(), tb.String(), hb.String(), nil
}

// execute writes the subject, text and HTML of t filled with d.
func (t template) execute(subject, text, html io.Writer, d Data) error {
	if err := t.text.ExecuteTemplate(subject, "subject", d); err != nil {
		return fmt.Errorf("subject: %w", err)
	}
	if err := t.text.ExecuteTemplate(text, "text", d); err != nil {
		return fmt.Errorf("text: %w", err)
	}
	if err := t.html.ExecuteTemplate(html, "html", d); err != nil {
		return fmt.Errorf("html: %w", err)
	}
	return nil
}
