package httpapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/web"
	"remoteidv/webhook"
)

func testNarrator(lang string) *narrator {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	return &narrator{lang: lang, msgs: web.Messages(), branch: shanghai, staff: map[models.StaffID]*models.Staff{
		"stf_sun":    {ID: "stf_sun", Username: "sunli", DisplayName: "Sun Li", Roles: []models.Role{models.RoleSupervisor}},
		"stf_wang":   {ID: "stf_wang", Username: "wang", DisplayName: "Wang Fang", Roles: []models.Role{models.RoleClerk}},
		"stf_both":   {ID: "stf_both", Username: "zhao", DisplayName: "Zhao Min", Roles: []models.Role{models.RoleClerk, models.RoleSupervisor}},
		"stf_titled": {ID: "stf_titled", Username: "qian", DisplayName: "Supervisor Qian Yu", Roles: []models.Role{models.RoleSupervisor}},
	}}
}

// TestEverySentence: every action the service appends has a sentence in
// each language, naming its actor, with every placeholder filled from the
// event (none left as "{...}"), and never the raw action name.
func TestEverySentence(t *testing.T) {
	for _, lang := range web.Languages {
		n := testNarrator(lang)
		for _, action := range models.AuditActions {
			t.Run(lang+"/"+action, func(t *testing.T) {
				msg, ok := n.msgs[lang]["event."+action]
				if !ok {
					t.Fatalf("no message event.%s in %s", action, lang)
				}
				detail := map[string]string{}
				for _, m := range regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(msg, -1) {
					if m[1] != "who" {
						detail[m[1]] = "X" + m[1]
					}
				}
				e := &models.AuditEvent{Action: action, Actor: "staff:stf_sun", Detail: detail}
				got := n.sentence(e)
				who := n.party(e.Actor, action).Subject
				if !strings.Contains(msg, "{who}") {
					who = "" // a sentence about no one (auth.address_locked)
				}
				if strings.ContainsAny(got, "{}") || strings.Contains(got, action) || !strings.Contains(got, who) {
					t.Errorf("sentence(%s) = %q, want it filled, naming %q, without the action's name", action, got, who)
				}
				for k := range detail {
					if !strings.Contains(got, "X"+k) {
						t.Errorf("sentence(%s) = %q lacks its detail %s", action, got, k)
					}
				}
			})
		}
	}
}

// TestSentences: what people read for a few events, in both languages.
func TestSentences(t *testing.T) {
	for _, tc := range []struct {
		lang, actor, action string
		detail              map[string]string
		who, want           string
	}{
		{"en", "staff:stf_sun", "case.approve", map[string]string{"reason": "signature and face confirmed", "decision": "approve"},
			"Sun Li (supervisor)", "Supervisor Sun Li approved: signature and face confirmed"},
		{"zh-CN", "staff:stf_sun", "case.approve", map[string]string{"reason": "签名与人脸一致"}, "Sun Li（主管）", "主管Sun Li批准：签名与人脸一致"},
		{"en", "staff:stf_wang", "check.signature", map[string]string{"verdict": "pass"}, "Wang Fang (clerk)",
			"Clerk Wang Fang compared the signature with the specimen: passed"},
		{"en", "staff:stf_both", "case.submit", nil, "Zhao Min (clerk)", "Clerk Zhao Min submitted the case for review"},
		{"en", "staff:stf_both", "case.reject", map[string]string{"reason": "letter unsigned"}, "Zhao Min (supervisor)", "Supervisor Zhao Min rejected: letter unsigned"},
		{"en", "staff:stf_titled", "case.approve", map[string]string{"reason": "ok"}, "Supervisor Qian Yu (supervisor)", "Supervisor Qian Yu approved: ok"},
		{"en", "staff:stf_gone", "case.cancel", map[string]string{"reason": "asked by phone"}, "staff member", "A staff member cancelled the case: asked by phone"},
		{"en", "customer:cus_1", "customer.consent", nil, "customer", "The customer accepted the recording and biometric consent"},
		{"zh-CN", "customer:cus_1", "customer.consent", nil, "客户", "客户同意了录像和生物特征授权"},
		{"en", "system", "case.seal", nil, "sealer", "The sealer sealed the case: every artifact archived, the manifest signed"},
		{"en", "system", "mail.report.failed", map[string]string{"status": "5.1.1"}, "mailer", "The mailer got a report: the message could not be delivered (5.1.1)"},
		{"en", "system:signaling", "call.ended", map[string]string{"reason": "bye", "recording": "complete"}, "call server", "The call server ended the call (bye); recording complete"},
		{"en", "system:recorder", "call.segment", map[string]string{"participant": "customer", "track": "video"}, "recorder", "The recorder stored a recorded segment (customer, video)"},
		{"en", "system", "code.wrong", map[string]string{"tries_left": "3"}, "code checker", "The code checker refused a wrong one-time code (3 tries left)"},
		{"en", "staff:stf_wang", "check.face_match", map[string]string{"result": "MATCH"}, "Wang Fang (clerk)", "Clerk Wang Fang took a live capture: the faces match"},
		{"zh-CN", "system", "case.seal", nil, "封存程序", "封存程序封存了案件：所有证据已归档，清单已签名"},
		{"en", "token:tok_1", "auth.token_used", nil, "API token", "An API token was used"},
		{"en", "system:directory", "staff.disabled", map[string]string{"reason": "no directory group mapped to a role"}, "staff directory", "The staff directory disabled a staff member"},
		{"en", "system:directory", "staff.directory_updated", map[string]string{"username": "sam", "roles": "clerk", "old_roles": "clerk,supervisor"}, "staff directory",
			"The staff directory set the roles of sam to clerk (were clerk,supervisor)"},
		{"zh-CN", "system:directory", "staff.directory_updated", map[string]string{"username": "sam", "roles": "clerk", "old_roles": "clerk,supervisor"}, "员工目录",
			"员工目录将 sam 的角色设为 clerk（原为 clerk,supervisor）"},
		{"en", "anonymous", "auth.address_locked", map[string]string{"source": "203.0.113.0/24"}, "unknown", "Sign-ins from 203.0.113.0/24 were blocked after failures"},
		{"en", "staff:stf_sun", "case.approve", nil, "Sun Li (supervisor)", "Supervisor Sun Li approved"}, // no reason: no dangling colon
		{"en", "system", "test.unknown", nil, "archiver", "The archiver: test.unknown"},                   // an action without a sentence reads as its name
	} {
		n := testNarrator(tc.lang)
		e := &models.AuditEvent{Actor: tc.actor, Action: tc.action, Detail: tc.detail}
		if got := n.sentence(e); got != tc.want {
			t.Errorf("%s: sentence(%s by %s) = %q, want %q", tc.lang, tc.action, tc.actor, got, tc.want)
		}
		if got := n.party(tc.actor, tc.action).Name; got != tc.who {
			t.Errorf("%s: party(%s, %s).Name = %q, want %q", tc.lang, tc.actor, tc.action, got, tc.who)
		}
	}
}

// TestRecordTimes: times read in the branch's zone, and in the
// customer's where it matters.
func TestRecordTimes(t *testing.T) {
	n := testNarrator("en")
	at := time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC)
	evs := []*models.AuditEvent{{Seq: 1, At: at, Actor: "customer:cus_1", Action: "customer.consent"}, {Seq: 2, At: at, Actor: "staff:stf_wang", Action: "letter.viewed"}}
	vs := n.views(evs, "America/New_York")
	if vs[0].AtBranch != "2026-11-27 22:00:00 CST" || vs[0].AtCustomer != "2026-11-27 09:00:00 EST" {
		t.Errorf("consent at %s, customer %s; want 2026-11-27 22:00:00 CST and 2026-11-27 09:00:00 EST", vs[0].AtBranch, vs[0].AtCustomer)
	}
	if vs[1].AtCustomer != "" {
		t.Errorf("letter.viewed shows the customer's time %q, want none", vs[1].AtCustomer)
	}
}

// TestAuditActionsComplete: models.AuditActions, the list the sentences
// are checked against, holds every action the code appends. It finds them
// in the source: every string literal outside tests that looks like an
// action of a known namespace, and every case event and delivery report
// (the actions built at run time from models.CaseEvent and
// models.DeliveryAction constants).
func TestAuditActionsComplete(t *testing.T) {
	known := map[string]bool{}
	spaces := map[string]bool{}
	for _, a := range models.AuditActions {
		if known[a] {
			t.Errorf("models.AuditActions lists %s twice", a)
		}
		known[a] = true
		spaces[strings.SplitN(a, ".", 2)[0]] = true
	}
	// Literals of a namespace that are not actions: error details (message
	// keys), quota names and file names.
	notActions := map[string]bool{"letter.pdf_active": true}
	// Webhook event types (webhook/event.go) are what receivers subscribe
	// to, not audit actions, though some share an action's name.
	for _, typ := range webhook.Types {
		if !known[typ] {
			notActions[typ] = true
		}
	}
	fileName := regexp.MustCompile(`\.(csv|html|js|css|ics|tmpl|pdf|json|png|jpg|txt|eml|pem|db|log|zip|webm|key|sig|dat)$`)
	looksLike := regexp.MustCompile(`^([a-z]+)\.[a-z_]+(\.[a-z_]+)?$`)
	fset := token.NewFileSet()
	found := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Test helpers (storagetest, verifytest, mailtest, testenv, ...)
		// append test actions; the HTTP layer and the pages append none
		// (TestHandlersDoNoStoreWork) but name message keys that look alike.
		if d.IsDir() && path != ".." && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasSuffix(d.Name(), "test") ||
			d.Name() == "testenv" || d.Name() == "httpapi" || d.Name() == "web") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(nd ast.Node) bool {
			switch x := nd.(type) {
			case *ast.KeyValueExpr:
				// Action: "..." in an AuditEvent, whatever its namespace
				// (a new namespace has no entry in spaces yet).
				k, ok := x.Key.(*ast.Ident)
				v, lit := x.Value.(*ast.BasicLit)
				if !ok || k.Name != "Action" || !lit || v.Kind != token.STRING {
					return true
				}
				if s, err := strconv.Unquote(v.Value); err == nil && looksLike.MatchString(s) && !known[s] {
					t.Errorf("%s: audit action %q is not in models.AuditActions (add it there and a sentence event.%s in web/i18n)", fset.Position(v.Pos()), s, s)
				}
				return true
			case *ast.BasicLit:
				if x.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(x.Value)
				if err != nil {
					return true
				}
				m := looksLike.FindStringSubmatch(s)
				if m == nil || !spaces[m[1]] || notActions[s] || fileName.MatchString(s) {
					return true
				}
				found++
				if !known[s] {
					t.Errorf("%s: %q looks like an audit action but is not in models.AuditActions (add it there and a sentence event.%s in web/i18n)", fset.Position(x.Pos()), s, s)
				}
			case *ast.ValueSpec:
				id, ok := x.Type.(*ast.Ident)
				if !ok || (id.Name != "CaseEvent" && id.Name != "DeliveryAction") {
					return true
				}
				prefix := map[string]string{"CaseEvent": "case.", "DeliveryAction": "mail.report."}[id.Name]
				for _, v := range x.Values {
					if lit, ok := v.(*ast.BasicLit); ok {
						s, _ := strconv.Unquote(lit.Value)
						found++
						if !known[prefix+s] {
							t.Errorf("%s: %s %q appends %s%s, not in models.AuditActions", fset.Position(lit.Pos()), id.Name, s, prefix, s)
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The scan must see the code: the well-known actions, at least.
	if found < 60 {
		t.Errorf("found %d action literals in the source, want at least 60 (is the scan looking in the right place?)", found)
	}
	for _, a := range []string{"case.created", "check.face_match", "auth.login"} {
		if !slices.Contains(models.AuditActions, a) {
			t.Errorf("models.AuditActions lacks %s", a)
		}
	}
}
