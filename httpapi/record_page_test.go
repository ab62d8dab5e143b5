package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// page GETs a staff page and returns its HTML.
func page(t *testing.T, c *client, path, lang string) string {
	t.Helper()
	req, err := http.NewRequest("GET", c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d:\n%.2000s", path, resp.StatusCode, b)
	}
	return string(b)
}

var (
	rawDetails  = regexp.MustCompile(`(?s)<details class="raw">.*?</details>`)
	timelineRow = regexp.MustCompile(`<tr data-action="([^"]+)" data-group="([^"]+)" data-actor="([^"]+)">`)
)

// outsideRaw is the page without the raw events (the <details> people
// open on purpose).
func outsideRaw(html string) string { return rawDetails.ReplaceAllString(html, "") }

// TestReadableTimelineAPI: the case timeline and the audit events read as
// sentences with staff by display name and role and times in the branch's
// zone, in the reader's language; the raw event stays beside them.
func TestReadableTimelineAPI(t *testing.T) {
	e := newEnv(t)
	clerk := e.login(t, "clerk")
	id := e.createCase(t, clerk)
	type ev struct {
		Action, Actor, Who, Sentence, Hash string
		AtBranch                           string `json:"at_branch"`
		AtCustomer                         string `json:"at_customer"`
	}
	for _, tc := range []struct {
		lang, who, sentence string
	}{
		{"en", "Demo clerk (clerk)", "Clerk Demo clerk opened the case and scheduled the call"},
		{"zh-CN", "Demo clerk（柜员）", "柜员Demo clerk创建了案件并安排了视频通话"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			for _, c := range []struct {
				client *client
				path   string
			}{{clerk, "/api/cases/" + id + "/timeline?lang=" + tc.lang}, {e.login(t, "auditor"), "/api/audit/events?case_id=" + id + "&lang=" + tc.lang}} {
				var out struct{ Events []ev }
				if code := c.client.do("GET", c.path, nil, &out); code != 200 {
					t.Fatalf("GET %s: %d", c.path, code)
				}
				if len(out.Events) == 0 {
					t.Fatalf("GET %s: no events", c.path)
				}
				got := out.Events[0]
				if got.Action != "case.created" || got.Who != tc.who || got.Sentence != tc.sentence || !strings.HasPrefix(got.Actor, "staff:stf_") || got.Hash == "" {
					t.Errorf("GET %s: first event %+v, want case.created by %q reading %q with its raw actor and hash", c.path, got, tc.who, tc.sentence)
				}
				var list struct{ Cases []struct{ ID, Clerk string } }
				if code := c.client.do("GET", "/api/cases?lang="+tc.lang, nil, &list); code != 200 || len(list.Cases) != 1 || list.Cases[0].Clerk != tc.who {
					t.Errorf("the case list (audit search, review queue): %d %+v, want the clerk as %q", code, list, tc.who)
				}
				if !strings.HasSuffix(got.AtBranch, " CST") || !strings.HasSuffix(got.AtCustomer, " EST") && strings.Contains(c.path, "timeline") {
					t.Errorf("GET %s: times %q / %q, want the branch's (CST) and the customer's (EST)", c.path, got.AtBranch, got.AtCustomer)
				}
			}
		})
	}
}

// TestAuditorRecord: on a closed (sealed, released) case the auditor's
// page starts with the answer: the outcome, the clerk and the approving
// supervisor by name, the key times, each check, the evidence count and
// that the audit chain and the bundle verify; the timeline reads as
// sentences and filters by kind and by actor; no staff id shows outside
// the raw events; the evidence is grouped by kind with previews.
func TestAuditorRecord(t *testing.T) {
	se := newStoryEnv(t, "sqlite")
	story := runReviewStory(t, se)
	aud := se.login(t, "auditor")
	path := "/audit/cases/" + story.caseID

	start := time.Now()
	html := page(t, aud, path, "en")
	t.Logf("the auditor's page: %d bytes in %s (the whole chain and the seal verified on the way)", len(html), time.Since(start))
	if os.Getenv("RECORD_DUMP") != "" {
		_ = os.WriteFile(os.Getenv("RECORD_DUMP"), []byte(html), 0o644)
	}
	for _, want := range []string{
		`id="rs-outcome" data-state="closed"`,
		`<dd id="rs-clerks">Demo clerk (clerk)</dd>`,
		`<dd id="rs-supervisor">Demo supervisor (supervisor)</dd>`,
		`<dd id="rs-chain" class="good">✓ verified: every event`,
		`<dd id="rs-bundle" class="good">✓ verified: the signed manifest and every artifact in the store`,
		`<tr data-time="record.time.approved">`, `<tr data-time="record.time.sealed">`, `<tr data-time="record.time.released">`,
		`Face match (live capture): <strong>the faces match · Demo clerk (clerk): same person</strong>`,
		`Signature: <strong>passed</strong>`,
		`National ID registry: <strong>passed</strong>`,
		`Supervisor Demo supervisor approved: all checks passed`,
		`The customer accepted the recording and biometric consent`,
		`The sealer sealed the case`,
		`<section class="evidence-group" data-group="capture">`,
		`<img class="thumb" src="/api/cases/` + story.caseID + `/evidence/evd_`,
		`<section class="evidence-group" data-group="manifest">`,
		`<section class="evidence-group" data-group="statement">`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("auditor's page lacks %s", want)
		}
	}
	// The consent's time shows in the customer's zone too.
	if !regexp.MustCompile(`(?s)<tr data-time="record.time.consent"><th scope="row">Consent</th><td[^>]*>[^<]+ CST</td><td[^>]*>[^<]+ EST</td>`).MatchString(html) {
		t.Errorf("the consent's time is not in both zones:\n%s", regexp.MustCompile(`(?s)<table id="rs-times">.*?</table>`).FindString(html))
	}
	if !strings.Contains(html, `<details class="raw">`) || !strings.Contains(html, "<code>staff:stf_") {
		t.Error("the raw events (with the actor's id) are not one click away")
	}
	if rest := outsideRaw(html); strings.Contains(rest, "stf_") {
		i := strings.Index(rest, "stf_")
		t.Errorf("a staff id shows outside the raw events: …%s…", rest[max(0, i-200):min(len(rest), i+100)])
	}
	all := timelineRow.FindAllStringSubmatch(html, -1)
	if len(all) < 20 {
		t.Fatalf("the timeline shows %d events, want the whole story", len(all))
	}

	// Filters are plain GET parameters.
	for _, tc := range []struct {
		query string
		ok    func(action, group, actor string) bool
	}{
		{"?kind=check", func(_, g, _ string) bool { return g == "check" }},
		{"?actor=customer", func(_, _, a string) bool { return a == "customer" }},
		{"?actor=staff:supervisor", func(_, _, a string) bool { return a == "staff:supervisor" }},
		{"?kind=case&actor=system:sealer", func(ac, _, a string) bool { return ac == "case.seal" && a == "system:sealer" }},
	} {
		rows := timelineRow.FindAllStringSubmatch(page(t, aud, path+tc.query, "en"), -1)
		if len(rows) == 0 || len(rows) >= len(all) {
			t.Errorf("%s: %d of %d events shown, want some but not all", tc.query, len(rows), len(all))
		}
		for _, r := range rows {
			if !tc.ok(r[1], r[2], r[3]) {
				t.Errorf("%s shows %s by %s", tc.query, r[1], r[3])
			}
		}
	}
	if rows := timelineRow.FindAllStringSubmatch(page(t, aud, path+"?actor=staff:supervisor", "en"), -1); !containsAction(rows, "case.approve") {
		t.Error("?actor=staff:supervisor does not show the approval")
	}

	// The statement's first page is previewed (a PDF drawn as a PNG, an audited read).
	if m := regexp.MustCompile(`<img class="thumb" src="(/api/cases/[^"]+/evidence/evd_[^"]+/preview)"`).FindStringSubmatch(html); m == nil {
		t.Error("no PDF item is previewed on the auditor's page")
	} else if code, b, h := getBytes(t, aud, m[1]); code != 200 || h.Get("Content-Type") != "image/png" || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("GET %s = %d %s (%d bytes), want a PNG", m[1], code, h.Get("Content-Type"), len(b))
	}

	// The same page in Chinese.
	zh := page(t, aud, path+"?lang=zh-CN", "")
	for _, want := range []string{`<dd id="rs-supervisor">Demo supervisor（主管）</dd>`, `主管Demo supervisor批准：all checks passed`, `客户同意了录像和生物特征授权`} {
		if !strings.Contains(zh, want) {
			t.Errorf("auditor's page in zh-CN lacks %s", want)
		}
	}

	// The checks and evidence the supervisor's and clerk's pages show
	// name who acted.
	var checks struct {
		Checks []struct {
			Kind, Who, Actor string
			ConfirmedByWho   string `json:"confirmed_by_who"`
			AtBranch         string `json:"at_branch"`
		}
	}
	if code := aud.do("GET", "/api/cases/"+story.caseID+"/checks?lang=en", nil, &checks); code != 200 || len(checks.Checks) == 0 {
		t.Fatalf("checks: %d %+v", code, checks)
	}
	for _, ch := range checks.Checks {
		if ch.Who == "" || strings.Contains(ch.Who, "stf_") || !strings.HasSuffix(ch.AtBranch, " CST") {
			t.Errorf("check %s by %q at %q, want a name and the branch's time", ch.Kind, ch.Who, ch.AtBranch)
		}
	}
	var ev struct {
		Evidence []struct{ Kind, Who, Actor string }
	}
	if code := aud.do("GET", "/api/cases/"+story.caseID+"/evidence?lang=en", nil, &ev); code != 200 || len(ev.Evidence) == 0 {
		t.Fatalf("evidence: %d", code)
	}
	for _, e := range ev.Evidence {
		if e.Who == "" || strings.Contains(e.Who, "stf_") {
			t.Errorf("evidence %s (%s) stored by %q, want a name", e.Kind, e.Actor, e.Who)
		}
	}
}

func containsAction(rows [][]string, action string) bool {
	for _, r := range rows {
		if r[1] == action {
			return true
		}
	}
	return false
}
