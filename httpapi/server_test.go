package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"remoteidv/access"
	"remoteidv/audit"
	"remoteidv/httpapi"
	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/notify"
	"remoteidv/signaling"
	"remoteidv/storage/archiver"
	"remoteidv/storage/localfs"
	"remoteidv/storage/postgres"
	"remoteidv/storage/sqldb"
	"remoteidv/storage/sqlite"
	"remoteidv/verify"
	"remoteidv/verify/face"
	"remoteidv/verify/verifytest"
	"remoteidv/webhook"
)

type env struct {
	srv    *httpapi.Server
	ts     *httptest.Server
	store  models.Store
	acc    *access.Service
	g      *verifytest.Graph  // the workflow's services, built at once
	gopts  verifytest.Options // how g was built (another node builds its own)
	ver    *verify.Service
	hub    *signaling.Hub
	evRoot string // the root of the local evidence folder
	logs   *testenv.SyncBuffer
	now    time.Time
	pub    ed25519.PublicKey
	wh     *webhook.Service
	nt     *notify.Service
}

// envOptions are what a test chooses when the server is built.
type envOptions struct {
	faces     bool                // the real face engine (faceEngine) instead of none
	face      verify.FaceConfig   // the face configuration the admin's report shows
	desk      verify.DeskDeps     // registry and mail server (default: none)
	signaling signaling.Config    // the hub (its recording folder and loopback candidates are set here)
	mailbox   httpapi.DemoMailbox // demo mode with this mailbox; nil: demo mode off
	proxies   []string            // trusted proxies (Config.TrustedProxies)
	node      *testNode           // calls placed across nodes (Config.NodeSecret, Services.CallNodes); nil: one node
}

// testNode is one node of several on the env's database.
type testNode struct {
	id     models.NodeID
	secret []byte
}

// serve starts a server over e's services with a hub of its own: e's,
// or another node's on the same database (o.node).
func (e *env) serve(t *testing.T, o envOptions, log *slog.Logger) (*signaling.Hub, *httpapi.Server, *httptest.Server) {
	t.Helper()
	o.signaling.RecordDir, o.signaling.Loopback = t.TempDir(), true
	g := e.g
	if e.hub != nil {
		g = verifytest.New(t, e.gopts) // another node: a workflow of its own on the database
	}
	hub, err := signaling.New(o.signaling, g.Calls, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Close() })
	cfg := httpapi.Config{MaxBodyBytes: 64 << 10, BankName: "Demo Bank", AuditKey: e.pub, BoardStream: 200 * time.Millisecond, Demo: o.mailbox != nil, TrustedProxies: o.proxies}
	svc := httpapi.Services{Access: e.acc, Verify: g.Service, Desk: g.Desk, Calls: g.Calls, Hub: hub, Store: e.store, Log: log, Mailbox: o.mailbox, Webhooks: e.wh, Notify: e.nt, Nodes: storeNodes{e.store}}
	if o.node != nil {
		cfg.NodeSecret, cfg.NodeID = o.node.secret, o.node.id
		svc.CallNodes = &verify.CallNodes{Store: e.store, Self: o.node.id, DeadAfter: time.Minute, TTL: time.Minute, Now: time.Now}
	}
	srv, err := httpapi.New(cfg, svc)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	if o.node != nil {
		// As idv serve has them (shorter): a socket the server hands over
		// (hijacked) must not keep them.
		ts.Config.ReadTimeout, ts.Config.WriteTimeout = 2*time.Second, 2*time.Second
	}
	ts.Start()
	t.Cleanup(ts.Close)
	return hub, srv, ts
}

const password = "correct horse battery staple"

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, "sqlite", envOptions{})
}

// newEnvOn is newEnv on a fresh database of the kind named: "sqlite" (a
// file) or "postgres" (a schema of its own on the test server).
func newEnvOn(t *testing.T, kind string) *env {
	t.Helper()
	return newEnvWith(t, kind, envOptions{})
}

// newEnvWith is newEnvOn with the server built as o says.
func newEnvWith(t *testing.T, kind string, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	logs := &testenv.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	var db *sqldb.DB
	var err error
	switch kind {
	case "sqlite":
		db, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "idv.db"), log)
	case "postgres":
		db, err = postgres.Open(ctx, testenv.PostgresURL(t), log)
	default:
		t.Fatalf("newEnvOn: unknown database %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{store: db, logs: logs, now: time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)}
	now := func() time.Time { return e.now }
	chain := audit.Chain{Now: now}
	e.acc = &access.Service{Store: db, Chain: chain, Now: now, Rand: rand.Reader, Idle: 15 * time.Minute, Absolute: 12 * time.Hour, Log: log}
	cfg := verifytest.DefaultConfig()
	cfg.PublicURL, cfg.Face = "http://127.0.0.1:8080", o.face
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	e.pub, e.evRoot = pub, filepath.Join(t.TempDir(), "evidence")
	evidence, err := localfs.New(localfs.Config{Root: e.evRoot, Now: time.Now}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	stager, err := archiver.NewStager(filepath.Join(t.TempDir(), "staging"), now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	gopts := verifytest.Options{Store: db, Now: now, Log: log, Config: cfg, ReadBLAS: face.ReadBLASInfo, Stager: stager, Evidence: evidence, Key: priv, Desk: o.desk}
	if o.faces {
		gopts.Face = faceEngine(t)
	}
	e.g, e.gopts = verifytest.New(t, gopts), gopts
	e.ver = e.g.Service
	e.wh = webhook.New(db, chain, now, rand.Reader, log, webhook.Config{}, nil)
	e.nt = notify.New(db, chain, now, rand.Reader, log, notify.Config{BankName: "Demo Bank", MailFrom: "idv@bank.example"})
	e.hub, e.srv, e.ts = e.serve(t, o, log)
	// Security keys on, required by no role: members without keys sign in
	// with the password alone (keys_test.go turns the policy on).
	e.acc.Keys = access.KeyPolicy{RPID: "localhost", Origins: []string{e.ts.URL}}
	for _, r := range models.Roles {
		if _, err := e.acc.CreateStaff(ctx, "system", string(r), "Demo "+string(r), password, []models.Role{r}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.acc.CreateStaff(ctx, "system", "clerk2", "Second clerk", password, []models.Role{models.RoleClerk}); err != nil {
		t.Fatal(err)
	}
	img := pngFixture(t)
	rep, err := e.g.Accounts.Import(ctx, "system", strings.NewReader("account_no,holder_name,national_id,email,phone,time_zone,language,photos,signature\n"+
		"6222000011112222,Li Wei,110101199003071234,li.wei@example.com,+1 212 555 0100,America/New_York,zh-CN,p.png,p.png\n"),
		fstest.MapFS{"p.png": {Data: img}}, nil)
	if err != nil || rep.Imported != 1 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	return e
}

// client is a browser-like session: cookie jar plus the CSRF token.
type client struct {
	t    testing.TB
	base string
	http *http.Client
	csrf string
}

func (e *env) anon(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: e.ts.URL, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (e *env) login(t testing.TB, user string) *client {
	t.Helper()
	c := e.anon(t)
	var me struct {
		CSRFToken string `json:"csrf_token"`
	}
	if code := c.do("POST", "/api/auth/login", map[string]string{"username": user, "password": password}, &me); code != 200 {
		t.Fatalf("login %s: status %d", user, code)
	}
	c.csrf = me.CSRFToken
	return c
}

// do sends body as JSON (nil for none) and decodes a JSON answer into out.
func (c *client) do(method, path string, body any, out any) int {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	return c.raw(method, path, "application/json", r, out)
}

func (c *client) raw(method, path, ctype string, body io.Reader, out any) int {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

func newCaseBody() map[string]any {
	return map[string]any{"account_no": "6222000011112222", "purpose": "transaction_statement", "period_from": "2025-01-01", "period_to": "2025-12-31",
		"slot": map[string]string{"local": "2026-12-01T09:00", "time_zone": "America/New_York"}}
}

func (e *env) createCase(t testing.TB, c *client) string {
	t.Helper()
	var cs struct{ ID string }
	if code := c.do("POST", "/api/cases", newCaseBody(), &cs); code != 201 {
		t.Fatalf("create case: status %d", code)
	}
	return cs.ID
}

// TestRolePolicy walks every registered route as every kind of caller:
// allowed callers never get 401/403, others get exactly that. It checks
// that the route table drives the guard, taking its expectations from that
// table; the authority on who may do what is TestPolicyMatrix, whose
// answers are written out by hand.
func TestRolePolicy(t *testing.T) {
	e := newEnv(t)
	policy := map[string]httpapi.RouteInfo{}
	for _, r := range e.srv.Routes() {
		policy[r.Method+" "+r.Path] = r
	}
	callers := map[string]*client{"anonymous": e.anon(t)}
	for _, r := range models.Roles {
		callers[string(r)] = e.login(t, string(r))
	}
	caseID := e.createCase(t, callers["clerk"])
	params := strings.NewReplacer(":id", caseID, ":no", "6222000011112222", ":username", "nobody", ":token", "iv1_x")
	routes := e.srv.RegisteredRoutes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, rt := range routes {
		pol, ok := policy[rt.Method+" "+rt.Path]
		if !ok {
			t.Errorf("%s %s is served but missing from the policy table", rt.Method, rt.Path)
			continue
		}
		for _, who := range []string{"anonymous", "clerk", "supervisor", "auditor", "admin"} {
			if rt.Path == "/api/auth/logout" {
				continue // would end the session the rest of the walk uses; tested below
			}
			t.Run(fmt.Sprintf("%s %s as %s", rt.Method, rt.Path, who), func(t *testing.T) {
				var body any
				if rt.Method != "GET" && rt.Method != "DELETE" {
					body = map[string]any{}
				}
				if rt.Path == "/api/auth/step-up" {
					body = map[string]any{"password": password}
				}
				code := callers[who].do(rt.Method, params.Replace(rt.Path), body, nil)
				var want []int // statuses that must NOT appear
				switch {
				case pol.Auth == "none" || pol.Auth == "guest page":
					want = nil
				case pol.Auth == "customer":
					// Nobody here holds a customer cookie: the 410 page, or
					// 429 once the address has failed too often.
					if code != 410 && code != 429 {
						t.Fatalf("status %d, want 410 or 429", code)
					}
					return
				case pol.Auth == "staff page" && who == "anonymous":
					if code != 303 {
						t.Fatalf("status %d, want 303 to /login", code)
					}
					return
				case pol.Auth == "staff page" && len(pol.Roles) > 0 && !slices.Contains(pol.Roles, models.Role(who)):
					if code != 403 {
						t.Fatalf("status %d, want the 403 page (role %s not in policy %v)", code, who, pol.Roles)
					}
					return
				case pol.Auth == "staff page":
					want = []int{401, 403}
				case pol.Auth != "staff":
					t.Fatalf("unknown authentication %q", pol.Auth)
				case who == "anonymous":
					if code != 401 {
						t.Fatalf("status %d, want 401", code)
					}
					return
				case len(pol.Roles) == 0 || slices.Contains(pol.Roles, models.Role(who)):
					want = []int{401, 403}
				default:
					if code != 403 {
						t.Fatalf("status %d, want 403 (role %s not in policy %v)", code, who, pol.Roles)
					}
					return
				}
				if slices.Contains(want, code) || code >= 500 {
					t.Fatalf("status %d for an allowed caller", code)
				}
			})
		}
	}
}

func TestOpenAPICoversEveryRoute(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if code := e.anon(t).do("GET", "/api/openapi.json", nil, &doc); code != 200 || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi: status %d, version %q", code, doc.OpenAPI)
	}
	for _, r := range e.srv.RegisteredRoutes() {
		p := r.Path
		for _, part := range strings.Split(p, "/") {
			if strings.HasPrefix(part, ":") {
				p = strings.Replace(p, part, "{"+part[1:]+"}", 1)
			}
		}
		if _, ok := doc.Paths[p][strings.ToLower(r.Method)]; !ok {
			t.Errorf("%s %s is served but missing from /api/openapi.json", r.Method, r.Path)
		}
	}
}

func TestCaseFlowAndInvite(t *testing.T) {
	e := newEnv(t)
	withEvidence(t, e) // the published checkpoints are part of GET /api/audit/verify
	clerk := e.login(t, "clerk")
	id := e.createCase(t, clerk)
	var cs struct {
		State string
		Slot  struct {
			Customer, Branch string
			Warnings         []string
		}
		RegisteredEmail string `json:"registered_email"`
	}
	if code := clerk.do("GET", "/api/cases/"+id, nil, &cs); code != 200 || cs.State != "scheduled" {
		t.Fatalf("get case: %d %+v", code, cs)
	}
	if cs.RegisteredEmail != "l***@example.com" {
		t.Errorf("get case: registered_email = %q, want the registered address masked, l***@example.com", cs.RegisteredEmail)
	}
	if cs.Slot.Customer != "2026-12-01T09:00:00-05:00 America/New_York" || cs.Slot.Branch != "2026-12-01T22:00:00+08:00 Asia/Shanghai" || len(cs.Slot.Warnings) != 1 {
		t.Fatalf("slot view = %+v", cs.Slot)
	}
	var inv struct{ Link, ICS string }
	if code := clerk.do("POST", "/api/cases/"+id+"/invite", nil, &inv); code != 201 || !strings.Contains(inv.ICS, "BEGIN:VEVENT") {
		t.Fatalf("invite: %d %+v", code, inv)
	}
	path := strings.TrimPrefix(inv.Link, "http://127.0.0.1:8080")
	// Too early: the page saying when the call opens (TestInviteBeforeItsWindow),
	// which spends nothing.
	anon := e.anon(t)
	early := anon.raw("GET", path, "", nil, nil)
	if early != 200 {
		t.Fatalf("join (too early) = %d, want 200 (the page saying when the call opens)", early)
	}
	e.now = time.Date(2026, 12, 1, 13, 50, 0, 0, time.UTC)
	clerk = e.login(t, "clerk")
	if r := join(t, anon, path); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/call" {
		t.Fatalf("join (in window) = %d to %q, want 303 to /call (the token spent for a session cookie)", r.StatusCode, r.Header.Get("Location"))
	}
	tok := path[strings.LastIndex(path, "/")+1:]
	if strings.Contains(e.logs.String(), tok) {
		t.Fatal("the invite token appears in the logs")
	}
	// The calendar file on its own.
	req, _ := http.NewRequest("POST", e.ts.URL+"/api/cases/"+id+"/invite?format=ics", nil)
	req.Header.Set("X-CSRF-Token", clerk.csrf)
	resp, err := clerk.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") {
		t.Fatalf("invite ics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var tl struct{ Events []struct{ Action string } }
	var actions []string
	code := e.login(t, "auditor").do("GET", "/api/cases/"+id+"/timeline", nil, &tl)
	for _, ev := range tl.Events {
		actions = append(actions, ev.Action)
	}
	if want := []string{"case.created", "invite.issued", "customer.session_started", "invite.revoked", "invite.issued"}; code != 200 || !slices.Equal(actions, want) {
		t.Fatalf("timeline: %d, %v, want %v (created, invited, the link used, the used link revoked by the new one, invited again)", code, actions, want)
	}
	var ver struct{ OK bool }
	if code := e.login(t, "auditor").do("GET", "/api/audit/verify", nil, &ver); code != 200 || !ver.OK {
		t.Fatalf("audit verify: %d %+v", code, ver)
	}
	// A second clerk cannot see or touch the case.
	other := e.login(t, "clerk2")
	if code := other.do("GET", "/api/cases/"+id, nil, nil); code != 404 {
		t.Fatalf("other clerk GET case = %d, want 404", code)
	}
	if code := other.do("POST", "/api/cases/"+id+"/cancel", map[string]string{"reason": "x"}, nil); code != 404 {
		t.Fatalf("other clerk cancel = %d, want 404", code)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	clerk := e.login(t, "clerk")
	var before struct{ Total int }
	clerk.do("GET", "/api/cases", nil, &before)
	withSlot := func(local, tz string) map[string]any {
		b := newCaseBody()
		b["slot"] = map[string]string{"local": local, "time_zone": tz}
		return b
	}
	tests := []struct {
		name   string
		method string
		path   string
		ctype  string
		body   string
		want   int
		code   string
	}{
		{"malformed JSON", "POST", "/api/cases", "application/json", `{"account_no":`, 400, "invalid"},
		{"unknown field", "POST", "/api/cases", "application/json", `{"account_no":"1","bogus":1}`, 400, "invalid"},
		{"two objects", "POST", "/api/cases", "application/json", `{} {}`, 400, "invalid"},
		{"wrong type", "POST", "/api/cases", "application/json", `{"account_no":12}`, 400, "invalid"},
		{"empty body", "POST", "/api/cases", "application/json", ``, 400, "invalid"},
		{"not JSON content type", "POST", "/api/cases", "text/plain", `{}`, 415, "unsupported"},
		{"oversized", "POST", "/api/cases", "application/json", `{"account_no":"` + strings.Repeat("9", 70<<10) + `"}`, 413, "too_large"},
		{"bad zone", "POST", "/api/cases", "application/json", mustJSON(withSlot("2026-12-01T09:00", "Mars/Base")), 400, "invalid"},
		{"past slot", "POST", "/api/cases", "application/json", mustJSON(withSlot("2026-11-01T09:00", "Europe/Paris")), 400, "invalid"},
		{"unknown account", "POST", "/api/cases", "application/json", strings.Replace(mustJSON(newCaseBody()), "6222000011112222", "1234567890", 1), 400, "invalid"},
		{"bad limit", "GET", "/api/cases?limit=0", "", "", 400, "invalid"},
		{"huge limit", "GET", "/api/cases?limit=100000", "", "", 400, "invalid"},
		{"negative offset", "GET", "/api/cases?offset=-1", "", "", 400, "invalid"},
		{"limit not a number", "GET", "/api/cases?limit=1e3", "", "", 400, "invalid"},
		{"bad state", "GET", "/api/cases?state=done", "", "", 400, "invalid"},
		{"bad time", "GET", "/api/cases?slot_from=yesterday", "", "", 400, "invalid"},
		{"unknown case", "GET", "/api/cases/case_aaaaaaaaaaaaaaaaaaaaaaaaaa", "", "", 404, "not_found"},
		{"junk case id", "GET", "/api/cases/../../etc", "", "", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" || tt.method == "POST" {
				body = strings.NewReader(tt.body)
			}
			var out struct {
				Error struct{ Code, Message, RequestID string } `json:"error"`
			}
			got := clerk.raw(tt.method, tt.path, tt.ctype, body, &out)
			if got != tt.want || out.Error.Code != tt.code || out.Error.Message == "" {
				t.Fatalf("status %d code %q (%q), want %d %q", got, out.Error.Code, out.Error.Message, tt.want, tt.code)
			}
		})
	}
	var after struct{ Total int }
	clerk.do("GET", "/api/cases", nil, &after)
	if after.Total != before.Total {
		t.Fatalf("bad input changed state: %d cases, want %d", after.Total, before.Total)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestSessionSecurity(t *testing.T) {
	e := newEnv(t)
	clerk := e.login(t, "clerk")
	// CSRF: a cookie-authenticated write without the header is refused.
	noCSRF := *clerk
	noCSRF.csrf = ""
	if code := noCSRF.do("POST", "/api/cases", newCaseBody(), nil); code != 403 {
		t.Fatalf("write without CSRF = %d, want 403", code)
	}
	// Logout ends the session; the old cookie is dead.
	cookies := clerk.http.Jar.Cookies(mustURL(e.ts.URL))
	if code := clerk.do("POST", "/api/auth/logout", nil, nil); code != 204 {
		t.Fatalf("logout = %d", code)
	}
	replay := e.anon(t)
	replay.http.Jar.SetCookies(mustURL(e.ts.URL), cookies)
	if code := replay.do("GET", "/api/auth/me", nil, nil); code != 401 {
		t.Fatalf("replayed cookie after logout = %d, want 401", code)
	}
	// Disabling a user ends their sessions at once.
	sup := e.login(t, "supervisor")
	adm := e.login(t, "admin")
	if code := adm.do("POST", "/api/staff/supervisor/disable", nil, nil); code != 204 {
		t.Fatalf("disable = %d", code)
	}
	if code := sup.do("GET", "/api/cases", nil, nil); code != 401 {
		t.Fatalf("disabled user's request = %d, want 401", code)
	}
	// Idle timeout.
	aud := e.login(t, "auditor")
	e.now = e.now.Add(16 * time.Minute)
	if code := aud.do("GET", "/api/cases", nil, nil); code != 401 {
		t.Fatalf("request after 16 idle minutes = %d, want 401", code)
	}
	// Bearer tokens work without CSRF. A clerk mints their own after a
	// step-up.
	clerk = e.login(t, "clerk")
	if code := clerk.do("POST", "/api/auth/step-up", map[string]string{"password": password}, nil); code != 200 {
		t.Fatalf("step-up = %d", code)
	}
	var tok struct{ Token string }
	if code := clerk.do("POST", "/api/tokens", map[string]any{"name": "core banking", "scope": []string{"clerk"}}, &tok); code != 201 {
		t.Fatalf("create token = %d", code)
	}
	api := e.anon(t)
	req, _ := http.NewRequest("POST", e.ts.URL+"/api/cases", strings.NewReader(mustJSON(newCaseBody())))
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := api.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("token write = %d, want 201", resp.StatusCode)
	}
	// Failed logins are rate limited per address.
	bad := e.anon(t)
	var last int
	for range 25 {
		last = bad.do("POST", "/api/auth/login", map[string]string{"username": "clerk", "password": "wrong wrong wrong"}, nil)
	}
	if last != 429 {
		t.Fatalf("25th failed login = %d, want 429", last)
	}
}

func TestSecurityHeadersAndHealth(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("readyz = %d", resp.StatusCode)
	}
	for h, want := range map[string]string{"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("CSP/request id missing: %v", resp.Header)
	}
	// The metrics are not on the public listener, only on their own.
	resp, err = http.Get(e.ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || strings.Contains(string(b), "idv_http_requests_total") {
		t.Fatalf("GET /metrics on the public handler = %d %.200s, want 404", resp.StatusCode, b)
	}
	ms := httptest.NewServer(e.srv.MetricsHandler())
	defer ms.Close()
	resp, err = http.Get(ms.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "idv_http_requests_total") {
		t.Fatalf("metrics lack idv_http_requests_total")
	}
	e.store.Close()
	resp, err = http.Get(e.ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("readyz with the database closed = %d, want 503", resp.StatusCode)
	}
}

// TestInviteGuessingIsRateLimited: after 20 refused links in a minute an
// address gets 429, and every refusal looks the same.
func TestInviteGuessingIsRateLimited(t *testing.T) {
	e := newEnv(t)
	c := e.anon(t)
	var codes []int
	for i := range 22 {
		codes = append(codes, c.raw("GET", fmt.Sprintf("/join/iv1_%043d", i), "", nil, nil))
	}
	for i, code := range codes[:20] {
		if code != 410 {
			t.Fatalf("attempt %d = %d, want 410", i+1, code)
		}
	}
	if codes[21] != 429 {
		t.Fatalf("attempt 22 = %d, want 429", codes[21])
	}
	if !strings.Contains(e.logs.String(), `msg="invalid invite link" security=true`) {
		t.Fatal("refused links are not logged as security events")
	}
	e.now = e.now.Add(61 * time.Second)
	if code := c.raw("GET", "/join/iv1_x", "", nil, nil); code != 410 {
		t.Fatalf("after a minute = %d, want 410 again", code)
	}
}
