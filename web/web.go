// Package web holds the pages and scripts served to browsers, embedded in
// the binary: server-rendered HTML templates and ES-module JavaScript
// (no inline script, no third-party origins, so the strict Content
// Security Policy holds): the customer's consent and call pages, and the
// staff pages (login, clerk console and case page, supervisor's review,
// auditor's search and case, admin's staff list) in English and Simplified
// Chinese (i18n.go, the messages in i18n/LANG.json).
package web

import (
	"embed"
	"html/template"
	"io"
	"io/fs"
	"strings"
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

// Render writes the named page ("consent.html", "call.html", "gone.html",
// or a staff page "staff_<name>.html" with a Page as data).
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

// Page is the data of a staff page: the layout (layout.html) reads the
// language, the signed-in user and the navigation from it; the page's
// script reads the messages, the CSRF token and the case from the markup.
type Page struct {
	Name    string // staff_<Name>.html; also body[data-page]
	Title   string // message key of the title
	Script  string // module under /static/staff/, "" for none
	Lang    string // one of Languages
	Path    string // the page's path, for the language switch
	Bank    string
	User    string // display name; "" when nobody is signed in
	Roles   []string
	CSRF    string
	CaseID  string
	Mode    string   // case page: clerk, review or audit
	Options []string // choices a form offers (case states, roles)
	// Services are the services a case may be opened for
	// (models.Purposes), each named by the message "service.<purpose>".
	Services []string
	// FlagCategories are the fraud flag categories an abort may raise
	// (models.FlagCategories), each named by "flag.category.<category>".
	FlagCategories []string
	Back           string // case page: the list it was opened from
	// KeyFingerprint is the SHA-256 fingerprint of the service's signing
	// key (audit.Fingerprint), shown to auditors so they can pin it.
	KeyFingerprint string
	Nav            []NavItem
	Msgs           Catalogue
	// Record is the auditor's case page's summary, timeline and evidence
	// (nil on every other page).
	Record *CaseRecord
	// Calls is the case's calls' interruptions on the clerk's, the
	// supervisor's and the auditor's case pages (nil elsewhere, and
	// before the case's first call).
	Calls *CallGaps
	// Demo is the demonstration mode (IDV_DEMO): every page shows a
	// banner saying so, with a link to the demo mailbox.
	Demo bool
	// SSO (login page) names the bank's identity provider: a "Sign in
	// with" link; "" when none is configured. SSOError is the message key
	// of a sign-in there that did not work; SSODone, after one that did,
	// is where the page goes next.
	SSO, SSOError, SSODone string
	// SSOStepUp: the signed-in member comes from the identity provider,
	// so an approval's step-up happens there (a link), not with a password.
	SSOStepUp bool
}

// NavItem is one link of the staff navigation.
type NavItem struct {
	Href, Key string
	Current   bool
}

// LangLink is one entry of the language switch.
type LangLink struct {
	Lang, Label, Href string
	Current           bool
}

// T translates key into the page's language.
func (p Page) T(key string) string { return p.Msgs.T(p.Lang, key) }

// TName is message key with {name} replaced by name (the identity
// provider's on the login page).
func (p Page) TName(key, name string) string { return strings.ReplaceAll(p.T(key), "{name}", name) }

// Messages is the page language's catalogue, embedded as JSON for the script.
func (p Page) Messages() map[string]string {
	out := make(map[string]string, len(p.Msgs["en"]))
	for _, k := range p.Msgs.Keys("en") {
		out[k] = p.Msgs.T(p.Lang, k)
	}
	return out
}

// Switch is the language switch: each language links to the same page.
func (p Page) Switch() []LangLink {
	out := make([]LangLink, 0, len(Languages))
	for _, l := range Languages {
		out = append(out, LangLink{Lang: l, Label: embedded.names[l], Href: p.Path + "?lang=" + l, Current: l == p.Lang})
	}
	return out
}

// MailboxPage is the data of the demo mailbox (demo_mailbox.html): the
// messages the service sent, or the one opened.
type MailboxPage struct {
	Page
	Mails []MailView
	Open  *MailView
}

// MailView is one message of the demo mailbox.
type MailView struct {
	ID, From, To, Subject, Date string
	Text                        string
	Links, Attachments          []string
}

// StatementCheckPage is the public page on which a statement's recipient
// checks it (statement_check.html): what the bank says about the ID and,
// when a file or hash was given, whether it is exactly the issued file.
type StatementCheckPage struct {
	Page
	ID                  string
	Issued, Revoked     bool
	IssuedAt, RevokedAt string // in UTC, as printed
	Document            string // the issued document's kind (a models.Purpose), named by "service.<purpose>"
	Checked, Match      bool
	SHA256              string
	Error               string // a refusal (bad hash, too many checks), in the page's language
}

// CustomerPage is the data of the customer's pages (consent.html,
// call.html, gone.html): the layout's language and switch, plus the call's
// slot in both zones, the clerk, and the consent text in the page's language.
type CustomerPage struct {
	Page
	Customer, Branch, Clerk string
	Version, Text           string
	// Action is where the consent form posts: the invite link on the
	// landing page (the button spends it), /call/consent after.
	Action string
	// CodeVerified and LetterOnFile are the call page's steps already
	// done (verify.CustomerProgress), so a reload does not ask again.
	CodeVerified, LetterOnFile bool
	// Status is the status page's request (nil: no request can be shown,
	// the page without a valid customer cookie).
	Status *Status
}

// Status is where a customer's request stands, as the status page shows
// it: the request's reference, its slot in the customer's zone (and the
// branch's), the outcome once there is one, and the steps.
type Status struct {
	Ref           string
	Outcome       string // "", approved, rejected, cancelled, expired, aborted
	StatementSent bool
	Steps         []StatusStep
}

// StatusStep is one step of the request: done, current or ahead.
type StatusStep struct {
	Key           string // status.step.KEY names it
	Done, Current bool
}
