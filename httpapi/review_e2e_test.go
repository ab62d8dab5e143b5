package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"remoteidv/mail"
	"remoteidv/mail/mailtest"
	"remoteidv/models"
	"remoteidv/registry"
	"remoteidv/storage/archiver"
	"remoteidv/verify"
)

// letterPNG is a white page with a pen stroke where the signature is.
func letterPNG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 600, 400))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for x := 300; x < 420; x++ {
		img.Set(x, 320+x%15, color.Black)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func getBytes(t *testing.T, c *client, path string) (int, []byte, http.Header) {
	t.Helper()
	resp, err := c.http.Get(c.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// TestReviewThroughTheAPI takes a case from its invite to closed over HTTP
// (see runReviewStory).
func TestReviewThroughTheAPI(t *testing.T) {
	runReviewStory(t, newStoryEnv(t, "sqlite"))
}

// storyEnv is an env (on a database of the kind named) with the face
// engine, a registry holding Li Wei with John Salley's face, and a real
// SMTP server behind a mail sender the story can point elsewhere (a
// server that is down).
type storyEnv struct {
	*env
	smtpSrv *mailtest.Server
	mailer  *switchMailer
	// statementPassword, when set, is chosen by the customer during the
	// call: the statement is mailed in the AES-256 envelope.
	statementPassword string
}

func newStoryEnv(t *testing.T, kind string) *storyEnv {
	t.Helper()
	regSrv := registry.NewServer([]registry.Record{{IDNumber: "110101199003071234", Name: "Li Wei", Status: models.RegistryValid,
		Photo: readPhoto(t, "John_Salley", 2), UpdatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}, "", slog.New(slog.DiscardHandler))
	reg := httptest.NewServer(regSrv)
	t.Cleanup(reg.Close)
	se := &storyEnv{smtpSrv: mailtest.Start(t, mailtest.Options{})}
	se.mailer = &switchMailer{to: smtpSender(t, se.smtpSrv.Addr)}
	se.env = newEnvWith(t, kind, envOptions{faces: true, desk: verify.DeskDeps{Registry: &registry.Client{BaseURL: reg.URL, Timeout: 2 * time.Second},
		Mailer: se.mailer, MailFrom: "noreply@bank.example"}})
	regSrv.Now = func() time.Time { return se.env.now } // the registry answers with data as of the env's clock
	// The statement's ledger: a booking in the period, and an import
	// complete past it (submission needs both).
	ctx := context.Background()
	if err := se.env.store.Transact(ctx, func(tx models.Tx) error {
		if _, err := tx.AddLedgerEntries(ctx, []*models.LedgerEntry{{AccountNo: "6222000011112222", BookedAt: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC),
			Description: "Salary transfer", Amount: 500000, Currency: "CNY"}}); err != nil {
			return err
		}
		through := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
		return tx.RecordLedgerImport(ctx, &models.LedgerImport{ImportedAt: through, Through: through, Actor: "test", Source: "ledger.csv", Read: 1, Added: 1})
	}); err != nil {
		t.Fatal(err)
	}
	return se
}

// switchMailer sends through the mail sender it is pointed at.
type switchMailer struct {
	mu sync.Mutex
	to models.MailSender
}

func (m *switchMailer) point(to models.MailSender) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.to = to
}

func (m *switchMailer) Send(ctx context.Context, from string, to []string, raw []byte) (string, error) {
	m.mu.Lock()
	s := m.to
	m.mu.Unlock()
	return s.Send(ctx, from, to, raw)
}

func smtpSender(t testing.TB, addr string) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(mail.SMTPConfig{Addr: addr, TLS: mail.TLSNone, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// reviewStory is what a full case leaves in the test's hands: the secrets
// that must not rest in the database.
type reviewStory struct {
	caseID   string
	link     string   // the invite link as mailed
	token    string   // the invite token in it
	codes    []string // email codes: one expired undelivered, one used
	pdf      []byte   // the statement as mailed (taken out of the envelope when the customer chose a password)
	envelope []byte   // the mailed AES-256 envelope, when the customer chose a password
	mails    [][]byte // every message the SMTP servers received
	cookies  []string // session cookies of the customer and the staff
}

// runReviewStory takes a case from its invite to closed over HTTP: the
// invite mailed to the customer, the customer's consent and email code
// (a first code expires in the outbox while the mail server is down), the
// clerk's letter, scope, signature verdict and registry check, submission,
// the supervisor's approval after step-up, sealing, release with the SMTP
// server down first, delivery to the registered address, and the printed
// copy. The call runs through verify.Calls without media (verifytest): a
// live capture matched by the real face engine, confirmed over the API, and
// a complete recording; the liveness check is recorded through the store
// (signaling's tests drive it over the media path).
func runReviewStory(t *testing.T, se *storyEnv) *reviewStory {
	t.Helper()
	e, desk, smtpSrv := se.env, se.g.Desk, se.smtpSrv
	smtp := func(addr string) models.MailSender { return smtpSender(t, addr) }
	out := &reviewStory{}
	e.withFaces(t)
	ctx := context.Background()
	now := func() time.Time { return e.now }

	// The archiver moves the staged evidence into the env's evidence folder.
	arch, err := archiver.New(e.store, e.g.Evidence, archiver.Config{Rand: rand.Reader, Now: now}, nil)
	if err != nil {
		t.Fatal(err)
	}

	// The invite goes out by mail; the customer opens the mailed link.
	e.now = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	inviter := e.login(t, "clerk")
	id := e.createCase(t, inviter)
	out.caseID = id
	if code := inviter.do("POST", "/api/cases/"+id+"/invite/email", nil, nil); code != 201 {
		t.Fatalf("mail invite: %d", code)
	}
	if n, err := desk.DeliverMail(ctx, "t"); n != 1 || err != nil {
		t.Fatalf("deliver invite: %d %v", n, err)
	}
	p, err := mailtest.Parse(smtpSrv.Wait(t, 1, 5*time.Second)[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	out.link = regexp.MustCompile(`http://127\.0\.0\.1:8080/join/[A-Za-z0-9_-]+`).FindString(p.Text)
	ics := strings.NewReplacer("\r\n ", "", "\n ", "").Replace(string(p.Attachments["call.ics"])) // unfolded
	if out.link == "" || !strings.Contains(ics, out.link) {
		t.Fatalf("invite mail without the link in text and calendar: %q", p.Text)
	}
	link := strings.TrimPrefix(out.link, "http://127.0.0.1:8080")
	out.token = strings.TrimPrefix(link, "/join/")
	e.now = time.Date(2026, 12, 1, 13, 50, 0, 0, time.UTC)
	clerk := e.login(t, "clerk")
	sup := e.login(t, "supervisor")
	base := "/api/cases/" + id

	// The customer opens the link and consents (the video sessions' routes).
	customer := consentedCustomer(t, e, link)
	if pw := se.statementPassword; pw != "" {
		if code := customer.do("POST", "/call/statement-password", map[string]string{"password": pw, "confirm": pw}, nil); code != 200 {
			t.Fatalf("statement password: %d", code)
		}
	}
	call := e.g.StartCall(t, models.CaseID(id), e.clerkActor(t, id))
	capture := call.Capture(e.clerkActor(t, id), readPhoto(t, "John_Salley", 3))
	var checks struct {
		Checks []struct {
			ID      string `json:"id"`
			Result  string `json:"result"`
			Source  string `json:"source"`
			Call    string `json:"call_id"`
			Segment int    `json:"segment"`
			MediaMS *int64 `json:"media_ms"`
		} `json:"checks"`
	}
	if code := clerk.do("GET", base+"/checks", nil, &checks); code != 200 || len(checks.Checks) != 1 {
		t.Fatalf("checks: %d %+v", code, checks)
	}
	if k := checks.Checks[0]; k.ID != string(capture.ID) || k.Result != "MATCH" || k.Source != "live_call" || k.Call != string(call.ID) || k.Segment != 1 || k.MediaMS == nil {
		t.Fatalf("the live capture over the API = %+v, want MATCH from live_call with its call, segment and media time", k)
	}
	if code := clerk.do("POST", base+"/checks/"+string(capture.ID)+"/confirm", map[string]any{"confirmed": true, "note": "same person"}, nil); code != 200 {
		t.Fatalf("confirm the capture: %d", code)
	}
	err = e.store.Transact(ctx, func(tx models.Tx) error {
		return tx.CreateCheck(ctx, &models.Check{ID: "chk_l", CaseID: models.CaseID(id), Kind: models.CheckLiveness, Result: "PASS", Detail: []byte("{}"), Actor: "staff:clerk", CreatedAt: e.now})
	})
	if err != nil {
		t.Fatal(err)
	}
	call.End()

	// Letter, scope, signature, registry.
	var l struct {
		ID string `json:"id"`
	}
	if code := clerk.raw("POST", base+"/letters", "image/png", bytes.NewReader(letterPNG(t)), &l); code != 201 {
		t.Fatalf("upload letter: %d", code)
	}
	scope := map[string]any{"account_no": "6222000011112222", "service": "transaction_statement", "period_from": "2025-01-01", "period_to": "2025-12-31", "registered_email": true}
	wrong := map[string]any{"account_no": "6222000099998888", "service": "transaction_statement", "period_from": "2025-01-01", "period_to": "2025-12-31", "registered_email": true}
	if code := clerk.do("POST", base+"/letters/"+l.ID+"/scope", wrong, nil); code != 400 {
		t.Fatalf("scope for another account: %d, want 400", code)
	}
	if code := clerk.do("POST", base+"/letters/"+l.ID+"/scope", scope, nil); code != 200 {
		t.Fatalf("scope: %d", code)
	}
	if code, b, _ := getBytes(t, clerk, base+"/letters/"+l.ID+"/content"); code != 200 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("letter content: %d", code)
	}
	if code, _, h := getBytes(t, clerk, base+"/specimen"); code != 200 || h.Get("Content-Type") != "image/png" {
		t.Fatalf("specimen: %d", code)
	}
	// A verdict is a deliberate choice: a request without one (no field,
	// null, empty) or with anything but pass, fail or inconclusive is
	// refused, and nothing is recorded.
	for _, tt := range []struct {
		name    string
		verdict any // absent when omit
		omit    bool
	}{
		{name: "no verdict field", omit: true},
		{name: "null", verdict: nil},
		{name: "empty", verdict: ""},
		{name: "upper case", verdict: "PASS"},
		{name: "a placeholder's text", verdict: "choose"},
	} {
		body := map[string]any{"letter_id": l.ID, "region": map[string]int{"x": 280, "y": 300, "w": 160, "h": 60}, "reason": "matches the specimen's letter forms"}
		if !tt.omit {
			body["verdict"] = tt.verdict
		}
		if code := clerk.do("POST", base+"/signature-check", body, nil); code != 400 {
			t.Errorf("signature check with %s = %d, want 400", tt.name, code)
		}
	}
	var recorded struct{ Checks []struct{ Kind string } }
	if code := clerk.do("GET", base+"/checks", nil, &recorded); code != 200 {
		t.Fatalf("checks: %d", code)
	}
	for _, ch := range recorded.Checks {
		if ch.Kind == "signature" {
			t.Fatalf("a signature check was recorded without an explicit verdict: %+v", recorded.Checks)
		}
	}
	sig := map[string]any{"letter_id": l.ID, "region": map[string]int{"x": 280, "y": 300, "w": 160, "h": 60}, "verdict": "pass", "reason": "matches the specimen's letter forms"}
	if code := clerk.do("POST", base+"/signature-check", sig, nil); code != 201 {
		t.Fatalf("signature check: %d", code)
	}
	var rc struct {
		Result        string `json:"result"`
		PhotoMatch    string `json:"photo_match"`
		Hours         string `json:"service_hours"`
		CaptureSHA256 string `json:"capture_sha256"`
		PhotoSHA256   string `json:"registry_photo_sha256"`
	}
	if code := clerk.do("POST", base+"/registry-check", nil, &rc); code != 201 || rc.Result != "PASS" || rc.PhotoMatch != "MATCH" || rc.Hours != "07:30-19:00 Asia/Shanghai" ||
		len(rc.CaptureSHA256) != 64 || len(rc.PhotoSHA256) != 64 {
		t.Fatalf("registry check: %d %+v", code, rc)
	}

	// The customer's email code. The first one waits in the outbox while
	// the mail server is down and expires there; the second arrives.
	down := mailtest.FreeAddr(t)
	se.mailer.point(smtp(down))
	if code := customer.do("POST", "/call/code", nil, nil); code != 202 {
		t.Fatalf("request code: %d", code)
	}
	if n, _ := desk.DeliverMail(ctx, "t"); n != 0 {
		t.Fatalf("delivered %d codes with the server down", n)
	}
	err = e.store.Transact(ctx, func(tx models.Tx) error {
		ms, err := tx.MailByCase(ctx, models.CaseID(id))
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ms, func(m *models.OutboundMail) bool { return m.Kind == mail.KindCode })
		if i < 0 {
			return fmt.Errorf("no code mail queued")
		}
		queued, err := mailtest.Parse(ms[i].Raw)
		if err != nil {
			return err
		}
		out.codes = append(out.codes, regexp.MustCompile(`\b[0-9]{6}\b`).FindString(queued.Text))
		return nil
	})
	if err != nil || out.codes[0] == "" {
		t.Fatalf("queued code mail: %v", err)
	}
	e.now = e.now.Add(verify.CodeValidity)
	if n, _ := desk.DeliverMail(ctx, "t"); n != 0 {
		t.Fatalf("delivered %d codes with the server down", n)
	}
	se.mailer.point(smtp(smtpSrv.Addr))
	if code := customer.do("POST", "/call/code", nil, nil); code != 202 {
		t.Fatalf("request code again: %d", code)
	}
	if n, err := desk.DeliverMail(ctx, "t"); n != 1 || err != nil {
		t.Fatalf("deliver code: %d %v", n, err)
	}
	p, err = mailtest.Parse(smtpSrv.Wait(t, 2, 5*time.Second)[1].Data)
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`\b[0-9]{6}\b`).FindString(p.Text)
	out.codes = append(out.codes, code)
	bad := "000000"
	if code == bad {
		bad = "000001"
	}
	if c := customer.do("POST", "/call/code/verify", map[string]string{"code": bad}, nil); c != 403 {
		t.Fatalf("wrong code: %d, want 403", c)
	}
	if c := customer.do("POST", "/call/code/verify", map[string]string{"code": code}, nil); c != 200 {
		t.Fatalf("right code: %d", c)
	}
	if c := customer.do("POST", "/call/code/verify", map[string]string{"code": code}, nil); c != 410 {
		t.Fatalf("replayed code: %d, want 410", c)
	}

	// Submit, approve after step-up.
	if c := clerk.do("POST", base+"/submit", nil, nil); c != 200 {
		t.Fatalf("submit: %d", c)
	}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if c := sup.do("POST", "/api/auth/step-up", map[string]string{"password": password}, &me); c != 200 {
		t.Fatalf("step-up: %d", c)
	}
	sup.csrf = me.CSRF
	// The supervisor sees the statement the submission generated (its
	// hash on the case, the file itself) and approves exactly that hash.
	var cv struct {
		Statement struct {
			ID     string `json:"id"`
			SHA256 string `json:"sha256"`
		} `json:"statement"`
	}
	if c := sup.do("GET", base, nil, &cv); c != 200 || !strings.HasPrefix(cv.Statement.ID, "stm_") || len(cv.Statement.SHA256) != 64 {
		t.Fatalf("case as the supervisor sees it: %d %+v, want its statement", c, cv)
	}
	c, viewed, h := sup.keyed("GET", base+"/statement", "", nil)
	if sum := sha256.Sum256(viewed); c != 200 || hex.EncodeToString(sum[:]) != cv.Statement.SHA256 || h.Get("X-Content-SHA256") != cv.Statement.SHA256 || !bytes.HasPrefix(viewed, []byte("%PDF-")) {
		t.Fatalf("statement for review: %d, %d bytes, header %s, want the file of hash %s", c, len(viewed), h.Get("X-Content-SHA256"), cv.Statement.SHA256)
	}
	c, preview, h := sup.keyed("GET", base+"/statement/preview", "", nil)
	if c != 200 || h.Get("Content-Type") != "image/png" || h.Get("X-Statement-SHA256") != cv.Statement.SHA256 || !bytes.HasPrefix(preview, []byte("\x89PNG")) {
		t.Fatalf("statement preview: %d %s, %d bytes, for %s; want a PNG of the statement %s", c, h.Get("Content-Type"), len(preview), h.Get("X-Statement-SHA256"), cv.Statement.SHA256)
	}
	other, _ := json.Marshal(map[string]string{"decision": "approve", "reason": "all checks passed", "statement_sha256": strings.Repeat("ab", 32)})
	if c, b, _ := sup.keyed("POST", base+"/decision", "approve-0", other); c != 409 {
		t.Fatalf("approval of another statement hash: %d %s, want 409", c, b)
	}
	approve, _ := json.Marshal(map[string]string{"decision": "approve", "reason": "all checks passed", "statement_sha256": cv.Statement.SHA256})
	if c, b, _ := sup.keyed("POST", base+"/decision", "approve-1", approve); c != 200 {
		t.Fatalf("decision: %d %s", c, b)
	}

	// Seal once the archiver has stored everything.
	if _, err := arch.Drain(ctx, "t/0"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ver.Seal(ctx, models.CaseID(id)); err != nil {
		t.Fatalf("seal: %v", err)
	}

	// Release with the mail server down: the case is released, the mail waits.
	se.mailer.point(smtp(down))
	c, first, _ := clerk.keyed("POST", base+"/release", "release-1", nil)
	if c != 200 {
		t.Fatalf("release: %d %s", c, first)
	}
	if c, again, _ := clerk.keyed("POST", base+"/release", "release-1", nil); c != 200 || !bytes.Equal(again, first) {
		t.Fatalf("release replay: %d %s", c, again)
	}
	if c, b, _ := sup.keyed("POST", base+"/release", "release-2", nil); c != 409 {
		t.Fatalf("second release: %d %s, want 409", c, b)
	}
	if n, _ := desk.DeliverMail(ctx, "t"); n != 0 {
		t.Fatalf("delivered %d with the server down", n)
	}
	up := mailtest.Start(t, mailtest.Options{Addr: down})
	e.now = e.now.Add(time.Minute)
	// The statement, and the decision's notice to the customer (what
	// happens next), queued while the server was down.
	if n, err := desk.DeliverMail(ctx, "t"); n != 2 || err != nil {
		t.Fatalf("deliver statement and the approved notice: %d %v", n, err)
	}
	msgs := up.Wait(t, 2, 5*time.Second)
	p = nil
	for _, m := range msgs {
		if !slices.Equal(m.To, []string{"li.wei@example.com"}) {
			t.Fatalf("mail sent to %v", m.To)
		}
		pm, err := mailtest.Parse(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if len(pm.Attachments) > 0 {
			p = pm
		}
	}
	if p == nil {
		t.Fatal("no mail with the statement attached")
	}
	var pdf []byte
	for _, b := range p.Attachments {
		pdf = b
	}
	var rel struct {
		Mail struct {
			Encrypted        bool   `json:"encrypted"`
			AttachmentSHA256 string `json:"attachment_sha256"`
		} `json:"mail"`
	}
	if err := json.Unmarshal(first, &rel); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(pdf); rel.Mail.Encrypted != (se.statementPassword != "") || rel.Mail.AttachmentSHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("release answer %s: want encrypted %v and the mailed attachment's SHA-256 %x", first, se.statementPassword != "", sum)
	}
	if se.statementPassword != "" {
		out.envelope = pdf
		pdf = detach(t, pdf, se.statementPassword)
	}
	if !bytes.Equal(pdf, viewed) {
		t.Fatalf("the mailed statement (%d bytes) is not the file the supervisor saw and approved (%d bytes)", len(pdf), len(viewed))
	}
	var cs struct {
		State string `json:"state"`
	}
	if c := sup.do("GET", base, nil, &cs); c != 200 || cs.State != "closed" {
		t.Fatalf("case after delivery: %d %+v, want closed", c, cs)
	}
	if c, printed, h := getBytes(t, clerk, base+"/statement"); c != 200 || !bytes.Equal(printed, pdf) || h.Get("Content-Type") != "application/pdf" {
		t.Fatalf("printed statement: %d, %d bytes (mailed %d)", c, len(printed), len(pdf))
	}
	var tl struct {
		Events []struct {
			Action string `json:"action"`
		} `json:"events"`
	}
	if c := sup.do("GET", base+"/timeline", nil, &tl); c != 200 {
		t.Fatalf("timeline: %d", c)
	}
	var actions []string
	for _, ev := range tl.Events {
		actions = append(actions, ev.Action)
	}
	for _, want := range []string{"case.submit", "case.approve", "case.seal", "case.release", "statement.delivered", "case.close", "statement.printed"} {
		if !slices.Contains(actions, want) {
			t.Errorf("timeline lacks %s: %v", want, actions)
		}
	}
	raw, _ := json.Marshal(tl)
	if strings.Contains(string(raw), code) {
		t.Error("the timeline carries the email code")
	}
	checkStatementPublicly(t, e.anon(t), cv.Statement.ID, pdf)
	out.pdf = pdf
	for _, m := range append(smtpSrv.Messages(), up.Messages()...) {
		out.mails = append(out.mails, m.Data)
	}
	for _, c := range []*client{customer, clerk, sup, inviter} {
		u, _ := url.Parse(c.base)
		for _, k := range c.http.Jar.Cookies(u) {
			out.cookies = append(out.cookies, k.Value)
		}
	}
	return out
}

// checkStatementPublicly is a recipient of the released statement at
// /v/{id}, without a login: the ID, the file itself, an altered copy, a
// pasted hash, JSON; nothing personal on the page.
func checkStatementPublicly(t *testing.T, anon *client, id string, pdf []byte) {
	t.Helper()
	upload := func(field string, b []byte) (int, string) {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		if field == "pdf" {
			fw, _ := w.CreateFormFile("pdf", "statement.pdf")
			fw.Write(b)
		} else {
			w.WriteField("sha256", string(b))
		}
		w.Close()
		req, _ := http.NewRequest("POST", anon.base+"/v/"+id, &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		resp, err := anon.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(page)
	}
	altered := bytes.Clone(pdf)
	altered[len(altered)/2] ^= 1
	sum := sha256.Sum256(pdf)
	for _, tc := range []struct {
		name, field string
		body        []byte
		status      int
		want, not   string
	}{
		{"the file", "pdf", pdf, 200, `id="vfy-match"`, `id="vfy-mismatch"`},
		{"an altered copy", "pdf", altered, 200, `id="vfy-mismatch"`, `id="vfy-match"`},
		{"its hash", "sha256", []byte(hex.EncodeToString(sum[:])), 200, `id="vfy-match"`, `id="vfy-mismatch"`},
		{"not a hash", "sha256", []byte("1234"), 400, `id="vfy-error"`, `id="vfy-match"`},
	} {
		status, page := upload(tc.field, tc.body)
		if status != tc.status || !strings.Contains(page, tc.want) || strings.Contains(page, tc.not) || !strings.Contains(page, `id="vfy-issued"`) && tc.status == 200 ||
			tc.status == 200 && !strings.Contains(page, `data-document="transaction_statement"`) {
			t.Errorf("/v/%s with %s = %d, want %d with %s and without %s:\n%.600s", id, tc.name, status, tc.status, tc.want, tc.not, page)
		}
		for _, personal := range []string{"Li Wei", "6222", "li.wei@", "case_"} {
			if strings.Contains(page, personal) {
				t.Errorf("/v/%s with %s shows %q", id, tc.name, personal)
			}
		}
	}
	var st struct {
		Issued, Revoked, Checked, Match bool
		Document                        string
	}
	req, _ := http.NewRequest("GET", anon.base+"/v/"+id+"?sha256="+hex.EncodeToString(sum[:]), nil)
	req.Header.Set("Accept", "application/json")
	resp, err := anon.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !st.Issued || st.Revoked || !st.Checked || !st.Match || st.Document != "transaction_statement" {
		t.Errorf("/v/%s as JSON = %d %+v (%v), want an issued transaction statement, checked, a match", id, resp.StatusCode, st, err)
	}
	if c, _, _ := anon.keyed("GET", "/v/stm_aaaaaaaaaaaaaaaaaaaaaaaaaa", "", nil); c != 200 {
		t.Errorf("/v of an unknown ID = %d, want the page saying it was not issued", c)
	}
}

// detach saves the attachment of the password-protected envelope with
// poppler's pdfdetach (poppler-utils).
func detach(t *testing.T, envelope []byte, password string) []byte {
	t.Helper()
	bin, err := exec.LookPath("pdfdetach")
	if err != nil {
		t.Fatal("pdfdetach not found: install poppler-utils (scripts/setup.sh does)")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "envelope.pdf"), filepath.Join(dir, "statement.pdf")
	if err := os.WriteFile(in, envelope, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(bin, "-upw", password, "-save", "1", "-o", out, in).CombinedOutput(); err != nil {
		t.Fatalf("pdfdetach: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
