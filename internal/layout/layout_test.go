package layout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "remoteidv"

// mayImport lists, for every package of ours, the packages of ours its
// production code may import directly (tests may import more). The shape:
// models at the bottom imports nothing of ours; audit builds on models;
// adapters (storage, mail, registry, statement, signaling) know models and
// their own helpers but not each other or the workflow; verify is the
// workflow over models interfaces and the pure libraries (audit, mail
// templates, statement rendering, the face engine's cgo-free vocabulary in
// verify/facematch); httpapi is the HTTP edge over verify, access and
// signaling; only cmd/idv wires concrete adapters (the dlib engine in
// verify/face among them) and may import anything. A package missing from this table fails the test:
// add it with the rule it follows.
var mayImport = map[string][]string{
	"models":                        {},
	"audit":                         {"models"},
	"access":                        {"models", "audit"},
	"directory":                     {"models"}, // LDAP / Active Directory sign-in behind models.Directory
	"idp":                           {"models"}, // OpenID Connect sign-in behind models.IdentityProvider
	"mail":                          {"models"},
	"registry":                      {"models"},
	"statement":                     {"models", "internal/pdfcpucfg"},
	"statement/pades":               {},                            // PAdES signing and verification of the statement PDFs, a leaf: the PDF and CMS libraries stay here
	"signaling":                     {"models", "storage/encfile"}, // recordings in progress are encrypted on disk
	"signaling/replay":              {},
	"storage/verified":              {"models"},
	"storage/sqldb":                 {"models", "storage/encfile"}, // face descriptors sealed per value
	"storage/sqlite":                {"models", "storage/sqldb"},
	"storage/postgres":              {"models", "storage/sqldb"},
	"storage/localfs":               {"models", "storage/verified"},
	"storage/s3":                    {"models", "storage/verified"},
	"storage/archiver":              {"models", "storage/encfile"}, // reads encrypted staging
	"storage/encfile":               {"models"},                    // AES-256-GCM files and values under the staging key
	"verify/facematch":              {},
	"verify/face":                   {"verify/facematch"},
	"verify/face/facecli":           {"verify/face", "verify/facematch"},
	"verify":                        {"models", "audit", "mail", "statement", "verify/facematch", "verify/pdfcheck"},
	"verify/pdfcheck":               {"internal/pdfcpucfg"},                                                                                               // the PDF parser's one user: active content in uploaded letters
	"verify/verifytest":             {testOnly, "models", "audit", "verify", "verify/facematch", "storage/sqlite", "storage/localfs", "storage/archiver"}, // builds the workflow graph and drives it to a live capture for tests
	"notify":                        {"models", "audit", "mail"},                                                                                          // staff notifications: audit-log dispatcher, slot alerts, preferences
	"webhook":                       {"models", "audit"},                                                                                                  // endpoints, the audit-log dispatcher and signed deliveries
	"web":                           {},
	"metrics":                       {"models"}, // the domain metrics, over models interfaces
	"httpapi":                       {"models", "audit", "access", "verify", "verify/facematch", "signaling", "signaling/replay", "web", "webhook", "notify"},
	"cmd/idv":                       {"*"},
	"cmd/idvload":                   {"statement/pades"}, // the load generator speaks HTTP; it makes idv serve a throwaway statement signing certificate with pades.GenerateDemo
	"internal/layout":               {},
	"internal/pdfcpucfg":            {}, // pdfcpu's process-wide setting, made once for all its users
	"internal/testenv":              {testOnly, "internal/synthcam"},
	"internal/testenv/oidcop":       {testOnly}, // the tests' OpenID Connect provider, a command testenv.StartOIDC builds and runs
	"internal/synthcam":             {},         // synthetic cameras (scripts for headless Chromium): the browser tests and idv demo customer
	"mail/mailtest":                 {testOnly, "models"},
	"storage/storagetest":           {testOnly, "models", "audit", "storage/localfs", "storage/sqldb", "storage/encfile", "verify/facematch"}, // publishes checkpoint notes to a real store; calibrates face populations
	"storage/evidencetest":          {testOnly, "models"},
	"storage/archiver/archivertest": {testOnly, "*"},

	// headless Chromium for idv demo customer and idv demo story
	"internal/demobrowser": {"internal/synthcam"},
}

// testOnly marks a package that production code must never import: test
// servers, conformance suites and test media.
const testOnly = "(test only)"

// libraryOwner names, for each outside module our production code uses, the
// one package (or package tree, ending in "/...") that may import it, so a
// library's use and its replacement stay in one place. Test-support
// packages may also use their production package's library.
var libraryOwner = map[string][]string{
	"github.com/gin-gonic/gin":            {"httpapi"},
	"github.com/pion/":                    {"signaling"},
	"github.com/gorilla/websocket":        {"signaling"},
	"github.com/Kagami/go-face":           {"verify/face"},
	"github.com/minio/minio-go/v7":        {"storage/s3"},
	"github.com/jackc/pgx/v5":             {"storage/postgres", "internal/testenv", "cmd/idvload"}, // idvload makes and drops its own database
	"modernc.org/sqlite":                  {"storage/sqlite"},
	"github.com/go-pdf/fpdf":              {"statement"},
	"github.com/skip2/go-qrcode":          {"statement"},                                          // the QR code of the statement's verification URL
	"github.com/pdfcpu/pdfcpu":            {"verify/pdfcheck", "statement", "internal/pdfcpucfg"}, // pdfcheck reads uploaded letters; statement attaches and encrypts (AES-256) the customer's envelope
	"github.com/digitorus/":               {"statement/pades"},                                    // pdfsign (the signature field and byte range), pdf (reading), pkcs7 (verifying the CMS), timestamp (RFC 3161)
	"github.com/at-wat/ebml-go":           {"signaling/replay"},
	"github.com/emersion/go-smtp":         {"mail", "mail/mailtest"},
	"github.com/emersion/go-sasl":         {"mail", "mail/mailtest"},
	"golang.org/x/crypto":                 {"access"},
	"github.com/go-ldap/ldap/v3":          {"directory"},
	"github.com/coreos/go-oidc/v3":        {"idp"},
	"golang.org/x/oauth2":                 {"idp"},
	"github.com/zitadel/oidc/v3":          {"internal/testenv/oidcop"}, // the tests' provider only
	"github.com/go-webauthn/webauthn":     {"access"},                  // security keys (access/webauthn.go)
	"golang.org/x/mod":                    {"audit"},
	"golang.org/x/sync":                   {"cmd/idv"}, // errgroup: idv serve runs its server and background jobs in one group
	"github.com/chromedp/":                {"internal/testenv", "internal/synthcam", "internal/demobrowser"},
	"github.com/google/go-cmp":            {"storage/storagetest", "storage/evidencetest"},
	"github.com/prometheus/client_golang": {"httpapi", "storage/archiver", "metrics", "webhook"}, // the archiver and webhook own their queue metrics, metrics the domain's; httpapi serves them
	"golang.org/x/image":                  {"signaling", "verify/face"},                          // codecs and drawing, used where frames are decoded and marked
}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json", module+"/...")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, errb.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages of %s; run the test inside the module", len(pkgs), module)
	}
	return pkgs
}

func ours(path string) (string, bool) {
	if path == module {
		return "", true
	}
	rest, ok := strings.CutPrefix(path, module+"/")
	return rest, ok
}

// TestDependencyRules checks every package's direct imports against
// mayImport and libraryOwner, and that models depends (transitively) on
// nothing of ours.
func TestDependencyRules(t *testing.T) {
	pkgs := listPackages(t)
	var problems []string
	seen := map[string]bool{}
	for _, p := range pkgs {
		name, _ := ours(p.ImportPath)
		seen[name] = true
		allowed, known := mayImport[name]
		if !known {
			problems = append(problems, fmt.Sprintf("%s is not in mayImport: add it to internal/layout/layout_test.go with the packages of ours it may import", name))
			continue
		}
		for _, imp := range p.Imports {
			if dep, ok := ours(imp); ok {
				if rule, bad := importBreaks(name, dep, allowed); bad {
					problems = append(problems, fmt.Sprintf("%s imports %s: %s", name, dep, rule))
				}
				continue
			}
			if !strings.Contains(strings.Split(imp, "/")[0], ".") {
				continue // standard library
			}
			if owners, lib := ownersOf(imp); lib == "" {
				problems = append(problems, fmt.Sprintf("%s imports %s, an outside library with no owner: add it to libraryOwner with the one package that may use it", name, imp))
			} else if !contains(owners, name) {
				problems = append(problems, fmt.Sprintf("%s imports %s: %s belongs to %s; use it there and reach it through that package", name, imp, lib, strings.Join(owners, ", ")))
			}
		}
	}
	for name := range mayImport {
		if !seen[name] {
			problems = append(problems, fmt.Sprintf("mayImport lists %s, which no longer exists: remove it", name))
		}
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
}

// importBreaks reports whether from importing dep breaks a rule, and which.
func importBreaks(from, dep string, allowed []string) (string, bool) {
	if contains(mayImport[dep], testOnly) && !contains(mayImport[from], testOnly) {
		return dep + " is test support: only tests and other test support may import it", true
	}
	if contains(allowed, "*") || contains(allowed, dep) {
		return "", false
	}
	if len(allowed) == 0 {
		return from + " may import nothing of ours", true
	}
	return fmt.Sprintf("%s may import only %s", from, strings.Join(allowed, ", ")), true
}

func ownersOf(imp string) ([]string, string) {
	best := ""
	for lib := range libraryOwner {
		if (imp == lib || strings.HasPrefix(imp, strings.TrimSuffix(lib, "/")+"/")) && len(lib) > len(best) {
			best = lib
		}
	}
	return libraryOwner[best], best
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// TestModelsImportsNothingOfOurs follows models' dependencies all the way
// down: the domain package must compile without any other package of ours.
func TestModelsImportsNothingOfOurs(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", module+"/models")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps models: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if name, ok := ours(dep); ok && name != "models" {
			t.Errorf("models depends on %s: models must import nothing of ours (move the type into models, or the code out of it)", name)
		}
	}
}

// cgoFree lists the packages that must build without cgo: none of them may
// depend, even indirectly, on dlib (github.com/Kagami/go-face). The
// workflow and the HTTP layer use the face engine's cgo-free vocabulary
// (verify/facematch); only cmd/idv links the engine (verify/face).
var cgoFree = []string{"verify", "verify/facematch", "httpapi"}

// TestCgoFreePackages follows the dependencies of every package of cgoFree
// all the way down: none may reach github.com/Kagami/go-face or
// verify/face.
func TestCgoFreePackages(t *testing.T) {
	for _, name := range cgoFree {
		out, err := exec.Command("go", "list", "-deps", module+"/"+name).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", name, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == "github.com/Kagami/go-face" || strings.HasPrefix(dep, "github.com/Kagami/go-face/") || dep == module+"/verify/face" {
				t.Errorf("%s depends on %s: it must build without dlib; use verify/facematch's types and take the engine as an interface", name, dep)
			}
		}
	}
}
