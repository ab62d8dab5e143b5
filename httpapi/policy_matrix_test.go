package httpapi_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"remoteidv/access"
	"remoteidv/mail/mailtest"
	"remoteidv/models"
	"remoteidv/storage/archiver/archivertest"
	"remoteidv/verify"
	"remoteidv/webhook"
)

// The policy matrix: every route of the server, called by every kind of
// principal, on a case X run by clerk A and a case Y run by clerk B. The
// expected answers are written out here, by hand, from the README's rules;
// nothing is taken from routes.go, so a wrong role set there fails this
// test.
//
// Principals (columns, in this order, grouped as written in the table):
//
//	anon cust | A B | S U M | CS CU SU MC MS MU | tA tB
//
//	anon  no credentials
//	cust  the customer's cookie for case X (invite spent, consent given)
//	A, B  clerks; A runs X, B runs Y
//	S     supervisor; U auditor; M admin
//	CS    clerk+supervisor    CU clerk+auditor     SU supervisor+auditor
//	MC    admin+clerk         MS admin+supervisor  MU admin+auditor
//	      (none of these runs X or Y)
//	tA tB API tokens of clerk A and clerk B, scoped to the clerk role
//
// Outcomes:
//
//	o  let through: the policy allowed the call. Any status but 401, 403,
//	   410, a 404 that hides the case ("case <id> not found"), a 303 to
//	   /login, or a 5xx other than 503 (a missing engine or store is not a
//	   policy answer). Bodies are valid, so most are 2xx.
//	1  401: no staff credentials
//	3  403: the role or the object-level rule refuses
//	4  404 "case <id> not found": the case is hidden from this principal
//	G  410: the customer pages' one answer without a valid customer cookie
//	L  303 to /login: a staff page opened without a staff session
var principalNames = []string{"anon", "cust", "A", "B", "S", "U", "M", "CS", "CU", "SU", "MC", "MS", "MU", "tA", "tB"}

// Common rows, spelled out once to keep the table readable. Each is still a
// literal answer per principal, not derived from any route's roles.
const (
	everyone     = "oo oo ooo oooooo oo"
	staffOnly    = "11 oo ooo oooooo oo"
	customerOnly = "Go GG GGG GGGGGG GG"
	adminOnly    = "11 33 33o 333ooo 33"
	// a case route readable by whoever sees the case: its clerk,
	// supervisors and auditors (admins only with another role)
	seeX = "11 o4 oo3 ooo4oo o4"
	seeY = "11 4o oo3 ooo4oo 4o"
	// a clerk action: only the case's own clerk (a supervisor or auditor
	// role beside the clerk role does not help)
	runX = "11 o4 333 333433 o4"
	runY = "11 4o 333 333433 4o"
	// the case's clerk or any supervisor (stop, view documents, observe
	// the call, release)
	clerkOrSupX = "11 o4 o33 o3o4o3 o4"
	clerkOrSupY = "11 4o o33 o3o4o3 4o"
	// supervisors and auditors, on every case
	evidence = "11 33 oo3 ooo3oo 33"
)

type matrixRow struct {
	method, path string
	x, y         string // y is "" for routes without a case
}

var policyMatrix = []matrixRow{
	{"GET", "/healthz", everyone, ""},
	{"GET", "/v/:statement", everyone, ""}, // the public statement check: every caller counts against its address
	{"POST", "/v/:statement", everyone, ""},
	{"GET", "/readyz", everyone, ""},
	{"POST", "/internal/node/signal", "11 11 111 111111 11", ""}, // only another node, with the cluster secret (nodesignal_test.go)
	{"GET", "/api/openapi.json", everyone, ""},
	{"GET", "/join/:token", "GG GG GGG GGGGGG GG", ""},
	{"HEAD", "/join/:token", "GG GG GGG GGGGGG GG", ""},
	{"POST", "/join/:token", "GG GG GGG GGGGGG GG", ""},

	{"POST", "/api/auth/login", everyone, ""},   // failures count per name and per address, before the check (limits_test.go)
	{"POST", "/api/auth/logout", staffOnly, ""}, // a token cannot log out (400), but is let through
	// OIDC sign-in: public by design (the state binds the callback to the
	// browser that started it; cmd/idv oidc_test.go); here no provider is
	// configured, so both answer 404.
	{"GET", "/auth/oidc/start", everyone, ""},
	{"GET", "/auth/oidc/callback", everyone, ""},
	{"GET", "/api/auth/me", staffOnly, ""},
	{"POST", "/api/auth/step-up", "11 oo ooo oooooo 33", ""}, // a token has no password session; failures count per staff member (limits_test.go)
	// Security keys: every member of staff with a session, for their own
	// keys only (a token has no session to present a key in; it may list).
	{"POST", "/api/auth/key/challenge", "11 oo ooo oooooo 33", ""}, // 412: the matrix's members have no key
	{"POST", "/api/auth/key", "11 oo ooo oooooo 33", ""},
	{"GET", "/api/me/keys", staffOnly, ""},
	{"POST", "/api/me/keys/challenge", "11 oo ooo oooooo 33", ""},
	{"POST", "/api/me/keys", "11 oo ooo oooooo 33", ""},
	{"DELETE", "/api/me/keys/:key", "11 oo ooo oooooo 33", ""}, // the caller's own key only: another's is not found (keys_test.go)

	{"GET", "/api/accounts", "11 oo o33 ooooo3 oo", ""},
	{"GET", "/api/accounts/:no", "11 oo o33 ooooo3 oo", ""},
	// Any supervisor but the one who raised the flag (the row's flags are
	// raised by clerk A; flag_test.go has the raiser's own refusal).
	{"POST", "/api/accounts/:no/flags/:flag/clear", "11 33 o33 o3o3o3 33", ""},

	{"POST", "/api/cases", "11 oo 333 oo3o33 oo", ""},
	{"GET", "/api/cases", "11 oo oo3 oooooo oo", ""},
	{"GET", "/api/cases/:id", seeX, seeY},
	// Supervisors reassign a case's primary or backup clerk (the body
	// makes CS the backup; m.backups walks what a backup may do).
	{"POST", "/api/cases/:id/clerks", "11 33 o33 o3o3o3 33", "11 33 o33 o3o3o3 33"},
	{"GET", "/api/clerks", "11 33 o33 o3o3o3 33", ""},
	{"POST", "/api/cases/:id/reschedule", runX, runY},
	{"POST", "/api/cases/:id/cancel", clerkOrSupX, clerkOrSupY},
	{"POST", "/api/cases/:id/abort", clerkOrSupX, clerkOrSupY},
	{"POST", "/api/cases/:id/invite", runX, runY},
	{"DELETE", "/api/cases/:id/invite", clerkOrSupX, clerkOrSupY},
	{"GET", "/api/cases/:id/timeline", seeX, seeY},

	{"POST", "/api/cases/:id/face-checks", runX, runY},
	{"GET", "/api/cases/:id/checks", seeX, seeY},
	{"POST", "/api/cases/:id/checks/:check/confirm", runX, runY},

	{"GET", "/api/staff", adminOnly, ""},
	{"POST", "/api/staff", adminOnly, ""},
	{"POST", "/api/staff/:username/disable", adminOnly, ""},
	{"POST", "/api/staff/:username/enable", adminOnly, ""},
	{"POST", "/api/staff/:username/keys/reset", adminOnly, ""}, // recovery of a lost key (body: reason)
	// A first key's enrolment code: admins only, for another member (an
	// admin's own code is refused: TestKeyEnrolment).
	{"POST", "/api/staff/:username/keys/enrolment", adminOnly, ""},
	{"GET", "/api/staff/:username/hours", adminOnly, ""},
	{"PUT", "/api/staff/:username/hours", adminOnly, ""},
	// Staff notifications: admins set anyone's address and preferences
	// and read anyone's notifications (the rows name the victim); every
	// member, token or session, only their own under /api/me.
	{"PUT", "/api/staff/:username/contact", adminOnly, ""},
	{"GET", "/api/staff/:username/notification-preferences", adminOnly, ""},
	{"PUT", "/api/staff/:username/notification-preferences", adminOnly, ""},
	{"GET", "/api/staff/:username/notifications", adminOnly, ""},
	{"GET", "/api/me/notification-preferences", staffOnly, ""},
	{"PUT", "/api/me/notification-preferences", staffOnly, ""},
	{"GET", "/api/me/notifications", staffOnly, ""},
	// Every member mints their own tokens (after a step-up; the body asks
	// for the clerk scope, so only holders of the clerk role may), never
	// a token; the owner and admins revoke (the row revokes A's token).
	{"POST", "/api/tokens", "11 oo 333 oo3o33 33", ""},
	{"GET", "/api/tokens", staffOnly, ""},
	{"DELETE", "/api/tokens/:token_id", "11 o3 33o 333ooo o3", ""},
	{"GET", "/api/admin/imports", adminOnly, ""},
	{"GET", "/api/admin/accounts", adminOnly, ""},
	{"GET", "/api/admin/nodes", adminOnly, ""},
	{"GET", "/api/admin/face", adminOnly, ""},
	{"POST", "/api/admin/face/calibrate", adminOnly, ""},

	// Webhooks: admins only (the rows name an endpoint and a delivery the
	// matrix registered and queued, so admins get real answers).
	{"GET", "/api/admin/webhooks", adminOnly, ""},
	{"POST", "/api/admin/webhooks", adminOnly, ""},
	{"GET", "/api/admin/webhooks/:endpoint", adminOnly, ""},
	{"POST", "/api/admin/webhooks/:endpoint/disable", adminOnly, ""},
	{"POST", "/api/admin/webhooks/:endpoint/enable", adminOnly, ""},
	{"DELETE", "/api/admin/webhooks/:endpoint", adminOnly, ""},
	{"GET", "/api/admin/webhook-deliveries", adminOnly, ""},
	{"GET", "/api/admin/webhook-deliveries/:delivery", adminOnly, ""},
	{"POST", "/api/admin/webhook-deliveries/:delivery/redeliver", adminOnly, ""},

	{"GET", "/api/audit/events", "11 33 3o3 3oo33o 33", ""},
	{"GET", "/api/audit/verify", "11 33 3oo 3ooooo 33", ""},
	{"GET", "/api/audit/checkpoints/latest", "11 33 3oo 3ooooo 33", ""},
	{"GET", "/api/audit/checkpoints/consistency", "11 33 3oo 3ooooo 33", ""},

	{"GET", "/api/cases/:id/evidence", evidence, evidence},
	{"GET", "/api/cases/:id/evidence/:evidence", evidence, evidence},
	{"GET", "/api/cases/:id/evidence/:evidence/play", evidence, evidence},
	{"GET", "/api/cases/:id/evidence/:evidence/preview", evidence, evidence},
	{"GET", "/api/cases/:id/bundle", evidence, evidence},
	{"POST", "/api/cases/:id/evidence/:evidence/legal-hold", adminOnly, adminOnly},

	{"GET", "/call", customerOnly, ""},
	{"GET", "/call/status", customerOnly, ""},
	{"POST", "/call/consent", customerOnly, ""},
	{"GET", "/call/ws", customerOnly, ""},
	{"GET", "/static/call.js", everyone, ""},
	{"GET", "/static/call.css", everyone, ""},
	{"GET", "/static/base.css", everyone, ""},
	{"GET", "/api/cases/:id/call/ws", clerkOrSupX, clerkOrSupY}, // the clerk runs the call, a supervisor observes
	{"GET", "/api/cases/:id/calls", seeX, seeY},
	{"GET", "/api/board", "11 33 o3o o3oooo 33", ""},        // supervisors and admins, every case of the branch
	{"GET", "/api/board/events", "11 33 o3o o3oooo 33", ""}, // the same as server-sent events

	{"POST", "/api/cases/:id/invite/email", runX, runY},
	{"POST", "/api/cases/:id/letters", runX, runY},
	{"GET", "/api/cases/:id/letters", seeX, seeY},
	{"GET", "/api/cases/:id/letters/:letter/content", clerkOrSupX, clerkOrSupY},
	{"POST", "/api/cases/:id/letters/:letter/scope", runX, runY},
	{"GET", "/api/cases/:id/specimen", clerkOrSupX, clerkOrSupY},
	{"POST", "/api/cases/:id/signature-check", runX, runY},
	{"POST", "/api/cases/:id/registry-check", runX, runY},
	{"GET", "/api/cases/:id/requirements", seeX, seeY},
	{"POST", "/api/cases/:id/submit", runX, runY},
	{"POST", "/api/cases/:id/decision", "11 33 o33 o3o3o3 33", "11 33 o33 o3o3o3 33"}, // any supervisor who took no part
	// The challenge of a decision: any supervisor (412 without a key);
	// it names the case but grants nothing: the decision checks who decides.
	{"POST", "/api/cases/:id/decision/challenge", "11 33 o33 o3o3o3 33", "11 33 o33 o3o3o3 33"},
	{"POST", "/api/cases/:id/statement/revoke", "11 33 o33 o3o3o3 33", "11 33 o33 o3o3o3 33"}, // any supervisor
	{"POST", "/api/cases/:id/release", clerkOrSupX, clerkOrSupY},
	{"GET", "/api/cases/:id/statement", clerkOrSupX, clerkOrSupY},
	{"GET", "/api/cases/:id/statement/preview", clerkOrSupX, clerkOrSupY},
	{"POST", "/call/code", customerOnly, ""},
	{"POST", "/call/code/verify", customerOnly, ""},
	{"POST", "/call/letter", customerOnly, ""},
	{"POST", "/call/statement-password", customerOnly, ""}, // the customer of X only: the case is the cookie's

	// Staff pages: not signed in (tokens included) -> /login; a role the
	// page is not for -> the 403 page. A case page is an empty shell (the
	// API it calls applies the case rules), so it shows for the role alone.
	{"GET", "/", "LL oo ooo oooooo LL", ""},
	{"GET", "/login", everyone, ""},
	{"GET", "/keys", "LL oo ooo oooooo LL", ""}, // every member's own keys
	{"GET", "/console", "LL oo 333 oo3o33 LL", ""},
	{"GET", "/console/cases/:id", "LL oo 333 oo3o33 LL", "LL oo 333 oo3o33 LL"},
	{"GET", "/review", "LL 33 o33 o3o3o3 LL", ""},
	{"GET", "/review/cases/:id", "LL 33 o33 o3o3o3 LL", "LL 33 o33 o3o3o3 LL"},
	{"GET", "/audit", "LL 33 3o3 3oo33o LL", ""},
	{"GET", "/audit/cases/:id", "LL 33 3o3 3oo33o LL", "LL 33 3o3 3oo33o LL"},
	{"GET", "/admin", "LL 33 33o 333ooo LL", ""},
	{"GET", "/board", "LL 33 o3o o3oooo LL", ""}, // supervisors and admins (admins without Observe)
	{"GET", "/api/cases/:id/references/:n", clerkOrSupX, clerkOrSupY},
	{"GET", "/favicon.ico", everyone, ""},
	{"GET", "/static/staff/*file", everyone, ""},
}

// expected parses a row's answers: one per principal, blanks ignored.
func expected(t *testing.T, row string) []byte {
	t.Helper()
	out := []byte(strings.ReplaceAll(row, " ", ""))
	if len(out) != len(principalNames) {
		t.Fatalf("row %q has %d answers for %d principals", row, len(out), len(principalNames))
	}
	for _, c := range out {
		if !strings.ContainsRune("o134GL", rune(c)) {
			t.Fatalf("row %q: unknown outcome %q", row, c)
		}
	}
	return out
}

// Rows whose allowed calls change the case beyond what the next row can
// live with: each allowed call gets a case of its own in the given state
// (refusals run on the shared X and Y, which they must leave unchanged).
var freshCase = map[string]models.CaseState{
	"POST /api/cases/:id/reschedule":   models.StateScheduled,
	"POST /api/cases/:id/clerks":       models.StateScheduled,
	"POST /api/cases/:id/cancel":       models.StateScheduled,
	"POST /api/cases/:id/abort":        models.StateScheduled,
	"POST /api/cases/:id/invite":       models.StateScheduled, // would revoke the customer's invite on X
	"DELETE /api/cases/:id/invite":     models.StateScheduled,
	"POST /api/cases/:id/invite/email": models.StateScheduled,
	"POST /api/cases/:id/submit":       models.StateInSession,
	"POST /api/cases/:id/decision":     models.StatePendingReview,
}

// target is a case and the objects in it the routes name, and the API
// token the token routes name.
type target struct {
	id, letter, check, evidence string
	token                       string
	flag                        string // an open fraud flag of the account, raised by clerk A
}

type caller struct {
	c      *client
	bearer string
}

type matrix struct {
	t        *testing.T
	e        *env
	callers  map[string]*caller
	clerks   map[string]verify.Actor // the principals' staff as the workflow sees them
	x, y     target
	letter   []byte
	keys     int
	slotDays int
	tokA     string // the ID of tA's token
	flag     string // the open flag the refused clears name
	webhook  string // a registered webhook endpoint
	delivery string // a delivery to it
}

// TestPolicyMatrix walks every route as every principal (see policyMatrix).
func TestPolicyMatrix(t *testing.T) {
	m := newMatrix(t)

	// The table and the router list the same routes.
	served := map[string]bool{}
	for _, r := range m.e.srv.RegisteredRoutes() {
		served[r.Method+" "+r.Path] = true
	}
	listed := map[string]bool{}
	for _, row := range policyMatrix {
		k := row.method + " " + row.path
		if listed[k] {
			t.Errorf("%s is listed twice in the policy matrix", k)
		}
		listed[k] = true
		if !served[k] {
			t.Errorf("%s is in the policy matrix but not served", k)
		}
		if strings.Contains(row.path, ":id") != (row.y != "") {
			t.Errorf("%s: a case route needs answers for X and Y, any other route only one", k)
		}
	}
	for k := range served {
		if !listed[k] {
			t.Errorf("%s is served but missing from the policy matrix", k)
		}
	}

	// Sub-objects are looked up inside the case in the path: another
	// case's letter, check or evidence item is not found, for the case's
	// own clerk and for a supervisor alike.
	swapped := target{id: m.y.id, letter: m.x.letter, check: m.x.check, evidence: m.x.evidence}
	for _, s := range []struct{ who, method, path string }{
		{"B", "POST", "/api/cases/:id/letters/:letter/scope"},
		{"B", "POST", "/api/cases/:id/checks/:check/confirm"},
		{"B", "POST", "/api/cases/:id/signature-check"},
		{"S", "GET", "/api/cases/:id/letters/:letter/content"},
		{"S", "GET", "/api/cases/:id/evidence/:evidence"},
		{"S", "GET", "/api/cases/:id/evidence/:evidence/play"},
		{"S", "GET", "/api/cases/:id/evidence/:evidence/preview"},
	} {
		got, status, msg := m.call(s.who, s.method+" "+s.path, s.method, s.path, swapped)
		if status != http.StatusNotFound || got == '4' {
			t.Errorf("%s %s on Y naming X's objects as %s: %d %q, want 404 for the object", s.method, s.path, s.who, status, msg)
		}
	}

	m.fourEyes()
	m.backups()

	// Logging out ends the principals' sessions: that row goes last.
	rows := slices.Clone(policyMatrix)
	last := func(r matrixRow) int {
		if r.path == "/api/auth/logout" {
			return 1
		}
		return 0
	}
	slices.SortStableFunc(rows, func(a, b matrixRow) int { return cmp.Compare(last(a), last(b)) })
	for _, row := range rows {
		key := row.method + " " + row.path
		if strings.HasPrefix(row.path, "/call") || strings.HasPrefix(row.path, "/join") || strings.HasPrefix(row.path, "/v/") {
			// Every refused customer call counts against the address (20 a
			// minute); each such row starts a new minute.
			m.e.now = m.e.now.Add(61 * time.Second)
		}
		if key == "POST /api/cases/:id/decision" || key == "POST /api/tokens" || key == "POST /api/me/keys/challenge" {
			m.stepUpAll()
		}
		type onCase struct {
			name string
			tg   target
			want []byte
		}
		targets := []onCase{{"X", m.x, expected(t, row.x)}}
		if row.y != "" {
			targets = append(targets, onCase{"Y", m.y, expected(t, row.y)})
		}
		for _, tgt := range targets {
			for i, who := range principalNames {
				want := tgt.want[i]
				tg := tgt.tg
				if st, ok := freshCase[key]; ok && want == 'o' {
					owner := "A"
					if tgt.name == "Y" {
						owner = "B"
					}
					tg = m.fresh(owner, st)
				}
				if key == "POST /api/accounts/:no/flags/:flag/clear" {
					// A refusal leaves one flag open; an allowed call
					// clears a new one.
					if m.flag == "" {
						m.flag = m.freshFlag()
					}
					tg.flag = m.flag
					if want == 'o' {
						tg.flag = m.freshFlag()
					}
				}
				if key == "DELETE /api/tokens/:token_id" {
					// A refusal is tried on tA's own token, which every
					// later call of tA needs; an allowed call revokes a
					// new token of A's.
					tg.token = m.tokA
					if want == 'o' {
						tg.token = m.freshToken("A")
					}
				}
				got, status, msg := m.call(who, key, row.method, row.path, tg)
				if got != want {
					t.Errorf("%s on %s as %s: %d %q, want %s", key, tgt.name, who, status, msg, describe(want))
				}
			}
		}
	}
}

// matrixUser is the username of principal name's staff member.
func matrixUser(name string) string { return "mx_" + strings.ToLower(name) }

func describe(c byte) string {
	return map[byte]string{'o': "let through", '1': "401", '3': "403", '4': "404 (case hidden)", 'G': "410", 'L': "303 to /login"}[c]
}

func newMatrix(t *testing.T) *matrix {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t)
	m := &matrix{t: t, e: e, callers: map[string]*caller{}, clerks: map[string]verify.Actor{}, letter: letterPNG(t)}
	// The matrix is about who may call a route: a first key's enrolment
	// code, which only its member can give, is TestKeyEnrolment's.
	e.acc.Keys.Enrolment = access.EnrolSelf
	// The principals' staff, with argon2id hashes of the cheapest cost:
	// each hash carries its parameters, and this test is about who may do
	// what, not about password hashing (it logs in and steps up often).
	salt := []byte("policy-matrix-16")
	hash := fmt.Sprintf("$argon2id$v=%d$m=64,t=1,p=1$%s$%s", argon2.Version, base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte(password), salt, 1, 64, 1, 32)))
	for _, s := range []struct {
		name  string
		roles []models.Role
	}{
		{"A", []models.Role{models.RoleClerk}}, {"B", []models.Role{models.RoleClerk}},
		{"S", []models.Role{models.RoleSupervisor}}, {"U", []models.Role{models.RoleAuditor}}, {"M", []models.Role{models.RoleAdmin}},
		{"CS", []models.Role{models.RoleClerk, models.RoleSupervisor}}, {"CU", []models.Role{models.RoleClerk, models.RoleAuditor}},
		{"SU", []models.Role{models.RoleSupervisor, models.RoleAuditor}}, {"MC", []models.Role{models.RoleAdmin, models.RoleClerk}},
		{"MS", []models.Role{models.RoleAdmin, models.RoleSupervisor}}, {"MU", []models.Role{models.RoleAdmin, models.RoleAuditor}},
		{"victim", []models.Role{models.RoleClerk}}, // logged in, disabled and enabled by the walk
	} {
		st := &models.Staff{ID: models.StaffID("stf_mx_" + strings.ToLower(s.name)), Username: matrixUser(s.name), DisplayName: s.name,
			Roles: s.roles, PasswordHash: hash, CreatedAt: e.now}
		if err := e.store.Transact(ctx, func(tx models.Tx) error { return tx.CreateStaff(ctx, st) }); err != nil {
			t.Fatal(err)
		}
		m.clerks[s.name] = verify.Actor{Name: models.StaffActor(st.ID), StaffID: st.ID, Roles: st.Roles}
	}

	// X's customer: the invite is issued days ahead and spent in its window.
	e.now = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	ep, err := e.wh.CreateEndpoint(ctx, "staff:stf_mx_m", webhook.NewEndpoint{URL: "https://hooks.example/matrix", Events: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	x, err := e.ver.CreateCase(ctx, m.clerks["A"], verify.NewCase{AccountNo: "6222000011112222", Purpose: models.PurposeStatement,
		PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", Slot: verify.Slot{Local: "2026-12-01T09:00", TimeZone: "America/New_York"}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.wh.Dispatch(ctx); err != nil || n != 1 {
		t.Fatalf("webhook Dispatch = %d, %v; want the case.created delivery", n, err)
	}
	ds, err := e.wh.Deliveries(ctx, models.WebhookDeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	m.webhook, m.delivery = ep.ID, ds[0].ID
	inv, err := e.ver.IssueInvite(ctx, m.clerks["A"], x.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.now = time.Date(2026, 12, 1, 13, 50, 0, 0, time.UTC)
	cust := e.anon(t)
	if r := join(t, cust, strings.TrimPrefix(inv.Link, "http://127.0.0.1:8080")); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("open X's invite: %d", r.StatusCode)
	}
	ct := verify.ConsentText("en")
	if code := cust.raw("POST", "/call/consent", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"version": {ct.Version}, "locale": {"en"}}.Encode()), nil); code != http.StatusSeeOther {
		t.Fatalf("consent: %d", code)
	}
	m.callers["anon"] = &caller{c: e.anon(t)}
	m.callers["cust"] = &caller{c: cust}
	for _, name := range []string{"A", "B", "S", "U", "M", "CS", "CU", "SU", "MC", "MS", "MU"} {
		m.callers[name] = &caller{c: e.login(t, matrixUser(name))}
	}
	for _, name := range []string{"tA", "tB"} {
		raw, tok, err := e.acc.CreateToken(ctx, "system", matrixUser(name[1:]), access.TokenRequest{Name: "matrix " + name, Scope: []models.Role{models.RoleClerk}})
		if err != nil {
			t.Fatal(err)
		}
		m.callers[name] = &caller{c: e.anon(t), bearer: raw}
		if name == "tA" {
			m.tokA = string(tok.ID)
		}
	}

	y, err := e.ver.CreateCase(ctx, m.clerks["B"], verify.NewCase{AccountNo: "6222000011112222", Purpose: models.PurposeStatement,
		PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", Slot: verify.Slot{Local: "2026-12-10T09:00", TimeZone: "America/New_York"}})
	if err != nil {
		t.Fatal(err)
	}
	m.x, m.y = m.objects("A", string(x.ID)), m.objects("B", string(y.ID))
	return m
}

// objects puts a letter (with its evidence item) and a face check into a
// case, as its clerk would.
func (m *matrix) objects(owner, id string) target {
	m.t.Helper()
	var l struct {
		ID       string `json:"id"`
		Evidence string `json:"evidence_id"`
	}
	if code := m.callers[owner].c.raw("POST", "/api/cases/"+id+"/letters", "image/png", bytes.NewReader(m.letter), &l); code != http.StatusCreated {
		m.t.Fatalf("letter for %s: %d", id, code)
	}
	ctx := context.Background()
	chk := models.CheckID("chk_" + strings.TrimPrefix(id, "case_"))
	err := m.e.store.Transact(ctx, func(tx models.Tx) error {
		return tx.CreateCheck(ctx, &models.Check{ID: chk, CaseID: models.CaseID(id), Kind: models.CheckFaceMatch, Result: "MATCH",
			Detail: []byte("{}"), Actor: m.clerks[owner].Name, CreatedAt: m.e.now})
	})
	if err != nil {
		m.t.Fatal(err)
	}
	return target{id: id, letter: l.ID, check: string(chk), evidence: l.Evidence}
}

// statementOf returns the SHA-256 of the case's statement, seeding one as
// its submission would have generated it (the matrix moves cases to
// pending_review in the store).
func (m *matrix) statementOf(id string) string {
	m.t.Helper()
	ctx := context.Background()
	var list []*models.StatementRecord
	if err := m.e.store.Transact(ctx, func(tx models.Tx) (err error) { list, err = tx.StatementsByCase(ctx, models.CaseID(id)); return }); err != nil {
		m.t.Fatal(err)
	}
	if len(list) > 0 {
		return list[len(list)-1].SHA256
	}
	return archivertest.SeedStatement(m.t, m.e.store, m.e.g.Stager, models.CaseID(id))
}

// fresh opens a case run by owner (A or B) in state, with a live invite.
func (m *matrix) fresh(owner string, state models.CaseState) target {
	m.t.Helper()
	ctx := context.Background()
	m.slotDays++
	slot := time.Date(2026, 12, 10, 9, 0, 0, 0, time.UTC).AddDate(0, 0, m.slotDays%60).Format("2006-01-02T15:04")
	c, err := m.e.ver.CreateCase(ctx, m.clerks[owner], verify.NewCase{AccountNo: "6222000011112222", Purpose: models.PurposeStatement,
		PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", Slot: verify.Slot{Local: slot, TimeZone: "America/New_York"}})
	if err != nil {
		m.t.Fatal(err)
	}
	if _, err := m.e.ver.IssueInvite(ctx, m.clerks[owner], c.ID); err != nil {
		m.t.Fatal(err)
	}
	if state != models.StateScheduled {
		err := m.e.store.Transact(ctx, func(tx models.Tx) error {
			cs, err := tx.CaseByID(ctx, c.ID)
			if err != nil {
				return err
			}
			cs.State = state
			return tx.UpdateCase(ctx, cs)
		})
		if err != nil {
			m.t.Fatal(err)
		}
	}
	return target{id: string(c.ID)}
}

// freshFlag aborts a new case of clerk A's with a fraud category and
// returns the flag it raised against the account.
func (m *matrix) freshFlag() string {
	m.t.Helper()
	c := m.fresh("A", models.StateScheduled)
	_, f, err := m.e.ver.AbortFlagged(context.Background(), m.clerks["A"], models.CaseID(c.id), "policy matrix", models.FlagOther)
	if err != nil {
		m.t.Fatal(err)
	}
	return string(f.ID)
}

// freshToken mints a new token of principal owner's staff member (clerk A
// or B) and returns its ID.
func (m *matrix) freshToken(owner string) string {
	m.t.Helper()
	_, tok, err := m.e.acc.CreateToken(context.Background(), "system", matrixUser(owner), access.TokenRequest{Name: "to revoke", Scope: []models.Role{models.RoleClerk}})
	if err != nil {
		m.t.Fatal(err)
	}
	return string(tok.ID)
}

// stepUpAll re-enters the password of every signed-in principal (decisions
// need it within 5 minutes).
func (m *matrix) stepUpAll() {
	m.t.Helper()
	for _, who := range principalNames {
		cl := m.callers[who]
		if cl.bearer != "" || cl.c.csrf == "" {
			continue
		}
		if code := cl.c.do("POST", "/api/auth/step-up", map[string]string{"password": password}, nil); code != http.StatusOK {
			m.t.Fatalf("step-up of %s: %d", who, code)
		}
	}
}

// request builds the call of route key on tg: the path with its
// parameters and a valid body, so that only the policy can refuse it.
func (m *matrix) request(key, path string, tg target) (string, string, []byte) {
	path = strings.NewReplacer(":token_id", tg.token, ":id", tg.id, ":letter", tg.letter, ":check", tg.check, ":evidence", tg.evidence, ":n", "0",
		":no", "6222000011112222", ":flag", tg.flag, ":username", matrixUser("victim"), ":token", "iv1_"+strings.Repeat("A", 43), "*file", "common.js",
		":endpoint", m.webhook, ":delivery", m.delivery).Replace(path)
	js := func(v any) (string, []byte) {
		b, err := json.Marshal(v)
		if err != nil {
			m.t.Fatal(err)
		}
		return "application/json", b
	}
	var ct string
	var body []byte
	switch key {
	case "POST /api/auth/login":
		ct, body = js(map[string]string{"username": matrixUser("victim"), "password": password})
	case "POST /api/auth/step-up":
		ct, body = js(map[string]string{"password": password})
	case "POST /api/admin/webhooks":
		ct, body = js(map[string]any{"url": "https://hooks.example/idv", "events": []string{"case.created"}})
	case "POST /api/cases":
		b := newCaseBody()
		b["slot"] = map[string]string{"local": "2026-12-20T09:00", "time_zone": "America/New_York"}
		ct, body = js(b)
	case "POST /api/cases/:id/reschedule":
		ct, body = js(map[string]any{"slot": map[string]string{"local": "2026-12-21T09:00", "time_zone": "America/New_York"}})
	case "POST /api/cases/:id/clerks":
		ct, body = js(map[string]string{"role": "backup", "staff_id": string(m.clerks["CS"].StaffID), "reason": "policy matrix"})
	case "PUT /api/staff/:username/hours":
		ct, body = js(map[string]string{"hours": "mon-fri 09:00-17:00"})
	case "PUT /api/staff/:username/contact":
		ct, body = js(map[string]string{"email": "victim@bank.example", "language": "zh-CN"})
	case "PUT /api/staff/:username/notification-preferences", "PUT /api/me/notification-preferences":
		ct, body = js(map[string]any{"preferences": []map[string]any{{"kind": "letter_uploaded", "enabled": true, "email": false}}})
	case "POST /api/cases/:id/cancel", "POST /api/cases/:id/abort", "POST /api/cases/:id/statement/revoke", "POST /api/accounts/:no/flags/:flag/clear":
		ct, body = js(map[string]string{"reason": "policy matrix"})
	case "POST /api/cases/:id/face-checks":
		ct, body = "image/png", pngFixture(m.t)
	case "POST /api/cases/:id/checks/:check/confirm":
		ct, body = js(map[string]any{"confirmed": true})
	case "POST /api/cases/:id/evidence/:evidence/legal-hold":
		ct, body = js(map[string]any{"on": true, "reason": "policy matrix"})
	case "POST /call/consent":
		ct, body = "application/x-www-form-urlencoded", []byte(url.Values{"version": {verify.ConsentText("en").Version}, "locale": {"en"}}.Encode())
	case "POST /call/code/verify":
		ct, body = js(map[string]string{"code": m.emailedCode()})
	case "POST /call/letter", "POST /api/cases/:id/letters":
		ct, body = "image/png", m.letter
	case "POST /call/statement-password":
		ct, body = js(map[string]string{"password": "policy matrix", "confirm": "policy matrix"})
	case "POST /api/cases/:id/letters/:letter/scope":
		ct, body = js(map[string]any{"account_no": "6222000011112222", "service": "transaction_statement", "period_from": "2025-01-01",
			"period_to": "2025-12-31", "registered_email": true})
	case "POST /api/cases/:id/signature-check":
		ct, body = js(map[string]any{"letter_id": tg.letter, "region": map[string]int{"x": 280, "y": 300, "w": 160, "h": 60}, "verdict": "pass",
			"reason": "same letter forms"})
	case "POST /api/cases/:id/decision":
		ct, body = js(map[string]string{"decision": "approve", "reason": "policy matrix", "statement_sha256": m.statementOf(tg.id)})
	case "POST /api/tokens":
		ct, body = js(map[string]any{"name": "policy matrix", "scope": []string{"clerk"}})
	case "POST /api/cases/:id/decision/challenge":
		ct, body = js(map[string]string{"decision": "approve", "statement_sha256": m.statementOf(tg.id)})
	case "POST /api/me/keys/challenge":
		ct, body = js(map[string]string{"name": "policy matrix"})
	case "POST /api/staff/:username/keys/reset":
		ct, body = js(map[string]string{"reason": "policy matrix"})
	default:
		if strings.HasPrefix(key, "POST ") {
			ct, body = js(map[string]any{})
		}
	}
	return path, ct, body
}

// emailedCode is the code last mailed for case X (the row before asks for
// one), read from the outbox.
func (m *matrix) emailedCode() string {
	m.t.Helper()
	ctx := context.Background()
	var msgs []*models.OutboundMail
	if err := m.e.store.Transact(ctx, func(tx models.Tx) (err error) { msgs, err = tx.MailByCase(ctx, models.CaseID(m.x.id)); return }); err != nil {
		m.t.Fatal(err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Kind != "code" {
			continue
		}
		p, err := mailtest.Parse(msgs[i].Raw)
		if err != nil {
			m.t.Fatal(err)
		}
		if code := regexp.MustCompile(`\b[0-9]{6}\b`).FindString(p.Text); code != "" {
			return code
		}
	}
	return "000000" // none was mailed: the row fails on its answer
}

// call sends route key as who on tg and classifies the answer.
func (m *matrix) call(who, key, method, path string, tg target) (byte, int, string) {
	m.t.Helper()
	cl := m.callers[who]
	if key == "POST /api/auth/login" {
		// Without the principal's cookie: logging in ends the session the
		// request's cookie names (and would replace it in the jar).
		cl = &caller{c: m.e.anon(m.t), bearer: cl.bearer}
	}
	p, ct, body := m.request(key, path, tg)
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, cl.c.base+p, r)
	if err != nil {
		m.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if cl.c.csrf != "" {
		req.Header.Set("X-CSRF-Token", cl.c.csrf)
	}
	if cl.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+cl.bearer)
	}
	if key == "POST /api/cases/:id/decision" || key == "POST /api/cases/:id/release" {
		m.keys++
		req.Header.Set("Idempotency-Key", fmt.Sprintf("matrix-%d", m.keys))
	}
	resp, err := cl.c.http.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &eb)
	msg := eb.Error.Message
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized:
		return '1', s, msg
	case s == http.StatusForbidden:
		return '3', s, msg
	case s == http.StatusGone:
		return 'G', s, msg
	case s == http.StatusNotFound && tg.id != "" && strings.Contains(path, ":id") && msg == "case "+tg.id+" not found":
		return '4', s, msg
	case s == http.StatusSeeOther && resp.Header.Get("Location") == "/login":
		return 'L', s, msg
	case s >= 500 && s != http.StatusServiceUnavailable:
		return 'E', s, msg
	}
	return 'o', resp.StatusCode, msg
}

// fourEyes: what a supervisor did through an API token counts as theirs
// (the trail names the token, not the person); a supervisor who only
// looked at the letter, the specimen and a reference photo may decide.
func (m *matrix) fourEyes() {
	t := m.t
	t.Helper()
	ctx := context.Background()
	raw, _, err := m.e.acc.CreateToken(ctx, "system", matrixUser("S"), access.TokenRequest{Name: "desk script", Scope: []models.Role{models.RoleSupervisor}})
	if err != nil {
		t.Fatal(err)
	}
	tok := &caller{c: m.e.anon(t), bearer: raw}
	m.callers["tS"] = tok
	defer delete(m.callers, "tS")
	tg := m.objects("A", m.fresh("A", models.StateScheduled).id)
	if got, status, msg := m.call("tS", "DELETE /api/cases/:id/invite", "DELETE", "/api/cases/:id/invite", tg); got != 'o' {
		t.Fatalf("revoke through the supervisor's token: %d %q", status, msg)
	}
	for _, p := range []string{"/api/cases/:id/letters/:letter/content", "/api/cases/:id/specimen", "/api/cases/:id/references/:n"} {
		if _, status, msg := m.call("SU", "GET "+p, "GET", p, tg); status != http.StatusOK {
			t.Fatalf("GET %s as a supervisor: %d %q", p, status, msg)
		}
	}
	err = m.e.store.Transact(ctx, func(tx models.Tx) error {
		c, err := tx.CaseByID(ctx, models.CaseID(tg.id))
		if err != nil {
			return err
		}
		c.State = models.StatePendingReview
		return tx.UpdateCase(ctx, c)
	})
	if err != nil {
		t.Fatal(err)
	}
	m.stepUpAll()
	key := "POST /api/cases/:id/decision"
	if _, status, msg := m.call("S", key, "POST", "/api/cases/:id/decision", tg); status != http.StatusForbidden || !strings.Contains(msg, "invite.revoked as token:tok_") {
		t.Errorf("decision by the supervisor whose token revoked the invites: %d %q, want 403 naming the revocation", status, msg)
	}
	if _, status, msg := m.call("SU", key, "POST", "/api/cases/:id/decision", tg); status != http.StatusOK {
		t.Errorf("decision by the supervisor who only looked: %d %q, want 200", status, msg)
	}
}

// backups: a case's backup clerk runs it as its primary clerk does and,
// like the primary, never decides it; a clerk unrelated to the case is
// refused; only a supervisor reassigns, with a reason, before submission;
// a supervisor who reassigned has taken part and does not decide.
func (m *matrix) backups() {
	t := m.t
	t.Helper()
	ctx := context.Background()
	reassign := func(who string, tg target, role, staff, reason string) (int, string) {
		t.Helper()
		cl := m.callers[who].c
		var eb struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		code := cl.do("POST", "/api/cases/"+tg.id+"/clerks", map[string]string{"role": role, "staff_id": staff, "reason": reason}, &eb)
		return code, eb.Error.Message
	}
	setState := func(tg target, st models.CaseState) {
		t.Helper()
		err := m.e.store.Transact(ctx, func(tx models.Tx) error {
			c, err := tx.CaseByID(ctx, models.CaseID(tg.id))
			if err != nil {
				return err
			}
			c.State = st
			return tx.UpdateCase(ctx, c)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	id := func(who string) string { return string(m.clerks[who].StaffID) }

	// A's case gets B as its backup.
	tg := m.objects("A", m.fresh("A", models.StateScheduled).id)
	if code, msg := reassign("S", tg, "backup", id("B"), "evening call"); code != http.StatusOK {
		t.Fatalf("supervisor sets the backup: %d %q", code, msg)
	}
	for _, tc := range []struct {
		name, who, reason string
		role, staff       string
		tg                target
		want              int
		msg               string
	}{
		{"by the primary clerk", "A", "swap", "backup", id("MC"), tg, http.StatusForbidden, "may not"},
		{"by the backup clerk", "B", "swap", "primary", id("B"), tg, http.StatusForbidden, "may not"},
		{"by an auditor", "U", "swap", "backup", id("MC"), tg, http.StatusForbidden, ""},
		{"without a reason", "S", "  ", "backup", id("MC"), tg, http.StatusBadRequest, "reason"},
		{"to a non-clerk", "S", "r", "backup", id("U"), tg, http.StatusBadRequest, "not an enabled clerk"},
		{"to nobody as primary", "S", "r", "primary", "", tg, http.StatusBadRequest, "primary clerk"},
		{"backup = primary", "S", "r", "backup", id("A"), tg, http.StatusBadRequest, "primary clerk"},
		{"unknown role", "S", "r", "deputy", id("MC"), tg, http.StatusBadRequest, "clerk role"},
	} {
		if code, msg := reassign(tc.who, tc.tg, tc.role, tc.staff, tc.reason); code != tc.want || !strings.Contains(msg, tc.msg) {
			t.Errorf("reassign %s: %d %q, want %d with %q", tc.name, code, msg, tc.want, tc.msg)
		}
	}
	// The backup runs the case; an unrelated clerk does not see it.
	for _, r := range []struct {
		method, path string
		b, mc        byte
	}{
		{"GET", "/api/cases/:id", 'o', '4'},
		{"GET", "/api/cases/:id/checks", 'o', '4'},
		{"POST", "/api/cases/:id/checks/:check/confirm", 'o', '4'},
		{"POST", "/api/cases/:id/letters", 'o', '4'},
		{"GET", "/api/cases/:id/letters/:letter/content", 'o', '4'},
		{"POST", "/api/cases/:id/letters/:letter/scope", 'o', '4'},
		{"POST", "/api/cases/:id/signature-check", 'o', '4'},
		{"GET", "/api/cases/:id/specimen", 'o', '4'},
		{"GET", "/api/cases/:id/call/ws", 'o', '4'},
		{"POST", "/api/cases/:id/invite/email", 'o', '4'},
		{"POST", "/api/cases/:id/reschedule", 'o', '4'},
	} {
		key := r.method + " " + r.path
		for _, w := range []struct {
			who  string
			want byte
		}{{"B", r.b}, {"MC", r.mc}} {
			if got, status, msg := m.call(w.who, key, r.method, r.path, tg); got != w.want {
				t.Errorf("%s on a case backed up by B, as %s: %d %q, want %s", key, w.who, status, msg, describe(w.want))
			}
		}
	}
	// The backup finds the case among their own, marked as backup.
	var list struct {
		Cases []struct {
			ID     string `json:"id"`
			MyRole string `json:"my_role"`
		} `json:"cases"`
	}
	if code := m.callers["B"].c.do("GET", "/api/cases?assigned=me&limit=200", nil, &list); code != http.StatusOK {
		t.Fatalf("B's cases: %d", code)
	}
	role := ""
	for _, c := range list.Cases {
		if c.ID == tg.id {
			role = c.MyRole
		}
	}
	if role != "backup" {
		t.Errorf("B's case list: %s has my_role %q, want backup", tg.id, role)
	}
	// Submitting as the backup is let through (422: requirements missing).
	setState(tg, models.StateInSession)
	if got, status, msg := m.call("B", "POST /api/cases/:id/submit", "POST", "/api/cases/:id/submit", tg); got != 'o' {
		t.Errorf("submit as the backup: %d %q, want let through", status, msg)
	}
	// After submission nobody reassigns.
	setState(tg, models.StatePendingReview)
	if code, msg := reassign("SU", tg, "backup", id("MC"), "too late"); code != http.StatusConflict || !strings.Contains(msg, "before submission") {
		t.Errorf("reassign after submission: %d %q, want 409", code, msg)
	}

	// Four eyes: a clerk+supervisor who is the backup does not decide;
	// neither does the supervisor who reassigned; another one does.
	tg = m.fresh("A", models.StateScheduled)
	if code, msg := reassign("SU", tg, "backup", id("CS"), "covers the late slot"); code != http.StatusOK {
		t.Fatalf("supervisor sets CS as backup: %d %q", code, msg)
	}
	setState(tg, models.StatePendingReview)
	m.stepUpAll()
	key := "POST /api/cases/:id/decision"
	if _, status, msg := m.call("CS", key, "POST", "/api/cases/:id/decision", tg); status != http.StatusForbidden || !strings.Contains(msg, "this case's clerk") {
		t.Errorf("decision by the backup clerk: %d %q, want 403 (four eyes)", status, msg)
	}
	if _, status, msg := m.call("SU", key, "POST", "/api/cases/:id/decision", tg); status != http.StatusForbidden || !strings.Contains(msg, "case.reassigned") {
		t.Errorf("decision by the supervisor who reassigned: %d %q, want 403 naming the reassignment", status, msg)
	}
	if _, status, msg := m.call("MS", key, "POST", "/api/cases/:id/decision", tg); status != http.StatusOK {
		t.Errorf("decision by an uninvolved supervisor: %d %q, want 200", status, msg)
	}

	// Reassigning the primary: the old primary loses the case, the new one
	// runs it, and the backup who became primary leaves the backup slot.
	tg = m.fresh("A", models.StateScheduled)
	if code, msg := reassign("S", tg, "backup", id("B"), "cover"); code != http.StatusOK {
		t.Fatalf("set backup: %d %q", code, msg)
	}
	if code, msg := reassign("S", tg, "primary", id("B"), "A is on leave"); code != http.StatusOK {
		t.Fatalf("promote the backup: %d %q", code, msg)
	}
	var c *models.Case
	if err := m.e.store.Transact(ctx, func(tx models.Tx) (err error) { c, err = tx.CaseByID(ctx, models.CaseID(tg.id)); return }); err != nil {
		t.Fatal(err)
	}
	if c.ClerkID != m.clerks["B"].StaffID || c.BackupID != "" {
		t.Errorf("after promoting the backup: clerks %s, %q; want B and none", c.ClerkID, c.BackupID)
	}
	for who, want := range map[string]byte{"A": '4', "B": 'o'} {
		if got, status, msg := m.call(who, "GET /api/cases/:id", "GET", "/api/cases/:id", tg); got != want {
			t.Errorf("GET the case as %s after the reassignment: %d %q, want %s", who, status, msg, describe(want))
		}
	}
	var trail []*models.AuditEvent
	if err := m.e.store.Transact(ctx, func(tx models.Tx) (err error) {
		trail, err = tx.AuditEvents(ctx, models.AuditFilter{CaseID: models.CaseID(tg.id)})
		return
	}); err != nil {
		t.Fatal(err)
	}
	var last map[string]string
	for _, e := range trail {
		if e.Action == "case.reassigned" {
			last = e.Detail
		}
	}
	want := map[string]string{"role": "primary", "old": id("A"), "new": id("B"), "reason": "A is on leave", "backup_cleared": "true"}
	if fmt.Sprint(last) != fmt.Sprint(want) {
		t.Errorf("case.reassigned detail = %v, want %v", last, want)
	}
}
