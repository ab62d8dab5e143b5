package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"remoteidv/internal/testenv"
	"remoteidv/models"
)

// oidcUsers are the provider's accounts of the OIDC tests: groups as a
// bank's provider would send them (names, mixed case, unmapped ones).
var oidcUsers = []testenv.OIDCUser{
	{ID: "u-lin", Username: "lin", Password: "lin-pass", Name: "Lin Clerk", Groups: []string{"IDV-Clerks", "all-staff"}},
	{ID: "u-mei", Username: "mei", Password: "mei-pass", Name: "Mei Supervisor", Groups: []string{"idv-supervisors"}},
	{ID: "u-nora", Username: "nora", Password: "nora-pass", Name: "Nora", Groups: []string{"all-staff"}},
	// The provider's "admin" is not the service's break-glass admin.
	{ID: "u-admin", Username: "admin", Password: "admin-pass", Name: "Provider Admin", Groups: []string{"idv-admins"}},
}

// newOIDCIDV is `idv serve` with the demo staff (local accounts, the
// admin among them) and sign-in through a provider of oidcUsers.
func newOIDCIDV(t *testing.T) (*e2eIDV, *testenv.OIDC) {
	t.Helper()
	o := testenv.StartOIDC(t, []testenv.OIDCClient{{ID: "idv", Secret: "idv-client-secret", RedirectGlobs: []string{testenv.OIDCCallbackGlob}}}, oidcUsers)
	idv := newE2EIDV(t, map[string]string{"IDV_MODELS_DIR": t.TempDir(), "IDV_REQUIRE_MODELS": "false",
		"IDV_OIDC_ISSUER": o.Issuer, "IDV_OIDC_CLIENT_ID": "idv", "IDV_OIDC_CLIENT_SECRET": "idv-client-secret",
		"IDV_OIDC_NAME": "Bank SSO", "IDV_OIDC_NAME_ZH": "银行统一身份认证", "IDV_OIDC_TIMEOUT": "3s",
		"IDV_OIDC_GROUP_ROLES": "clerk=idv-clerks;supervisor=idv-supervisors;admin=idv-admins"})
	if out, err := idv.cli("demo", "load"); err != nil {
		t.Fatalf("demo load: %v\n%s", err, out)
	}
	idv.serve()
	return idv, o
}

// regexpLine reports whether a line of out matches expr.
func regexpLine(out, expr string) bool { return regexp.MustCompile(`(?m)` + expr).MatchString(out) }

// oidcBrowser is a cookie-keeping HTTP client that stops at redirects
// leaving the provider, as a browser's user would see each page.
func oidcBrowser(o *testenv.OIDC) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: testenv.NoRedirectsFrom(o.Issuer)}
}

// get fetches u and returns the status and body.
func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// startAt opens /auth/oidc/start and returns the provider's URL it sends
// the browser to.
func startAt(t *testing.T, idv *e2eIDV, c *http.Client) string {
	t.Helper()
	return startAtPath(t, idv, c, "/auth/oidc/start")
}

// sessionCookie is the client's session cookie for origin.
func sessionCookie(c *http.Client, origin *url.URL) string {
	for _, k := range c.Jar.Cookies(origin) {
		if k.Name == "idv_session" {
			return k.Value
		}
	}
	return ""
}

func startAtPath(t *testing.T, idv *e2eIDV, c *http.Client, path string) string {
	t.Helper()
	c2 := *c
	c2.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c2.Get(idv.origin + path)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /auth/oidc/start = %s, want 303 to the provider", res.Status)
	}
	loc := res.Header.Get("Location")
	q, _ := url.Parse(loc)
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if q.Query().Get(k) == "" {
			t.Fatalf("provider URL %s has no %s", loc, k)
		}
	}
	if q.Query().Get("code_challenge_method") != "S256" {
		t.Fatalf("provider URL %s: PKCE method is not S256", loc)
	}
	return loc
}

// me returns who the client's session is.
func me(t *testing.T, idv *e2eIDV, c *http.Client) (int, meBody) {
	t.Helper()
	status, body := get(t, c, idv.origin+"/api/auth/me")
	var m meBody
	_ = json.Unmarshal([]byte(body), &m)
	return status, m
}

type meBody struct {
	Username string        `json:"username"`
	Roles    []models.Role `json:"roles"`
}

// TestOIDCSignIn runs the real `idv serve` against a real provider
// (testenv.StartOIDC), without a browser: each user's groups map to their
// roles; a state that is not this browser's, or is used twice, is refused;
// a user in no mapped group gets the page saying so; the provider's user
// named like the local break-glass admin is refused and the admin's
// password still works; with the provider down the login page says so and
// the local admin still signs in. Every sign-in is audited with method
// oidc.
func TestOIDCSignIn(t *testing.T) {
	idv, o := newOIDCIDV(t)

	tests := []struct {
		user, password string
		want           []models.Role
	}{
		{"lin", "lin-pass", []models.Role{models.RoleClerk}},
		{"mei", "mei-pass", []models.Role{models.RoleSupervisor}},
	}
	for _, tt := range tests {
		c := oidcBrowser(o)
		back := o.SignIn(t, c, startAt(t, idv, c), tt.user, tt.password)
		if !strings.HasPrefix(back.String(), idv.origin+"/auth/oidc/callback?") {
			t.Fatalf("provider sent %s back to %s, want the callback", tt.user, back)
		}
		status, body := get(t, c, back.String())
		if status != http.StatusOK || !strings.Contains(body, `id="sso-done"`) {
			t.Fatalf("callback for %s = %d, want 200 and the page moving on:\n%.2000s", tt.user, status, body)
		}
		if status, m := me(t, idv, c); status != http.StatusOK || m.Username != tt.user || !slices.Equal(m.Roles, tt.want) {
			t.Errorf("%s after the callback: me = %d %+v, want roles %v", tt.user, status, m, tt.want)
		}
		// The same callback again (the browser's back button, or someone
		// who saw the URL): the state is spent.
		if status, body := get(t, c, back.String()); status != http.StatusBadRequest || !strings.Contains(body, `id="sso-error"`) {
			t.Errorf("callback replayed (cookie gone) = %d, want 400 with the error", status)
		}
		// Even with the state's cookie put back, the database used it once.
		u, _ := url.Parse(idv.origin)
		c.Jar.SetCookies(u, []*http.Cookie{{Name: "idv_oidc", Value: back.Query().Get("state"), Path: "/"}})
		if status, _ := get(t, c, back.String()); status != http.StatusBadRequest {
			t.Errorf("callback replayed (cookie put back) = %d, want 400", status)
		}
	}

	// Step-up for an approval: the provider authenticates the supervisor
	// again (prompt=login); the session rotates and the page goes back.
	sup := oidcBrowser(o)
	if _, body := get(t, sup, o.SignIn(t, sup, startAt(t, idv, sup), "mei", "mei-pass").String()); !strings.Contains(body, `id="sso-done"`) {
		t.Fatalf("mei's sign-in did not finish:\n%.1500s", body)
	}
	origin, _ := url.Parse(idv.origin)
	before := sessionCookie(sup, origin)
	stepURL := startAtPath(t, idv, sup, "/auth/oidc/start?step_up=1&next=/review/cases/x")
	if q, _ := url.Parse(stepURL); q.Query().Get("prompt") != "login" {
		t.Errorf("step-up URL %s does not ask the provider to authenticate again", stepURL)
	}
	status, body := get(t, sup, o.SignIn(t, sup, stepURL, "mei", "mei-pass").String())
	if status != http.StatusOK || !strings.Contains(body, `data-next="/review/cases/x"`) {
		t.Errorf("step-up callback = %d, want 200 going back to the review page:\n%.1500s", status, body)
	}
	if after := sessionCookie(sup, origin); after == before || after == "" {
		t.Error("the session did not rotate at the step-up")
	}
	if status, m := me(t, idv, sup); status != http.StatusOK || m.Username != "mei" {
		t.Errorf("after the step-up: me = %d %+v", status, m)
	}
	// A local member steps up with a password, not here.
	loc := oidcBrowser(o)
	if res, err := loc.Post(idv.origin+"/api/auth/login", "application/json", strings.NewReader(`{"username":"supervisor","password":"`+e2ePassword+`"}`)); err != nil || res.StatusCode != 200 {
		t.Fatalf("local supervisor login: %v %v", res, err)
	}
	if status, _ := get(t, loc, idv.origin+"/auth/oidc/start?step_up=1"); status != http.StatusBadRequest {
		t.Errorf("step-up at the provider for a local member = %d, want 400", status)
	}

	// A callback for a sign-in this browser did not start (login CSRF:
	// someone else's code and state sent to the victim's browser).
	attacker, victim := oidcBrowser(o), oidcBrowser(o)
	back := o.SignIn(t, attacker, startAt(t, idv, attacker), "lin", "lin-pass")
	startAt(t, idv, victim) // the victim has a state cookie of its own
	if status, body := get(t, victim, back.String()); status != http.StatusBadRequest || !strings.Contains(body, "another browser") {
		t.Errorf("someone else's callback = %d, want 400 saying so:\n%.1500s", status, body)
	}
	if status, _ := me(t, idv, victim); status != http.StatusUnauthorized {
		t.Errorf("victim after someone else's callback: me = %d, want 401", status)
	}
	// The attacker's own callback is still good: the victim did not spend it.
	if status, _ := get(t, attacker, back.String()); status != http.StatusOK {
		t.Errorf("attacker's own callback = %d, want 200", status)
	}

	refused := []struct {
		user, password string
		status         int
		text           string
	}{
		{"nora", "nora-pass", http.StatusForbidden, "is in no group that may use this service"},
		{"admin", "admin-pass", http.StatusForbidden, "its name belongs to another account here"},
	}
	for _, tt := range refused {
		c := oidcBrowser(o)
		back := o.SignIn(t, c, startAt(t, idv, c), tt.user, tt.password)
		if status, body := get(t, c, back.String()); status != tt.status || !strings.Contains(body, tt.text) {
			t.Errorf("callback for %s = %d, want %d with %q:\n%.1500s", tt.user, status, tt.status, tt.text, body)
		}
		if status, _ := me(t, idv, c); status != http.StatusUnauthorized {
			t.Errorf("%s after a refused sign-in: me = %d, want 401", tt.user, status)
		}
	}

	o.Stop()
	c := oidcBrowser(o)
	if status, body := get(t, c, idv.origin+"/auth/oidc/start"); status != http.StatusServiceUnavailable || !strings.Contains(body, "Bank SSO cannot be reached") {
		t.Errorf("start with the provider down = %d, want 503 saying so:\n%.1500s", status, body)
	}
	res, err := c.Post(idv.origin+"/api/auth/login", "application/json", strings.NewReader(`{"username":"admin","password":"`+e2ePassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("break-glass admin login with the provider down = %s, want 200", res.Status)
	}

	out, err := idv.cli("users", "list")
	if err != nil || !regexpLine(out, `^lin\s+Lin Clerk\s+active\s+oidc\s+\[clerk\]`) || !regexpLine(out, `^admin\s+.*\s+local\s+\[admin\]`) {
		t.Errorf("users list = %v\n%s\nwant lin from oidc, admin local", err, out)
	}

	// Refusals without a staff row (a bad state, an unmapped account, the
	// provider down) are throttled per address like every unauthenticated
	// failure (IDV_AUDIT_FAILURE_WINDOW): the first is written, the rest
	// counted into one auth.events_suppressed. A known row's is written.
	text, _ := auditText(t, idv)
	for _, want := range []string{
		`auth.login  {"factor":"identity_provider","method":"oidc","remote":"127.0.0.1","username":"lin"}`,
		`system:oidc staff.created  {"roles":"supervisor","source":"oidc"`,
		`anonymous auth.login_failed  {"factor":"identity_provider","method":"oidc","reason":"state does not match this browser","remote":"127.0.0.1"`,
		`"method":"oidc","reason":"the name belongs to a local account","remote":"127.0.0.1","username":"admin"`,
		`auth.login  {"factor":"password","method":"password","remote":"127.0.0.1","username":"admin"}`,
		`auth.stepup  {"factor":"identity_provider","method":"oidc"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("audit trail lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("audit trail:\n%s", text)
	}
}
