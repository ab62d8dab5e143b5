package signaling_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"image"
	"log/slog"
	"math"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/access"
	"remoteidv/audit"
	"remoteidv/httpapi"
	"remoteidv/internal/synthcam"
	"remoteidv/internal/testenv"
	"remoteidv/signaling"
	"remoteidv/verify/facematch"
)

// livenessRun is one liveness challenge in Chromium: its outcome and what
// the clerk's peer received meanwhile.
type livenessRun struct {
	result  string // PASS or FAIL
	failure string
	reason  string
	detail  facematch.LivenessResult
	livelog [][3]any // what the live camera saw (genuine runs)
	// Video bytes the clerk received during the challenge and during as
	// long a stretch just before it (the same camera, no sampling).
	challengeBytes, baselineBytes int64
	challengeSecs, baselineSecs   float64
	afterBytes                    int64 // and as long a stretch after it
	afterSecs                     float64
}

// livenessSuite runs challenges against one fixture and one Chromium.
type livenessSuite struct {
	t       *testing.T
	f       *fixture
	web     string
	browser context.Context
}

func newLivenessSuite(t *testing.T) *livenessSuite {
	f := newFixture(t, signaling.Config{})
	log := slog.New(slog.DiscardHandler)
	now := f.g.Now
	acc := &access.Service{Store: f.store, Chain: audit.Chain{Now: now}, Now: now, Rand: rand.Reader, Idle: 15 * time.Minute, Absolute: 12 * time.Hour, Log: log}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	srv, err := httpapi.New(httpapi.Config{MaxBodyBytes: 64 << 10, BankName: "Demo Bank", AuditKey: pub}, httpapi.Services{Access: acc, Verify: f.svc,
		Desk: f.g.Desk, Calls: f.calls, Hub: f.hub, Store: f.store, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(srv.Handler())
	t.Cleanup(web.Close)
	y4m := testenv.Y4MFromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 320)
	return &livenessSuite{t: t, f: f, web: web.URL, browser: testenv.Chromium(t, y4m)}
}

// run opens a case of John Salley's account, lets the customer join in a
// new tab whose camera is script, and runs one challenge.
func (s *livenessSuite) run(name, script string) livenessRun {
	t := s.t
	t.Helper()
	id, tok := s.f.openCase(0)
	tab := testenv.NewTab(t, s.browser, name, s.web)
	defer tab.Close()
	ctx, cancel := context.WithTimeout(tab.Ctx, 90*time.Second)
	defer cancel()
	if err := synthcam.Install(ctx, script); err != nil {
		t.Fatal(err)
	}
	tab.Do(t, name+": open the invite and accept", 30*time.Second,
		chromedp.Navigate(s.web+"/join/"+tok), chromedp.WaitVisible("#accept"), chromedp.Click("#accept"), chromedp.WaitReady("#remote")) // the device check first
	clerk := dial(t, wsURL(s.f.srv.URL, "/ws/"+string(id)+"/clerk"), nil, source{})
	defer clerk.close("")
	tab.Do(t, name+": connected", 30*time.Second, chromedp.WaitVisible(`body[data-state="connected"]`))
	waitCount(t, "clerk video packets", clerk.videoIn.Load, 30, 20*time.Second)
	// The baseline: the clerk's video over a stretch before the challenge
	// (4 s when measuring for the README, else 1 s).
	b0, t0 := clerk.videoBytes.Load(), time.Now()
	if os.Getenv("IDV_LIVENESS_RUNS") != "" {
		time.Sleep(4 * time.Second)
	} else {
		time.Sleep(time.Second)
	}
	bb, tb := clerk.videoBytes.Load(), time.Now()
	clerk.send(signaling.Message{Type: signaling.TypeChallenge})
	// The sampling's window: from the first step to the end of the last
	// (colours last at most 1.2 s).
	if _, ok := clerk.waitFor(signaling.TypeChallenge, 30*time.Second); !ok {
		t.Fatalf("%s: the challenge never started", name)
	}
	b1, t1 := clerk.videoBytes.Load(), time.Now()
	for {
		m, ok := clerk.waitFor(signaling.TypeChallenge, 30*time.Second)
		if !ok {
			t.Fatalf("%s: the challenge's steps stopped", name)
		}
		if m.Index == m.Total {
			break
		}
	}
	time.Sleep(1200 * time.Millisecond)
	b2, t2 := clerk.videoBytes.Load(), time.Now()
	res, ok := clerk.waitFor(signaling.TypeResult, 90*time.Second)
	if !ok {
		t.Fatalf("%s: no liveness result", name)
	}
	// A second baseline after the challenge, when the sender's bandwidth
	// estimate has settled (only when measuring for the README).
	var ba, ta int64
	if os.Getenv("IDV_LIVENESS_RUNS") != "" {
		a0, at0 := clerk.videoBytes.Load(), time.Now()
		time.Sleep(4 * time.Second)
		ba, ta = clerk.videoBytes.Load()-a0, time.Since(at0).Milliseconds()
	}
	var d struct {
		Result facematch.LivenessResult `json:"result"`
	}
	if err := json.Unmarshal(res.Detail, &d); err != nil {
		t.Fatalf("%s: liveness detail: %v", name, err)
	}
	r := livenessRun{result: res.Result, failure: d.Result.Failure.String(), reason: d.Result.Reason, detail: d.Result,
		baselineBytes: bb - b0, baselineSecs: tb.Sub(t0).Seconds(), challengeBytes: b2 - b1,
		challengeSecs: t2.Sub(t1).Seconds(), afterBytes: ba, afterSecs: float64(ta) / 1000}
	r.livelog = testenv.Eval[[][3]any](t, tab, "window.__livelog || []")
	return r
}

// livenessRepeats is how often each kind runs: IDV_LIVENESS_RUNS (for the
// README's figures), else def.
func livenessRepeats(def int) int {
	if n, err := strconv.Atoi(os.Getenv("IDV_LIVENESS_RUNS")); err == nil && n > 0 {
		return n
	}
	return def
}

// TestLivenessAttacks is the liveness attack suite (docs/liveness.md):
// in Chromium, with canvas cameras, over loopback, the genuine synthetic
// customer (synthcam.LiveScript) must pass and every attack must fail:
// A1 a still photo, A2 three photos switched as prompted, A3 a flipbook
// of photos ordered by pose, A4 a replay of an earlier genuine session,
// A5 one photo warped as prompted. Each runs once in make test;
// IDV_LIVENESS_RUNS=N runs each N times and logs the rates (APCER per
// attack, BPCER) and the sampling's bandwidth against the same call's
// video just before and after the challenge; IDV_LIVENESS_ONLY=genuine
// runs only the genuine customer (for the BPCER).
func TestLivenessAttacks(t *testing.T) {
	if testing.Short() {
		t.Skip("Chromium")
	}
	s := newLivenessSuite(t)
	e := faceEngine(t)
	ctx := context.Background()
	// The customer's photos, measured: the frontal one the live camera
	// renders, and every one (and its mirror image) for the flipbook.
	var pages []testenv.FlipPhoto
	var frontal []byte
	var frontalYaw = math.Inf(1)
	var face image.Rectangle
	var marks []image.Point
	for i := 0; i < 11; i++ {
		b, err := os.ReadFile(testenv.JohnsPhoto(t, "John_Salley", i))
		if err != nil {
			t.Fatal(err)
		}
		a, err := e.Analyze(ctx, b)
		if err != nil || a.Status != facematch.StatusOK {
			continue
		}
		y := a.Face.Quality.Yaw
		pages = append(pages, testenv.FlipPhoto{JPEG: b, Yaw: y}, testenv.FlipPhoto{JPEG: b, Yaw: -y, Mirror: true})
		if i >= 2 && math.Abs(y) < math.Abs(frontalYaw) { // 0 and 1 are the account's reference photos
			frontal, frontalYaw = b, y
			face, marks = a.Face.Quality.FaceBox, nil
			for _, p := range a.Face.Landmarks {
				marks = append(marks, image.Pt(p.X, p.Y))
			}
		}
	}
	if frontal == nil || len(pages) < 6 {
		t.Fatalf("too few usable photos of John Salley: %d", len(pages))
	}
	left, right := pages[0], pages[0]
	for _, p := range pages {
		if p.Yaw > left.Yaw {
			left = p
		}
		if p.Yaw < right.Yaw {
			right = p
		}
	}
	must := func(js string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	live := func(seed uint32, replay [][3]any) string {
		return must(synthcam.LiveScript(frontal, synthcam.LiveOptions{Seed: seed, Replay: replay,
			Face: face, Landmarks: marks}))
	}
	a1 := must(synthcam.PoseScript(map[string]synthcam.PosePhoto{"center": {JPEG: frontal}}))
	a2 := must(synthcam.PoseScript(map[string]synthcam.PosePhoto{"center": {JPEG: frontal},
		"left": {JPEG: left.JPEG, Mirror: left.Mirror}, "right": {JPEG: right.JPEG, Mirror: right.Mirror}}))
	a3 := must(testenv.FlipbookScript(pages))
	a5 := must(testenv.WarpScript(frontal, 0.5)) // strong enough that both sides read as turned

	genuineRuns, attackRuns := livenessRepeats(1), livenessRepeats(1)
	type tally struct {
		runs, passed int
		failures     map[string]int
	}
	tallies := map[string]*tally{}
	var order []string
	var bwChallenge, bwBase, bwAfter, secsChallenge, secsBase, secsAfter float64
	var rates []float64
	record := func(kind string, r livenessRun) {
		tl := tallies[kind]
		if tl == nil {
			tl = &tally{failures: map[string]int{}}
			tallies[kind] = tl
			order = append(order, kind)
		}
		tl.runs++
		if r.result == "PASS" {
			tl.passed++
		} else {
			tl.failures[r.failure]++
		}
		bwChallenge += float64(r.challengeBytes)
		bwBase += float64(r.baselineBytes)
		secsChallenge += r.challengeSecs
		secsBase += r.baselineSecs
		bwAfter += float64(r.afterBytes)
		secsAfter += r.afterSecs
		rates = append(rates, r.detail.SampleRate)
		t.Logf("%s: %s %s: %s (%d samples, %.1f/s)", kind, r.result, r.failure, r.reason, len(r.detail.Samples), r.detail.SampleRate)
		if os.Getenv("IDV_LIVENESS_DUMP") != "" {
			b, _ := json.MarshalIndent(r.detail, "", " ")
			_ = os.WriteFile(fmt.Sprintf("%s/%s-%d.json", os.Getenv("IDV_LIVENESS_DUMP"), kind, tl.runs), b, 0o644)
		}
	}
	var replay [][3]any
	// In make test a rejected genuine customer runs the challenge once
	// more, as the clerk would (the story allows three tries): the BPCER
	// per challenge measured with IDV_LIVENESS_RUNS was 2 in 15
	// (docs/liveness.md), so one try alone would fail make test that often.
	measuring := os.Getenv("IDV_LIVENESS_RUNS") != ""
	lastGenuine := "PASS"
	for i := 0; i < genuineRuns; i++ {
		r := s.run(fmt.Sprintf("genuine-%d", i+1), live(uint32(i+1)*2654435761, nil))
		record("genuine", r)
		if r.result != "PASS" && !measuring {
			r = s.run(fmt.Sprintf("genuine-%d-again", i+1), live(uint32(i+1)*2654435761+1, nil))
			record("genuine", r)
		}
		lastGenuine = r.result
		if replay == nil && len(r.livelog) > 0 {
			replay = r.livelog
		}
	}
	if replay == nil {
		t.Fatal("the live camera logged no prompts: nothing to replay")
	}
	attacks := []struct{ kind, script string }{
		{"A1 still photo", a1},
		{"A2 three photos switched", a2},
		{"A3 flipbook", a3},
		{"A4 replayed session", live(7, replay)},
		{"A5 warped photo", a5},
	}
	if os.Getenv("IDV_LIVENESS_ONLY") == "genuine" { // a BPCER run
		attackRuns = 0
	}
	for i := 0; i < attackRuns; i++ {
		for _, a := range attacks {
			record(a.kind, s.run(fmt.Sprintf("%s-%d", a.kind[:2], i+1), a.script))
		}
	}
	var report strings.Builder
	fmt.Fprintf(&report, "kind | runs | accepted | rate | failures\n")
	for _, kind := range order {
		tl := tallies[kind]
		rate := float64(tl.passed) / float64(tl.runs)
		what := "APCER"
		if kind == "genuine" {
			rate, what = float64(tl.runs-tl.passed)/float64(tl.runs), "BPCER"
		}
		fmt.Fprintf(&report, "%s | %d | %d | %s %d/%d = %.3f | %v\n", kind, tl.runs, tl.passed, what, int(math.Round(rate*float64(tl.runs))), tl.runs, rate, tl.failures)
	}
	sort64 := func(v []float64) (lo, hi float64) {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, x := range v {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
		return
	}
	lo, hi := sort64(rates)
	fmt.Fprintf(&report, "sample rate %.2f..%.2f /s; clerk's video during the challenge %.0f kbit/s, before it %.0f kbit/s (ratio %.2f)\n",
		lo, hi, bwChallenge*8/1000/secsChallenge, bwBase*8/1000/secsBase, (bwChallenge/secsChallenge)/(bwBase/secsBase))
	if secsAfter > 0 {
		fmt.Fprintf(&report, "clerk's video after the challenge %.0f kbit/s (ratio during/after %.2f)\n", bwAfter*8/1000/secsAfter, (bwChallenge/secsChallenge)/(bwAfter/secsAfter))
	}
	t.Logf("liveness attack suite:\n%s", report.String())
	for _, kind := range order {
		tl := tallies[kind]
		if kind == "genuine" {
			if bpcer := float64(tl.runs-tl.passed) / float64(tl.runs); (measuring && bpcer > 0.1) || (!measuring && lastGenuine != "PASS") {
				t.Errorf("the genuine live customer failed %d of %d challenges (BPCER target <= 0.10): %v", tl.runs-tl.passed, tl.runs, tl.failures)
			}
		} else if tl.passed > 0 {
			t.Errorf("attack %s passed %d of %d challenges", kind, tl.passed, tl.runs)
		}
	}
}
