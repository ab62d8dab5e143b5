package notify_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/audit"
	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/notify"
	"remoteidv/storage/postgres"
	"remoteidv/storage/sqldb"
	"remoteidv/storage/sqlite"
	"remoteidv/webhook"
)

var t0 = time.Date(2026, 12, 5, 13, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// The customer's data the tests look for where it must not be.
const (
	acctNo     = "6222000011112222"
	holderName = "Li Wei"
	custEmail  = "li.wei@example.com"
	nationalID = "110101199003071234"
)

var customerData = []string{acctNo, holderName, custEmail, nationalID}

type env struct {
	db    *sqldb.DB
	chain audit.Chain
	clock *clock
	svc   *notify.Service
}

func newEnv(t testing.TB, kind string) *env {
	t.Helper()
	var db *sqldb.DB
	var err error
	if kind == "postgres" {
		db, err = postgres.Open(context.Background(), testenv.PostgresURL(t), slog.New(slog.DiscardHandler))
	} else {
		db, err = sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "idv.db"), slog.New(slog.DiscardHandler))
	}
	if err != nil {
		t.Fatalf("open %s: %v", kind, err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: t0}
	e := &env{db: db, chain: audit.Chain{Now: c.Now}, clock: c}
	e.svc = e.service()
	e.seed(t)
	return e
}

func (e *env) service() *notify.Service {
	return notify.New(e.db, e.chain, e.clock.Now, rand.Reader, slog.New(slog.DiscardHandler), notify.Config{BankName: "Test Bank",
		MailFrom: "idv@bank.example", PublicURL: "https://idv.bank.example/", BranchTZ: time.FixedZone("Asia/Shanghai", 8*3600)})
}

func member(id, user, email, lang string, roles ...models.Role) *models.Staff {
	return &models.Staff{ID: models.StaffID(id), Username: user, DisplayName: "Name " + user, Roles: roles, Email: email, Language: lang,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA", CreatedAt: t0}
}

// seed: a primary clerk (Chinese), a backup clerk (no language), another
// clerk, two supervisors (one without an address), a disabled supervisor,
// an account and case_1 at t0+1h.
func (e *env) seed(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	gone := t0
	disabled := member("stf_old", "old", "old@bank.example", "", models.RoleSupervisor)
	disabled.DisabledAt = &gone
	e.tx(t, func(tx models.Tx) error {
		for _, st := range []*models.Staff{
			member("stf_clerk", "clerk", "clerk@bank.example", "zh-CN", models.RoleClerk),
			member("stf_backup", "backup", "backup@bank.example", "", models.RoleClerk),
			member("stf_other", "other", "other@bank.example", "en", models.RoleClerk),
			member("stf_sup", "sup", "sup@bank.example", "en", models.RoleSupervisor),
			member("stf_sup2", "sup2", "", "", models.RoleSupervisor, models.RoleClerk),
			disabled,
		} {
			if err := tx.CreateStaff(ctx, st); err != nil {
				return err
			}
		}
		if err := tx.UpsertAccount(ctx, &models.Account{No: acctNo, HolderName: holderName, NationalID: nationalID, Email: custEmail,
			Phone: "+1 212 555 0100", TimeZone: "America/New_York", Language: "zh-CN", ImportedAt: t0}); err != nil {
			return err
		}
		return nil
	})
	e.newCase(t, "case_1", t0.Add(time.Hour))
}

func (e *env) newCase(t testing.TB, id models.CaseID, slot time.Time) {
	t.Helper()
	e.tx(t, func(tx models.Tx) error {
		return tx.CreateCase(context.Background(), &models.Case{ID: id, AccountNo: acctNo, Purpose: models.PurposeStatement,
			PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", State: models.StateScheduled, ClerkID: "stf_clerk", BackupID: "stf_backup",
			SlotAt: slot, CustomerTZ: "America/New_York", CreatedAt: t0, UpdatedAt: t0})
	})
}

func (e *env) setState(t *testing.T, id models.CaseID, st models.CaseState) {
	t.Helper()
	e.tx(t, func(tx models.Tx) error {
		c, err := tx.CaseByID(context.Background(), id)
		if err != nil {
			return err
		}
		c.State = st
		return tx.UpdateCase(context.Background(), c)
	})
}

func (e *env) tx(t testing.TB, fn func(tx models.Tx) error) {
	t.Helper()
	if err := e.db.Transact(context.Background(), fn); err != nil {
		t.Fatalf("Transact: %v", err)
	}
}

// event appends an audit event and returns its sequence number.
func (e *env) event(t testing.TB, actor, action string, id models.CaseID, detail map[string]string) int64 {
	t.Helper()
	ev := &models.AuditEvent{Actor: actor, Action: action, CaseID: id, Detail: detail}
	e.tx(t, func(tx models.Tx) error { return e.chain.Append(context.Background(), tx, ev) })
	return ev.Seq
}

func (e *env) notifications(t *testing.T, f models.NotificationFilter) []*models.StaffNotification {
	t.Helper()
	var out []*models.StaffNotification
	e.tx(t, func(tx models.Tx) (err error) { out, err = tx.Notifications(context.Background(), f); return })
	return out
}

// sent lists the notifications from audit event seq as "staff kind
// channel", sorted.
func (e *env) sent(t *testing.T, seq int64) []string {
	t.Helper()
	var out []string
	for _, n := range e.notifications(t, models.NotificationFilter{}) {
		if n.AuditSeq == seq {
			out = append(out, fmt.Sprintf("%s %s %s", n.StaffID, n.Kind, n.Channel))
		}
	}
	sort.Strings(out)
	return out
}

func both(staff string, kind models.NotifyKind) []string {
	return []string{fmt.Sprintf("%s %s email", staff, kind), fmt.Sprintf("%s %s webhook", staff, kind)}
}

// TestDispatch: each audit event kind becomes the right notifications for
// the right people (and nobody is told of what they did), on both
// channels where the member has an address; other events make none.
func TestDispatch(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	tests := []struct {
		name   string
		actor  string
		action string
		detail map[string]string
		want   []string
	}{
		{"consent", "customer:cus_1", "customer.consent", map[string]string{"version": "v1"},
			slices.Concat(both("stf_backup", models.NotifyCustomerConsented), both("stf_clerk", models.NotifyCustomerConsented))},
		{"customer opens the call", "customer:cus_1", "case.join", map[string]string{"from": "scheduled", "to": "in_session", "call": "call_1"},
			slices.Concat(both("stf_backup", models.NotifyCustomerWaiting), both("stf_clerk", models.NotifyCustomerWaiting))},
		{"clerk opens the call", "staff:stf_clerk", "case.join", map[string]string{"from": "scheduled", "to": "in_session", "call": "call_2"}, nil},
		{"letter by the customer", "customer:cus_1", "letter.uploaded", map[string]string{"letter": "let_1", "source": "customer"},
			slices.Concat(both("stf_backup", models.NotifyLetterUploaded), both("stf_clerk", models.NotifyLetterUploaded))},
		{"letter by the clerk", "staff:stf_clerk", "letter.uploaded", map[string]string{"letter": "let_2", "source": "clerk"},
			both("stf_backup", models.NotifyLetterUploaded)},
		// The supervisor without an address gets the webhook only; the
		// disabled one nothing.
		{"submitted", "staff:stf_clerk", "case.submit", map[string]string{"from": "in_session", "to": "pending_review"},
			slices.Concat(both("stf_sup", models.NotifyCaseSubmitted), []string{"stf_sup2 case_submitted webhook"})},
		{"rejected", "staff:stf_sup", "case.reject", map[string]string{"from": "pending_review", "to": "rejected", "reason": "blurred"},
			slices.Concat(both("stf_backup", models.NotifyCaseRejected), both("stf_clerk", models.NotifyCaseRejected))},
		{"reassigned", "staff:stf_sup", "case.reassigned", map[string]string{"role": "backup", "old": "stf_backup", "new": "stf_other", "reason": "shift"},
			slices.Concat(both("stf_backup", models.NotifyReassigned), both("stf_other", models.NotifyReassigned))},
		{"approved", "staff:stf_sup", "case.approve", map[string]string{"from": "pending_review", "to": "approved"}, nil},
		{"checked", "staff:stf_clerk", "check.liveness", map[string]string{"result": "pass"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := e.event(t, tt.actor, tt.action, "case_1", tt.detail)
			if _, err := e.svc.Dispatch(ctx); err != nil {
				t.Fatalf("Dispatch: %v", err)
			}
			if diff := cmp.Diff(tt.want, e.sent(t, seq)); diff != "" {
				t.Errorf("notifications of %s (-want +got):\n%s", tt.action, diff)
			}
		})
	}

	t.Run("webhook events", func(t *testing.T) {
		// Every webhook notification is a staff.notified event naming the
		// member and kind, which the webhook package delivers.
		for _, n := range e.notifications(t, models.NotificationFilter{}) {
			if n.Channel != models.ChannelWebhook {
				continue
			}
			var seq int64
			if _, err := fmt.Sscanf(n.Ref, "audit:%d", &seq); err != nil {
				t.Fatalf("webhook ref %q: %v", n.Ref, err)
			}
			var evs []*models.AuditEvent
			e.tx(t, func(tx models.Tx) (err error) {
				evs, err = tx.AuditEvents(ctx, models.AuditFilter{AfterSeq: seq - 1, Limit: 1})
				return
			})
			if len(evs) != 1 || evs[0].Action != "staff.notified" || evs[0].Detail["staff"] != string(n.StaffID) || evs[0].Detail["kind"] != string(n.Kind) {
				t.Fatalf("event of %s = %+v", n.Ref, evs)
			}
			whs := webhook.Events(evs[0])
			if len(whs) != 1 || whs[0].Type != webhook.StaffNotification {
				t.Errorf("webhook.Events(staff.notified) = %+v", whs)
			}
		}
	})

	t.Run("mail", func(t *testing.T) {
		var ms []*models.OutboundMail
		e.tx(t, func(tx models.Tx) (err error) { ms, err = tx.MailByCase(ctx, "case_1"); return })
		byTo := map[string][]*models.OutboundMail{}
		for _, m := range ms {
			if m.Kind != "staff" {
				t.Errorf("mail %s kind = %q, want staff", m.ID, m.Kind)
			}
			byTo[m.To] = append(byTo[m.To], m)
		}
		if len(byTo["sup2@bank.example"]) != 0 || len(byTo["old@bank.example"]) != 0 {
			t.Errorf("mail to a member without an address or disabled: %v", byTo)
		}
		tests := []struct {
			to, subject, body string
		}{
			{"clerk@bank.example", "客户已同意录像和生物特征采集", "https://idv.bank.example/console/cases/case_1"},                     // zh-CN
			{"backup@bank.example", "the customer accepted the consent", "https://idv.bank.example/console/cases/case_1"}, // no language: English
			{"sup@bank.example", "the case was submitted for review", "https://idv.bank.example/review/cases/case_1"},
		}
		for _, tt := range tests {
			if len(byTo[tt.to]) == 0 {
				t.Errorf("no mail to %s", tt.to)
				continue
			}
			var m *models.OutboundMail
			var subject, text string
			for _, x := range byTo[tt.to] {
				if s, b := readMail(t, x.Raw); strings.Contains(s, tt.subject) {
					m, subject, text = x, s, b
				}
			}
			if m == nil {
				t.Errorf("no mail to %s with %q in its subject", tt.to, tt.subject)
				continue
			}
			if !strings.Contains(subject, "case_1") {
				t.Errorf("mail to %s subject = %q, want it to name case_1", tt.to, subject)
			}
			if !strings.Contains(text, tt.body) || !strings.Contains(text, models.MaskAccountNo(acctNo)) {
				t.Errorf("mail to %s text = %q, want the link %s and the masked account", tt.to, text, tt.body)
			}
			for _, s := range customerData {
				if strings.Contains(string(m.Raw), s) || strings.Contains(text, s) {
					t.Errorf("mail to %s carries the customer's %q", tt.to, s)
				}
			}
		}
	})
}

// readMail returns the decoded subject and plain text of a message.
func readMail(t *testing.T, raw []byte) (string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("read mail: %v", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("subject: %v", err)
	}
	return subject, textPart(t, msg.Header.Get("Content-Type"), msg.Body, msg.Header.Get("Content-Transfer-Encoding"))
}

func textPart(t *testing.T, ctype string, body io.Reader, enc string) string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatalf("content type %q: %v", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				t.Fatalf("no text part: %v", err)
			}
			// multipart.Reader decodes quoted-printable itself.
			if s := textPart(t, p.Header.Get("Content-Type"), p, p.Header.Get("Content-Transfer-Encoding")); s != "" {
				return s
			}
		}
	}
	if mt != "text/plain" {
		return ""
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return decodeBody(t, string(b), enc)
}

func decodeBody(t *testing.T, s, enc string) string {
	t.Helper()
	switch strings.ToLower(enc) {
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			t.Fatalf("base64 body: %v", err)
		}
		return string(b)
	case "quoted-printable":
		b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(s)))
		if err != nil {
			t.Fatalf("quoted-printable body: %v", err)
		}
		return string(b)
	}
	return s
}

// TestPreferences: a kind turned off sends nothing, email off sends the
// webhook only; the defaults are on, by email.
func TestPreferences(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	prefs, err := e.svc.Prefs(ctx, "stf_clerk")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range prefs {
		if !p.Enabled || !p.Email {
			t.Errorf("default preference %+v, want on by email", p)
		}
	}
	if len(prefs) != len(models.NotifyKinds) {
		t.Errorf("Prefs = %d kinds, want %d", len(prefs), len(models.NotifyKinds))
	}
	if _, err := e.svc.SetPrefs(ctx, "staff:stf_clerk", "stf_clerk", []models.NotifyPref{
		{Kind: models.NotifyLetterUploaded, Enabled: false, Email: true},
		{Kind: models.NotifyCustomerConsented, Enabled: true, Email: false},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetPrefs(ctx, "staff:stf_clerk", "stf_clerk", []models.NotifyPref{{Kind: "sms_everything", Enabled: true}}); models.ErrorCodeOf(err) != models.EINVALID {
		t.Errorf("SetPrefs(unknown kind) = %v, want EINVALID", err)
	}
	consent := e.event(t, "customer:cus_1", "customer.consent", "case_1", nil)
	letter := e.event(t, "customer:cus_1", "letter.uploaded", "case_1", map[string]string{"letter": "let_1"})
	if _, err := e.svc.Dispatch(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(slices.Concat(both("stf_backup", models.NotifyCustomerConsented), []string{"stf_clerk customer_consented webhook"}), e.sent(t, consent)); diff != "" {
		t.Errorf("consent with email off (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(both("stf_backup", models.NotifyLetterUploaded), e.sent(t, letter)); diff != "" {
		t.Errorf("letter with the kind off (-want +got):\n%s", diff)
	}
}

// TestDispatchOnce: a second run sends nothing again, and two processes
// dispatching at once (on PostgreSQL, the multi-node database) tell each
// member once.
func TestDispatchOnce(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			ctx := context.Background()
			var seqs []int64
			for i := range 5 {
				seqs = append(seqs, e.event(t, "customer:cus_1", "letter.uploaded", "case_1", map[string]string{"letter": fmt.Sprint("let_", i)}))
			}
			other := e.service() // a second process over the same database
			var wg sync.WaitGroup
			counts := make([]int, 4)
			for i := range counts {
				svc := e.svc
				if i%2 == 1 {
					svc = other
				}
				wg.Go(func() {
					n, err := svc.Dispatch(ctx)
					if err != nil {
						t.Errorf("Dispatch: %v", err)
					}
					counts[i] = n
				})
			}
			wg.Wait()
			total := 0
			for _, n := range counts {
				total += n
			}
			if total != 10 { // 5 events x 2 clerks
				t.Errorf("concurrent Dispatch sent %d (%v), want 10", total, counts)
			}
			if n, err := e.svc.Dispatch(ctx); err != nil || n != 0 {
				t.Errorf("Dispatch again = %d, %v; want 0", n, err)
			}
			for _, seq := range seqs {
				if got := e.sent(t, seq); len(got) != 4 {
					t.Errorf("notifications of event %d = %v, want 2 members x 2 channels", seq, got)
				}
			}
		})
	}
}

// TestAlertSlots drives the slot alert with the clock: nothing more than
// 15 minutes ahead, then once to the clerks and the supervisors, never
// again (also with two processes at once); a new slot gets its own; not
// when a clerk opened the call; when only the customer did; never for a
// cancelled case.
func TestAlertSlots(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			ctx := context.Background()
			slot := t0.Add(time.Hour) // case_1
			e.newCase(t, "case_clerk", slot)
			e.newCase(t, "case_customer", slot)
			e.newCase(t, "case_cancelled", slot)
			e.setState(t, "case_clerk", models.StateInSession)
			e.event(t, "staff:stf_backup", "case.join", "case_clerk", map[string]string{"from": "scheduled", "to": "in_session"})
			e.setState(t, "case_customer", models.StateInSession)
			e.event(t, "customer:cus_1", "case.join", "case_customer", map[string]string{"from": "scheduled", "to": "in_session"})
			e.setState(t, "case_cancelled", models.StateCancelled)

			alerted := func() map[models.CaseID][]string {
				out := map[models.CaseID][]string{}
				for _, n := range e.notifications(t, models.NotificationFilter{}) {
					if n.Kind == models.NotifySlotNoClerk {
						out[n.CaseID] = append(out[n.CaseID], string(n.StaffID)+" "+n.Channel)
					}
				}
				for _, v := range out {
					sort.Strings(v)
				}
				return out
			}
			e.clock.Set(slot.Add(-16 * time.Minute))
			if n, err := e.svc.AlertSlots(ctx); err != nil || n != 0 {
				t.Fatalf("AlertSlots 16 min before = %d, %v; want 0", n, err)
			}
			e.clock.Set(slot.Add(-14 * time.Minute))
			other := e.service()
			var wg sync.WaitGroup
			var mu sync.Mutex
			total := 0
			for _, svc := range []*notify.Service{e.svc, other, e.svc, other} {
				wg.Go(func() {
					n, err := svc.AlertSlots(ctx)
					if err != nil {
						t.Errorf("AlertSlots: %v", err)
					}
					mu.Lock()
					total += n
					mu.Unlock()
				})
			}
			wg.Wait()
			if total != 2 { // case_1 and case_customer
				t.Errorf("AlertSlots x4 at once alerted %d cases, want 2", total)
			}
			want := []string{"stf_backup email", "stf_backup webhook", "stf_clerk email", "stf_clerk webhook", "stf_sup email", "stf_sup webhook", "stf_sup2 webhook"}
			got := alerted()
			for _, id := range []models.CaseID{"case_1", "case_customer"} {
				if diff := cmp.Diff(want, got[id]); diff != "" {
					t.Errorf("slot alert of %s (-want +got):\n%s", id, diff)
				}
			}
			for _, id := range []models.CaseID{"case_clerk", "case_cancelled"} {
				if len(got[id]) != 0 {
					t.Errorf("slot alert of %s = %v, want none", id, got[id])
				}
			}
			e.clock.Set(slot.Add(-time.Minute))
			if n, err := e.svc.AlertSlots(ctx); err != nil || n != 0 {
				t.Errorf("AlertSlots again = %d, %v; want 0", n, err)
			}
			// Rescheduled: the new slot has its own alert.
			e.tx(t, func(tx models.Tx) error {
				c, err := tx.CaseByID(ctx, "case_1")
				if err != nil {
					return err
				}
				c.SlotAt = slot.Add(10 * time.Minute)
				return tx.UpdateCase(ctx, c)
			})
			if n, err := e.svc.AlertSlots(ctx); err != nil || n != 1 {
				t.Errorf("AlertSlots after a reschedule = %d, %v; want 1", n, err)
			}
			// The alert mail names the slot in branch time.
			var ms []*models.OutboundMail
			e.tx(t, func(tx models.Tx) (err error) { ms, err = tx.MailByCase(ctx, "case_customer"); return })
			if len(ms) != 3 {
				t.Fatalf("alert mails of case_customer = %d, want 3", len(ms))
			}
			for _, m := range ms {
				if m.To != "sup@bank.example" {
					continue
				}
				subject, _ := readMail(t, m.Raw)
				if !strings.Contains(subject, "2026-12-05 22:00 Asia/Shanghai") || !strings.Contains(subject, "no clerk has joined") {
					t.Errorf("alert subject = %q", subject)
				}
			}
		})
	}
}

// TestClerkInCall: a call a clerk is in (as the hub reports) gets no
// alert even when the customer opened it.
func TestClerkInCall(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.setState(t, "case_1", models.StateInSession)
	e.event(t, "customer:cus_1", "case.join", "case_1", map[string]string{"from": "scheduled", "to": "in_session"})
	e.svc.ClerkInCall = func(id models.CaseID) bool { return id == "case_1" }
	e.clock.Set(t0.Add(50 * time.Minute))
	if n, err := e.svc.AlertSlots(context.Background()); err != nil || n != 0 {
		t.Errorf("AlertSlots with the clerk in the call = %d, %v; want 0", n, err)
	}
}

// TestWebhookCarriesNoCustomerData delivers a staff notification to a real
// receiver through the webhook package: the body names the member, the
// kind and the case, and nothing of the customer's.
func TestWebhookCarriesNoCustomerData(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	var mu sync.Mutex
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	hooks := webhook.New(e.db, e.chain, e.clock.Now, rand.Reader, slog.New(slog.DiscardHandler), webhook.Config{}, nil)
	if _, err := hooks.CreateEndpoint(ctx, "staff:stf_admin", webhook.NewEndpoint{URL: srv.URL, Events: []string{webhook.StaffNotification}}); err != nil {
		t.Fatal(err)
	}
	e.event(t, "customer:cus_1", "case.join", "case_1", map[string]string{"from": "scheduled", "to": "in_session", "call": "call_1"})
	if _, err := e.svc.Dispatch(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := hooks.Deliver(ctx, "test"); err != nil || n != 2 {
		t.Fatalf("Deliver = %d, %v; want 2 (the two clerks)", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	var staff []string
	for _, b := range bodies {
		for _, s := range customerData {
			if strings.Contains(string(b), s) {
				t.Errorf("webhook body %s carries %q", b, s)
			}
		}
		var p struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		if p.Type != webhook.StaffNotification || p.Data["kind"] != string(models.NotifyCustomerWaiting) || p.Data["case_id"] != "case_1" {
			t.Errorf("webhook body = %s", b)
		}
		keys := make([]string, 0, len(p.Data))
		for k := range p.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if diff := cmp.Diff([]string{"audit_seq", "case_id", "kind", "staff_id"}, keys); diff != "" {
			t.Errorf("webhook data fields (-want +got):\n%s", diff)
		}
		staff = append(staff, fmt.Sprint(p.Data["staff_id"]))
	}
	sort.Strings(staff)
	if diff := cmp.Diff([]string{"stf_backup", "stf_clerk"}, staff); diff != "" {
		t.Errorf("webhook recipients (-want +got):\n%s", diff)
	}
}

// TestPlan: the pure mapping, including who is left out.
func TestPlan(t *testing.T) {
	c := &models.Case{ID: "case_1", ClerkID: "stf_a", BackupID: "stf_b"}
	solo := &models.Case{ID: "case_2", ClerkID: "stf_a"}
	sups := []models.StaffID{"stf_s", "stf_t"}
	tests := []struct {
		name  string
		c     *models.Case
		event models.AuditEvent
		want  string
	}{
		{"consent", c, models.AuditEvent{Actor: "customer:cus_1", Action: "customer.consent"}, "stf_a:customer_consented stf_b:customer_consented"},
		{"consent, no backup", solo, models.AuditEvent{Actor: "customer:cus_1", Action: "customer.consent"}, "stf_a:customer_consented"},
		{"customer joins first", c, models.AuditEvent{Actor: "customer:cus_1", Action: "case.join"}, "stf_a:customer_waiting stf_b:customer_waiting"},
		{"clerk joins first", c, models.AuditEvent{Actor: "staff:stf_a", Action: "case.join"}, ""},
		{"letter by the backup", c, models.AuditEvent{Actor: "staff:stf_b", Action: "letter.uploaded"}, "stf_a:letter_uploaded"},
		{"submit", c, models.AuditEvent{Actor: "staff:stf_a", Action: "case.submit"}, "stf_s:case_submitted stf_t:case_submitted"},
		{"submit by a clerk-supervisor", c, models.AuditEvent{Actor: "staff:stf_s", Action: "case.submit"}, "stf_t:case_submitted"},
		{"reject", c, models.AuditEvent{Actor: "staff:stf_s", Action: "case.reject"}, "stf_a:case_rejected stf_b:case_rejected"},
		{"reassign primary", c, models.AuditEvent{Actor: "staff:stf_s", Action: "case.reassigned", Detail: map[string]string{"old": "stf_a", "new": "stf_c"}}, "stf_a:case_reassigned stf_c:case_reassigned"},
		{"backup cleared", c, models.AuditEvent{Actor: "staff:stf_s", Action: "case.reassigned", Detail: map[string]string{"old": "stf_b", "new": ""}}, "stf_b:case_reassigned"},
		{"approve", c, models.AuditEvent{Actor: "staff:stf_s", Action: "case.approve"}, ""},
		{"no case", nil, models.AuditEvent{Actor: "customer:cus_1", Action: "customer.consent"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, tg := range notify.Plan(&tt.event, tt.c, sups) {
				got = append(got, string(tg.Staff)+":"+string(tg.Kind))
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("Plan(%s) = %q, want %q", tt.event.Action, g, tt.want)
			}
		})
	}
}
