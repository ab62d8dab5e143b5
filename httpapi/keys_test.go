package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"remoteidv/access"
	"remoteidv/models"
)

// rawJSON posts b as it is and returns the status and the body.
func (c *client) rawJSON(method, path string, b []byte) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(b))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", c.csrf)
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// options asks for a ceremony's options and fails unless they come.
func (c *client) options(path string, body any) []byte {
	c.t.Helper()
	b, _ := json.Marshal(body)
	code, out := c.rawJSON("POST", path, b)
	if code != http.StatusOK {
		c.t.Fatalf("POST %s = %d %s, want 200 and the options", path, code, out)
	}
	return out
}

// enrolCode issues an enrolment code for username's first key as the
// operator does (idv users enrol).
func enrolCode(t *testing.T, e *env, username string) string {
	t.Helper()
	code, _, err := e.acc.IssueEnrolment(context.Background(), "cli", "", username, "cli")
	if err != nil {
		t.Fatalf("IssueEnrolment(%s): %v", username, err)
	}
	return code
}

// registerKey steps up and registers a as a key named name, with the
// enrolment code (a first key) or without ("").
func registerKey(t *testing.T, c *client, a *authenticator, name, enrolment string) string {
	t.Helper()
	if code := c.do("POST", "/api/auth/step-up", map[string]string{"password": password}, nil); code != 200 {
		t.Fatalf("step-up: %d", code)
	}
	opts := c.options("/api/me/keys/challenge", map[string]string{"name": name, "enrolment_code": enrolment})
	code, out := c.rawJSON("POST", "/api/me/keys", a.create(opts))
	if code != http.StatusOK {
		t.Fatalf("POST /api/me/keys = %d %s, want 200", code, out)
	}
	var k struct{ ID, Name string }
	json.Unmarshal(out, &k)
	if k.Name != name || k.ID == "" {
		t.Fatalf("POST /api/me/keys = %s, want the key %q", out, name)
	}
	return k.ID
}

// keySignIn presents a after the password and returns the answer sent.
func keySignIn(t *testing.T, c *client, a *authenticator) []byte {
	t.Helper()
	answer := a.get(c.options("/api/auth/key/challenge", nil))
	if code, out := c.rawJSON("POST", "/api/auth/key", answer); code != http.StatusOK {
		t.Fatalf("POST /api/auth/key = %d %s, want 200", code, out)
	}
	return answer
}

// events returns the audit events of action, oldest first.
func events(t *testing.T, e *env, action string) []*models.AuditEvent {
	t.Helper()
	var all []*models.AuditEvent
	err := e.store.Transact(context.Background(), func(tx models.Tx) (err error) {
		all, err = tx.AuditEvents(context.Background(), models.AuditFilter{Limit: 10000})
		return
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []*models.AuditEvent
	for _, ev := range all {
		if ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

// wantSignInShape checks an event has the detail every sign-in event has.
func wantSignInShape(t *testing.T, ev *models.AuditEvent, reason bool) {
	t.Helper()
	d := ev.Detail
	if d["method"] != "webauthn" || d["factor"] != "webauthn" || d["remote"] == "" || (reason && d["reason"] == "") {
		t.Errorf("%s detail = %v, want method and factor webauthn, remote%s", ev.Action, d, map[bool]string{true: " and a reason"}[reason])
	}
}

func errMsg(b []byte) string {
	var eb struct {
		Error struct{ Message string } `json:"error"`
	}
	json.Unmarshal(b, &eb)
	return eb.Error.Message
}

// TestSecurityKeys walks the key's life with a software authenticator:
// the role policy holds a supervisor without a key back, registration
// needs a step-up, the key is the second factor after the password, a
// decision needs the key's assertion bound to its case and decision (one
// for another case or decision, or replayed, is refused), and an admin
// recovers a lost key; every step is audited in the sign-in shape.
func TestSecurityKeys(t *testing.T) {
	e := newEnv(t)
	e.acc.Keys.Required = []models.Role{models.RoleSupervisor, models.RoleAdmin}
	clerk := e.login(t, "clerk")
	x, y := pendingCase(t, e, clerk), pendingCase(t, e, clerk)

	// A supervisor without a key: role work waits, the decision too.
	sup := e.login(t, "supervisor")
	if code := sup.do("GET", "/api/cases", nil, nil); code != http.StatusForbidden {
		t.Fatalf("GET /api/cases before a key = %d, want 403", code)
	}
	if code, out, _ := sup.keyed("POST", "/api/cases/"+x+"/decision", "k-0", approveBody(t, e, x, "fine")); code != http.StatusForbidden {
		t.Fatalf("decision before a key = %d %s, want 403", code, out)
	}
	if code := sup.do("GET", "/review", nil, nil); code != http.StatusSeeOther {
		t.Fatalf("GET /review before a key = %d, want 303 to /keys", code)
	}
	var mine struct {
		Keys              []struct{ ID, Name string }
		Required, Pending bool
	}
	if code := sup.do("GET", "/api/me/keys", nil, &mine); code != 200 || !mine.Required || !mine.Pending || len(mine.Keys) != 0 {
		t.Fatalf("GET /api/me/keys = %d %+v, want required, pending, no keys", code, mine)
	}

	// Registration needs a fresh step-up; then role work begins.
	if code, out := sup.rawJSON("POST", "/api/me/keys/challenge", []byte(`{"name":"blue key"}`)); code != http.StatusForbidden {
		t.Fatalf("key challenge without step-up = %d %s, want 403", code, out)
	}
	key := newAuthenticator(t, e.ts.URL)
	keyID := registerKey(t, sup, key, "blue key", enrolCode(t, e, "supervisor"))
	if code := sup.do("GET", "/api/cases", nil, nil); code != http.StatusOK {
		t.Fatalf("GET /api/cases after registering = %d, want 200", code)
	}

	// Next sign-in: the password is not enough; nor can it add a key.
	sup = e.login(t, "supervisor")
	if code := sup.do("GET", "/api/cases", nil, nil); code != http.StatusForbidden {
		t.Fatalf("GET /api/cases after the password only = %d, want 403", code)
	}
	if code := sup.do("POST", "/api/auth/step-up", map[string]string{"password": password}, nil); code != 200 {
		t.Fatalf("step-up: %d", code)
	}
	if code, out := sup.rawJSON("POST", "/api/me/keys/challenge", []byte(`{"name":"thief's key"}`)); code != http.StatusForbidden {
		t.Fatalf("adding a key with the password only = %d %s, want 403", code, out)
	}
	signIn := keySignIn(t, sup, key)
	if code := sup.do("GET", "/api/cases", nil, nil); code != http.StatusOK {
		t.Fatalf("GET /api/cases after the key = %d, want 200", code)
	}
	if code, out := sup.rawJSON("POST", "/api/auth/key", signIn); code != http.StatusUnauthorized {
		t.Fatalf("replayed sign-in answer = %d %s, want 401", code, out)
	}

	// Decisions: the password step-up is not enough.
	if code, out, _ := sup.keyed("POST", "/api/cases/"+x+"/decision", "k-1", approveBody(t, e, x, "fine")); code != http.StatusForbidden ||
		!strings.Contains(errMsg(out), "security key") {
		t.Fatalf("decision with the password step-up = %d %s, want 403 asking for the key", code, out)
	}
	decide := func(id, key string, body []byte, answer []byte) (int, []byte) {
		var m map[string]any
		json.Unmarshal(body, &m)
		m["webauthn"] = json.RawMessage(answer)
		b, _ := json.Marshal(m)
		code, out, _ := sup.keyed("POST", "/api/cases/"+id+"/decision", key, b)
		return code, out
	}
	statementX := func() string {
		var m map[string]string
		json.Unmarshal(approveBody(t, e, x, ""), &m)
		return m["statement_sha256"]
	}()
	challenge := func(id, decision, sum string) []byte {
		return sup.options("/api/cases/"+id+"/decision/challenge", map[string]string{"decision": decision, "statement_sha256": sum})
	}
	tests := []struct {
		name       string
		signedFor  string // case the challenge names
		decision   string // decision the challenge names
		sentTo     string // case the decision is sent to
		wantStatus int
	}{
		{"signed for another case", x, "approve", y, http.StatusForbidden},
		{"signed for another decision", x, "reject", x, http.StatusForbidden},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := ""
			if tt.decision == "approve" {
				sum = statementX
			}
			answer := key.get(challenge(tt.signedFor, tt.decision, sum))
			code, out := decide(tt.sentTo, fmt.Sprintf("k-t%d", i), approveBody(t, e, tt.sentTo, "fine"), answer)
			if code != tt.wantStatus {
				t.Fatalf("decision = %d %s, want %d", code, out, tt.wantStatus)
			}
		})
	}
	answer := key.get(challenge(x, "approve", statementX))
	if code, out := decide(x, "k-2", approveBody(t, e, x, "fine"), answer); code != http.StatusOK {
		t.Fatalf("decision with the key = %d %s, want 200", code, out)
	}
	if code, out := decide(x, "k-3", approveBody(t, e, x, "fine"), answer); code != http.StatusUnauthorized || !strings.Contains(errMsg(out), "already used") {
		t.Fatalf("replayed decision answer = %d %s, want 401 (used challenge)", code, out)
	}
	var stepups []*models.AuditEvent
	for _, ev := range events(t, e, "auth.webauthn_stepup") {
		if ev.CaseID == models.CaseID(x) {
			stepups = append(stepups, ev)
		}
	}
	if len(stepups) != 1 || stepups[0].Detail["decision"] != "approve" || stepups[0].Detail["statement_sha256"] != statementX {
		t.Fatalf("auth.webauthn_stepup of %s = %v, want one approval of its statement", x, stepups)
	}
	wantSignInShape(t, stepups[0], false)

	// Adding a key needs a key presented within the step-up window too.
	e.now = e.now.Add(6 * time.Minute)
	if code := sup.do("POST", "/api/auth/step-up", map[string]string{"password": password}, nil); code != 200 {
		t.Fatalf("step-up: %d", code)
	}
	if code, out := sup.rawJSON("POST", "/api/me/keys/challenge", []byte(`{"name":"phone"}`)); code != http.StatusForbidden ||
		!strings.Contains(errMsg(out), "present one of your security keys") {
		t.Fatalf("adding a key 6 minutes after the last key = %d %s, want 403 asking for a key", code, out)
	}
	keySignIn(t, sup, key)

	// The owner lists and removes keys.
	second := newAuthenticator(t, e.ts.URL)
	registerKey(t, sup, second, "phone", "")
	if code := sup.do("GET", "/api/me/keys", nil, &mine); code != 200 || len(mine.Keys) != 2 || mine.Pending {
		t.Fatalf("GET /api/me/keys = %d %+v, want two keys, nothing pending", code, mine)
	}
	if code := sup.do("DELETE", "/api/me/keys/"+keyID, nil, nil); code != http.StatusNoContent {
		t.Fatalf("DELETE own key = %d, want 204", code)
	}

	// Recovery: an admin (with a key of their own) removes the
	// supervisor's keys with a reason; the supervisor registers anew.
	adm := e.login(t, "admin")
	if code := adm.do("POST", "/api/staff/supervisor/keys/reset", map[string]string{"reason": "lost"}, nil); code != http.StatusForbidden {
		t.Fatalf("reset by an admin without a key = %d, want 403", code)
	}
	registerKey(t, adm, newAuthenticator(t, e.ts.URL), "admin key", enrolCode(t, e, "admin"))
	if code := adm.do("POST", "/api/staff/supervisor/keys/reset", map[string]string{}, nil); code != http.StatusBadRequest {
		t.Fatalf("reset without a reason = %d, want 400", code)
	}
	var reset struct{ Removed int }
	if code := adm.do("POST", "/api/staff/supervisor/keys/reset", map[string]string{"reason": "lost on the train, ticket 4711"}, &reset); code != 200 || reset.Removed != 1 {
		t.Fatalf("reset = %d %+v, want 200 and 1 removed", code, reset)
	}
	if code := sup.do("GET", "/api/me/keys", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("the supervisor's session after the reset = %d, want 401 (ended)", code)
	}
	sup = e.login(t, "supervisor")
	if code := sup.do("GET", "/api/cases", nil, nil); code != http.StatusForbidden {
		t.Fatalf("GET /api/cases after the reset = %d, want 403 until a key is registered", code)
	}
	// A new first key needs a new code: the admin issues it.
	var issued struct{ Code string }
	if code := adm.do("POST", "/api/staff/supervisor/keys/enrolment", nil, &issued); code != 200 || issued.Code == "" {
		t.Fatalf("the admin's enrolment code for the supervisor = %d %+v, want 200 and a code", code, issued)
	}
	registerKey(t, sup, newAuthenticator(t, e.ts.URL), "new key", issued.Code)
	if code := sup.do("GET", "/api/cases", nil, nil); code != http.StatusOK {
		t.Fatalf("GET /api/cases after registering anew = %d, want 200", code)
	}

	// The audit trail: every path, in the sign-in shape.
	resets := events(t, e, "auth.webauthn_reset")
	if len(resets) != 1 || resets[0].Detail["reason"] != "lost on the train, ticket 4711" || resets[0].Detail["username"] != "supervisor" ||
		!strings.HasPrefix(resets[0].Actor, "staff:") {
		t.Fatalf("auth.webauthn_reset = %v, want one, naming the member and the reason", resets)
	}
	wantSignInShape(t, resets[0], true)
	for action, n := range map[string]int{"auth.webauthn_registered": 4, "auth.webauthn_signin": 2, "auth.webauthn_removed": 1, "auth.webauthn_enrolment_issued": 3} {
		evs := events(t, e, action)
		if len(evs) != n {
			t.Errorf("%s: %d events, want %d", action, len(evs), n)
			continue
		}
		wantSignInShape(t, evs[0], false)
	}
	failed := events(t, e, "auth.webauthn_failed")
	reasons := map[string]bool{}
	for _, ev := range failed {
		wantSignInShape(t, ev, true)
		reasons[ev.Detail["purpose"]+": "+ev.Detail["reason"]] = true
	}
	for _, want := range []string{"signin: unknown or used challenge", "decision: signed for another case or decision", "decision: unknown or used challenge"} {
		if !reasons[want] {
			t.Errorf("auth.webauthn_failed reasons = %v, want %q", reasons, want)
		}
	}
}

// TestSecurityKeyOptional: with no role requiring keys, a member without
// one works with the password as before, and one who registered a key
// presents it after the password at the next sign-in.
func TestSecurityKeyOptional(t *testing.T) {
	e := newEnv(t)
	clerk := e.login(t, "clerk")
	if code := clerk.do("GET", "/api/cases", nil, nil); code != http.StatusOK {
		t.Fatalf("GET /api/cases = %d, want 200", code)
	}
	key := newAuthenticator(t, e.ts.URL)
	registerKey(t, clerk, key, "yubikey", enrolCode(t, e, "clerk"))
	clerk = e.login(t, "clerk")
	if code := clerk.do("GET", "/api/cases", nil, nil); code != http.StatusForbidden {
		t.Fatalf("GET /api/cases with the password only, having a key = %d, want 403", code)
	}
	if code := clerk.do("GET", "/console", nil, nil); code != http.StatusSeeOther {
		t.Fatalf("GET /console with the password only = %d, want 303 to /keys", code)
	}
	// A key made for another origin does not sign in.
	other := newAuthenticator(t, "https://evil.example")
	other.id, other.key = key.id, key.key
	if code, _ := clerk.rawJSON("POST", "/api/auth/key", other.get(clerk.options("/api/auth/key/challenge", nil))); code != http.StatusUnauthorized {
		t.Fatalf("answer from another origin = %d, want 401", code)
	}
	keySignIn(t, clerk, key)
	if code := clerk.do("GET", "/api/cases", nil, nil); code != http.StatusOK {
		t.Fatalf("GET /api/cases after the key = %d, want 200", code)
	}
}

// TestKeyFailuresLockOut: failed key answers are counted in the database
// like wrong step-up passwords (IDV_STEPUP_LOCK_AFTER, 5): a stolen
// session cannot try keys forever. Five refused answers of every kind
// (unreadable, replayed, another key, another origin, signed for another
// case) lock key answers: the sixth, even the right key's, gets 429 with
// Retry-After, for sign-in and decisions alike, in a new session too; a
// password step-up does not start the count over; the lock is audited
// and the owner told at the next login; after the lock the key works and
// the count starts over.
func TestKeyFailuresLockOut(t *testing.T) {
	e := newEnv(t)
	e.acc.Keys.Required = []models.Role{models.RoleSupervisor}
	clerk := e.login(t, "clerk")
	x, y := pendingCase(t, e, clerk), pendingCase(t, e, clerk)
	sup := e.login(t, "supervisor")
	key := newAuthenticator(t, e.ts.URL)
	registerKey(t, sup, key, "blue key", enrolCode(t, e, "supervisor"))
	statementX := func() string {
		var m map[string]string
		json.Unmarshal(approveBody(t, e, x, ""), &m)
		return m["statement_sha256"]
	}()
	decide := func(c *client, id, idem string, answer []byte) (int, []byte) {
		var m map[string]any
		json.Unmarshal(approveBody(t, e, id, "fine"), &m)
		m["webauthn"] = json.RawMessage(answer)
		b, _ := json.Marshal(m)
		code, out, _ := c.keyed("POST", "/api/cases/"+id+"/decision", idem, b)
		return code, out
	}
	challenge := func(c *client, id string) []byte {
		return c.options("/api/cases/"+id+"/decision/challenge", map[string]string{"decision": "approve", "statement_sha256": statementX})
	}

	sup = e.login(t, "supervisor")
	used := keySignIn(t, sup, key)
	thief := newAuthenticator(t, e.ts.URL) // the key's ID, another private key
	thief.id = key.id
	elsewhere := newAuthenticator(t, "https://evil.example")
	elsewhere.id, elsewhere.key = key.id, key.key
	tests := []struct {
		name   string
		path   string
		answer func() []byte
		want   int
	}{
		{"unreadable", "/api/auth/key", func() []byte { return []byte(`{"id":"nonsense"}`) }, http.StatusBadRequest},
		{"replayed", "/api/auth/key", func() []byte { return used }, http.StatusUnauthorized},
		{"another key", "/api/auth/key", func() []byte { return thief.get(sup.options("/api/auth/key/challenge", nil)) }, http.StatusUnauthorized},
		{"another origin", "/api/auth/key", func() []byte { return elsewhere.get(sup.options("/api/auth/key/challenge", nil)) }, http.StatusUnauthorized},
		{"signed for another case", "/api/cases/" + y + "/decision", func() []byte { return key.get(challenge(sup, x)) }, http.StatusForbidden},
	}
	for i, tt := range tests {
		var code int
		if strings.HasSuffix(tt.path, "/decision") {
			code, _ = decide(sup, y, fmt.Sprintf("lock-%d", i), tt.answer())
		} else {
			code, _ = sup.rawJSON("POST", tt.path, tt.answer())
		}
		if code != tt.want {
			t.Fatalf("failure %d (%s) = %d, want %d", i+1, tt.name, code, tt.want)
		}
	}
	if code, retry := sup.postRetry("/api/auth/key", json.RawMessage(key.get(sup.options("/api/auth/key/challenge", nil))), nil); code != http.StatusTooManyRequests || retry != "900" {
		t.Fatalf("the right key after 5 failures = %d, Retry-After %q; want 429, 900", code, retry)
	}
	// Nor does the password start the count over, or a new session.
	if code := sup.do("POST", "/api/auth/step-up", map[string]string{"password": password}, nil); code != 200 {
		t.Fatalf("password step-up = %d, want 200", code)
	}
	if code, _ := decide(sup, x, "lock-right", key.get(challenge(sup, x))); code != http.StatusTooManyRequests {
		t.Fatalf("the right key's decision while locked = %d, want 429", code)
	}
	var me struct {
		CSRFToken string `json:"csrf_token"`
		Notice    *struct {
			FailedAttempts int `json:"failed_attempts"`
		} `json:"notice"`
	}
	again := e.anon(t)
	if code := again.do("POST", "/api/auth/login", map[string]string{"username": "supervisor", "password": password}, &me); code != 200 ||
		me.Notice == nil || me.Notice.FailedAttempts != 5 {
		t.Fatalf("the owner's next login = %d %+v, want a notice of 5 failed attempts", code, me.Notice)
	}
	again.csrf = me.CSRFToken
	if code, _ := again.rawJSON("POST", "/api/auth/key", key.get(again.options("/api/auth/key/challenge", nil))); code != http.StatusTooManyRequests {
		t.Fatalf("the right key in a new session while locked = %d, want 429", code)
	}
	locks := events(t, e, "auth.stepup_locked")
	if len(locks) != 1 || locks[0].Detail["factor"] != "webauthn" || locks[0].Detail["failures"] != "5" {
		t.Fatalf("auth.stepup_locked = %v, want one, factor webauthn, 5 failures", locks)
	}
	if n := len(events(t, e, "auth.webauthn_failed")); n != 5 {
		t.Errorf("auth.webauthn_failed: %d events, want 5 (refusals while locked are not checked)", n)
	}

	// After the lock the key works, and its success starts the count over.
	e.now = e.now.Add(16 * time.Minute)
	sup = e.login(t, "supervisor")
	keySignIn(t, sup, key)
	for i := range 4 {
		if code, _ := sup.rawJSON("POST", "/api/auth/key", used); code != http.StatusUnauthorized {
			t.Fatalf("replay %d after the lock = %d, want 401", i+1, code)
		}
	}
	if code, _ := decide(sup, x, "after", key.get(challenge(sup, x))); code != http.StatusOK {
		t.Fatalf("the right key's decision after the lock = %d, want 200", code)
	}
}

// TestKeyEnrolment: with IDV_WEBAUTHN_ENROLMENT=admin (the default) a
// member's first key needs the one-time code another admin issued for
// them. Only an admin issues, never for themselves; the code is refused
// when missing, unknown, another member's, expired, replaced by a newer
// one or used; it is stored only as its hash; the issue and the
// registration are audited. With "self" the first key needs none.
func TestKeyEnrolment(t *testing.T) {
	e := newEnv(t)
	e.acc.Keys.Required = []models.Role{models.RoleSupervisor}
	sup, adm, clerk := e.login(t, "supervisor"), e.login(t, "admin"), e.login(t, "clerk")
	issue := func(c *client, username string) (int, string) {
		var r struct{ Code, ExpiresAt string }
		code := c.do("POST", "/api/staff/"+username+"/keys/enrolment", nil, &r)
		return code, r.Code
	}
	// Who issues: an admin, for someone else.
	if code, _ := issue(clerk, "supervisor"); code != http.StatusForbidden {
		t.Fatalf("a clerk issuing a code = %d, want 403", code)
	}
	if code, _ := issue(adm, "admin"); code != http.StatusForbidden {
		t.Fatalf("an admin issuing their own code = %d, want 403", code)
	}
	if code, _ := issue(adm, "nobody"); code != http.StatusNotFound {
		t.Fatalf("a code for nobody = %d, want 404", code)
	}
	_, clerkCode := issue(adm, "clerk")
	_, stale := issue(adm, "supervisor")
	code, supCode := issue(adm, "supervisor") // replaces the one before
	if code != 200 || !regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`).MatchString(supCode) {
		t.Fatalf("issue = %d %q, want 200 and 16 base32 characters in groups of four", code, supCode)
	}

	if code := sup.do("POST", "/api/auth/step-up", map[string]string{"password": password}, nil); code != 200 {
		t.Fatalf("step-up: %d", code)
	}
	begin := func(enrolment string) (int, string) {
		b, _ := json.Marshal(map[string]string{"name": "blue key", "enrolment_code": enrolment})
		code, out := sup.rawJSON("POST", "/api/me/keys/challenge", b)
		return code, errMsg(out)
	}
	for _, tt := range []struct{ name, code, want string }{
		{"no code", "", "needs the one-time enrolment code"},
		{"unknown code", "AAAA-BBBB-CCCC-DDDD", "not valid"},
		{"another member's code", clerkCode, "not valid"},
		{"a replaced code", stale, "not valid"},
	} {
		if code, msg := begin(tt.code); code != http.StatusForbidden || !strings.Contains(msg, tt.want) {
			t.Errorf("%s: %d %q, want 403 %q", tt.name, code, msg, tt.want)
		}
	}
	// Expired: issued 25 hours ago.
	e.now = e.now.Add(-25 * time.Hour)
	_, old := issue(adm, "clerk")
	e.now = e.now.Add(25 * time.Hour)
	cl := e.login(t, "clerk")
	cl.do("POST", "/api/auth/step-up", map[string]string{"password": password}, nil)
	if code, out := cl.rawJSON("POST", "/api/me/keys/challenge", []byte(`{"name":"k","enrolment_code":"`+old+`"}`)); code != http.StatusForbidden ||
		!strings.Contains(errMsg(out), "expired") {
		t.Errorf("an expired code = %d %s, want 403 expired", code, out)
	}

	// The right code, typed in lower case with spaces: the first key.
	key := newAuthenticator(t, e.ts.URL)
	typed := strings.ToLower(strings.ReplaceAll(supCode, "-", " "))
	registerKey(t, sup, key, "blue key", typed)
	// Used: after a reset (keys gone) the spent code is no first key again.
	if code := adm.do("POST", "/api/staff/supervisor/keys/reset", map[string]string{"reason": "lost"}, nil); code != 200 {
		t.Fatalf("reset: %d", code)
	}
	sup = e.login(t, "supervisor")
	sup.do("POST", "/api/auth/step-up", map[string]string{"password": password}, nil)
	if code, msg := begin(supCode); code != http.StatusForbidden || !strings.Contains(msg, "used already") {
		t.Errorf("the used code after a reset = %d %q, want 403 used", code, msg)
	}

	// Stored as a hash only; audited.
	if err := e.store.Transact(context.Background(), func(tx models.Tx) error {
		if _, err := tx.WebAuthnEnrolment(context.Background(), supCode); models.ErrorCodeOf(err) != models.ENOTFOUND {
			t.Errorf("looking the code itself up = %v, want not found (only its hash is a key)", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	issued := events(t, e, "auth.webauthn_enrolment_issued")
	if len(issued) != 4 || issued[0].Detail["username"] != "clerk" || issued[0].Detail["expires"] == "" || !strings.HasPrefix(issued[0].Actor, "staff:") {
		t.Errorf("auth.webauthn_enrolment_issued = %v, want 4, naming the member and the expiry, by the admin", issued)
	}
	for _, ev := range issued {
		for _, v := range ev.Detail {
			if strings.Contains(strings.ReplaceAll(v, "-", ""), strings.ReplaceAll(supCode, "-", "")) {
				t.Errorf("an audit event holds the code: %v", ev.Detail)
			}
		}
	}
	reg := events(t, e, "auth.webauthn_registered")
	if len(reg) != 1 || !strings.HasPrefix(reg[0].Detail["enrolment_issued_by"], "staff:") {
		t.Errorf("auth.webauthn_registered = %v, want one naming who issued the code", reg)
	}
	failed := map[string]int{}
	for _, ev := range events(t, e, "auth.webauthn_failed") {
		failed[ev.Detail["reason"]]++
	}
	for _, r := range []string{"no enrolment code", "unknown enrolment code", "enrolment code of another member", "enrolment code expired", "enrolment code used"} {
		if failed[r] == 0 {
			t.Errorf("auth.webauthn_failed reasons = %v, want %q", failed, r)
		}
	}

	// With "self" the first key needs no code.
	e.acc.Keys.Enrolment = access.EnrolSelf
	registerKey(t, sup, newAuthenticator(t, e.ts.URL), "self-enrolled", "")
}
