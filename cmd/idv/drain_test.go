package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/signaling"
	"remoteidv/verify"
)

// liveCall is a case whose call runs: the clerk and the customer are
// both in it, sending media.
type liveCall struct {
	id       models.CaseID
	link     string // the invite link the customer opened
	clerk    *staffAPI
	customer *http.Client
	peers    map[string]*callPeer // "clerk", "customer"
}

// startCall opens a case for a demo account (idv demo load), sends the
// invite, has the customer open the link and consent, and joins both to
// the call with Go peers sending media; it returns once media flows both
// ways.
func startCall(t *testing.T, idv *e2eIDV, account string) *liveCall {
	t.Helper()
	ny, _ := time.LoadLocation("America/New_York")
	lc := &liveCall{clerk: loginAPI(t, idv.origin, "clerk"), peers: map[string]*callPeer{}}
	var cs struct{ ID models.CaseID }
	b := lc.clerk.must(201, "POST", "/api/cases", map[string]any{"account_no": account, "purpose": "transaction_statement",
		"period_from": "2025-01-01", "period_to": "2025-12-31",
		"slot": map[string]string{"local": time.Now().In(ny).Add(5 * time.Minute).Format("2006-01-02T15:04"), "time_zone": "America/New_York"}}, nil)
	if err := json.Unmarshal(b, &cs); err != nil {
		t.Fatal(err)
	}
	lc.id = cs.ID
	var inv struct{ Link string }
	if err := json.Unmarshal(lc.clerk.must(201, "POST", "/api/cases/"+string(cs.ID)+"/invite", nil, nil), &inv); err != nil {
		t.Fatal(err)
	}
	lc.link = inv.Link
	jar, _ := cookiejar.New(nil)
	lc.customer = &http.Client{Jar: jar, Timeout: time.Minute}
	resp, err := lc.customer.Get(inv.Link)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("customer opens the invite link: %v %v", resp, err)
	}
	resp.Body.Close()
	// The link's page spends nothing; its button posts the consent back to
	// the link, which spends it and redirects to /call.
	consent := verify.ConsentText("en")
	req, _ := http.NewRequest("POST", inv.Link, strings.NewReader(url.Values{"version": {consent.Version}, "locale": {"en"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", idv.origin)
	if resp, err = lc.customer.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("customer consents: %v %v", resp, err)
	}
	resp.Body.Close()
	ivf := testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 160)
	ogg := testenv.OpusTone(t, 2)
	ws := "ws" + strings.TrimPrefix(idv.origin, "http")
	cookies := func(jar http.CookieJar) http.Header {
		u, _ := url.Parse(idv.origin)
		var parts []string
		for _, c := range jar.Cookies(u) {
			parts = append(parts, c.Name+"="+c.Value)
		}
		return http.Header{"Cookie": {strings.Join(parts, "; ")}}
	}
	lc.peers["customer"] = dialCall(t, ws+"/call/ws", cookies(lc.customer.Jar), ivf, ogg)
	lc.peers["clerk"] = dialCall(t, ws+"/api/cases/"+string(cs.ID)+"/call/ws", cookies(lc.clerk.http.Jar), ivf, ogg)
	for _, p := range lc.peers {
		p.waitConnected(30 * time.Second)
	}
	return lc
}

// noiseLetter is a 600x400 PNG of noise: large, and its bytes are unique.
func noiseLetter(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 600, 400))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
	}
	img.Set(0, 0, color.Black)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// slowUpload sends body (a PNG letter) to the case over d, a chunk at a
// time, and returns the status the server answered; started tells when
// the first bytes are on their way.
func slowUpload(t *testing.T, c *staffAPI, id models.CaseID, body []byte, d time.Duration, started chan<- struct{}) (int, error) {
	pr, pw := io.Pipe()
	go func() {
		const chunks = 20
		for i := range chunks {
			if _, err := pw.Write(body[i*len(body)/chunks : (i+1)*len(body)/chunks]); err != nil {
				return
			}
			if i == 0 {
				close(started)
			}
			time.Sleep(d / chunks)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", c.base+"/api/cases/"+string(id)+"/letters", pr)
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "image/png")
	req.Header.Set("X-CSRF-Token", c.csrf)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		t.Logf("slow upload answered %d %s", resp.StatusCode, b)
	}
	return resp.StatusCode, nil
}

// TestSIGTERMUnderLoad sends SIGTERM to `idv serve` (a child process)
// while a call runs (clerk and customer sending media, recorded) and a
// slow upload is in flight. The process must let the upload finish (201),
// tell both call peers that the call ends because the server shuts down
// (bye, reason "server shutting down"), suspend the call with its
// recording whole (the parties' rejoin continues it), release the archiver's leases, sign a last checkpoint
// covering the last audit event, and exit 0, all within the HTTP drain
// bound of serveAndRun (25 s, below the usual 30 s pod grace period); the
// drain is measured. No half-written row is left (idv check).
//
// The server logs at debug level, and nothing it wrote to its standard
// output or error (all of it, slog or not), nor any audit detail, holds a
// secret the test used: the staff password, session cookies and CSRF
// token, the invite link and token, the customer's cookie, national ID
// numbers, the bytes of the uploaded letter.
func TestSIGTERMUnderLoad(t *testing.T) {
	const drainBound = 25 * time.Second // serveAndRun's HTTP drain (jobs.go)
	idv := newE2EIDV(t, map[string]string{"IDV_REQUIRE_MODELS": "false", "IDV_MODELS_DIR": t.TempDir(), "IDV_LOG_LEVEL": "debug",
		"IDV_REGISTRY_HOURS": "00:00-23:59"})
	if out, err := idv.cli("demo", "load"); err != nil {
		t.Fatalf("demo load: %v\n%s", err, out)
	}
	p := idv.spawn("idv serve", nil, "serve")
	p.serving(idv.origin, 60*time.Second)
	lc := startCall(t, idv, "6222020200112233")
	time.Sleep(2 * time.Second) // some media recorded

	const uploadTime = 4 * time.Second
	started := make(chan struct{})
	type answer struct {
		code int
		err  error
		at   time.Time
	}
	upload := make(chan answer, 1)
	letter := noiseLetter(t)
	go func() {
		code, err := slowUpload(t, lc.clerk, lc.id, letter, uploadTime, started)
		upload <- answer{code, err, time.Now()}
	}()
	<-started
	time.Sleep(500 * time.Millisecond)
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	st := p.exit(2 * drainBound)
	drain := time.Since(sent)
	t.Logf("SIGTERM to exit: %v (bound %v); the in-flight upload needed about %v more", drain.Round(time.Millisecond), drainBound, uploadTime-500*time.Millisecond)
	if st.ExitCode() != 0 {
		t.Errorf("idv serve after SIGTERM exited %v, want 0", st)
	}
	if drain > drainBound {
		t.Errorf("SIGTERM to exit took %v, want at most %v", drain, drainBound)
	}
	up := <-upload
	if up.err != nil || up.code != 201 {
		t.Errorf("the upload in flight at SIGTERM = %d, %v; want 201 (drained, not cut)", up.code, up.err)
	} else if up.at.Before(sent) {
		t.Errorf("the upload finished before SIGTERM: nothing was in flight")
	}
	for name, peer := range lc.peers {
		if m, ok := peer.waitFor(signaling.TypeBye, nil, 5*time.Second); !ok || m.Reason != "server shutting down" {
			t.Errorf("%s's call peer got %+v (bye %t), want bye with reason %q; messages %+v", name, m, ok, "server shutting down", peer.messages())
		}
	}
	for _, want := range []string{"shutting down: draining requests (at most 25s)", `msg="call suspended"`, `case_id=` + string(lc.id) + ` call=` + string(calls0(t, idv, lc.id)) + ` leg=1 reason="server shutting down" recording_complete=true`, "msg=stopped"} {
		if !strings.Contains(p.log.String(), want) {
			t.Errorf("serve's log lacks %q", want)
		}
	}

	// What the process left behind.
	var head models.AuditHead
	var cps []*models.Checkpoint
	var leased, pending int
	var calls []*models.Call
	var items []*models.Evidence
	idv.withStore(func(ctx context.Context, tx models.Tx) (err error) {
		if head, err = tx.AuditHeadForUpdate(ctx); err != nil {
			return err
		}
		if cps, err = tx.Checkpoints(ctx); err != nil {
			return err
		}
		if calls, err = tx.CallsByCase(ctx, lc.id); err != nil {
			return err
		}
		items, err = tx.EvidenceByCase(ctx, lc.id)
		return err
	})
	for _, e := range items {
		if e.ArchivedAt == nil {
			pending++
			if e.LeaseOwner != "" || e.LeaseUntil != nil {
				leased++
			}
		}
	}
	if len(cps) == 0 || cps[len(cps)-1].Seq != head.Seq {
		last := int64(-1)
		if len(cps) > 0 {
			last = cps[len(cps)-1].Seq
		}
		t.Errorf("last checkpoint covers seq %d, the audit head is %d: the last checkpoint must cover the last event", last, head.Seq)
	}
	if leased > 0 {
		t.Errorf("%d of %d items waiting for the archiver are still leased after the shutdown", leased, pending)
	}
	if len(calls) != 1 || calls[0].EndedAt != nil || calls[0].SuspendedAt == nil || calls[0].Recording != models.RecordingComplete || len(calls[0].Segments) < 4 {
		t.Errorf("calls after the shutdown = %s, want one suspended by the shutdown, its recording complete with 4 segments", describeCalls(calls))
	}
	t.Logf("audit head %d, %d checkpoints; %d evidence items of the case, %d waiting (not leased)", head.Seq, len(cps), len(items), pending)
	idv.check("after SIGTERM")

	secrets := &storySecrets{origin: idv.origin}
	secrets.add(t, "the staff password", e2ePassword)
	for _, a := range demoAccounts {
		secrets.add(t, "the national ID number of "+a.name, a.nationalID)
	}
	secrets.add(t, "the invite link", lc.link)
	secrets.add(t, "the invite token", lc.link[strings.LastIndex(lc.link, "/")+1:])
	secrets.add(t, "the clerk's CSRF token", lc.clerk.csrf)
	u, _ := url.Parse(idv.origin)
	for who, jar := range map[string]http.CookieJar{"the clerk's": lc.clerk.http.Jar, "the customer's": lc.customer.Jar} {
		for _, c := range jar.Cookies(u) {
			secrets.add(t, who+" cookie "+c.Name, c.Value)
		}
	}
	secrets.addBytes(t, "the bytes of the letter", letter)
	trail, _ := auditText(t, idv)
	if n := secrets.check(t, "the server's output", p.log.String()) + secrets.check(t, "the audit trail", trail); n == 0 {
		t.Logf("no secret in %d lines of output (log level debug) nor in the audit trail (looked for %s)", strings.Count(p.log.String(), "\n"), secrets.kinds())
	}
}

// calls0 returns the ID of the case's first call.
func calls0(t *testing.T, idv *e2eIDV, id models.CaseID) models.CallID {
	t.Helper()
	var call models.CallID
	idv.withStore(func(ctx context.Context, tx models.Tx) error {
		calls, err := tx.CallsByCase(ctx, id)
		if err == nil && len(calls) > 0 {
			call = calls[0].ID
		}
		return err
	})
	return call
}

func describeCalls(calls []*models.Call) string {
	var b strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&b, "[%s ended %v reason %q suspended %v legs %d recording %s, %d segments] ", c.ID, c.EndedAt != nil, c.EndReason, c.SuspendedAt != nil, c.Legs, c.Recording, len(c.Segments))
	}
	return b.String()
}
