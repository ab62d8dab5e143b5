package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"remoteidv/internal/demobrowser"
	"remoteidv/internal/testenv"
	"remoteidv/mail/mailtest"
	"remoteidv/models"
	"remoteidv/signaling"
)

// phone is the device the customer's call page is built for: 390x844 CSS
// pixels, a mobile viewport, touch.
func phone() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: 390, Height: 844, DeviceScaleFactor: 1, Mobile: true}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: true, MaxTouchPoints: 5})
		return err
	})
}

// phoneStep is what the test reads of the call page at one step.
type phoneStep struct {
	Visible   []string `json:"visible"`   // the .step sections shown
	Progress  string   `json:"progress"`  // the progress text
	Overflow  bool     `json:"overflow"`  // wider than the screen
	Primary   []string `json:"primary"`   // the shown primary buttons, as "top bottom width height"
	Small     []string `json:"small"`     // shown buttons smaller than 44x44
	Mobile    bool     `json:"mobile"`    // the page sees a touch phone
	InnerText string   `json:"innerText"` // main's shown text, without the device names
}

const phoneStepJS = `(() => {
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
  const r = (e) => e.getBoundingClientRect();
  return JSON.stringify({
    visible: [...document.querySelectorAll('section.step')].filter(shown).map((e) => e.id),
    progress: document.getElementById('progress-text').textContent,
    overflow: document.documentElement.scrollWidth > window.innerWidth,
    primary: [...document.querySelectorAll('button.primary')].filter(shown).map((b) => [r(b).top, r(b).bottom, r(b).width, r(b).height].map(Math.round).join(' ')),
    small: [...document.querySelectorAll('button, a, label.file-pick')].filter(shown).filter((b) => r(b).width < 44 || r(b).height < 44).map((b) => b.id || b.textContent.trim()),
    mobile: matchMedia('(pointer: coarse)').matches && window.innerWidth === 390,
    innerText: [...document.querySelectorAll('main > *')].filter(shown).map((e) => e.innerText).join('\n')
      .replace(document.getElementById('device-checks').innerText, ''),
  });
})()`

// TestWebCustomerPhone walks the customer's call page on a phone (390x844,
// mobile, touch) in English and in Chinese, a call each, one step at a
// time: the device check, the email code, the letter, waiting for the
// clerk, the call, what happens next. At every step only that step shows,
// nothing scrolls sideways, the step's main button lies in the lower half
// of the screen and within it, every button is 44 px or more, the progress
// says "step x of 5" in words, and axe-core finds nothing serious
// (tab.CheckPage). In the call the clerk's video fills the screen, the
// customer's own is a small picture in a corner over it, and the liveness
// prompt lies over the video in large type. Chromium's two fake cameras
// drive the camera switch: the track the call sends changes camera
// (RTCRtpSender.replaceTrack, seen through the sender's track settings)
// and the call stays connected on both sides.
func TestWebCustomerPhone(t *testing.T) {
	smtp := mailtest.Start(t, mailtest.Options{})
	idv := newE2EIDV(t, map[string]string{
		"IDV_SMTP_ADDR": smtp.Addr, "IDV_SMTP_TLS": "none", "IDV_MAIL_INTERVAL": "1s", "IDV_REGISTRY_HOURS": "00:00-23:59",
	})
	if out, err := idv.cli("demo", "load"); err != nil {
		t.Fatalf("demo load: %v\n%s", err, out)
	}
	idv.serve()
	clerk := loginAPI(t, idv.origin, "clerk")
	shots, err := filepath.Abs(filepath.Join("..", "..", "var", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	browser := testenv.ChromiumCameras(t, 2)
	ivf := testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 160)
	ogg := testenv.OpusTone(t, 2)
	ws := "ws" + strings.TrimPrefix(idv.origin, "http")

	// open opens a case for account with the slot in 5 minutes and
	// returns its id and invite link.
	open := func(t *testing.T, account string) (models.CaseID, string) {
		t.Helper()
		ny, _ := time.LoadLocation("America/New_York")
		var cs struct{ ID models.CaseID }
		if err := json.Unmarshal(clerk.must(201, "POST", "/api/cases", map[string]any{"account_no": account, "purpose": "transaction_statement",
			"period_from": "2025-01-01", "period_to": "2025-12-31",
			"slot": map[string]string{"local": time.Now().In(ny).Add(5 * time.Minute).Format("2006-01-02T15:04"), "time_zone": "America/New_York"}}, nil), &cs); err != nil {
			t.Fatal(err)
		}
		var inv struct{ Link string }
		if err := json.Unmarshal(clerk.must(201, "POST", "/api/cases/"+string(cs.ID)+"/invite", nil, nil), &inv); err != nil {
			t.Fatal(err)
		}
		return cs.ID, inv.Link
	}

	for _, lc := range []struct {
		lang, account string
		progress      func(n int) string
		end           string
		latin         bool // the page's text may hold Latin words
	}{
		{"en", "6222020200223344", func(n int) string { return fmt.Sprintf("Step %d of 5", n) }, "The call is over", true},
		{"zh-CN", "6222020200778899", func(n int) string { return fmt.Sprintf("第 %d 步，共 5 步", n) }, "通话已结束", false},
	} {
		t.Run(lc.lang, func(t *testing.T) {
			id, link := open(t, lc.account)
			tab := testenv.NewTab(t, browser, "phone-"+lc.lang, idv.origin)
			tab.Do(t, "open the invite on a phone and accept", 40*time.Second, phone(),
				chromedp.Navigate(link+"?lang="+lc.lang), chromedp.WaitVisible("#accept"), chromedp.Click("#accept"),
				chromedp.WaitReady(`body[data-ready]`), chromedp.WaitVisible(`#device-next:not([disabled])`))

			check := func(step string, n int, primary bool) {
				t.Helper()
				var s phoneStep
				if err := json.Unmarshal([]byte(testenv.Eval[string](t, tab, phoneStepJS)), &s); err != nil {
					t.Fatal(err)
				}
				if !s.Mobile {
					t.Errorf("%s: the page does not see a 390 px touch phone", step)
				}
				if len(s.Visible) != 1 || s.Visible[0] != step+"-step" {
					t.Errorf("%s: the steps shown are %v, want only %s-step", step, s.Visible, step)
				}
				want := lc.end
				if n > 0 {
					want = lc.progress(n)
				}
				if !strings.Contains(s.Progress, want) {
					t.Errorf("%s: progress %q, want %q", step, s.Progress, want)
				}
				if s.Overflow {
					t.Errorf("%s: the page scrolls sideways at 390 px", step)
				}
				if len(s.Small) > 0 {
					t.Errorf("%s: targets smaller than 44x44 px: %v", step, s.Small)
				}
				if primary {
					if len(s.Primary) != 1 {
						t.Errorf("%s: primary buttons shown %v, want one", step, s.Primary)
					} else {
						var top, bottom, w, h int
						fmt.Sscan(s.Primary[0], &top, &bottom, &w, &h)
						if bottom > 844 || top < 844/2 || h < 44 {
							t.Errorf("%s: the primary button spans %d..%d px (height %d), want within the lower half of 844", step, top, bottom, h)
						}
					}
				}
				if !lc.latin {
					// Words, not names of formats (PDF, JPEG, PNG, AES).
					if m := regexp.MustCompile(`[A-Za-z]*[a-z]{2,}[A-Za-z]*`).FindString(s.InnerText); m != "" {
						t.Errorf("%s: the Chinese page shows English %q:\n%s", step, m, s.InnerText)
					}
				}
				tab.CheckPage(t, shots, "customer-phone-"+step+"-"+lc.lang)
				tab.Do(t, "back to the phone", 10*time.Second, phone())
			}

			check("device", 1, true)
			tab.Do(t, "continue to the code", 20*time.Second, demobrowser.Press("#device-next"), chromedp.WaitVisible("#code"))
			check("code", 2, true)
			before := len(smtp.Messages())
			tab.Do(t, "ask for the code", 20*time.Second, demobrowser.Press("#code-send"))
			code, _ := mailWith(t, smtp, before, regexp.MustCompile(`\b[0-9]{6}\b`), 60*time.Second)
			tab.Do(t, "enter the code", 20*time.Second, chromedp.SendKeys("#code", code), demobrowser.Press("#code-check"),
				chromedp.WaitVisible(`body[data-code="verified"][data-step="letter"] #letter`))
			check("letter", 3, true)
			// A reload (en) or a language switch (zh-CN) keeps the code done:
			// the page passes the device check again by itself and opens on
			// the letter.
			testenv.Eval[bool](t, tab, "(document.body.dataset.old = '1', true)")
			again := chromedp.Action[chromedp.Void](chromedp.Reload())
			if lc.lang != "en" {
				again = chromedp.Click(`a[hreflang="en"]`)
			}
			tab.Do(t, "reload or switch language at the letter", 30*time.Second, again,
				chromedp.WaitVisible(`body[data-ready]:not([data-old])[data-code="verified"][data-step="letter"] #letter`))
			if lc.lang != "en" {
				tab.Do(t, "back to "+lc.lang, 30*time.Second, chromedp.Click(`a[hreflang="`+lc.lang+`"]`),
					chromedp.WaitVisible(`html[lang="`+lc.lang+`"] body[data-step="letter"] #letter`))
			}
			tab.Do(t, "upload the letter", 30*time.Second, chromedp.SetUploadFiles("#letter", []string{e2eLetter(t, t.TempDir())}),
				demobrowser.Press("#letter-upload"), chromedp.WaitVisible(`body[data-letter="uploaded"][data-step="wait"][data-clerk="waiting"]`))
			check("wait", 4, false)

			peer := dialCall(t, ws+"/api/cases/"+string(id)+"/call/ws", cookieHeader(idv.origin, clerk.http.Jar), ivf, ogg)
			defer peer.close()
			peer.waitConnected(30 * time.Second)
			tab.Do(t, "the clerk joins: the call", 30*time.Second, chromedp.WaitVisible(`body[data-step="call"][data-clerk="joined"]`))
			if !waitTrue(t, tab, "document.getElementById('remote').videoWidth > 0 && document.getElementById('self').videoWidth > 0") {
				t.Error("the call shows no video")
			}
			check("call", 5, false)
			var lay struct {
				Remote, Self  []float64
				SelfOnTop     bool
				Buttons       []float64
				PromptOverlay bool
			}
			const layout = `JSON.stringify((() => {
  const box = (id) => { const r = document.getElementById(id).getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const s = document.getElementById('self').getBoundingClientRect();
  return { remote: box('remote'), self: box('self'), buttons: box('call-bar'),
    selfOnTop: document.elementFromPoint(s.left + s.width / 2, s.top + s.height / 2) === document.getElementById('self') };
})())`
			if err := json.Unmarshal([]byte(testenv.Eval[string](t, tab, layout)), &lay); err != nil {
				t.Fatal(err)
			}
			if r := lay.Remote; r[0] > 0 || r[1] > 0 || r[2] < 390 || r[3] < 844 {
				t.Errorf("the clerk's video spans %v, want the whole 390x844 screen", r)
			}
			if s := lay.Self; (s[2]-s[0])*(s[3]-s[1]) > 0.1*390*844 || s[2] < 390-40 || s[1] > 844/3 || !lay.SelfOnTop {
				t.Errorf("the customer's own video spans %v (on top: %v), want a small picture in the top right corner over the clerk's", s, lay.SelfOnTop)
			}
			if b := lay.Buttons; b[1] < 844*3/4 || b[3] > 844 {
				t.Errorf("the call's buttons span %v, want along the foot of the screen", b)
			}
			tab.CheckPage(t, shots, "customer-phone-call-"+lc.lang)
			tab.Do(t, "back to the phone", 10*time.Second, phone())

			// The liveness prompt: over the video, large.
			peer.send(signaling.Message{Type: signaling.TypeChallenge})
			tab.Do(t, "the liveness prompt", 30*time.Second, chromedp.Poll[chromedp.Void](`document.getElementById('prompt').textContent !== ''`))
			var pr struct {
				Size   float64
				Box    []float64
				OnTop  bool
				Prompt string
			}
			if err := json.Unmarshal([]byte(testenv.Eval[string](t, tab, `JSON.stringify((() => {
  const p = document.getElementById('prompt'); const r = p.getBoundingClientRect();
  return { size: parseFloat(getComputedStyle(p).fontSize), box: [r.left, r.top, r.right, r.bottom], prompt: p.textContent,
    onTop: p.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)) };
})())`)), &pr); err != nil {
				t.Fatal(err)
			}
			if pr.Size < 24 || !pr.OnTop || pr.Box[0] < 0 || pr.Box[2] > 390 || pr.Box[1] < 844/5 || pr.Box[3] > 844*4/5 {
				t.Errorf("the liveness prompt %q: %.0f px at %v (on top: %v), want 24 px or more over the middle of the video", pr.Prompt, pr.Size, pr.Box, pr.OnTop)
			}
			if png, err := chromedp.Run(tab.Ctx, chromedp.CaptureScreenshot()); err == nil {
				_ = os.WriteFile(filepath.Join(shots, "customer-phone-prompt-"+lc.lang+".png"), png, 0o644)
			}

			// The camera switch: two cameras, the call sends the other one
			// and stays connected.
			tab.Do(t, "two cameras: the switch shows", 20*time.Second, chromedp.WaitVisible(`body[data-cameras="2"] #camera-switch`))
			first := testenv.Eval[string](t, tab, "document.body.dataset.camera")
			tab.Do(t, "switch the camera", 30*time.Second, chromedp.Click("#camera-switch"),
				chromedp.Poll[chromedp.Void](fmt.Sprintf(`!!document.body.dataset.sending && document.body.dataset.sending !== %q`, first)))
			sending := testenv.Eval[string](t, tab, "document.body.dataset.sending")
			if first == "" || sending == first || testenv.Eval[string](t, tab, "document.body.dataset.camera") != sending {
				t.Errorf("after the switch the call sends camera %q, was %q", sending, first)
			}
			time.Sleep(3 * time.Second)
			if st := testenv.Eval[string](t, tab, "document.body.dataset.state + ' ' + document.body.dataset.step"); st != "connected call" {
				t.Errorf("after the camera switch the page is %q, want connected call", st)
			}
			select {
			case <-peer.closed:
				t.Error("the clerk's side of the call closed after the camera switch")
			default:
			}
			if !waitTrue(t, tab, "document.getElementById('self').videoWidth > 0") {
				t.Error("no own video after the camera switch")
			}

			// The clerk ends the call: what happens next.
			peer.send(signaling.Message{Type: signaling.TypeBye, Reason: "clerk ended the call"})
			tab.Do(t, "the end", 30*time.Second, chromedp.WaitVisible(`body[data-state="ended"][data-step="end"] #next`))
			check("end", 0, false)
			for _, p := range tab.Problems() {
				t.Error(p)
			}
		})
	}

	// The clerk joins while the customer is at the code: the page stays
	// on the code and offers the call; the call offers the step still to
	// do; with the code done, a skipped letter leads back to the call.
	t.Run("clerk-first", func(t *testing.T) {
		id, link := open(t, "6222020200990011")
		tab := testenv.NewTab(t, browser, "phone-clerk-first", idv.origin)
		tab.Do(t, "open the invite, accept, pass the device check", 40*time.Second, phone(),
			chromedp.Navigate(link+"?lang=en"), chromedp.WaitVisible("#accept"), chromedp.Click("#accept"),
			chromedp.WaitReady(`body[data-ready]`), demobrowser.Press("#device-next"), chromedp.WaitVisible(`body[data-step="code"] #code`))
		peer := dialCall(t, ws+"/api/cases/"+string(id)+"/call/ws", cookieHeader(idv.origin, clerk.http.Jar), ivf, ogg)
		defer peer.close()
		peer.waitConnected(30 * time.Second)
		tab.Do(t, "the clerk joins during the code", 30*time.Second, chromedp.WaitVisible(`body[data-clerk="joined"][data-step="code"] #code-step .to-call`))
		tab.Do(t, "go to the call", 20*time.Second, chromedp.Click(`#code-step .to-call`),
			chromedp.WaitVisible(`body[data-step="call"][data-pending="code"] #resume`))
		if s := testenv.Eval[string](t, tab, "document.getElementById('resume').textContent"); !strings.Contains(s, "email code") {
			t.Errorf("the call's way back to the code says %q", s)
		}
		if c := testenv.Eval[string](t, tab, `document.querySelector('.progress-bar li[data-for="code"]').className`); c == "done" {
			t.Error("the progress bar shows the code done before it is")
		}
		tab.Do(t, "back to the code", 20*time.Second, chromedp.Click("#resume"), chromedp.WaitVisible(`body[data-step="code"] #code`))
		before := len(smtp.Messages())
		tab.Do(t, "ask for the code", 20*time.Second, demobrowser.Press("#code-send"))
		code, _ := mailWith(t, smtp, before, regexp.MustCompile(`\b[0-9]{6}\b`), 60*time.Second)
		tab.Do(t, "enter the code: the letter is next", 20*time.Second, chromedp.SendKeys("#code", code), demobrowser.Press("#code-check"),
			chromedp.WaitVisible(`body[data-step="letter"] #letter-skip`))
		tab.Do(t, "skip the letter: back in the call", 20*time.Second, chromedp.Click("#letter-skip"),
			chromedp.WaitVisible(`body[data-step="call"]:not([data-pending]) #leave`))
		tab.Do(t, "a reload remembers the skipped letter", 30*time.Second, chromedp.Reload(),
			chromedp.WaitVisible(`body[data-ready][data-step="call"], body[data-ready][data-step="wait"]`))
		for _, p := range tab.Problems() {
			t.Error(p)
		}
	})
}

// cookieHeader is the Cookie header of jar's cookies for origin.
func cookieHeader(origin string, jar http.CookieJar) http.Header {
	u, _ := url.Parse(origin)
	var parts []string
	for _, c := range jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return http.Header{"Cookie": {strings.Join(parts, "; ")}}
}
