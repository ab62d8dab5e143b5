package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/internal/synthcam"
	"remoteidv/internal/testenv"
	"remoteidv/web"
)

// stepView is what the clerk's case page shows of one step (renderSteps
// in web/static/staff/case.js).
type stepView struct {
	Status string `json:"status"` // data-status: done, current, blocked, todo
	Open   bool   `json:"open"`
	State  string `json:"state"` // the status in words
	Why    string `json:"why"`
}

const readSteps = `JSON.stringify(Object.fromEntries([...document.querySelectorAll('#steps details.step')].map((d) => [d.dataset.step,
  { status: d.dataset.status || '', open: d.open, state: d.querySelector('.step-state').textContent, why: d.querySelector('.step-why').textContent }])))`

func clerkSteps(t *testing.T, tab *testenv.Tab) map[string]stepView {
	t.Helper()
	var m map[string]stepView
	if err := json.Unmarshal([]byte(testenv.Eval[string](t, tab, readSteps)), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// wantStep is one step's expected status, and words its reason must (and
// must not) contain, as message keys of the page's language.
type wantStep struct {
	status string
	why    []string // message keys the reason names
	notWhy []string
	open   bool
}

// TestWebClerkFlow drives the clerk's case page, in English and in
// Chinese, through the story and checks that it follows it: the steps
// (invite, customer ready, call, letter and signature, registry, submit)
// say in words whether each is done, the one to do now, blocked or still
// to do, with the reason taken from the requirements the server computed,
// before the invite, once the invite is out, once the customer consented,
// after the capture is confirmed and once the letter's scope is recorded;
// the step to do now is the open one, and the clerk opens any other.
// During the call, at 1366x768 and without scrolling, the customer's
// video, the Capture button, the face result with the reference photos
// and the liveness prompt are all on the screen (getBoundingClientRect
// within 0..768). The page passes CheckPage during the call. What the
// clerk sees at 1366x768 before the invite and during the call is saved
// in var/screenshots (clerk-steps-start-<lang>.png,
// clerk-steps-call-<lang>.png) for docs/screenshots.
func TestWebClerkFlow(t *testing.T) {
	shots, err := filepath.Abs(filepath.Join("..", "..", "var", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	idv := newE2EIDV(t, map[string]string{"IDV_REGISTRY_HOURS": "00:00-23:59"})
	if out, err := idv.cli("demo", "load"); err != nil {
		t.Fatalf("demo load: %v\n%s", err, out)
	}
	idv.serve()
	origin := idv.origin
	browser := testenv.Chromium(t, testenv.Y4MFromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 320))
	msgs := web.Messages()
	clerk := testenv.NewTab(t, browser, "clerk", origin)
	e2eLogin(t, clerk, origin, "clerk", "/console")

	for _, lang := range []string{"en", "zh-CN"} {
		m := msgs[lang]
		check := func(when string, want map[string]wantStep) {
			t.Helper()
			got := clerkSteps(t, clerk)
			for _, k := range []string{"invite", "customer", "call", "letter", "registry", "submit"} {
				w, g := want[k], got[k]
				if g.Status != w.status || g.Open != w.open {
					t.Errorf("%s, %s: step %s is %s (open %v: %q %q), want %s (open %v)", lang, when, k, g.Status, g.Open, g.State, g.Why, w.status, w.open)
				}
				if g.State != m["step.state_"+w.status] {
					t.Errorf("%s, %s: step %s says %q, want %q", lang, when, k, g.State, m["step.state_"+w.status])
				}
				for _, key := range w.why {
					if !strings.Contains(g.Why, m[key]) {
						t.Errorf("%s, %s: step %s's reason %q does not name %q (%s)", lang, when, k, g.Why, m[key], key)
					}
				}
				for _, key := range w.notWhy {
					if strings.Contains(g.Why, m[key]) {
						t.Errorf("%s, %s: step %s's reason %q names %q (%s), which is done", lang, when, k, g.Why, m[key], key)
					}
				}
			}
			if lang == "zh-CN" {
				text := testenv.Eval[string](t, clerk, `[...document.querySelectorAll('#steps summary')].map((s) => s.textContent).join(' ')`)
				if latin := regexp.MustCompile(`[A-Za-z]{2,}`).FindString(text); latin != "" {
					t.Errorf("%s: the Chinese steps show English (%q): %s", when, latin, text)
				}
			}
		}
		// waitStep waits until step k has status.
		waitStep := func(what, k, status string) {
			t.Helper()
			clerk.Do(t, lang+": "+what, 30*time.Second, chromedp.WaitVisible(`#step-`+k+`[data-status="`+status+`"][open]`))
		}

		// Before the invite: inviting is the step to do, the rest waits for it.
		clerk.Do(t, lang+": create a case", 40*time.Second,
			chromedp.EmulateViewport(1366, 768),
			chromedp.Navigate(origin+"/console?lang="+lang),
			chromedp.WaitVisible("#lookup-q"),
			chromedp.SendKeys("#lookup-q", "Liu Yang"),
			chromedp.Click("#lookup-form button"),
			chromedp.WaitReady(`#account option[value="6222020200223344"]`),
			chromedp.SetValue("#slot-local", time.Now().In(mustZone(t, "America/Toronto")).Add(3*time.Minute).Format("2006-01-02T15:04")),
			chromedp.SetValue("#slot-tz", "America/Toronto"),
			chromedp.Click("#create-case"),
			chromedp.WaitVisible(`#state[data-state="scheduled"]`),
			chromedp.WaitVisible(`body[data-ready]`),
		)
		check("before the invite", map[string]wantStep{
			"invite":   {status: "current", open: true, why: []string{"step.item_invite"}},
			"customer": {status: "blocked", why: []string{"step.item_invite"}},
			"call":     {status: "blocked", why: []string{"req.consent"}},
			"letter":   {status: "todo", why: []string{"req.authorization_letter", "req.signature"}},
			"registry": {status: "blocked", why: []string{"step.item_capture"}},
			"submit":   {status: "blocked", why: []string{"req.consent", "req.face_match", "req.liveness", "req.signature", "req.authorization_letter", "req.registry_check", "req.email_code", "req.recording"}},
		})
		shot(t, clerk, shots, "clerk-steps-start-"+lang)
		// The clerk opens a step that is not the current one, and folds it again.
		clerk.Do(t, lang+": open the submit step", 10*time.Second, openStep("submit"), chromedp.WaitVisible(`#submit-case`))
		if n := testenv.Eval[int](t, clerk, `document.querySelectorAll('#submit-missing li[data-missing]').length`); n != 8 {
			t.Errorf("%s: the submit step lists %d missing requirements, want 8", lang, n)
		}
		clerk.Do(t, lang+": fold it", 10*time.Second, chromedp.Click(`#step-submit > summary`),
			chromedp.Poll[chromedp.Void](`!document.getElementById('step-submit').open`, chromedp.WithPollingTimeout(10*time.Second)))

		clerk.Do(t, lang+": issue the invite link", 20*time.Second, chromedp.Click("#invite-issue"), chromedp.WaitVisible("#invite-link"))
		link := testenv.Eval[string](t, clerk, "document.getElementById('invite-link').textContent")
		waitStep("the customer's step is next", "customer", "current")
		// The invite step stays open after the clerk used it (the link is to be copied) until the next step changes.
		check("invite out", map[string]wantStep{
			"invite":   {status: "done", open: true},
			"customer": {status: "current", open: true, why: []string{"step.item_opened", "req.consent", "req.email_code"}},
			"call":     {status: "blocked", why: []string{"req.consent"}},
			"letter":   {status: "todo"},
			"registry": {status: "blocked"},
			"submit":   {status: "blocked"},
		})

		// The customer consents and joins; the call becomes the step to do.
		customer := testenv.NewTab(t, browser, "customer-"+lang, origin)
		testenv.LiveCamera(t, customer, testenv.Johns+"/John_Simm/000300_00470148.jpg", synthcam.LiveOptions{})
		customer.Do(t, lang+": the customer consents", 40*time.Second,
			chromedp.Navigate(link),
			chromedp.WaitVisible("#accept"),
			chromedp.Click("#accept"),
			// The call page opens on the device check; its socket joins at
			// once, so the clerk's page sees the customer ready.
			chromedp.WaitReady("#remote"),
			chromedp.WaitVisible(`body[data-state="connected"]`),
		)
		waitStep("the call is next", "call", "current")
		check("customer consented", map[string]wantStep{
			"invite":   {status: "done"},
			"customer": {status: "todo", why: []string{"req.email_code"}, notWhy: []string{"req.consent"}},
			"call":     {status: "current", open: true, why: []string{"step.item_capture", "req.face_match", "req.liveness", "req.recording"}},
			"letter":   {status: "todo"},
			"registry": {status: "blocked", why: []string{"step.item_capture"}},
			"submit":   {status: "blocked", notWhy: []string{"req.consent"}},
		})

		// The call: capture, confirm beside the result, start the challenge.
		clerk.Do(t, lang+": join, capture", 90*time.Second,
			chromedp.Click("#call-join"),
			chromedp.WaitVisible(`body[data-call="connected"]`),
			chromedp.Sleep(2*time.Second),
			chromedp.Click("#call-capture"),
			chromedp.WaitVisible(`#face-result img[src$="/references/0"]`),
			chromedp.WaitVisible(`#face-same`),
		)
		if !waitTrue(t, clerk, `[...document.querySelectorAll('#face-result img')].every((i) => i.naturalWidth > 0)`) {
			t.Errorf("%s: a reference photo beside the face result did not load", lang)
		}
		clerk.Do(t, lang+": confirm beside the result", 20*time.Second,
			chromedp.SendKeys("#face-note", map[string]string{"en": "same person, side by side", "zh-CN": "并排比对，是同一人"}[lang]),
			chromedp.Click("#face-same"),
			chromedp.WaitVisible(`#face-confirmed`),
			chromedp.WaitVisible(`li.done[data-req="face_match"]`),
		)
		check("after the capture", map[string]wantStep{
			"invite":   {status: "done"},
			"customer": {status: "todo"},
			"call":     {status: "current", open: true, why: []string{"req.liveness", "req.recording"}, notWhy: []string{"step.item_capture", "req.face_match"}},
			"letter":   {status: "todo"},
			"registry": {status: "todo", why: []string{"req.registry_check"}},
			"submit":   {status: "blocked", why: []string{"req.liveness"}, notWhy: []string{"req.face_match"}},
		})
		clerk.Do(t, lang+": the liveness challenge starts", 60*time.Second,
			chromedp.Click("#call-challenge"),
			chromedp.Poll[chromedp.Void](`document.getElementById('call-prompt').textContent.includes('/')`, chromedp.WithPollingTimeout(60*time.Second)),
		)
		// Everything the call needs in one view, without scrolling.
		testenv.Eval[bool](t, clerk, "(window.scrollTo(0, 0), true)")
		var boxes map[string][]float64
		if err := json.Unmarshal([]byte(testenv.Eval[string](t, clerk, `JSON.stringify({
			scroll: [window.scrollY, window.innerWidth, window.innerHeight],
			video: 'call-remote', capture: 'call-capture', prompt: 'call-prompt', face: 'face-result', decision: 'face-decision', confirm: 'face-confirmed',
			reference: document.querySelector('#face-result img[src$="/references/0"]'),
		}, (k, v) => typeof v === 'string' || v instanceof Element ? (() => { const e = typeof v === 'string' ? document.getElementById(v) : v; const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; })() : v)`)), &boxes); err != nil {
			t.Fatal(err)
		}
		if s := boxes["scroll"]; s[0] != 0 || s[1] != 1366 || s[2] != 768 {
			t.Errorf("%s: the window is scrolled %v px at %vx%v, want 0 at 1366x768", lang, s[0], s[1], s[2])
		}
		for _, k := range []string{"video", "capture", "prompt", "face", "decision", "reference", "confirm"} {
			b := boxes[k]
			if len(b) != 4 || b[0] < 0 || b[1] < 0 || b[2] > 1366 || b[3] > 768 || b[2]-b[0] < 1 || b[3]-b[1] < 1 {
				t.Errorf("%s: during the call, %s is at %v, want it within 1366x768 without scrolling", lang, k, b)
			}
		}
		if v := boxes["video"]; len(v) == 4 && (v[2]-v[0] < 320 || v[3]-v[1] < 240) {
			t.Errorf("%s: the customer's video is %v x %v px, want at least 320x240", lang, v[2]-v[0], v[3]-v[1])
		}
		shot(t, clerk, shots, "clerk-steps-call-"+lang)
		clerk.CheckPage(t, shots, "clerk-steps-call-"+lang)

		// The call ends; the letter's scope is recorded: the signature is what the letter step lacks.
		clerk.Do(t, lang+": end the call", 60*time.Second,
			chromedp.Click("#call-leave"),
			chromedp.WaitVisible(`body[data-call="ended"]`),
			chromedp.WaitVisible(`li.done[data-req="recording"]`),
		)
		if testenv.Eval[bool](t, clerk, `document.getElementById('step-letter').open`) {
			t.Errorf("%s: the letter step opened while the call is still the step to do", lang)
		}
		clerk.Do(t, lang+": open the letter step, upload the letter, record its scope", 40*time.Second,
			openStep("letter"),
			chromedp.SetUploadFiles("#letter-file", []string{e2eLetter(t, idv.dir)}),
			chromedp.Click("#letter-form button"),
			chromedp.WaitVisible("#letter-img"),
			chromedp.SendKeys("#scope-account", "6222020200223344"),
			chromedp.Click("#scope-email"),
			chromedp.Click("#scope-submit"),
			chromedp.WaitVisible(`li.done[data-req="authorization_letter"]`),
		)
		check("letter uploaded", map[string]wantStep{
			"invite":   {status: "done"},
			"customer": {status: "todo"},
			"call":     {status: "current", open: true, why: []string{"req.liveness"}, notWhy: []string{"req.recording"}},
			"letter":   {status: "todo", open: true, why: []string{"req.signature"}, notWhy: []string{"req.authorization_letter"}},
			"registry": {status: "todo"},
			"submit":   {status: "blocked", why: []string{"req.signature", "req.liveness"}, notWhy: []string{"req.authorization_letter", "req.recording"}},
		})
		customer.Close()
		for _, p := range customer.Problems() {
			t.Error(p)
		}
	}
	for _, p := range clerk.Problems("status of 409", "status of 412") {
		t.Error(p)
	}
}

// shot saves what the tab shows (the viewport, not the whole page) as dir/name.png.
func shot(t *testing.T, tab *testenv.Tab, dir, name string) {
	t.Helper()
	testenv.Eval[bool](t, tab, "(window.scrollTo(0, 0), true)")
	png, err := chromedp.Run(tab.Ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// openStep opens step k of the clerk's case page as the clerk does, by
// its summary, unless it is open already (what a folded step holds is
// laid out but not shown: a click there would land on something else).
func openStep(k string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		open, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('step-`+k+`').open`))
		if err != nil || open {
			return err
		}
		return chromedp.Do(ctx, chromedp.Click(`#step-`+k+` > summary`),
			chromedp.Poll[chromedp.Void](`document.getElementById('step-`+k+`').open`, chromedp.WithPollingTimeout(10*time.Second)))
	})
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
