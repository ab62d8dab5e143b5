package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"remoteidv/audit"
	"remoteidv/internal/demobrowser"
	"remoteidv/internal/testenv"
	"remoteidv/statement/pades"
)

// demoIDV starts idv the way `make run` does (scripts/setup.sh run): a
// fresh data folder, `idv demo load`, then `idv serve` as a process of
// its own with IDV_DEMO=true and the intervals setup.sh sets, and no mail
// server nor registry configured. extra adds settings (database, S3).
func demoIDV(t *testing.T, extra map[string]string) *e2eIDV {
	t.Helper()
	env := map[string]string{"IDV_DEMO": "true", "IDV_MAIL_INTERVAL": "2s", "IDV_SEAL_INTERVAL": "2s"}
	maps.Copy(env, extra)
	idv := newE2EIDV(t, env)
	if out, err := idv.cli("demo", "load"); err != nil {
		t.Fatalf("idv demo load: %v\n%s", err, out)
	}
	c := idv.spawn("serve", nil, "serve")
	c.serving(idv.origin, 60*time.Second)
	// Demo mode made its statement signing certificate in the data folder.
	if _, err := os.Stat(filepath.Join(idv.dir, "keys", "statement", pades.DemoCertFile)); err != nil {
		t.Errorf("idv serve in demo mode made no statement signing certificate: %v", err)
	}
	// The log says so at start, and the banner shows where to go.
	for _, want := range []string{"DEMO MODE", idv.origin + "/demo/mailbox", idv.origin + "/login", "clerk " + e2ePassword, "idv demo customer --case"} {
		if !strings.Contains(c.log.String(), want) {
			t.Errorf("idv serve in demo mode did not print %q at start:\n%s", want, c.log.String())
		}
	}
	return idv
}

// TestDemoStory runs `idv demo story --url` against a server started as
// `make run` starts it, on SQLite and the local evidence folder (the same
// story on PostgreSQL and MinIO runs in TestClusterBrowserStory, through
// HAProxy on two nodes, so it is not run a second time here). It must
// exit 0, with one timed line per step in the order of the story: the slot at 09:00 New York shown in Beijing, the
// live capture matching, liveness passing, the registry passing, the
// approval, the seal, the release, the closed case, and the bundle
// verified against the key the data folder holds. The mail went through
// the Maildir, and idv check finds nothing wrong. A bundle checked against
// another fingerprint is refused.
func TestDemoStory(t *testing.T) {
	idv := demoIDV(t, nil)
	key, err := audit.LoadOrCreateKey(filepath.Join(idv.dir, "key.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	fp := audit.Fingerprint(key.Public().(ed25519.PublicKey))
	ny, _ := time.LoadLocation("America/New_York")
	sh, _ := time.LoadLocation("Asia/Shanghai")
	d := time.Now().In(ny).AddDate(0, 0, 1)
	nine := time.Date(d.Year(), d.Month(), d.Day(), 9, 0, 0, 0, ny)
	start := time.Now()
	out, err := idv.cli("demo", "story", "--url", idv.origin)
	if err != nil {
		t.Fatalf("idv demo story: %v\n%s", err, out)
	}
	t.Logf("idv demo story in %v:\n%s", time.Since(start).Round(time.Second), out)
	steps := []string{
		"scheduled case case_",
		fmt.Sprintf(": %s America/New_York = %s Asia/Shanghai (branch)", nine.Format(time.RFC3339), nine.In(sh).Format(time.RFC3339)),
		"emailed the invite", "customer   accepted the recording and biometric consent", "customer   entered the email code: verified",
		"customer   uploaded the authorization letter", "clerk      captured the customer's face from the live video: MATCH",
		"clerk      confirmed the match", ": PASS", "clerk      ended the call", "compared the signature with the specimen side by side: pass",
		"national ID registry check: PASS", "submitted the case for review", "supervisor approved (four eyes)", "server     sealed the case",
		"supervisor released the statement to li.wei@example.com", "statement PDF is in the demo mailbox", "the case is closed",
		"auditor    checked the audit chain: ok=true", "verified it offline against the bank's key " + fp, "done: statement released, bundle verified",
	}
	rest := out
	for _, s := range steps {
		i := strings.Index(rest, s)
		if i < 0 {
			t.Fatalf("the story's output lacks %q after the steps before it", s)
		}
		rest = rest[i+len(s):]
	}
	timed := regexp.MustCompile(`^[0-9]{2}:[0-9]{2}:[0-9]{2}  \+[0-9hms]+ +[a-z]+ +\S`)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !timed.MatchString(line) {
			t.Errorf("a line of the story without its time and actor: %q", line)
		}
	}
	// Mail went to the Maildir: one file each in new/, none left in tmp/.
	if tmp, _ := os.ReadDir(filepath.Join(idv.dir, "mail", "tmp")); len(tmp) != 0 {
		t.Errorf("%d files left in the Maildir's tmp/", len(tmp))
	}
	if n, _ := os.ReadDir(filepath.Join(idv.dir, "mail", "new")); len(n) < 3 {
		t.Errorf("%d messages in the Maildir's new/, want at least the invite, the code and the statement", len(n))
	}
	if out, err := idv.cli("check"); err != nil {
		t.Errorf("idv check after the story: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`scheduled case (case_[a-z0-9]+)`).FindStringSubmatch(out)[1]
	bundle := loginAPI(t, idv.origin, "auditor").must(200, "GET", "/api/cases/"+id+"/bundle", nil, nil)
	if rep, err := verifyBundleBytes(bundle, fp); err != nil || !rep.Proven() {
		t.Errorf("the bundle against the bank's fingerprint: %v %+v", err, rep)
	}
	other := audit.Fingerprint(make(ed25519.PublicKey, ed25519.PublicKeySize))
	if _, err := verifyBundleBytes(bundle, other); err == nil || !strings.Contains(err.Error(), "not the trusted") {
		t.Errorf("the bundle against another key's fingerprint = %v, want refused", err)
	}
}

// TestDemoStoryRefusesServerNotInDemoMode: against a server without demo
// mode the story stops before it logs in or touches anything.
func TestDemoStoryRefusesServerNotInDemoMode(t *testing.T) {
	idv := newE2EIDV(t, map[string]string{"IDV_REQUIRE_MODELS": "false", "IDV_MODELS_DIR": t.TempDir()})
	idv.serve()
	if strings.Contains(idv.log.String(), "DEMO") {
		t.Errorf("idv serve without demo mode logs demo mode:\n%s", idv.log.String())
	}
	out, err := idv.cli("demo", "story", "--url", idv.origin)
	if !errors.Is(err, errNotDemo) || strings.Contains(out, "logged in") {
		t.Fatalf("idv demo story against a server not in demo mode = %v, want %v before logging in\n%s", err, errNotDemo, out)
	}
}

// customerRun is `idv demo customer` running in the test process.
type customerRun struct {
	out  testenv.SyncBuffer
	done chan error
}

func (e *e2eIDV) customer(args ...string) *customerRun {
	r := &customerRun{done: make(chan error, 1)}
	go func() {
		r.done <- run(e.ctx, &cliEnv{stdin: strings.NewReader(""), stdout: &r.out, stderr: &r.out, getenv: func(k string) string { return e.env[k] }},
			append([]string{"demo", "customer", "--url", e.origin}, args...))
	}()
	return r
}

// waitFor waits until the customer has printed s.
func (r *customerRun) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(r.out.String(), s) {
		select {
		case err := <-r.done:
			t.Fatalf("idv demo customer ended (%v) before %q:\n%s", err, s, r.out.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("idv demo customer never said %q:\n%s", s, r.out.String())
		}
	}
}

// end waits for the customer to leave with the call's end.
func (r *customerRun) end(t *testing.T) {
	t.Helper()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("idv demo customer: %v\n%s", err, r.out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("idv demo customer did not end with the call:\n%s", r.out.String())
	}
}

// TestDemoCustomerMisbehaves runs `idv demo customer` with each of its
// misbehaviour flags against a server started as `make run` starts it,
// the clerk's side played in the clerk's case page:
//
//   - --wrong-person shows another demo account holder: the live
//     capture's face check is NO_MATCH, and face_match stays missing;
//   - --frozen shows one still photo of the holder: the capture matches,
//     the liveness challenge FAILs, and liveness stays missing;
//   - --no-code (with --case: the customer has a demo clerk email a fresh
//     invite) never enters the code: everything else passes, and submit
//     is refused naming exactly email_code.
func TestDemoCustomerMisbehaves(t *testing.T) {
	idv := demoIDV(t, nil)
	ctx := idv.ctx
	b, err := demobrowser.Start(ctx, demobrowser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	pw := map[string]string{}
	for _, s := range demoStaff {
		pw[s.user] = e2ePassword
	}
	// join opens a case for account i and returns the story (clerk API),
	// the customer's link and the clerk's page.
	join := func(t *testing.T, i int) (*story, string, *demobrowser.Clerk) {
		s := &story{base: idv.origin, acct: i, pw: pw, print: func(who, msg string) { t.Logf("%-10s %s", who, msg) }}
		if err := s.start(ctx); err != nil {
			t.Fatal(err)
		}
		link, err := s.schedule(ctx)
		if err != nil {
			t.Fatal(err)
		}
		k, err := b.Clerk(ctx, idv.origin, "clerk", e2ePassword)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(k.Close)
		return s, link, k
	}
	inCall := func(t *testing.T, c *customerRun, s *story, k *demobrowser.Clerk) {
		c.waitFor(t, "waiting for the clerk")
		if err := k.JoinCall(string(s.caseID)); err != nil {
			t.Fatal(err)
		}
		c.waitFor(t, "in the call")
		time.Sleep(2 * time.Second) // a few key frames
	}
	missing := func(t *testing.T, s *story, want string) {
		m, err := s.requirements(ctx)
		if err != nil || !slices.Contains(m, want) {
			t.Errorf("requirements missing = %v %v, want %s among them", m, err, want)
		}
	}

	t.Run("wrong-person", func(t *testing.T) {
		s, link, k := join(t, 0)
		c := idv.customer("--invite", link, "--wrong-person")
		inCall(t, c, s, k)
		if r, err := k.Capture(); err != nil || r != "NO_MATCH" {
			t.Errorf("capture of another person = %q %v, want NO_MATCH", r, err)
		}
		missing(t, s, "face_match")
		if err := k.Leave(); err != nil {
			t.Fatal(err)
		}
		c.end(t)
	})
	t.Run("frozen", func(t *testing.T) {
		s, link, k := join(t, 4)
		c := idv.customer("--invite", link, "--frozen")
		inCall(t, c, s, k)
		if r, err := k.Capture(); err != nil || r != "MATCH" {
			t.Errorf("capture of the holder's still photo = %q %v, want MATCH", r, err)
		}
		if r, err := k.Challenge(); err != nil || r != "FAIL" {
			t.Errorf("liveness challenge of a still photo = %q %v, want FAIL", r, err)
		}
		missing(t, s, "liveness")
		if err := k.Leave(); err != nil {
			t.Fatal(err)
		}
		c.end(t)
	})
	t.Run("no-code", func(t *testing.T) {
		s, _, k := join(t, 2)
		c := idv.customer("--case", string(s.caseID), "--no-code")
		inCall(t, c, s, k)
		if err := s.capture(ctx, k); err != nil {
			t.Fatal(err)
		}
		if err := s.liveness(k); err != nil {
			t.Fatal(err)
		}
		if err := k.Leave(); err != nil {
			t.Fatal(err)
		}
		c.end(t)
		if err := s.waitRequirement(ctx, "recording", time.Minute); err != nil {
			t.Fatal(err)
		}
		err := s.review(ctx)
		if err == nil || !strings.Contains(err.Error(), "still missing before submitting: [email_code]") {
			t.Fatalf("review without the email code = %v, want only email_code missing", err)
		}
		var ae *apiError
		if err := s.clerk.call(ctx, "POST", s.path("/submit"), nil, nil); !errors.As(err, &ae) || ae.Status != 422 {
			t.Errorf("submit without the email code = %v, want 422", err)
		}
		if !strings.Contains(c.out.String(), "does not ask for the email code") || !strings.Contains(c.out.String(), "emailed a fresh invite") {
			t.Errorf("the customer's lines:\n%s", c.out.String())
		}
	})
}
