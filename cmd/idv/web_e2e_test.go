package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/audit"
	"remoteidv/internal/demobrowser"
	"remoteidv/internal/synthcam"
	"remoteidv/internal/testenv"
	"remoteidv/mail/mailtest"
	"remoteidv/models"
)

// waitText waits until element id's text contains want.
func waitText(t *testing.T, tab *testenv.Tab, id, want string) bool {
	t.Helper()
	return waitTrue(t, tab, fmt.Sprintf("document.getElementById(%q).textContent.includes(%q)", id, want))
}

// waitTrue waits up to 10 s until the JavaScript expression is true.
func waitTrue(t *testing.T, tab *testenv.Tab, expr string) bool {
	t.Helper()
	for range 100 {
		if testenv.Eval[bool](t, tab, expr) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// e2eLetter is a signed authorization letter scan: a white page with a
// pen stroke where the signature is.
func e2eLetter(t *testing.T, dir string) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 600, 400))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for x := 300; x < 420; x++ {
		for w := 0; w < 3; w++ {
			img.Set(x, 320+x%15+w, color.Black)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "letter.png")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mailWith waits for a message, among those after the first skip, whose
// text matches re and returns the match.
func mailWith(t *testing.T, smtp *mailtest.Server, skip int, re *regexp.Regexp, d time.Duration) (string, *mailtest.Parsed) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		msgs := smtp.Messages()
		for _, m := range msgs[min(skip, len(msgs)):] {
			p, err := mailtest.Parse(m.Data)
			if err != nil {
				continue
			}
			if s := re.FindString(p.Text); s != "" {
				return s, p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no mail matching %s within %v (%d messages)", re, d, len(smtp.Messages()))
	return "", nil
}

// statementMail waits for the mail carrying the statement PDF and returns its recipients.
func statementMail(t *testing.T, smtp *mailtest.Server, d time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, m := range smtp.Messages() {
			p, err := mailtest.Parse(m.Data)
			if err != nil {
				continue
			}
			for _, b := range p.Attachments {
				if bytes.HasPrefix(b, []byte("%PDF-")) {
					return m.To
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no statement PDF mailed within %v (%d messages)", d, len(smtp.Messages()))
	return nil
}

// TestWebStory runs the whole story through the web pages in headless
// Chromium against the real `idv serve` wiring (SQLite, local evidence
// folder, face engine, signaling hub, archiver, sealer, mail outbox) with
// the reference registry and an in-process SMTP server:
//
//   - the clerk and the supervisor are members of the bank's directory
//     (OpenLDAP, testenv.StartSlapd, over StartTLS with its CA): they sign
//     in with their directory passwords and their roles come from its
//     groups; the admin and the auditor are local rows (the break-glass
//     kind). The server is at http://localhost (security keys need a
//     domain name), and supervisors must use a key;
//   - a clerk logs in, looks up the account and schedules a case, then
//     emails the invite from the case page;
//   - the customer (fake camera showing the account holder) opens the
//     emailed link, consents, joins, asks for and enters the emailed code,
//     uploads the signed letter; a second browser with the same link is refused;
//     connected before the clerk, the page says it waits for the clerk, and
//     once the clerk's video arrives that the clerk can see and hear them;
//   - the clerk joins the call from the case page, captures (server-side
//     face match: MATCH) and confirms it side by side, runs the liveness
//     challenge twice (a still photo: FAIL; turning as prompted: PASS),
//     ends the call (recording complete);
//   - the clerk uploads the letter, records its scope, marks the signature
//     region and chooses and records the verdict, runs the registry check, submits;
//   - the supervisor, sent to the key page after the password, registers
//     a key (Chromium's virtual authenticator) with the one-time enrolment
//     code the operator issued (idv users enrol) after re-entering the
//     directory password, and approves in the browser by touching the key
//     (the assertion is bound to the case, the decision and the statement);
//     the sealer seals; the supervisor releases the statement (confirming
//     in the page, which names the masked registered address), which
//     arrives at the SMTP server; the case closes;
//   - an auditor finds the case, verifies the audit chain and downloads the
//     evidence bundle, which audit.VerifyBundle accepts.
//
// Every main page is checked at 390x844 and 1366x768 (labels, no page
// wider than the screen) and saved as a screenshot under var/screenshots;
// no tab may log a console error or request another origin.
//
// The server logs at debug level, and no log line nor audit detail may
// hold a secret the story used (storySecrets): the tabs' session cookies
// and CSRF tokens, the invite link and token, the email code, the demo
// accounts' national ID numbers, the staff password typed into the login
// and step-up forms, a bearer token (idv tokens create, used once and
// refused once), and the bytes of the captures and the letter. The
// refusals (the admin on /console, the clerk's token on /api/staff) are
// in the audit trail as auth.permission_denied.
//
// The customer's camera is a canvas (testenv.LiveCamera, the synthetic
// live customer of synthcam.LiveScript) turning a 2.5D head rendered from
// one photo as prompted and taking the screen's colours, so the liveness
// challenge can pass; frozen on the photo, it fails.
func TestWebStory(t *testing.T) {
	start := time.Now()
	shots, err := filepath.Abs(filepath.Join("..", "..", "var", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	// Staff with known passwords, the demo accounts (johns photos) and
	// registry records; mail to an SMTP server in the test.
	smtp := mailtest.Start(t, mailtest.Options{})
	regAddr := freeAddr(t)
	sl := testenv.StartSlapd(t)
	idv := newE2EIDV(t, map[string]string{
		// The clerk (alice) and the supervisor (sam) sign in with the directory.
		"IDV_LDAP_URL": sl.URL, "IDV_LDAP_STARTTLS": "true", "IDV_LDAP_CA_FILE": sl.CAFile,
		"IDV_LDAP_BIND_DN": testenv.SlapdBindDN, "IDV_LDAP_BIND_PASSWORD": testenv.SlapdBindPassword,
		"IDV_LDAP_USER_BASE": testenv.SlapdPeople, "IDV_LDAP_USER_FILTER": "(&(objectClass=inetOrgPerson)(uid=%s))",
		"IDV_LDAP_GROUP_BASE": testenv.SlapdGroups, "IDV_LDAP_GROUP_FILTER": "(&(objectClass=groupOfNames)(member=%s))",
		"IDV_LDAP_GROUP_ROLES": "clerk=cn=idv-clerks," + testenv.SlapdGroups + ";supervisor=cn=idv-supervisors," + testenv.SlapdGroups,
		// Supervisors decide with a key; the local admin of the story has none.
		"IDV_WEBAUTHN_REQUIRED_ROLES": "supervisor",
		"IDV_SMTP_ADDR":               smtp.Addr, "IDV_SMTP_TLS": "none", "IDV_MAIL_INTERVAL": "1s", "IDV_SEAL_INTERVAL": "1s",
		"IDV_REGISTRY_URL": "http://" + regAddr, "IDV_REGISTRY_KEY": "e2e-key",
		// The slot is a few minutes from now: keep the registry's service hours from warning.
		"IDV_REGISTRY_HOURS": "00:00-23:59",
		"IDV_LOG_LEVEL":      "debug", // every line the server can write is searched for secrets
	})
	// Keys need a host name: browsers refuse them on an IP address.
	idv.origin = strings.Replace(idv.origin, "127.0.0.1", "localhost", 1)
	idv.env["IDV_PUBLIC_URL"] = idv.origin
	dir, origin := idv.dir, idv.origin
	secrets := &storySecrets{origin: origin}
	if out, err := idv.cli("demo", "load"); err != nil {
		t.Fatalf("demo load: %v\n%s", err, out)
	}
	secrets.add(t, "the staff password", e2ePassword)
	secrets.add(t, "the clerk's directory password", "alice-pass-1")
	secrets.add(t, "the supervisor's directory password", "sam-pass-1")
	secrets.add(t, "the directory's service password", testenv.SlapdBindPassword)
	for _, a := range demoAccounts {
		secrets.add(t, "the national ID number of "+a.name, a.nationalID)
	}
	out, err := idv.cli("tokens", "create", "--user", "clerk", "--name", "story", "--scope", "clerk")
	lines := strings.Fields(out)
	if err != nil || len(lines) == 0 {
		t.Fatalf("tokens create: %v\n%s", err, out)
	}
	bearer := lines[len(lines)-1]
	secrets.add(t, "the bearer token", bearer)
	idv.start("registry", "serve", "--records", filepath.Join(dir, "demo", "registry.json"), "--listen", regAddr, "--api-key", "e2e-key")
	idv.serve()
	waitHTTP(t, "http://"+regAddr+"/", 10*time.Second)
	// The integration's token works where its clerk may go, and is refused (and audited) elsewhere.
	for _, tt := range []struct {
		path string
		want int
	}{{"/api/cases?limit=5", 200}, {"/api/staff", 403}} {
		req, _ := http.NewRequest("GET", origin+tt.path, nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != tt.want {
			t.Fatalf("GET %s with the bearer token = %v %v, want %d", tt.path, resp, err, tt.want)
		}
		resp.Body.Close()
	}

	// The clerk's fake camera shows John Salley; the customer's camera shows
	// John Simm (the photos on file for Liu Yang's account), turning as prompted.
	y4m := testenv.Y4MFromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 320)
	browser := testenv.Chromium(t, y4m)
	var tabs []*testenv.Tab
	tab := func(name string) *testenv.Tab {
		tb := testenv.NewTab(t, browser, name, origin)
		tabs = append(tabs, tb)
		return tb
	}
	login := func(tb *testenv.Tab, user, password, landing string) {
		t.Helper()
		e2eLoginWith(t, tb, origin, user, password, landing)
		if secrets.tab(t, tb, true) == 0 {
			t.Fatalf("%s has no session cookie after logging in", user)
		}
	}

	// 1. The clerk: login page (in Chinese first: the switch), console, new case.
	clerk := tab("clerk")
	clerk.Do(t, "login page", 10*time.Second, chromedp.Navigate(origin+"/login?lang=zh-CN"), chromedp.WaitVisible("#login-form"))
	if h := testenv.Eval[string](t, clerk, "document.querySelector('h1').textContent"); h != "员工登录" {
		t.Errorf("login page in Chinese: h1 = %q", h)
	}
	clerk.CheckPage(t, shots, "login-zh")
	clerk.Do(t, "back to English", 10*time.Second, chromedp.Navigate(origin+"/login?lang=en"), chromedp.WaitVisible("#login-form"))
	clerk.CheckPage(t, shots, "login")
	login(clerk, "alice", "alice-pass-1", "/console")
	toronto, _ := time.LoadLocation("America/Toronto")
	slot := time.Now().In(toronto).Add(3 * time.Minute).Format("2006-01-02T15:04")
	clerk.Do(t, "look up the account and create the case", 30*time.Second,
		chromedp.WaitVisible("#lookup-q"),
		chromedp.SendKeys("#lookup-q", "Liu Yang"),
		chromedp.Click("#lookup-form button"),
		chromedp.WaitReady(`#account option[value="6222020200223344"]`),
		chromedp.SetValue("#slot-local", slot),
	)
	clerk.CheckPage(t, shots, "console")
	clerk.Do(t, "create the case", 20*time.Second,
		chromedp.Click("#create-case"),
		chromedp.WaitVisible(`#state[data-state="scheduled"]`),
		chromedp.WaitVisible(`body[data-ready]`), // the page has loaded everything: nothing moves under the click
	)
	caseID := testenv.Eval[string](t, clerk, "document.body.dataset.case")
	clerk.Do(t, "email the invite", 20*time.Second, chromedp.Click("#invite-email"))
	if !waitText(t, clerk, "invite-out", "on its way") {
		t.Fatalf("the invite was not queued: %q", testenv.Eval[string](t, clerk, "document.body.innerText"))
	}
	// A first attempt may fail and be retried after 10 s, a second after 20 s more.
	link, _ := mailWith(t, smtp, 0, regexp.MustCompile(`https?://\S+/join/[A-Za-z0-9_\-]+`), 60*time.Second)
	if !strings.HasPrefix(link, origin+"/join/") {
		t.Fatalf("invite link %q is not on %s", link, origin)
	}
	secrets.add(t, "the invite link", link)
	secrets.add(t, "the invite token", strings.TrimPrefix(link, origin+"/join/"))

	// A mail scanner and a link preview fetch the link before the customer
	// does: the link stays usable.
	for _, method := range []string{"HEAD", "GET", "GET"} {
		req, _ := http.NewRequest(method, link, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 0 {
			t.Fatalf("a link scanner's %s of the invite = %d %v, want 200 and no cookie", method, resp.StatusCode, resp.Cookies())
		}
	}

	// 2. The customer: link, consent, code, call. A second browser is refused.
	customer := tab("customer")
	simm := testenv.Johns + "/John_Simm/"
	testenv.LiveCamera(t, customer, simm+"000300_00470148.jpg", synthcam.LiveOptions{})
	customer.Do(t, "open the invite and consent", 30*time.Second,
		chromedp.Navigate(link),
		chromedp.WaitVisible("#accept"),
	)
	// Opening the link spent nothing (a mail scanner may have opened it
	// first): only the button does.
	if secrets.tab(t, customer, false) != 0 {
		t.Fatal("the customer has a cookie before pressing the landing page's button")
	}
	customer.CheckPage(t, shots, "customer-consent")
	customer.Do(t, "the consent in Chinese", 20*time.Second, chromedp.Click(`a[hreflang="zh-CN"]`), chromedp.WaitVisible(`html[lang="zh-CN"] #accept`))
	if h := testenv.Eval[string](t, customer, "document.querySelector('h1').textContent"); h != "视频通话之前" {
		t.Errorf("consent page in Chinese: h1 = %q", h)
	}
	customer.CheckPage(t, shots, "customer-consent-zh")
	customer.Do(t, "back to English", 20*time.Second, chromedp.Click(`a[hreflang="en"]`), chromedp.WaitVisible(`html[lang="en"] #accept`))
	customer.Do(t, "accept", 30*time.Second, chromedp.Click("#accept"), chromedp.WaitReady("#remote"), chromedp.WaitReady(`body[data-ready]`))
	if loc := testenv.Eval[string](t, customer, "location.href"); loc != origin+"/call" {
		t.Errorf("the token stays in the address bar: %s", loc)
	}
	if secrets.tab(t, customer, false) == 0 {
		t.Fatal("the customer has no cookie after opening the invite link")
	}
	second := tab("second-browser")
	second.Do(t, "open the same link again", 20*time.Second, chromedp.Navigate(link), chromedp.WaitVisible("main"))
	if txt := testenv.Eval[string](t, second, "document.body.innerText"); !strings.Contains(txt, "not valid") {
		t.Errorf("a second browser with the same link was not refused: %.300s", txt)
	}
	second.CheckPage(t, shots, "customer-link-refused")
	before := len(smtp.Messages())
	customer.Do(t, "pass the device check", 20*time.Second, demobrowser.Press("#device-next"), chromedp.WaitVisible("#code"))
	customer.Do(t, "ask for the email code", 20*time.Second, demobrowser.Press("#code-send"), chromedp.WaitVisible("#code-status"))
	code, _ := mailWith(t, smtp, before, regexp.MustCompile(`\b[0-9]{6}\b`), 60*time.Second)
	secrets.addCode("the email code", code)
	n, _ := strconv.Atoi(code)
	customer.Do(t, "a wrong code first", 20*time.Second, chromedp.SendKeys("#code", fmt.Sprintf("%06d", (n+1)%1000000)), demobrowser.Press("#code-check"))
	if !waitText(t, customer, "code-status", "That code is not correct. (wrong code; 4 tries left)") {
		t.Errorf("a wrong code: %q", testenv.Eval[string](t, customer, "document.getElementById('code-status').textContent"))
	}
	testenv.Eval[bool](t, customer, "(document.getElementById('code').value = '', true)")
	customer.Do(t, "enter the email code, upload the letter", 20*time.Second,
		chromedp.SendKeys("#code", code),
		demobrowser.Press("#code-check"),
		chromedp.WaitVisible(`body[data-code="verified"]`),
		chromedp.SetUploadFiles("#letter", []string{e2eLetter(t, dir)}),
		chromedp.Click("#letter-upload"),
	)
	if !waitText(t, customer, "letter-status", "Thank you") {
		t.Errorf("the customer's letter upload: %q", testenv.Eval[string](t, customer, "document.getElementById('letter-status').textContent"))
	}
	// The optional statement password: a mistyped confirmation is caught on
	// the page, Chinese characters by the server (its refusal shown in the
	// page's language), and both fields are emptied; none is set, so the
	// story's statement is mailed as it is.
	customer.Do(t, "statement password typed differently", 20*time.Second,
		chromedp.SendKeys("#pw", "first password"), chromedp.SendKeys("#pw2", "first passw0rd"), demobrowser.Press("#pw-save"))
	if !waitText(t, customer, "pw-status", "The two passwords differ") {
		t.Errorf("a mistyped statement password: %q", testenv.Eval[string](t, customer, "document.getElementById('pw-status').textContent"))
	}
	// Typed as an input method commits it: the whole text at once.
	testenv.Eval[bool](t, customer, "(document.getElementById('pw').value = document.getElementById('pw2').value = '报税用的密码很长', true)")
	customer.Do(t, "statement password in Chinese", 20*time.Second, demobrowser.Press("#pw-save"))
	if !waitText(t, customer, "pw-status", "The password may use only letters A-Z") {
		t.Errorf("a Chinese statement password: %q", testenv.Eval[string](t, customer, "document.getElementById('pw-status').textContent"))
	}
	if v := testenv.Eval[string](t, customer, "document.getElementById('pw').value + document.getElementById('pw2').value"); v != "" {
		t.Errorf("the password fields keep %q after sending", v)
	}

	// Connected first, the customer waits for the clerk, who cannot see them yet.
	customer.Do(t, "customer waits for the clerk", 30*time.Second, chromedp.WaitVisible(`body[data-state="connected"][data-clerk="waiting"]`))
	if s := testenv.Eval[string](t, customer, "document.getElementById('status').textContent"); !strings.Contains(s, "Waiting for the bank clerk") || strings.Contains(s, "can see and hear you") {
		t.Errorf("before the clerk joined, the customer's page says %q", s)
	}

	// 3. The clerk joins the call from the case page, captures and confirms.
	clerk.Do(t, "join the call", 40*time.Second,
		chromedp.Click("#call-join"),
		chromedp.WaitVisible(`body[data-call="connected"]`),
	)
	customer.Do(t, "customer connected after the device check", 30*time.Second,
		chromedp.WaitVisible(`body[data-state="connected"][data-clerk="joined"][data-step="call"]`),
		chromedp.WaitReady(`li.ok[data-check="camera"]`),
		chromedp.WaitReady(`li.ok[data-check="mic"]`),
		chromedp.WaitReady(`li.ok[data-check="net"]`),
	)
	if s := testenv.Eval[string](t, customer, "document.getElementById('status').textContent"); !strings.Contains(s, "has joined the call and can see and hear you") {
		t.Errorf("with the clerk in the call, the customer's page says %q", s)
	}
	customer.CheckPage(t, shots, "customer-call")

	// The supervisor signs in with the directory, is sent to the key page
	// (supervisors need a key) and registers one after re-entering the
	// directory password; then observes the live call (receive-only).
	sup := tab("supervisor")
	addVirtualKey(t, sup)
	login(sup, "sam", "sam-pass-1", "/keys")
	// The first key needs the one-time code another member vouched for
	// (IDV_WEBAUTHN_ENROLMENT=admin): the operator issues it.
	enrolment := enrolmentCode(t, idv, "sam")
	secrets.add(t, "the enrolment code", enrolment)
	sup.Do(t, "register a key with the enrolment code after re-entering the directory password", 30*time.Second,
		chromedp.WaitVisible("#keys-required"),
		chromedp.WaitVisible("#keys-add"),
		chromedp.WaitVisible("#key-enrolment"),
		chromedp.SendKeys("#key-name", "virtual key"),
		chromedp.SendKeys("#key-enrolment", enrolment),
		chromedp.SendKeys("#key-password", "sam-pass-1"),
		chromedp.Click("#key-add"),
		chromedp.WaitVisible("#keys-list li"),
		chromedp.WaitVisible("#keys-continue"),
	)
	sup.Do(t, "observe the call", 60*time.Second,
		chromedp.Navigate(origin+"/review/cases/"+caseID),
		chromedp.WaitVisible(`#state[data-state="in_session"]`),
		chromedp.WaitVisible(`body[data-ready]`), // the page has loaded everything: nothing moves under the click
		chromedp.Click("#call-join"),
		chromedp.WaitVisible(`body[data-call="connected"]`),
	)
	if !waitTrue(t, sup, "document.getElementById('call-remote').videoWidth > 0") {
		t.Error("the observing supervisor never saw the customer's video")
	}
	sup.Do(t, "stop observing", 10*time.Second, chromedp.Click("#call-leave"), chromedp.WaitVisible(`body[data-call="ended"]`))
	clerk.Do(t, "capture: the server matches the live frame", 60*time.Second,
		chromedp.Sleep(2*time.Second),
		chromedp.Click("#call-capture"),
		chromedp.WaitVisible(`#checks tr[data-kind="face_match"][data-result="MATCH"] button.confirm`),
	)
	clerk.Do(t, "the reference photos beside the result", 20*time.Second, chromedp.WaitVisible(`#face-result img[src$="/references/0"]`))
	if !waitTrue(t, clerk, `document.querySelector('#face-result img[src$="/references/0"]').naturalWidth > 0`) {
		t.Error("the clerk's page shows no reference photo beside the capture result")
	}
	// The match fuses the call's captures (IDV_FACE_CAPTURES, 5)
	// and says, from the demo's calibration, how often another customer
	// would score this close; the demo's population is too small for the
	// target, so the score is labelled weak evidence.
	fused := `#checks tr[data-kind="face_match"][data-result="MATCH"] td.fmr`
	if !waitTrue(t, clerk, `(document.querySelector('`+fused+` .fusion') || {}).textContent?.includes('of 5 captures') &&
		document.querySelector('`+fused+`').textContent.includes('calibration #') && !!document.querySelector('`+fused+` .weak') &&
		document.getElementById('face-fmr').textContent.includes('calibration #')`) {
		t.Errorf("the clerk's face result shows no fused, calibrated, weak score: %q",
			testenv.Eval[string](t, clerk, `document.querySelector('`+fused+`').textContent`))
	}
	clerk.CheckPage(t, shots, "clerk-call")
	clerk.Do(t, "confirm the match", 20*time.Second,
		chromedp.Click(`#checks tr[data-kind="face_match"][data-result="MATCH"] button.confirm`),
		chromedp.WaitVisible(`li.done[data-req="face_match"]`),
	)
	testenv.Eval[bool](t, customer, "window.__still = true")
	clerk.Do(t, "liveness challenge of a still photo fails", 90*time.Second,
		chromedp.Click("#call-challenge"),
		chromedp.WaitVisible(`#checks tr[data-kind="liveness"]`),
	)
	if r := testenv.Eval[string](t, clerk, `document.querySelector('#checks tr[data-kind="liveness"]').dataset.result`); r == "PASS" {
		t.Errorf("the liveness challenge of a still photo passed")
	}
	// The clerk reads why, in words (web/i18n lv.fail.*), not a code.
	if why := testenv.Eval[string](t, clerk, `(document.querySelector('#checks tr[data-kind="liveness"] [data-failure]') || {}).textContent || ''`); !strings.Contains(why, "never moved") {
		t.Errorf("the clerk's page says of the still photo's liveness failure %q, want the words for STILL_IMAGE", why)
	}
	testenv.Eval[bool](t, customer, "window.__still = false")
	// Turning as prompted must pass. On a starved machine the customer's
	// video can stall during the challenge (too few samples), so the clerk
	// may run the challenge again, as in real life; a pass within three
	// tries is required, and every result is recorded.
	const livenessRows = `document.querySelectorAll('#checks tr[data-kind="liveness"]')`
	var results []string
	for attempt := 1; attempt <= 3; attempt++ {
		before := testenv.Eval[int](t, clerk, livenessRows+`.length`)
		clerk.Do(t, fmt.Sprintf("liveness challenge answered by turning as prompted (try %d)", attempt), 90*time.Second,
			chromedp.Sleep(time.Second),
			chromedp.Click("#call-challenge"),
			// Poll's own limit is 30 s unless told otherwise; the step has 90.
			chromedp.Poll[chromedp.Void](fmt.Sprintf(`%s.length > %d`, livenessRows, before), chromedp.WithPollingTimeout(90*time.Second)),
		)
		r := testenv.Eval[string](t, clerk, `(() => { const rows = `+livenessRows+`; return rows[rows.length - 1].dataset.result })()`)
		results = append(results, r)
		if r == "PASS" {
			break
		}
	}
	if results[len(results)-1] != "PASS" {
		t.Fatalf("turning as prompted never passed the liveness challenge: %v", results)
	}
	clerk.Do(t, "liveness requirement met", 30*time.Second, chromedp.WaitVisible(`li.done[data-req="liveness"]`))
	clerk.Do(t, "end the call", 60*time.Second,
		chromedp.Click("#call-leave"),
		chromedp.WaitVisible(`li.done[data-req="recording"]`),
	)
	customer.Do(t, "customer sees the end", 20*time.Second, chromedp.WaitVisible(`body[data-state="ended"]`))

	// 4. Letter, scope, signature, registry, submit.
	clerk.Do(t, "upload the letter and record its scope", 30*time.Second,
		chromedp.SetUploadFiles("#letter-file", []string{e2eLetter(t, dir)}),
		chromedp.Click("#letter-form button"),
		chromedp.WaitVisible("#letter-img"),
		chromedp.SendKeys("#scope-account", "6222020200223344"),
		chromedp.Click("#scope-email"),
		chromedp.Click("#scope-submit"),
		chromedp.WaitVisible(`li.done[data-req="authorization_letter"]`),
	)
	// Mark the signature region by dragging on the letter (page pixels -> letter pixels).
	if !waitTrue(t, clerk, "document.getElementById('letter-img').naturalWidth > 0") {
		t.Fatal("the letter image never loaded on the clerk's page")
	}
	clerk.Do(t, "mark the signature region and record the verdict", 30*time.Second,
		chromedp.ScrollIntoView("#letter-img"),
		chromedp.Sleep(500*time.Millisecond),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			b, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64]("(() => { const b = document.getElementById('letter-img').getBoundingClientRect(); const k = b.width / 600; return [b.left + 280 * k, b.top + 300 * k, b.left + 440 * k, b.top + 360 * k]; })()"))
			if err != nil {
				return err
			}
			return chromedp.Do(ctx, chromedp.DragAndDropXY(b[0], b[1], b[2], b[3], 5))
		}),
		chromedp.SendKeys("#sig-reason", "letter forms and slant match the specimen"),
	)
	if rx := testenv.Eval[int](t, clerk, "+document.getElementById('rx').value"); rx < 270 || rx > 290 {
		t.Errorf("region marked by dragging starts at x = %d, want about 280", rx)
	}
	clerk.CheckPage(t, shots, "clerk-signature")
	// The verdict is chosen, never preselected.
	if v := testenv.Eval[string](t, clerk, "document.getElementById('verdict').value"); v != "" {
		t.Errorf("the signature verdict is preset to %q", v)
	}
	clerk.Do(t, "record the signature verdict, run the registry check", 40*time.Second,
		chromedp.SetValue("#verdict", "pass"),
		chromedp.Click("#sig-submit"),
		chromedp.WaitVisible(`li.done[data-req="signature"]`),
		chromedp.Click("#registry-run"),
		chromedp.WaitVisible(`li.done[data-req="registry_check"]`),
		chromedp.WaitVisible(`li.done[data-req="email_code"]`),
		chromedp.WaitVisible(`li.done[data-req="liveness"]`),
	)
	clerk.CheckPage(t, shots, "clerk-case")
	clerk.Do(t, "submit", 20*time.Second,
		chromedp.Click("#submit-case"),
		chromedp.WaitVisible(`#state[data-state="pending_review"]`),
	)

	// 5. The supervisor approves after the step-up, then releases.
	sup.Do(t, "the queue lists the case", 20*time.Second, chromedp.Navigate(origin+"/review"), chromedp.WaitVisible(`#cases a[href="/review/cases/`+caseID+`"]`))
	sup.CheckPage(t, shots, "review-queue")
	sup.Do(t, "open the case", 20*time.Second,
		chromedp.Click(`#cases a[href="/review/cases/`+caseID+`"]`),
		chromedp.WaitVisible(`#evidence tr[data-kind]`),
		chromedp.WaitVisible(`#checks tr[data-kind="face_match"]`),
		chromedp.WaitVisible("#region-box"), // the region the clerk marked, on the letter
		chromedp.WaitVisible(`body[data-ready]`),
		chromedp.WaitVisible(`#checks tr[data-kind="face_match"] td.fmr .weak`), // the score's rate and weakness
		chromedp.WaitVisible("#statement-review-link"),                          // the statement generated at submission
		chromedp.WaitVisible("#statement-preview"),                              // its first page, drawn by pdftoppm
	)
	var shownHash string
	sup.Do(t, "read the statement's hash", 10*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
		shownHash, err = chromedp.Run(ctx, chromedp.Evaluate[string]("document.getElementById('statement-sha256').textContent"))
		return err
	}))
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(shownHash) {
		t.Fatalf("the review page shows statement hash %q, want a SHA-256", shownHash)
	}
	sup.Do(t, "approve: the decision is signed with the key", 30*time.Second,
		chromedp.WaitVisible("#decision-key-hint"),
		chromedp.Click("#d-approve"),
		chromedp.SendKeys("#decision-reason", "all checks passed; capture and signature reviewed"),
	)
	sup.CheckPage(t, shots, "review-case")
	sup.Do(t, "send the decision (touching the key); the case is sealed", 60*time.Second,
		chromedp.Click("#decision-send"),
		chromedp.WaitVisible(`#state[data-state="sealed"]`),
		chromedp.WaitEnabled("#release"),
		chromedp.Click("#release"),
		chromedp.WaitVisible("#release-confirm-yes"),
	)
	// The release says, in the page, where the statement goes before it goes.
	if txt := testenv.Eval[string](t, sup, "document.getElementById('release-confirm-text').textContent"); txt != "Release: the transaction statement is emailed to l***@example.com and the case closes." {
		t.Errorf("the release confirmation says %q", txt)
	}
	sup.Do(t, "confirm the release", 30*time.Second,
		chromedp.Click("#release-confirm-yes"),
		chromedp.WaitVisible(`#state[data-state="released"], #state[data-state="closed"]`),
	)
	if to := statementMail(t, smtp, 30*time.Second); !slices.Equal(to, []string{"liu.yang@example.com"}) {
		t.Errorf("the statement went to %v, want only the registered address", to)
	}
	sup.Do(t, "the case closes once delivered", 30*time.Second, chromedp.WaitVisible(`#state[data-state="closed"]`))

	// Tabs done with stop polling, so the rest runs on a quieter machine.
	secrets.tab(t, sup, true) // the step-up before the key's registration rotated the session
	secrets.tab(t, customer, false)
	secrets.tab(t, second, false)
	customer.Close()
	second.Close()
	sup.Close()

	// 6. The auditor: search, chain, case, bundle.
	aud := tab("auditor")
	login(aud, "auditor", e2ePassword, "/audit")
	aud.Do(t, "search and verify the chain", 30*time.Second,
		chromedp.SendKeys("#q-account", "6222020200223344"),
		chromedp.SetValue("#q-state", "closed"),
		chromedp.Click("#search-form button"),
		chromedp.WaitVisible(`#cases a[href="/audit/cases/`+caseID+`"]`),
		chromedp.Click("#verify-chain"),
		chromedp.WaitVisible("#chain-result.good"),
		chromedp.WaitVisible("#published-result.good"),
	)
	// The page shows the key's fingerprint, which pins the bundle below.
	key, err := audit.LoadOrCreateKey(filepath.Join(dir, "key.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	bankKey := key.Public().(ed25519.PublicKey)
	if fp := testenv.Eval[string](t, aud, "document.getElementById('key-fingerprint').textContent"); fp != audit.Fingerprint(bankKey) {
		t.Errorf("auditor page shows key fingerprint %q, want %s", fp, audit.Fingerprint(bankKey))
	}
	if pub := testenv.Eval[string](t, aud, "document.getElementById('published-result').textContent"); !strings.Contains(pub, "notes checked") {
		t.Errorf("auditor page's published-checkpoint result = %q", pub)
	}
	aud.CheckPage(t, shots, "audit-search")
	aud.Do(t, "open the case", 20*time.Second,
		chromedp.Click(`#cases a[href="/audit/cases/`+caseID+`"]`),
		chromedp.WaitVisible(`#evidence tr[data-kind="manifest"]`),
		chromedp.WaitVisible(`#timeline details.raw`),                             // the raw event and its hash, one click away
		chromedp.WaitVisible(`#checks tr[data-kind="face_match"] td.fmr .fusion`), // fused and calibrated
		// The page starts with the answer: who approved, and that the chain and the bundle verify.
		chromedp.WaitVisible(`#rs-chain.good`),
		chromedp.WaitVisible(`#rs-bundle.good`),
		chromedp.WaitVisible(`#evidence section[data-group="capture"] img.thumb`),
	)
	// Staff read by name and role, never by id, outside the raw events (closed <details>).
	if sup := testenv.Eval[string](t, aud, "document.getElementById('rs-supervisor').textContent"); sup != "Sam Supervisor (supervisor)" {
		t.Errorf("auditor's summary names the approving supervisor %q, want Sam Supervisor (supervisor)", sup)
	}
	if text := testenv.Eval[string](t, aud, "document.getElementById('main').innerText"); strings.Contains(text, "stf_") ||
		!strings.Contains(text, "Supervisor Sam Supervisor approved: all checks passed; capture and signature reviewed") {
		i := max(0, strings.Index(text, "stf_")-200)
		t.Errorf("auditor's page shows a staff id or lacks the approval's sentence: …%.600s…", text[i:])
	}
	// Every recorded video segment plays (the server's WebM remux of the IVF).
	if n := testenv.Eval[int](t, aud, `Promise.all([...document.querySelectorAll('#evidence video.recording')].map((v) => new Promise((ok, bad) => {
			v.addEventListener('loadeddata', () => (v.videoWidth > 0 ? ok(1) : bad(new Error('no picture'))), { once: true });
			v.addEventListener('error', () => bad(new Error('video error ' + (v.error && v.error.code))), { once: true });
			setTimeout(() => bad(new Error('no video data in 20 s')), 20000);
			v.preload = 'auto'; v.load();
		}))).then((a) => a.length)`); n < 2 {
		t.Errorf("%d recorded video segments played on the auditor's page, want at least 2 (customer and clerk)", n)
	}
	aud.CheckPage(t, shots, "audit-case")
	// Printed (web/static/staff/print.css): the summary first, then the
	// evidence and the timeline, on paper without the page's controls.
	pdf, err := chromedp.Run(aud.Ctx, chromedp.PrintToPDF())
	if err != nil {
		t.Fatalf("print the auditor's case page: %v", err)
	}
	pdfPath := filepath.Join(t.TempDir(), "audit-case.pdf")
	if err := os.WriteFile(pdfPath, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	printed, ok := testenv.Poppler(t, "pdftotext", pdfPath, "-")
	if !ok {
		t.Fatalf("pdftotext of the printed auditor's page: %s", printed)
	}
	iSum, iTimeline := strings.Index(printed, "Summary"), strings.Index(printed, "Timeline")
	if iSum < 0 || iTimeline < iSum || !strings.Contains(printed, caseID) || !strings.Contains(printed, "Sam Supervisor (supervisor)") {
		t.Errorf("the printed auditor's page lacks the case, the summary before the timeline, or the approving supervisor:\n%.2000s", printed)
	}
	for _, control := range []string{"Download the evidence bundle", "Log out", "Skip to the content"} {
		if strings.Contains(printed, control) {
			t.Errorf("the printed auditor's page shows the control %q", control)
		}
	}
	b64 := testenv.Eval[string](t, aud, `fetch(document.getElementById('bundle-link').href).then((r) => r.ok ? r.arrayBuffer() : Promise.reject(new Error('HTTP ' + r.status)))
		.then((b) => { let s = ''; const u = new Uint8Array(b); for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000)); return btoa(s); })`)
	bundle, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	if err != nil {
		t.Fatalf("bundle is not a zip: %v", err)
	}
	if cmd := testenv.Eval[string](t, aud, "document.getElementById('bundle-command').textContent"); !strings.Contains(cmd, "-fingerprint "+audit.Fingerprint(bankKey)) {
		t.Errorf("auditor case page's verify command = %q, want the key's fingerprint", cmd)
	}
	images := 0
	for _, f := range zr.File {
		if f.Name == audit.BundleEvents { // the face score's rate, calibration and strength are in the bundle
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r)
			r.Close()
			if !regexp.MustCompile(`"action":"check.face_match".*"calibration":"1".*"evidence_strength":"weak".*"fmr_upper95":"`).Match(b) {
				t.Errorf("the bundle's check.face_match event lacks the calibration, strength and bound:\n%.3000s", b)
			}
		}
		if strings.HasPrefix(f.Name, audit.BundleItems) && (strings.Contains(f.Name, "/capture/") || strings.Contains(f.Name, "/letter/")) {
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			secrets.addBytes(t, "the bytes of "+path.Base(path.Dir(f.Name)), b)
			images++
		}
	}
	if images < 2 {
		t.Errorf("the bundle holds %d captures and letters, want at least a capture and the letter", images)
	}
	if rep := audit.VerifyBundle(zr, bankKey); !rep.OK() || len(rep.Warnings) > 0 {
		t.Errorf("bundle verification: %+v %+v", rep.Problems, rep.Warnings)
	} else {
		t.Logf("bundle of %s: %d items verified", caseID, len(rep.Items))
	}

	// 7. The admin's staff page.
	adm := tab("admin")
	login(adm, "admin", e2ePassword, "/admin")
	adm.Do(t, "staff list", 20*time.Second, chromedp.WaitVisible(`#staff button[data-user="clerk2"]`))
	if row := testenv.Eval[string](t, adm, `(r => r.dataset.source + ' | ' + r.innerText)(document.querySelector('#staff tr[data-member="clerk2"]'))`); !strings.HasPrefix(row, "local | ") || !strings.Contains(row, "password kept here") {
		t.Errorf("the staff list's row of clerk2 = %q, want it to say the member signs in with a password kept here", row)
	}
	if row := testenv.Eval[string](t, adm, `(r => r ? r.dataset.source : 'none')(document.querySelector('#staff tr[data-member="alice"]'))`); row != "ldap" {
		t.Errorf("the staff list's row of the directory clerk alice has source %q, want ldap", row)
	}
	adm.Do(t, "disable and enable clerk2", 20*time.Second,
		chromedp.Click(`#staff button[data-user="clerk2"]`),
		chromedp.WaitVisible(`#staff tr .badge.bad`),
		chromedp.Click(`#staff button[data-user="clerk2"]`),
		chromedp.WaitNotPresent(`#staff tr .badge.bad`),
	)
	adm.CheckPage(t, shots, "admin-staff")
	// A role that may not open a page gets the 403 page, not the page.
	testenv.Eval[bool](t, adm, "(location.assign('/console'), true)")
	adm.Do(t, "admin opens the console", 30*time.Second, chromedp.WaitVisible(`body[data-page="forbidden"] h1`))
	if h := testenv.Eval[string](t, adm, "document.querySelector('h1').textContent"); h != "Not allowed" {
		t.Errorf("admin on /console sees %q, want the 403 page", h)
	}

	// The clerk aborts another case, flagging suspected fraud (confirmed in the page).
	clerk.Do(t, "abort a second case", 40*time.Second,
		chromedp.Navigate(origin+"/console"),
		chromedp.WaitVisible("#lookup-q"),
		chromedp.SendKeys("#lookup-q", "Wang Jun"),
		chromedp.Click("#lookup-form button"),
		chromedp.WaitReady(`#account option[value="6222020200778899"]`),
		chromedp.SetValue("#slot-local", time.Now().Add(48*time.Hour).Format("2006-01-02")+"T10:00"),
		chromedp.Click("#create-case"),
		chromedp.WaitVisible(`#state[data-state="scheduled"]`),
		chromedp.WaitVisible(`body[data-ready]`), // the page has loaded everything: nothing moves under the click
		chromedp.Click("#invite-issue"),
		chromedp.WaitVisible("#invite-ics"),
		chromedp.SendKeys("#cancel-reason", "caller's voice does not match the branch's notes; suspected fraud"),
		chromedp.SetValue("#fraud-category", "suspected_impostor"),
		chromedp.Click("#abort-case"),
		chromedp.WaitVisible("#abort-confirm-yes"),
		chromedp.Click("#abort-confirm-yes"),
		chromedp.WaitVisible(`#state[data-state="aborted"]`),
		chromedp.WaitVisible(`#account-flags li[data-category="suspected_impostor"]`), // the abort flagged the account
	)
	// Whoever looks the account up for a new case is warned.
	clerk.Do(t, "the flag warns at the look-up", 30*time.Second,
		chromedp.Navigate(origin+"/console"),
		chromedp.WaitVisible("#lookup-q"),
		chromedp.SendKeys("#lookup-q", "Wang Jun"),
		chromedp.Click("#lookup-form button"),
		chromedp.WaitVisible(`#account-flags li[data-category="suspected_impostor"]`),
	)

	// 8. Pages seen so far in English only, in Chinese too; and the public
	// statement check a recipient opens from the statement, in both.
	trail, events := auditText(t, idv)
	statementID := ""
	for _, e := range events {
		if e.Action == "case.release" {
			statementID = e.Detail["statement"]
		}
	}
	if statementID == "" {
		t.Fatal("no case.release event names the released statement")
	}
	aud.Do(t, "the auditor's case page in Chinese", 30*time.Second,
		chromedp.Navigate(origin+"/audit/cases/"+caseID+"?lang=zh-CN"),
		chromedp.WaitVisible(`#evidence tr[data-kind="manifest"]`),
		chromedp.WaitVisible(`html[lang="zh-CN"]`),
	)
	aud.CheckPage(t, shots, "audit-case-zh")
	clerk.Do(t, "the clerk's case page in Chinese", 30*time.Second,
		chromedp.Navigate(origin+"/console/cases/"+caseID+"?lang=zh-CN"),
		chromedp.WaitVisible(`#state[data-state="closed"]`),
		chromedp.WaitVisible(`body[data-ready]`),
	)
	clerk.CheckPage(t, shots, "clerk-case-zh")
	clerk.Do(t, "the console in Chinese", 30*time.Second, chromedp.Navigate(origin+"/console?lang=zh-CN"), chromedp.WaitVisible("#lookup-q"))
	clerk.CheckPage(t, shots, "console-zh")
	recipient := tab("recipient")
	for _, lang := range []string{"en", "zh-CN"} {
		recipient.Do(t, "the public statement check ("+lang+")", 20*time.Second,
			chromedp.Navigate(origin+"/v/"+statementID+"?lang="+lang),
			chromedp.WaitVisible("#vfy-form"),
		)
		recipient.CheckPage(t, shots, "statement-check-"+lang)
	}

	// No secret in any log line or audit detail; the refusals are audited.
	if n := secrets.check(t, "the server's log", idv.log.String()) + secrets.check(t, "the audit trail", trail); n == 0 {
		t.Logf("no secret in %d log lines and %d audit events (looked for %s)", strings.Count(idv.log.String(), "\n"), len(events), secrets.kinds())
	}
	// The directory members signed in with the directory; the approval was
	// signed by the supervisor's key for this case, decision and statement.
	var ldapLogins []string
	var signed []*models.AuditEvent
	for _, e := range events {
		if e.Action == "auth.login" && e.Detail["method"] == "ldap" {
			ldapLogins = append(ldapLogins, e.Detail["username"])
		}
		if e.Action == "auth.webauthn_stepup" && string(e.CaseID) == caseID {
			signed = append(signed, e)
		}
	}
	if !slices.Contains(ldapLogins, "alice") || !slices.Contains(ldapLogins, "sam") {
		t.Errorf("auth.login events with method ldap name %q, want alice and sam", ldapLogins)
	}
	if len(signed) != 1 || signed[0].Detail["decision"] != "approve" || signed[0].Detail["statement_sha256"] != shownHash {
		t.Errorf("auth.webauthn_stepup events of the case = %+v, want one approval of statement %s", signed, shownHash)
	}
	var denied []string
	for _, e := range events {
		if e.Action == "auth.permission_denied" {
			denied = append(denied, e.Detail["method"]+" "+e.Detail["route"]+" ("+e.Detail["why"]+")")
		}
	}
	if !slices.Contains(denied, "GET /console (role)") || !slices.Contains(denied, "GET /api/staff (role)") {
		t.Errorf("auth.permission_denied events = %q, want the admin's GET /console and the token's GET /api/staff", denied)
	}

	for _, tb := range tabs {
		// The refused link and the 403 page are answered with error statuses, which Chromium logs;
		// so is the customer's statement password the server refuses (400), on their tab only.
		allowed := []string{"410", "403", "Gone", "Forbidden"}
		if tb == customer {
			allowed = append(allowed, "status of 400 (Bad Request)")
		}
		for _, p := range tb.Problems(allowed...) {
			t.Error(p)
		}
	}
	t.Logf("whole story in %v; screenshots in %s", time.Since(start).Round(time.Second), shots)
}

// modelsDir is the folder of the dlib models: IDV_MODELS_DIR or the repository's var/models.
func modelsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("IDV_MODELS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "var", "models")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "dlib_face_recognition_resnet_model_v1.dat")); err != nil {
		t.Fatalf("face models missing in %s: run idv models fetch (make test does)", abs)
	}
	return abs
}
