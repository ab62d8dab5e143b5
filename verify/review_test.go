package verify_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/mail"
	"remoteidv/mail/mailtest"
	"remoteidv/models"
	"remoteidv/registry"
	"remoteidv/statement"
	"remoteidv/statement/pades"
	"remoteidv/storage/archiver"
	"remoteidv/storage/archiver/archivertest"
	"remoteidv/storage/localfs"
	"remoteidv/storage/sqlite"
	"remoteidv/verify"
	"remoteidv/verify/facematch"
	"remoteidv/verify/verifytest"
)

const (
	acctNo     = "6222000011112222"
	nationalID = "110101199003071234"
	email      = "li.wei@example.com"
)

type deskFixture struct {
	t      *testing.T
	g      *verifytest.Graph
	db     models.Store
	svc    *verify.Service
	desk   *verify.Desk
	calls  *verify.Calls // the video-call half, on the desk's service
	reg    *registry.Server
	link   string // the case's invite link
	clock  *clock
	arch   *archiver.Archiver
	stage  *archiver.Stager
	smtp   *mailtest.Server
	clerk  verify.Actor
	both   verify.Actor // holds clerk and supervisor roles
	sup    verify.Actor
	sup2   verify.Actor
	audit  verify.Actor
	caseID models.CaseID
	fault  *faultStore // the graph's store: db with an injectable fault
	logs   *logBuffer  // everything the service logged
}

// logBuffer collects a logger's output for tests that search it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func sender(t testing.TB, addr string) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(mail.SMTPConfig{Addr: addr, TLS: mail.TLSNone, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signedLetter draws a white page with a dark stroke where the signature is.
func signedLetter(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for x := w / 2; x < w/2+100; x++ {
		img.Set(x, h-80+(x%20), color.Black)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ledgerThrough is how far the fixture's ledger import covers: past the
// case's period (2025).
var ledgerThrough = time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC)

func newDeskFixture(t *testing.T) *deskFixture {
	t.Helper()
	return newDeskFixtureWith(t, sharedEngine(t))
}

// newDeskFixtureWith is newDeskFixture with the face engine eng.
func newDeskFixtureWith(t *testing.T, eng verify.FaceEngine) *deskFixture {
	t.Helper()
	return newDeskFixtureQuotas(t, eng, verify.Quotas{})
}

// newDeskFixtureQuotas is newDeskFixtureWith with the case quotas q.
func newDeskFixtureQuotas(t *testing.T, eng verify.FaceEngine, q verify.Quotas) *deskFixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "idv.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := localfs.New(localfs.Config{Root: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)}
	st, err := archiver.NewStager(filepath.Join(t.TempDir(), "staging"), c.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	arch, err := archiver.New(db, store, archiver.Config{Rand: rand.Reader}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The registry holds a photo of the account holder (John Salley's face
	// stands for Li Wei's) and answers with data as of the fixture's clock.
	regSrv := registry.NewServer([]registry.Record{
		{IDNumber: nationalID, Name: "Li Wei", Status: models.RegistryValid, Photo: johnsPhoto(t, "John_Salley", 2), UpdatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	}, "regkey", slog.New(slog.DiscardHandler))
	regSrv.Now = c.Now
	reg := httptest.NewServer(regSrv)
	t.Cleanup(reg.Close)
	smtpSrv := mailtest.Start(t, mailtest.Options{})
	fault := &faultStore{Store: db}
	cfg := verifytest.DefaultConfig()
	cfg.Quotas = q
	logs := &logBuffer{}
	g := verifytest.New(t, verifytest.Options{Store: fault, Now: c.Now, Config: cfg, Face: eng, Stager: st, Evidence: store,
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Desk: verify.DeskDeps{Registry: &registry.Client{BaseURL: reg.URL, APIKey: "regkey", Timeout: 2 * time.Second},
			Mailer: sender(t, smtpSrv.Addr), MailFrom: "noreply@bank.example"}})
	svc := g.Service
	err = db.Transact(ctx, func(tx models.Tx) error {
		for _, s := range []*models.Staff{
			{ID: "stf_c1", Username: "c1", DisplayName: "Clerk Wang", Roles: []models.Role{models.RoleClerk}},
			{ID: "stf_b", Username: "b", DisplayName: "Both Roles", Roles: []models.Role{models.RoleClerk, models.RoleSupervisor}},
			{ID: "stf_s1", Username: "s1", DisplayName: "Sup Sun", Roles: []models.Role{models.RoleSupervisor}},
			{ID: "stf_s2", Username: "s2", DisplayName: "Sup Qian", Roles: []models.Role{models.RoleSupervisor}},
		} {
			s.PasswordHash, s.CreatedAt = "$argon2id$x", c.t
			if err := tx.CreateStaff(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Li Wei's reference photos are two of John Salley's.
	images := fstest.MapFS{"a.jpg": {Data: johnsPhoto(t, "John_Salley", 0)}, "b.jpg": {Data: johnsPhoto(t, "John_Salley", 1)},
		"p.png": {Data: pngBytes(t, 64, 64)}, "s.png": {Data: pngBytes(t, 80, 30)}}
	rep, err := g.Accounts.Import(ctx, "system", strings.NewReader(csvHead+
		acctNo+",Li Wei,"+nationalID+","+email+",+1 212 555 0100,America/New_York,zh-CN,a.jpg;b.jpg,s.png\n"+
		"6222000033334444,Wang Jun,440305198811094455,wang.jun@example.com,+44 20 7946 0321,Europe/London,en,p.png,s.png\n"), images, nil)
	if err != nil || rep.Imported != 2 {
		t.Fatalf("Import = %+v, %v", rep, err)
	}
	ledger, err := statement.ReadLedgerCSV(strings.NewReader("account_no,booked_at,description,amount,currency\n" +
		acctNo + ",2024-12-30T09:00:00Z,Before the period,1000.00,CNY\n" +
		acctNo + ",2025-03-01T09:00:00Z,Salary transfer,5000.00,CNY\n" +
		acctNo + ",2025-03-05T09:00:00Z,Rent,-1200.50,CNY\n" +
		acctNo + ",2026-01-05T09:00:00Z,After the period,-1.00,CNY\n" +
		// Two more currencies: USD with bookings in the period, HKD with
		// an opening balance only.
		acctNo + ",2024-11-01T09:00:00Z,Opening deposit,800.00,HKD\n" +
		acctNo + ",2025-02-03T20:00:00Z,Wire from New York,2500.00,USD\n" +
		acctNo + ",2025-02-10T02:00:00Z,Tuition,-1200.00,USD\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Transact(ctx, func(tx models.Tx) error {
		if _, err := tx.AddLedgerEntries(ctx, ledger); err != nil {
			return err
		}
		return tx.RecordLedgerImport(ctx, &models.LedgerImport{ImportedAt: c.t, Through: ledgerThrough, Actor: "test", Source: "ledger.csv", Read: len(ledger), Added: len(ledger)})
	}); err != nil {
		t.Fatal(err)
	}
	actor := func(id string, roles ...models.Role) verify.Actor {
		return verify.Actor{Name: "staff:" + id, StaffID: models.StaffID(id), Roles: roles}
	}
	f := &deskFixture{t: t, g: g, db: db, fault: fault, svc: svc, desk: g.Desk, calls: g.Calls, reg: regSrv, clock: c, arch: arch, stage: st, smtp: smtpSrv, logs: logs,
		clerk: actor("stf_c1", models.RoleClerk), both: actor("stf_b", models.RoleClerk, models.RoleSupervisor),
		sup: actor("stf_s1", models.RoleSupervisor), sup2: actor("stf_s2", models.RoleSupervisor), audit: actor("stf_a", models.RoleAuditor)}
	cs, err := svc.CreateCase(ctx, f.clerk, verify.NewCase{AccountNo: acctNo, Purpose: models.PurposeStatement, PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31",
		Slot: verify.Slot{Local: "2026-12-01T09:00", TimeZone: "America/New_York"}})
	if err != nil {
		t.Fatal(err)
	}
	f.caseID = cs.ID
	inv, err := svc.IssueInvite(ctx, f.clerk, cs.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.link = inv.Link
	return f
}

// editDesk rebuilds the fixture's desk with its dependencies changed by
// edit.
func (f *deskFixture) editDesk(edit func(*verify.DeskDeps)) {
	f.t.Helper()
	f.desk = f.g.EditDesk(f.t, edit)
}

func (f *deskFixture) tx(fn func(tx models.Tx) error) {
	f.t.Helper()
	if err := f.db.Transact(context.Background(), fn); err != nil {
		f.t.Fatal(err)
	}
}

func (f *deskFixture) state() models.CaseState {
	f.t.Helper()
	var c *models.Case
	f.tx(func(tx models.Tx) (err error) { c, err = tx.CaseByID(context.Background(), f.caseID); return })
	return c.State
}

// liveCall moves the clock into the invite's window (the slot is 14:00
// UTC), has the customer consent and starts the case's call with its
// recording running (verifytest drives verify.Calls as the call page and
// signaling do).
func (f *deskFixture) liveCall() *verifytest.Call {
	f.t.Helper()
	f.clock.t = time.Date(2026, 12, 1, 13, 50, 0, 0, time.UTC)
	f.g.Consent(f.t, f.link)
	return f.g.StartCall(f.t, f.caseID, f.clerk.Name)
}

// callFacts holds the case's call as the video call leaves it: consent, a
// live capture of the account holder matched by the face engine and
// confirmed by the clerk, and a complete recording. The liveness check is
// recorded directly in the store (its flow runs in signaling's tests).
func (f *deskFixture) callFacts() {
	f.t.Helper()
	ctx := context.Background()
	call := f.liveCall()
	chk := call.Capture(f.clerk.Name, johnsPhoto(f.t, "John_Salley", 3))
	if chk.Result != "MATCH" {
		f.t.Fatalf("live capture of the account holder = %s, want MATCH", chk.Result)
	}
	if _, err := f.svc.ConfirmFace(ctx, f.clerk, f.caseID, chk.ID, true, "same person"); err != nil {
		f.t.Fatal(err)
	}
	f.tx(func(tx models.Tx) error {
		return tx.CreateCheck(ctx, &models.Check{ID: "chk_l", CaseID: f.caseID, Kind: models.CheckLiveness, Result: "PASS", Detail: []byte("{}"),
			Actor: f.clerk.Name, CreatedAt: f.clock.Now()})
	})
	call.End()
}

func wantErr(t *testing.T, what string, err error, code models.ErrorCode) {
	t.Helper()
	if got := models.ErrorCodeOf(err); got != code {
		t.Fatalf("%s: error = %v (%q), want %q", what, err, got, code)
	}
}

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

// TestReviewEndToEnd walks a case from the call to closed: letter, scope,
// signature verdict, registry check, email code, submit, approval, seal,
// release and delivery (with the SMTP server down first).
func TestReviewEndToEnd(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	d := f.desk

	_, err := d.Submit(ctx, f.clerk, f.caseID)
	wantErr(t, "Submit(scheduled)", err, models.ECONFLICT)
	f.callFacts()
	_, err = d.Submit(ctx, f.clerk, f.caseID)
	wantErr(t, "Submit(nothing done)", err, models.EPRECONDITION)
	if diff := cmp.Diff([]string{"signature", "authorization_letter", "registry_check", "email_code"}, models.ErrorDetailsOf(err)); diff != "" {
		t.Fatalf("Submit missing (-want +got):\n%s", diff)
	}

	// Letter and its scope.
	l, err := d.UploadLetter(ctx, f.clerk, f.caseID, signedLetter(t, 600, 400))
	if err != nil {
		t.Fatalf("UploadLetter: %v", err)
	}
	scope := models.LetterScope{AccountNo: acctNo, Service: models.PurposeStatement, PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", RegisteredEmail: true}
	other := scope
	other.AccountNo = "6222000033334444"
	_, err = d.RecordLetterScope(ctx, f.clerk, f.caseID, l.ID, other)
	wantErr(t, "RecordLetterScope(another account)", err, models.EINVALID)
	if _, err := d.RecordLetterScope(ctx, f.clerk, f.caseID, l.ID, scope); err != nil {
		t.Fatalf("RecordLetterScope: %v", err)
	}

	// Signature: specimen and letter views are audited; verdict with crop.
	if _, err := d.Specimen(ctx, f.clerk, f.caseID); err != nil {
		t.Fatalf("Specimen: %v", err)
	}
	if _, ct, err := d.LetterContent(ctx, f.sup, f.caseID, l.ID); err != nil || ct != "image/png" {
		t.Fatalf("LetterContent = %s, %v", ct, err)
	}
	_, err = d.RecordSignature(ctx, f.clerk, f.caseID, verify.SignatureInput{Letter: l.ID, Region: verify.Region{X: 280, Y: 300, W: 160, H: 60}, Verdict: "pass"})
	wantErr(t, "RecordSignature(no reason)", err, models.EINVALID)
	_, err = d.RecordSignature(ctx, f.clerk, f.caseID, verify.SignatureInput{Letter: l.ID, Region: verify.Region{X: 500, Y: 300, W: 160, H: 60}, Verdict: "pass", Reason: "r"})
	wantErr(t, "RecordSignature(region outside)", err, models.EINVALID)
	sig, err := d.RecordSignature(ctx, f.clerk, f.caseID, verify.SignatureInput{Letter: l.ID, Region: verify.Region{X: 280, Y: 300, W: 160, H: 60}, Verdict: "pass", Reason: "same letter forms and slant"})
	if err != nil || sig.Result != "PASS" {
		t.Fatalf("RecordSignature = %+v, %v", sig, err)
	}

	// Registry: its photo against the call's live capture.
	rc, err := d.RunRegistryCheck(ctx, f.clerk, f.caseID)
	if err != nil || rc.Check.Result != "PASS" || rc.PhotoMatch != "MATCH" || rc.DataAge != 0 || rc.Hours != "07:30-19:00 Asia/Shanghai" {
		t.Fatalf("RunRegistryCheck = %+v, %v", rc, err)
	}

	// Email code: sent through the outbox to the registered address.
	if _, err := d.RequestCode(ctx, f.caseID); err != nil {
		t.Fatalf("RequestCode: %v", err)
	}
	_, err = d.RequestCode(ctx, f.caseID)
	wantErr(t, "RequestCode again at once", err, models.ERATELIMIT)
	if n, err := d.DeliverMail(ctx, "test"); n != 1 || err != nil {
		t.Fatalf("DeliverMail = %d, %v; want 1", n, err)
	}
	msgs := f.smtp.Wait(t, 1, 5*time.Second)
	p, err := mailtest.Parse(msgs[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(msgs[0].To, []string{email}) || p.Subject != "Demo Bank：您的验证码" {
		t.Fatalf("code mail to %v subject %q", msgs[0].To, p.Subject)
	}
	code := sixDigits.FindString(p.Text)
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	wantErr(t, "VerifyCode(wrong)", d.VerifyCode(ctx, f.caseID, wrong), models.EFORBIDDEN)
	if err := d.VerifyCode(ctx, f.caseID, code); err != nil {
		t.Fatalf("VerifyCode: %v", err)
	}
	wantErr(t, "VerifyCode(replayed)", d.VerifyCode(ctx, f.caseID, code), models.EGONE)
	f.tx(func(tx models.Tx) error {
		ms, err := tx.MailByCase(ctx, f.caseID)
		if err != nil {
			return err
		}
		if len(ms[0].Raw) != 0 {
			t.Error("the sent code mail is still stored")
		}
		return nil
	})

	// Every other requirement holds: a statement that cannot be produced
	// still blocks submission, with its reason (statementdoc.go).
	f.submitBlockedByLedger(t)

	// Submit, then the four-eyes decision. The statement is signed with the
	// bank's (demo) certificate at submission.
	signer := f.demoSigner()
	f.editDesk(func(dd *verify.DeskDeps) { dd.StatementSigner = signer })
	d = f.desk
	if _, err := d.Submit(ctx, f.clerk, f.caseID); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	stepUp := f.clock.Now().Add(-time.Minute)
	stm, err := f.svc.CaseStatement(ctx, f.sup, f.caseID)
	if err != nil || stm == nil {
		t.Fatalf("CaseStatement after submission = %v, %v; want the generated statement", stm, err)
	}
	approve := verify.DecisionInput{Decision: models.DecisionApprove, Reason: "evidence complete", StepUpAt: stepUp, StatementSHA256: stm.SHA256}
	for _, sum := range []string{"", strings.Repeat("0", 64)} {
		_, _, err = d.Decide(ctx, f.sup, f.caseID, verify.DecisionInput{Decision: models.DecisionApprove, Reason: "ok", StepUpAt: stepUp, StatementSHA256: sum})
		wantErr(t, "Decide(statement hash "+sum+")", err, models.ECONFLICT)
	}
	_, _, err = d.Decide(ctx, f.sup, f.caseID, verify.DecisionInput{Decision: models.DecisionApprove, Reason: "ok", StepUpAt: f.clock.Now().Add(-6 * time.Minute)})
	wantErr(t, "Decide(stale step-up)", err, models.EFORBIDDEN)
	_, _, err = d.Decide(ctx, f.sup, f.caseID, verify.DecisionInput{Decision: models.DecisionApprove, StepUpAt: stepUp})
	wantErr(t, "Decide(no reason)", err, models.EINVALID)
	f.failsWhole(t, "case."+string(models.EventApprove), func() error { _, _, err := d.Decide(ctx, f.sup, f.caseID, approve); return err })
	apr, c, err := d.Decide(ctx, f.sup, f.caseID, approve)
	if err != nil || c.State != models.StateApproved || apr.Action.Email != email {
		t.Fatalf("Decide = %+v, %+v, %v", apr, c, err)
	}
	// The decision's transaction ends with the customer's notice of it.
	if e := requirePublishedHead(t, f.db, f.g.Evidence, f.g.Key, "after the decision"); e.Action != "customer.notified" || e.Detail["notice"] != mail.KindApproved {
		t.Fatalf("head after the decision = %s %v, want the decision's customer notice", e.Action, e.Detail)
	}
	_, _, err = d.Decide(ctx, f.sup2, f.caseID, approve)
	wantErr(t, "Decide(second)", err, models.ECONFLICT)
	// The approved notice (what happens next) goes before the statement.
	if n, err := d.DeliverMail(ctx, "test"); n != 1 || err != nil {
		t.Fatalf("DeliverMail(the approved notice) = %d, %v; want 1", n, err)
	}
	if apr.Action.StatementSHA256 != stm.SHA256 || apr.Action.StatementID != stm.ID {
		t.Fatalf("approval names statement %s %s, want %s %s", apr.Action.StatementID, apr.Action.StatementSHA256, stm.ID, stm.SHA256)
	}
	// Core banking books a late entry in the period after the approval:
	// what is sent must still be the file the supervisor approved.
	f.tx(func(tx models.Tx) error {
		_, err := tx.AddLedgerEntries(ctx, []*models.LedgerEntry{{AccountNo: acctNo, BookedAt: time.Date(2025, 6, 30, 3, 0, 0, 0, time.UTC),
			Description: "LATE BOOKING AFTER APPROVAL", Amount: -999900, Currency: "CNY"}})
		return err
	})

	// Not sealed yet: the statement stays locked.
	_, err = d.Release(ctx, f.clerk, f.caseID)
	wantErr(t, "Release(approved, not sealed)", err, models.ECONFLICT)
	if _, err := f.arch.Drain(ctx, "test/0"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Seal(ctx, f.caseID); err != nil {
		t.Fatalf("Seal: %v", err)
	}

	// Release with the mail server down first: delayed, not lost.
	down := mailtest.FreeAddr(t)
	f.editDesk(func(dd *verify.DeskDeps) { dd.Mailer = sender(t, down) })
	d = f.desk
	f.failsWhole(t, "case.release", func() error { _, err := d.Release(ctx, f.clerk, f.caseID); return err })
	rel, err := d.Release(ctx, f.clerk, f.caseID)
	if err != nil || rel.Case.State != models.StateReleased || rel.Mail.To != email {
		t.Fatalf("Release = %+v, %v", rel, err)
	}
	_, err = d.Release(ctx, f.clerk, f.caseID)
	wantErr(t, "Release(second)", err, models.ECONFLICT)
	if n, _ := d.DeliverMail(ctx, "test"); n != 0 {
		t.Fatalf("DeliverMail with the server down = %d, want 0", n)
	}
	if got := f.state(); got != models.StateReleased {
		t.Fatalf("state after a failed delivery = %s, want released", got)
	}
	up := mailtest.Start(t, mailtest.Options{Addr: down})
	f.clock.t = f.clock.t.Add(time.Minute)
	if n, err := d.DeliverMail(ctx, "test"); n != 1 || err != nil {
		t.Fatalf("DeliverMail after the server came up = %d, %v; want 1", n, err)
	}
	got := up.Wait(t, 1, 5*time.Second)
	if !slices.Equal(got[0].To, []string{email}) {
		t.Fatalf("statement sent to %v, want only %s", got[0].To, email)
	}
	p, err = mailtest.Parse(got[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	pdf := p.Attachments["statement-2025-01-01-2025-12-31.pdf"]
	if sum := sha256.Sum256(pdf); hex.EncodeToString(sum[:]) != stm.SHA256 || rel.Statement.SHA256 != stm.SHA256 || rel.StatementID != stm.ID {
		t.Fatalf("sent statement %x (release names %s %s), want exactly the approved file %s %s", sum, rel.StatementID, rel.Statement.SHA256, stm.ID, stm.SHA256)
	}
	checkStatementText(t, pdf, f.caseID, stm.ID)
	if res, err := pades.Verify(pdf, signer.Roots(), f.clock.Now()); err != nil || !res.WholeDocument || len(res.Signatures) != 1 {
		t.Fatalf("the sent statement's signature: %+v, %v; want one valid signature over the whole file", res, err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || p.Subject != "Demo Bank：您的交易明细 2025-01-01 至 2025-12-31" || !strings.Contains(p.HTML, string(f.caseID)) || !strings.Contains(p.Text, string(f.caseID)) {
		t.Fatalf("statement mail: subject %q, %d-byte attachment, text %q", p.Subject, len(pdf), p.Text)
	}
	if got := f.state(); got != models.StateClosed {
		t.Fatalf("state after delivery = %s, want closed", got)
	}
	// Delivered mail keeps its hash, addresses, times and the server's
	// answer, never its body.
	f.tx(func(tx models.Tx) error {
		ms, err := tx.MailByCase(ctx, f.caseID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ms, func(m *models.OutboundMail) bool { return m.Kind == mail.KindStatement })
		if i < 0 {
			t.Fatal("no statement mail in the outbox")
		}
		st := ms[i]
		sum := sha256.Sum256(got[0].Data)
		if st.Kind != mail.KindStatement || st.Raw != nil || st.State() != models.MailSent || st.RawSHA256 != hex.EncodeToString(sum[:]) ||
			st.To != email || st.SentAt == nil || !strings.HasPrefix(st.Reply, "250") {
			t.Errorf("delivered statement row = kind %s, %d-byte body, state %s, hash %s (sent %x), to %s, reply %q; want no body and the hash of what was sent",
				st.Kind, len(st.Raw), st.State(), st.RawSHA256, sum, st.To, st.Reply)
		}
		return nil
	})
	printed, ev, err := d.StatementPDF(ctx, f.clerk, f.caseID)
	if err != nil || !bytes.Equal(printed, pdf) || ev.Kind != models.EvidenceStatement {
		t.Fatalf("StatementPDF = %d bytes, %v; want the mailed PDF", len(printed), err)
	}
	var kinds []models.EvidenceKind
	var actions []string
	f.tx(func(tx models.Tx) error {
		items, err := tx.EvidenceByCase(ctx, f.caseID)
		for _, e := range items {
			kinds = append(kinds, e.Kind)
		}
		if err != nil {
			return err
		}
		evs, err := tx.AuditEvents(ctx, models.AuditFilter{CaseID: f.caseID})
		for _, e := range evs {
			actions = append(actions, e.Action)
			for k, v := range e.Detail {
				if strings.Contains(v, code) && k != "message_id" || strings.Contains(v, nationalID) {
					t.Errorf("audit event %s detail %s carries a secret: %q", e.Action, k, v)
				}
			}
		}
		return err
	})
	for _, k := range []models.EvidenceKind{models.EvidenceLetter, models.EvidenceSignature, models.EvidenceSpecimen, models.EvidenceCheck, models.EvidenceRegistry,
		models.EvidenceApproval, models.EvidenceManifest, models.EvidenceStatement, models.EvidenceReceipt} {
		if !slices.Contains(kinds, k) {
			t.Errorf("evidence kinds %v lack %s", kinds, k)
		}
	}
	for _, a := range []string{"letter.uploaded", "letter.scope_recorded", "specimen.viewed", "letter.viewed", "check.signature", "check.registry",
		"code.sent", "code.wrong", "code.verified", "code.replayed", "case.submit", "case.approve", "case.release", "statement.delivered", "case.close", "statement.printed"} {
		if !slices.Contains(actions, a) {
			t.Errorf("audit actions lack %s", a)
		}
	}

	// A recipient checks the statement: issued, this file, not revoked;
	// then a supervisor revokes it and the same check says so.
	released := f.clock.Now()
	for _, tc := range []struct {
		name          string
		id            models.StatementID
		sum           string
		issued, match bool
	}{
		{"the issued file", stm.ID, stm.SHA256, true, true},
		{"its hash in capitals", stm.ID, strings.ToUpper(stm.SHA256), true, true},
		{"the ID only", stm.ID, "", true, false},
		{"another file", stm.ID, strings.Repeat("0", 64), true, false},
		{"an unknown ID", "stm_aaaaaaaaaaaaaaaaaaaaaaaaaa", stm.SHA256, false, false},
		{"not an ID", "../../etc/passwd", "", false, false},
	} {
		got, err := d.CheckStatement(ctx, tc.id, tc.sum)
		if err != nil || got.Issued != tc.issued || got.Match != tc.match || got.Revoked {
			t.Errorf("CheckStatement(%s) = %+v, %v; want issued %v, match %v", tc.name, got, err, tc.issued, tc.match)
		}
		if got != nil && tc.issued && (got.IssuedAt == nil || got.IssuedAt.After(released)) {
			t.Errorf("CheckStatement(%s) issued at %v, want the release time", tc.name, got.IssuedAt)
		}
	}
	_, err = d.CheckStatement(ctx, stm.ID, "not a hash")
	wantErr(t, "CheckStatement(bad hash)", err, models.EINVALID)
	_, err = d.RevokeStatement(ctx, f.clerk, f.caseID, "sent by mistake")
	wantErr(t, "RevokeStatement(clerk)", err, models.EFORBIDDEN)
	_, err = d.RevokeStatement(ctx, f.sup, f.caseID, " ")
	wantErr(t, "RevokeStatement(no reason)", err, models.EINVALID)
	if _, err := d.RevokeStatement(ctx, f.sup2, f.caseID, "issued on a ledger core banking corrected"); err != nil {
		t.Fatalf("RevokeStatement: %v", err)
	}
	_, err = d.RevokeStatement(ctx, f.sup2, f.caseID, "again")
	wantErr(t, "RevokeStatement(twice)", err, models.ECONFLICT)
	if got, err := d.CheckStatement(ctx, stm.ID, stm.SHA256); err != nil || !got.Issued || !got.Match || !got.Revoked || got.RevokedAt == nil {
		t.Fatalf("CheckStatement after the revocation = %+v, %v; want issued, this file, revoked", got, err)
	}
}

func TestDecideRefusals(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	d := f.desk
	stepUp := f.clock.Now()
	in := verify.DecisionInput{Decision: models.DecisionApprove, Reason: "fine", StepUpAt: stepUp}
	// A case whose clerk also holds the supervisor role.
	cs, err := f.svc.CreateCase(ctx, f.both, verify.NewCase{AccountNo: acctNo, Purpose: models.PurposeStatement, PeriodFrom: "2025-01-01", PeriodTo: "2025-06-30",
		Slot: verify.Slot{Local: "2026-12-02T09:00", TimeZone: "America/New_York"}})
	if err != nil {
		t.Fatal(err)
	}
	f.tx(func(tx models.Tx) error {
		for _, id := range []models.CaseID{cs.ID, f.caseID} {
			c, err := tx.CaseByID(ctx, id)
			if err != nil {
				return err
			}
			c.State = models.StatePendingReview
			if err := tx.UpdateCase(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	in.StatementSHA256 = archivertest.SeedStatement(t, f.db, f.g.Stager, f.caseID)
	archivertest.SeedStatement(t, f.db, f.g.Stager, cs.ID)
	_, _, err = d.Decide(ctx, f.both, cs.ID, in)
	wantErr(t, "Decide(own case, both roles)", err, models.EFORBIDDEN)
	_, _, err = d.Decide(ctx, f.clerk, f.caseID, in)
	wantErr(t, "Decide(clerk)", err, models.EFORBIDDEN)
	_, _, err = d.Decide(ctx, f.sup, f.caseID, verify.DecisionInput{Decision: models.DecisionApprove, Reason: "x"})
	wantErr(t, "Decide(no step-up)", err, models.EFORBIDDEN)
	_, _, err = d.Decide(ctx, f.sup, f.caseID, verify.DecisionInput{Decision: "maybe", Reason: "x", StepUpAt: stepUp})
	wantErr(t, "Decide(bad decision)", err, models.EINVALID)
	if got := f.state(); got != models.StatePendingReview {
		t.Fatalf("state after refusals = %s, want pending_review", got)
	}

	// Two supervisors at once: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, a := range []verify.Actor{f.sup, f.sup2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = d.Decide(ctx, a, f.caseID, in)
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else if models.ErrorCodeOf(err) != models.ECONFLICT {
			t.Errorf("losing Decide = %v, want conflict", err)
		}
	}
	if wins != 1 {
		t.Fatalf("concurrent Decide: %d winners (%v), want 1", wins, errs)
	}
	// The other case can be rejected by a different supervisor, with the reason kept.
	_, c, err := d.Decide(ctx, f.sup, cs.ID, verify.DecisionInput{Decision: models.DecisionReject, Reason: "signature unclear", StepUpAt: stepUp})
	if err != nil || c.State != models.StateRejected || c.Reason != "signature unclear" {
		t.Fatalf("Decide(reject) = %+v, %v", c, err)
	}
	// The customer is told what happens next, in their language, without
	// the supervisor's reason.
	f.tx(func(tx models.Tx) error {
		ms, err := tx.MailByCase(ctx, cs.ID)
		if err != nil {
			return err
		}
		last := ms[len(ms)-1]
		p, err := mailtest.Parse(last.Raw)
		if err != nil {
			return err
		}
		if last.Kind != mail.KindNotice || !strings.Contains(p.Subject, "未获批准") || !strings.Contains(p.Text, "开户网点") || strings.Contains(p.Text, "signature unclear") {
			t.Errorf("mail after the rejection: %s %q\n%s\nwant the rejected notice in Chinese, without the reason", last.Kind, p.Subject, p.Text)
		}
		return nil
	})
	_, err = d.Release(ctx, f.sup, cs.ID)
	wantErr(t, "Release(rejected)", err, models.ECONFLICT)
	// Approved but not released: a recipient cannot learn it exists.
	stm, err := f.svc.CaseStatement(ctx, f.sup, f.caseID)
	if err != nil || stm == nil {
		t.Fatalf("CaseStatement = %v, %v", stm, err)
	}
	if got, err := d.CheckStatement(ctx, stm.ID, stm.SHA256); err != nil || got.Issued || got.Match || got.IssuedAt != nil {
		t.Fatalf("CheckStatement(unreleased) = %+v, %v; want not issued", got, err)
	}
}

func TestEmailCodeLocksAfterFiveWrongTries(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	d := f.desk
	wantErr(t, "VerifyCode(none sent)", d.VerifyCode(ctx, f.caseID, "123456"), models.ECONFLICT)
	wantErr(t, "VerifyCode(malformed)", d.VerifyCode(ctx, f.caseID, "12a456"), models.EINVALID)
	if _, err := d.RequestCode(ctx, f.caseID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DeliverMail(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	p, err := mailtest.Parse(f.smtp.Wait(t, 1, 5*time.Second)[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	code := sixDigits.FindString(p.Text)
	wrong := "999999"
	if code == wrong {
		wrong = "999998"
	}
	for i := 1; i <= 4; i++ {
		wantErr(t, "VerifyCode(wrong)", d.VerifyCode(ctx, f.caseID, wrong), models.EFORBIDDEN)
	}
	wantErr(t, "VerifyCode(fifth wrong)", d.VerifyCode(ctx, f.caseID, wrong), models.EGONE)
	wantErr(t, "VerifyCode(right, after lock)", d.VerifyCode(ctx, f.caseID, code), models.EGONE)
	f.clock.t = f.clock.t.Add(2 * time.Minute)
	_, err = d.RequestCode(ctx, f.caseID)
	wantErr(t, "RequestCode(locked)", err, models.EGONE)
	f.tx(func(tx models.Tx) error {
		invs, err := tx.InvitesByCase(ctx, f.caseID)
		for _, inv := range invs {
			if inv.RevokedAt == nil {
				t.Error("invite not revoked after five wrong codes")
			}
		}
		return err
	})
}

func TestEmailCodeExpiresAndRateLimit(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	d := f.desk
	for i := 0; i < 5; i++ {
		if _, err := d.RequestCode(ctx, f.caseID); err != nil {
			t.Fatalf("RequestCode %d: %v", i, err)
		}
		f.clock.t = f.clock.t.Add(61 * time.Second)
	}
	_, err := d.RequestCode(ctx, f.caseID)
	wantErr(t, "RequestCode(sixth in an hour)", err, models.ERATELIMIT)
	f.clock.t = f.clock.t.Add(10 * time.Minute)
	wantErr(t, "VerifyCode(expired)", d.VerifyCode(ctx, f.caseID, "123456"), models.EGONE)
}

func TestRegistryUnavailableIsNeverAPass(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	f.liveCall().Capture(f.clerk.Name, johnsPhoto(t, "John_Salley", 3))
	f.editDesk(func(d *verify.DeskDeps) {
		d.Registry = &registry.Client{BaseURL: "http://" + mailtest.FreeAddr(t), Timeout: time.Second}
	})
	rc, err := f.desk.RunRegistryCheck(ctx, f.clerk, f.caseID)
	if err != nil || rc.Check.Result != "UNAVAILABLE" || rc.Unavailable == "" {
		t.Fatalf("RunRegistryCheck(down) = %+v, %v; want an UNAVAILABLE check", rc, err)
	}
	f.editDesk(func(d *verify.DeskDeps) { d.Registry = verify.NoRegistry{} })
	rc, err = f.desk.RunRegistryCheck(ctx, f.clerk, f.caseID)
	if err != nil || rc.Check.Result != "UNAVAILABLE" {
		t.Fatalf("RunRegistryCheck(none) = %+v, %v", rc, err)
	}
	r, err := f.desk.Requirements(ctx, f.clerk, f.caseID)
	if err != nil || r.RegistryPassed {
		t.Fatalf("Requirements = %+v, %v; want the registry not passed", r, err)
	}
	_, err = f.desk.RunRegistryCheck(ctx, verify.Actor{Name: "staff:stf_c9", StaffID: "stf_c9", Roles: []models.Role{models.RoleClerk}}, f.caseID)
	wantErr(t, "RunRegistryCheck(another clerk)", err, models.ENOTFOUND)
}

func TestLetterUploadRefusals(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	_, err := f.desk.UploadLetter(ctx, f.clerk, f.caseID, []byte("<html><body>hi</body></html>"))
	wantErr(t, "UploadLetter(html)", err, models.EUNSUPPORTED)
	_, err = f.desk.UploadLetter(ctx, verify.Actor{Name: "staff:stf_x", StaffID: "stf_x", Roles: []models.Role{models.RoleClerk}}, f.caseID, signedLetter(t, 100, 100))
	wantErr(t, "UploadLetter(another clerk)", err, models.ENOTFOUND)
	var n int
	f.tx(func(tx models.Tx) error {
		ls, err := tx.LettersByCase(ctx, f.caseID)
		n = len(ls)
		return err
	})
	if n != 0 {
		t.Fatalf("%d letters stored after refusals, want 0", n)
	}
	l, err := f.desk.CustomerUploadLetter(ctx, f.caseID, "customer:cs_1", signedLetter(t, 200, 200))
	if err != nil || l.Source != verify.LetterFromCustomer {
		t.Fatalf("CustomerUploadLetter = %+v, %v", l, err)
	}
}

func jpegBytes(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 40, 40)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pixelFlood is a PNG header claiming 65535x65535 pixels.
func pixelFlood(t testing.TB) []byte {
	t.Helper()
	b := pngBytes(t, 1, 1)
	b[16], b[17], b[18], b[19] = 0, 0, 0xff, 0xff
	b[20], b[21], b[22], b[23] = 0, 0, 0xff, 0xff
	binary.BigEndian.PutUint32(b[29:33], crc32.ChecksumIEEE(b[12:29]))
	return b
}

func minimalPDF() []byte {
	body := "%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
	xref := len(body)
	return []byte(body + "xref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \ntrailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n" +
		strings.TrimSpace(strings.Repeat(" ", 0)+itoa(xref)) + "\n%%EOF\n")
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestCheckLetter(t *testing.T) {
	zipTail := []byte("PK\x03\x04\x14\x00\x00\x00rest-of-zip")
	pdf := minimalPDF()
	tests := []struct {
		name string
		in   []byte
		want models.ErrorCode
		ct   string
	}{
		{"png", signedLetter(t, 300, 200), "", "image/png"},
		{"jpeg", jpegBytes(t), "", "image/jpeg"},
		{"pdf", pdf, "", "application/pdf"},
		{"empty", nil, models.EINVALID, ""},
		{"oversized", append([]byte("%PDF-1.4\n"), make([]byte, verify.MaxLetterBytes)...), models.ETOOLARGE, ""},
		{"gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), models.EUNSUPPORTED, ""},
		{"html", []byte("<!DOCTYPE html><html></html>"), models.EUNSUPPORTED, ""},
		{"text named pdf", []byte("just some text"), models.EUNSUPPORTED, ""},
		{"pdf that is not a pdf", []byte("%PDF-1.4\nthis is not a PDF at all"), models.EUNSUPPORTED, ""},
		{"pdf without xref", []byte("%PDF-1.4\n1 0 obj << /Root 1 0 R >> endobj\nstartxref\n9\n%%EOF\n"), models.EUNSUPPORTED, ""},
		{"pdf with zip tail", append(slices.Clone(pdf), zipTail...), models.EUNSUPPORTED, ""},
		{"pdf with html tail", append(slices.Clone(pdf), []byte("<html><script>alert(1)</script></html>")...), models.EUNSUPPORTED, ""},
		{"pdf with bytes after EOF", append(slices.Clone(pdf), []byte("junk")...), models.EUNSUPPORTED, ""},
		{"pdf with javascript", bytes.Replace(pdf, []byte("/Type /Catalog"), []byte("/Type /Catalog /OpenAction << /JS (x) >>"), 1), models.EUNSUPPORTED, ""},
		{"jpeg+zip", append(jpegBytes(t), zipTail...), models.EUNSUPPORTED, ""},
		{"jpeg with tail", append(jpegBytes(t), []byte("tail")...), models.EUNSUPPORTED, ""},
		{"jpeg+pdf", append(jpegBytes(t), pdf...), models.EUNSUPPORTED, ""},
		{"png with tail", append(signedLetter(t, 20, 20), []byte("tail")...), models.EUNSUPPORTED, ""},
		{"truncated png", signedLetter(t, 300, 200)[:200], models.EUNSUPPORTED, ""},
		{"pixel flood", pixelFlood(t), models.ETOOLARGE, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verify.CheckLetter(tt.in)
			if code := models.ErrorCodeOf(err); code != tt.want {
				t.Fatalf("CheckLetter(%s) error = %v (%q), want %q", tt.name, err, code, tt.want)
			}
			if err == nil && got.ContentType != tt.ct {
				t.Errorf("CheckLetter(%s) type = %s, want %s", tt.name, got.ContentType, tt.ct)
			}
		})
	}
	// fpdf's output (the statement renderer) is a well-formed PDF too.
	st, err := statement.Render(&statement.Statement{Bank: statement.Bank{Name: "B"}, StatementID: "stm_x", Sections: []statement.Section{{Currency: "CNY"}}, IssuedAt: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.CheckLetter(st); err != nil {
		t.Errorf("CheckLetter(fpdf output) = %v, want nil", err)
	}
}

func TestIdempotent(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	calls := 0
	fn := func() (int, []byte) { calls++; return 200, []byte(`{"n":1}`) }
	r1, err := f.svc.Idempotent(ctx, "stf_s1:approve:k1", []byte(`{"a":1}`), fn)
	if err != nil || r1.Replay || r1.Status != 200 {
		t.Fatalf("Idempotent(first) = %+v, %v", r1, err)
	}
	r2, err := f.svc.Idempotent(ctx, "stf_s1:approve:k1", []byte(`{"a":1}`), fn)
	if err != nil || !r2.Replay || string(r2.Body) != `{"n":1}` || calls != 1 {
		t.Fatalf("Idempotent(same) = %+v, %v, %d calls; want the stored answer", r2, err, calls)
	}
	_, err = f.svc.Idempotent(ctx, "stf_s1:approve:k1", []byte(`{"a":2}`), fn)
	wantErr(t, "Idempotent(other body)", err, models.EUNPROCESSABLE)
	_, err = f.svc.Idempotent(ctx, "stf_s1:approve:k2", nil, func() (int, []byte) {
		_, inner := f.svc.Idempotent(ctx, "stf_s1:approve:k2", nil, fn)
		wantErr(t, "Idempotent(in flight)", inner, models.ECONFLICT)
		return 503, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r3, err := f.svc.Idempotent(ctx, "stf_s1:approve:k2", nil, fn)
	if err != nil || r3.Replay {
		t.Fatalf("Idempotent(after a 503) = %+v, %v; want a fresh run", r3, err)
	}
	_, err = f.svc.Idempotent(ctx, "", nil, fn)
	wantErr(t, "Idempotent(no key)", err, models.EINVALID)
}

func TestMailInvite(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	inv, m, err := f.desk.MailInvite(ctx, f.clerk, f.caseID)
	if err != nil || m.To != email {
		t.Fatalf("MailInvite = %+v, %+v, %v", inv, m, err)
	}
	if _, err := f.desk.DeliverMail(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	msgs := f.smtp.Wait(t, 1, 5*time.Second)
	p, err := mailtest.Parse(msgs[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(msgs[0].To, []string{email}) || !strings.Contains(p.Text, "https://idv.bank.example/join/iv1_") ||
		!strings.Contains(p.Text, "2026-12-01 09:00 America/New_York") || !bytes.Contains(p.Attachments["call.ics"], []byte("BEGIN:VCALENDAR")) {
		t.Fatalf("invite mail to %v: %q, attachments %v", msgs[0].To, p.Text, p.AttachTypes)
	}
	_, _, err = f.desk.MailInvite(ctx, f.sup, f.caseID)
	wantErr(t, "MailInvite(supervisor)", err, models.EFORBIDDEN)
}

// TestRegistryPhotoMatchesLiveCapture runs the real face engine: the
// registry photo is matched against the case's latest live capture.
func TestRegistryPhotoMatchesLiveCapture(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	f.liveCall().Capture(f.clerk.Name, johnsPhoto(t, "John_Salley", 3))
	tests := []struct {
		person     string
		photoMatch string
		result     models.CheckResult
	}{
		{"John_Salley", "MATCH", "PASS"},
		{"John_Savage", "NO_MATCH", "FAIL"},
	}
	for _, tt := range tests {
		t.Run(tt.person, func(t *testing.T) {
			srv := registry.NewServer([]registry.Record{{IDNumber: nationalID, Name: "Li Wei", Status: models.RegistryValid,
				Photo: johnsPhoto(t, tt.person, 0), UpdatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}, "", slog.New(slog.DiscardHandler))
			srv.Now = f.clock.Now
			reg := httptest.NewServer(srv)
			defer reg.Close()
			f.editDesk(func(d *verify.DeskDeps) { d.Registry = &registry.Client{BaseURL: reg.URL, Timeout: 5 * time.Second} })
			rc, err := f.desk.RunRegistryCheck(ctx, f.clerk, f.caseID)
			if err != nil {
				t.Fatal(err)
			}
			if rc.PhotoMatch != tt.photoMatch || rc.Check.Result != tt.result {
				t.Errorf("RunRegistryCheck(registry photo of %s) = %s/%s, want %s/%s", tt.person, rc.PhotoMatch, rc.Check.Result, tt.photoMatch, tt.result)
			}
			// The photo's score says what the calibration says of it: here
			// none, so weak evidence.
			var d struct {
				A *facematch.Assessment `json:"photo_assessment"`
			}
			if err := json.Unmarshal(rc.Check.Detail, &d); err != nil || d.A == nil || !d.A.Weak || !d.A.Scored || d.A.References != 1 {
				t.Errorf("registry check detail %s: photo assessment %+v, want a scored, weak (uncalibrated) one", rc.Check.Detail, d.A)
			}
		})
	}
}
