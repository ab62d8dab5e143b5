package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"remoteidv/audit"
	"remoteidv/internal/testenv"
	"remoteidv/models"
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

type env struct {
	store models.Store
	chain audit.Chain
	clock *clock
	svc   *webhook.Service
}

func newEnv(t *testing.T, cfg webhook.Config) *env {
	t.Helper()
	return newEnvOn(t, "sqlite", cfg)
}

// newEnvOn is newEnv on a fresh database of the kind named: "sqlite" (a
// file) or "postgres" (a schema of its own on the test server).
func newEnvOn(t *testing.T, kind string, cfg webhook.Config) *env {
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
	e := &env{store: db, chain: audit.Chain{Now: c.Now}, clock: c}
	e.svc = webhook.New(db, e.chain, c.Now, rand.Reader, slog.New(slog.DiscardHandler), cfg, nil)
	return e
}

func (e *env) event(t *testing.T, action string, id models.CaseID, detail map[string]string) {
	t.Helper()
	err := e.store.Transact(context.Background(), func(tx models.Tx) error {
		return e.chain.Append(context.Background(), tx, &models.AuditEvent{Actor: "staff:stf_clerk", Action: action, CaseID: id, Detail: detail})
	})
	if err != nil {
		t.Fatalf("append %s: %v", action, err)
	}
}

// receiver is a webhook receiver on loopback that checks every request's
// signature with its own implementation of the Standard Webhooks scheme
// (not the package's Sign), can fail on purpose and can be slow.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	secret   string        // whsec_...
	failN    int           // answer 500 to the first failN requests
	status   int           // answer this instead of 204 after those (0: 204)
	delay    time.Duration // wait this long before answering
	now      func() time.Time
	got      []received
	badSigns int
}

type received struct {
	ID, Timestamp string
	Body          []byte
}

func newReceiver(t *testing.T, secret string, now func() time.Time) *receiver {
	r := &receiver{secret: secret, now: now}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

// verify is the receiver's check: HMAC-SHA256 keyed with the base64 part
// of the secret, over "id.timestamp.body", compared in constant time with
// each "v1,<base64>" of the header; the timestamp within 5 minutes.
func verify(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" {
		return fmt.Errorf("missing webhook-id or webhook-timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp %s too far from now", ts)
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%s.%s", id, ts, body)
	want := m.Sum(nil)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		v, b64, ok := strings.Cut(sig, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("no valid signature")
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	delay, secret := r.delay, r.secret
	r.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := verify(secret, req.Header, body, r.now()); err != nil {
		r.badSigns++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	r.got = append(r.got, received{ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"), Body: body})
	if len(r.got) <= r.failN {
		http.Error(w, "down on purpose", http.StatusInternalServerError)
		return
	}
	if r.status != 0 {
		w.WriteHeader(r.status)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (e *env) endpoint(t *testing.T, url string, events ...string) *webhook.Endpoint {
	t.Helper()
	ep, err := e.svc.CreateEndpoint(context.Background(), "staff:stf_admin", webhook.NewEndpoint{URL: url, Events: events})
	if err != nil {
		t.Fatalf("CreateEndpoint: %v", err)
	}
	return ep
}

func (e *env) deliver(t *testing.T) int {
	t.Helper()
	n, err := e.svc.Deliver(context.Background(), "w1")
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	return n
}

func (e *env) deliveries(t *testing.T) []*models.WebhookDelivery {
	t.Helper()
	ds, err := e.svc.Deliveries(context.Background(), models.WebhookDeliveryFilter{})
	if err != nil {
		t.Fatalf("Deliveries: %v", err)
	}
	return ds
}

func (e *env) attempts(t *testing.T, id string) []*models.WebhookAttempt {
	t.Helper()
	_, atts, err := e.svc.Delivery(context.Background(), id)
	if err != nil {
		t.Fatalf("Delivery(%s): %v", id, err)
	}
	return atts
}

const accountNo = "6222000011112222"

// A receiver down for three attempts gets the event on the fourth, each
// attempt signed, with the same webhook-id, after 30s, 1m and 2m; the
// payload carries the masked account number and never an address.
func TestDeliverRetriesWithBackoff(t *testing.T) {
	e := newEnv(t, webhook.Config{Timeout: 2 * time.Second})
	rcv := newReceiver(t, "", e.clock.Now)
	ep := e.endpoint(t, rcv.URL+"/hook?token=abc", webhook.CaseCreated, webhook.StatementReleased)
	rcv.secret, rcv.failN = ep.Secret, 3
	e.event(t, "case.created", "case_1", map[string]string{"account": accountNo, "purpose": "statement", "slot": "2026-12-06T13:00:00Z", "customer_tz": "America/New_York"})
	e.event(t, "case.release", "case_1", map[string]string{"from": "sealed", "to": "released", "statement": "stm_1", "approval": "apr_1", "to_address": "li.wei@example.com", "message_id": "m@bank"})
	e.event(t, "case.submit", "case_1", map[string]string{"from": "in_session", "to": "pending_review"}) // not subscribed

	type step struct {
		at        time.Duration
		delivered int
		requests  int
	}
	// Two deliveries (case.created, statement.released) meet the three
	// failures: both fail at once, one again 30s later (when the other
	// gets through), and that one gets through 1m after.
	for _, s := range []step{{0, 0, 2}, {29 * time.Second, 0, 2}, {30 * time.Second, 1, 4}, {89 * time.Second, 0, 4},
		{90 * time.Second, 1, 5}} {
		e.clock.Set(t0.Add(s.at))
		n := e.deliver(t)
		if got := len(rcv.requests()); n != s.delivered || got != s.requests {
			t.Fatalf("at +%v: Deliver() = %d, receiver saw %d requests; want %d, %d", s.at, n, got, s.delivered, s.requests)
		}
	}
	ds := e.deliveries(t)
	if len(ds) != 2 {
		t.Fatalf("deliveries = %d, want 2 (case.submit is not subscribed)", len(ds))
	}
	for _, d := range ds {
		atts := e.attempts(t, d.ID)
		if d.State != models.WebhookDelivered || len(atts) != 3 && len(atts) != 2 {
			t.Errorf("delivery %s = %s after %d attempts", d.Type, d.State, len(atts))
		}
		for i, a := range atts[:len(atts)-1] {
			if a.Status != 500 || !strings.Contains(a.Error, "500") {
				t.Errorf("attempt %d of %s = status %d %q, want 500", i+1, d.Type, a.Status, a.Error)
			}
		}
		if last := atts[len(atts)-1]; last.Status != 204 || last.Error != "" {
			t.Errorf("last attempt of %s = %d %q, want 204", d.Type, last.Status, last.Error)
		}
	}
	if rcv.badSigns != 0 {
		t.Errorf("receiver rejected %d signatures", rcv.badSigns)
	}
	byID := map[string]int{}
	for _, r := range rcv.requests() {
		byID[r.ID]++
		var p struct {
			Type      string         `json:"type"`
			Timestamp time.Time      `json:"timestamp"`
			Data      map[string]any `json:"data"`
		}
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatalf("payload %s: %v", r.Body, err)
		}
		if strings.Contains(string(r.Body), accountNo) || strings.Contains(string(r.Body), "@") || strings.Contains(string(r.Body), "li.wei") {
			t.Errorf("payload %s carries the account number or an address", r.Body)
		}
		if p.Data["case_id"] != "case_1" || p.Timestamp.IsZero() {
			t.Errorf("payload %s: want case_id case_1 and a timestamp", r.Body)
		}
		switch p.Type {
		case webhook.CaseCreated:
			if p.Data["account"] != models.MaskAccountNo(accountNo) || p.Data["purpose"] != "statement" {
				t.Errorf("case.created data = %v, want the masked account and the purpose", p.Data)
			}
		case webhook.StatementReleased:
			if p.Data["statement_id"] != "stm_1" {
				t.Errorf("statement.released data = %v, want statement_id stm_1", p.Data)
			}
		default:
			t.Errorf("unexpected type %q", p.Type)
		}
	}
	if len(byID) != 2 {
		t.Errorf("webhook-ids = %v, want 2 ids kept across retries", byID)
	}
	if got := metric(t, e.svc, "idv_webhook_delivery_failures_total"); got != 3 {
		t.Errorf("idv_webhook_delivery_failures_total = %v, want 3", got)
	}
}

// A receiver slower than the client's timeout counts as a failed attempt
// without an HTTP status, and the worker does not wait for it.
func TestDeliverSlowReceiverTimesOut(t *testing.T) {
	e := newEnv(t, webhook.Config{Timeout: 200 * time.Millisecond})
	rcv := newReceiver(t, "", e.clock.Now)
	ep := e.endpoint(t, rcv.URL, webhook.CallEnded)
	rcv.secret, rcv.delay = ep.Secret, 3*time.Second
	e.event(t, "call.ended", "case_1", map[string]string{"call": "call_1", "reason": "customer said my email is li.wei@example.com", "recording": "complete"})
	start := time.Now()
	if n := e.deliver(t); n != 0 {
		t.Errorf("Deliver() = %d, want 0", n)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Deliver took %v against a slow receiver, want about the 200ms timeout", took)
	}
	ds := e.deliveries(t)
	if len(ds) != 1 || ds[0].State != models.WebhookPending || ds[0].LastStatus != 0 || !strings.Contains(ds[0].LastError, "timeout") {
		t.Fatalf("deliveries = %+v, want one pending after a timeout", ds)
	}
	if strings.Contains(string(ds[0].Payload), "email") {
		t.Errorf("call.ended payload %s carries the free-text reason", ds[0].Payload)
	}
	// The receiver recovers: the next attempt after the backoff succeeds.
	rcv.mu.Lock()
	rcv.delay = 0
	rcv.mu.Unlock()
	e.clock.Set(t0.Add(30 * time.Second))
	if n := e.deliver(t); n != 1 {
		t.Errorf("Deliver() after recovery = %d, want 1", n)
	}
}

// A receiver that never answers 2xx is retried with backoff for 24 hours,
// then the delivery fails; an admin's redelivery later reaches it.
func TestGiveUpAfter24HoursThenRedeliver(t *testing.T) {
	cfg := webhook.Config{Timeout: time.Second}
	e := newEnv(t, cfg)
	rcv := newReceiver(t, "", e.clock.Now)
	ep := e.endpoint(t, rcv.URL, "*")
	rcv.secret, rcv.failN = ep.Secret, 1<<30
	e.event(t, "check.face_match", "case_1", map[string]string{"check": "chk_1", "decision": "match", "source": "live_call", "capture_sha256": strings.Repeat("ab", 32), "distance": "0.2"})

	// The schedule, computed here: 30s doubling to at most 1h, the last
	// attempt at exactly 24h.
	var want []time.Duration
	for at, n := time.Duration(0), 1; ; n++ {
		want = append(want, at)
		if at >= 24*time.Hour {
			break
		}
		wait := 30 * time.Second << (n - 1)
		if n > 8 {
			wait = time.Hour
		}
		wait = min(wait, time.Hour)
		at = min(at+wait, 24*time.Hour)
	}
	var got []time.Duration
	for i := 0; i < 100; i++ {
		e.deliver(t)
		d := e.deliveries(t)[0]
		if d.State != models.WebhookPending {
			break
		}
		e.clock.Set(d.NextAttemptAt)
	}
	d := e.deliveries(t)[0]
	for _, a := range e.attempts(t, d.ID) {
		got = append(got, a.At.Sub(t0))
	}
	if d.State != models.WebhookFailed || d.DoneAt == nil {
		t.Fatalf("delivery after 24h = %s, want failed", d.State)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("attempt times =\n%v\nwant\n%v", got, want)
	}
	if n := len(rcv.requests()); n != len(want) {
		t.Errorf("receiver saw %d requests, want %d", n, len(want))
	}
	if g := metric(t, e.svc, "idv_webhook_deliveries_given_up_total"); g != 1 {
		t.Errorf("idv_webhook_deliveries_given_up_total = %v, want 1", g)
	}
	var p map[string]any
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		t.Fatal(err)
	}
	data := p["data"].(map[string]any)
	if data["kind"] != "face_match" || data["result"] != "match" || data["check_id"] != "chk_1" || data["capture_sha256"] != nil || data["distance"] != nil {
		t.Errorf("check.recorded data = %v, want kind, result and id only", data)
	}

	// By hand, a day later, with the receiver fixed.
	rcv.mu.Lock()
	rcv.failN = 0
	rcv.mu.Unlock()
	e.clock.Set(t0.Add(48 * time.Hour))
	if err := e.svc.Redeliver(context.Background(), "staff:stf_admin", d.ID); err != nil {
		t.Fatalf("Redeliver: %v", err)
	}
	if err := e.svc.Redeliver(context.Background(), "staff:stf_admin", d.ID); models.ErrorCodeOf(err) != models.ECONFLICT {
		t.Errorf("Redeliver(pending) = %v, want ECONFLICT", err)
	}
	if n := e.deliver(t); n != 1 {
		t.Fatalf("Deliver() after redelivery = %d, want 1", n)
	}
	d = e.deliveries(t)[0]
	reqs := rcv.requests()
	if d.State != models.WebhookDelivered || len(e.attempts(t, d.ID)) != len(want)+1 || reqs[len(reqs)-1].ID != d.ID {
		t.Errorf("after redelivery: %s with %d attempts, want delivered with %d, same webhook-id", d.State, len(e.attempts(t, d.ID)), len(want)+1)
	}
	if ts := reqs[len(reqs)-1].Timestamp; ts != strconv.FormatInt(t0.Add(48*time.Hour).Unix(), 10) {
		t.Errorf("redelivered webhook-timestamp = %s, want the time of the new attempt", ts)
	}
}

// A receiver holding another secret rejects every delivery, and the
// receiver's check refuses a signature made with a wrong key.
func TestWrongSecretFailsVerification(t *testing.T) {
	e := newEnv(t, webhook.Config{Timeout: time.Second})
	rcv := newReceiver(t, "", e.clock.Now)
	e.endpoint(t, rcv.URL, webhook.CaseStateChanged)
	other := webhook.FormatSecret([]byte(strings.Repeat("k", 32)))
	rcv.secret = other
	e.event(t, "case.cancel", "case_1", map[string]string{"from": "scheduled", "to": "cancelled", "reason": "customer asked"})
	e.deliver(t)
	ds := e.deliveries(t)
	if len(ds) != 1 || ds[0].LastStatus != http.StatusUnauthorized || rcv.badSigns != 1 || len(rcv.requests()) != 0 {
		t.Fatalf("delivery to a receiver with another secret = %+v (bad signatures %d), want a 401", ds, rcv.badSigns)
	}

	body := []byte(`{"type":"x"}`)
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("webhook-timestamp", strconv.FormatInt(t0.Unix(), 10))
	h.Set("webhook-signature", webhook.Sign([]byte(strings.Repeat("k", 32)), "msg_1", t0.Unix(), body))
	for _, tt := range []struct {
		name   string
		secret string
		body   []byte
		ok     bool
	}{
		{"right secret", other, body, true},
		{"wrong secret", webhook.FormatSecret([]byte(strings.Repeat("j", 32))), body, false},
		{"altered body", other, []byte(`{"type":"y"}`), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := verify(tt.secret, h, tt.body, t0); (err == nil) != tt.ok {
				t.Errorf("verify = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// Redirects are answers, never followed: the signed body goes only to the
// registered URL.
func TestNoRedirects(t *testing.T) {
	e := newEnv(t, webhook.Config{Timeout: time.Second})
	var elsewhere int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere++ }))
	defer other.Close()
	redir := httptest.NewServer(http.RedirectHandler(other.URL, http.StatusTemporaryRedirect))
	defer redir.Close()
	e.endpoint(t, redir.URL, webhook.CustomerConsented)
	e.event(t, "customer.consent", "case_1", map[string]string{"version": "1"})
	e.deliver(t)
	if ds := e.deliveries(t); len(ds) != 1 || ds[0].LastStatus != http.StatusTemporaryRedirect || elsewhere != 0 {
		t.Errorf("redirected delivery: %+v, other server saw %d, want status 307 and no request", ds, elsewhere)
	}
}

// The dispatcher follows the audit log once: events before an endpoint
// existed, unsubscribed types and disabled endpoints get nothing; a new
// service (a restart) goes on from the stored cursor.
func TestDispatchFollowsTheAuditLog(t *testing.T) {
	e := newEnv(t, webhook.Config{})
	ctx := context.Background()
	e.event(t, "case.created", "case_0", map[string]string{"account": accountNo})
	a := e.endpoint(t, "https://a.example/hook", webhook.CheckRecorded)
	b := e.endpoint(t, "https://b.example/hook", webhook.CheckRecorded, webhook.CaseCreated)
	e.event(t, "check.liveness", "case_1", map[string]string{"check": "chk_l", "result": "pass"})
	e.event(t, "case.created", "case_2", map[string]string{"account": accountNo})
	if n, err := e.svc.Dispatch(ctx); err != nil || n != 3 {
		t.Fatalf("Dispatch() = %d, %v; want 3 (a: check; b: check, case_2)", n, err)
	}
	if n, err := e.svc.Dispatch(ctx); err != nil || n != 0 {
		t.Fatalf("Dispatch() again = %d, %v; want 0", n, err)
	}
	if err := e.svc.SetDisabled(ctx, "staff:stf_admin", b.ID, true); err != nil {
		t.Fatal(err)
	}
	e.event(t, "check.registry", "case_1", map[string]string{"check": "chk_r", "result": "pass", "name_match": "true"})
	restarted := webhook.New(e.store, e.chain, e.clock.Now, rand.Reader, slog.New(slog.DiscardHandler), webhook.Config{}, nil)
	if n, err := restarted.Dispatch(ctx); err != nil || n != 1 {
		t.Fatalf("Dispatch() after a restart = %d, %v; want 1 (a only)", n, err)
	}
	per := map[string][]string{}
	for _, d := range e.deliveries(t) {
		per[d.EndpointID] = append(per[d.EndpointID], d.Type+"/"+string(d.CaseID))
	}
	if got := fmt.Sprint(per[a.ID]); got != "[check.recorded/case_1 check.recorded/case_1]" {
		t.Errorf("endpoint a got %s", got)
	}
	if got := fmt.Sprint(per[b.ID]); got != "[case.created/case_2 check.recorded/case_1]" {
		t.Errorf("endpoint b got %s", got)
	}
}

// Three workers delivering at once post each delivery once, on both
// databases (several idv serve processes share PostgreSQL).
func TestConcurrentWorkersDeliverOnce(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) { testConcurrentWorkers(t, kind) })
	}
}

func testConcurrentWorkers(t *testing.T, kind string) {
	e := newEnvOn(t, kind, webhook.Config{Timeout: 2 * time.Second, Batch: 4})
	rcv := newReceiver(t, "", e.clock.Now)
	ep := e.endpoint(t, rcv.URL, webhook.CaseStateChanged)
	rcv.secret, rcv.delay = ep.Secret, 50*time.Millisecond
	for i := range 10 {
		e.event(t, "case.cancel", models.CaseID(fmt.Sprintf("case_%d", i)), map[string]string{"from": "scheduled", "to": "cancelled"})
	}
	if _, err := e.svc.Dispatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for range 5 {
				if _, err := e.svc.Deliver(context.Background(), fmt.Sprintf("w%d", w)); err != nil {
					t.Errorf("Deliver(w%d): %v", w, err)
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for _, r := range rcv.requests() {
		seen[r.ID]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("delivery %s posted %d times", id, n)
		}
	}
	if len(seen) != 10 {
		t.Errorf("receiver got %d deliveries, want 10", len(seen))
	}

	// A worker claims a delivery and dies: nobody posts it until its lease
	// runs out, then another worker posts it once.
	e.event(t, "case.cancel", "case_dead", map[string]string{"from": "scheduled", "to": "cancelled"})
	if _, err := e.svc.Dispatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err := e.store.Transact(ctx, func(tx models.Tx) error {
		ds, err := tx.ClaimWebhookDeliveries(ctx, "dead-node/webhook", e.clock.Now(), e.clock.Now().Add(2*time.Minute), 10)
		if err == nil && len(ds) != 1 {
			return fmt.Errorf("dead worker claimed %d deliveries, want 1", len(ds))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.Deliver(ctx, "w0"); err != nil || n != 0 {
		t.Fatalf("Deliver while a dead worker holds the delivery = %d, %v; want 0", n, err)
	}
	e.clock.Set(e.clock.Now().Add(3 * time.Minute))
	if n, err := e.svc.Deliver(ctx, "w1"); err != nil || n != 1 {
		t.Fatalf("Deliver after the dead worker's lease ran out = %d, %v; want 1", n, err)
	}
	if got := len(rcv.requests()); got != 11 {
		t.Errorf("receiver got %d posts in all, want 11", got)
	}
}

func TestCreateEndpointValidates(t *testing.T) {
	e := newEnv(t, webhook.Config{})
	for _, tt := range []struct {
		name string
		in   webhook.NewEndpoint
	}{
		{"no events", webhook.NewEndpoint{URL: "https://x.example/h"}},
		{"unknown event", webhook.NewEndpoint{URL: "https://x.example/h", Events: []string{"case.deleted"}}},
		{"ftp", webhook.NewEndpoint{URL: "ftp://x.example/h", Events: []string{"*"}}},
		{"credentials", webhook.NewEndpoint{URL: "https://u:p@x.example/h", Events: []string{"*"}}},
		{"short secret", webhook.NewEndpoint{URL: "https://x.example/h", Events: []string{"*"}, Secret: webhook.FormatSecret([]byte("short"))}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.svc.CreateEndpoint(context.Background(), "staff:stf_admin", tt.in); models.ErrorCodeOf(err) != models.EINVALID {
				t.Errorf("CreateEndpoint(%+v) = %v, want EINVALID", tt.in, err)
			}
		})
	}
	given := webhook.FormatSecret([]byte(strings.Repeat("s", 32)))
	ep, err := e.svc.CreateEndpoint(context.Background(), "staff:stf_admin", webhook.NewEndpoint{URL: "https://x.example/h", Events: []string{"*"}, Secret: given})
	if err != nil || ep.Secret != given {
		t.Fatalf("CreateEndpoint(given secret) = %v, %v; want the given secret back", ep, err)
	}
}

// metric reads a metric of the service as a Prometheus registry gathers it.
func metric(t *testing.T, svc *webhook.Service, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(svc.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("metric %s not gathered", name)
	return 0
}

// A receiver answering 2xx with an endless body is read only up to the
// cap: the delivery counts and the worker goes on.
func TestAnswerReadIsBounded(t *testing.T) {
	e := newEnv(t, webhook.Config{Timeout: 5 * time.Second, MaxResponse: 1 << 10})
	endless := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		chunk := []byte(strings.Repeat("x", 4096))
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			if r.Context().Err() != nil {
				return
			}
		}
	}))
	defer endless.Close()
	e.endpoint(t, endless.URL, webhook.StatementDelivered)
	e.event(t, "statement.delivered", "case_1", map[string]string{"mail": "mail_1", "smtp_reply": "250 ok"})
	start := time.Now()
	if n := e.deliver(t); n != 1 {
		t.Errorf("Deliver() = %d, want 1", n)
	}
	took := time.Since(start)
	t.Logf("Deliver against an endless answer: %v", took)
	if took > 3*time.Second {
		t.Errorf("Deliver took %v against an endless answer, want well under the 5s timeout", took)
	}
}

// An endpoint whose secret cannot be opened (the database was moved under
// another staging key) fails its own attempts with that error; another
// endpoint's delivery still goes out.
func TestUnreadableSecretFailsOnlyItsEndpoint(t *testing.T) {
	e := newEnv(t, webhook.Config{Timeout: time.Second})
	rcv := newReceiver(t, "", e.clock.Now)
	good := e.endpoint(t, rcv.URL, webhook.CaseCreated)
	rcv.secret = good.Secret
	broken := e.endpoint(t, rcv.URL+"/broken", webhook.CaseCreated)
	// A sealed value under a key this database does not have.
	sealed := append([]byte{0x01}, make([]byte, 60)...)
	if _, err := e.store.(interface{ SQL() *sql.DB }).SQL().Exec(`UPDATE webhook_endpoints SET secret = ? WHERE id = ?`, sealed, broken.ID); err != nil {
		t.Fatal(err)
	}
	e.event(t, "case.created", "case_1", map[string]string{"account": accountNo})
	if n := e.deliver(t); n != 1 {
		t.Errorf("Deliver() = %d, want 1 (the good endpoint's)", n)
	}
	for _, d := range e.deliveries(t) {
		switch d.EndpointID {
		case good.ID:
			if d.State != models.WebhookDelivered {
				t.Errorf("good endpoint's delivery = %s, want delivered", d.State)
			}
		case broken.ID:
			if d.State != models.WebhookPending || !strings.Contains(d.LastError, "no key is configured") {
				t.Errorf("broken endpoint's delivery = %s %q, want pending with the key error", d.State, d.LastError)
			}
		}
	}
}
