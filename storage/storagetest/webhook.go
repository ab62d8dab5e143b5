package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/storage/encfile"
	"remoteidv/storage/sqldb"
)

// testWebhooks covers WebhookRepo: endpoints with their secret (sealed at
// rest where the store is a *sqldb.DB with a key), the dispatcher's
// cursor, deliveries claimed under a lease (never twice at once), attempts
// logged in order, disabled and deleted endpoints, and redelivery.
func testWebhooks(t *testing.T, s models.Store) {
	ctx := context.Background()
	secret := []byte("whsec-test-secret-0123456789abcdef")
	if db, ok := s.(*sqldb.DB); ok {
		k, err := encfile.NewKey(bytes.Repeat([]byte{7}, encfile.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		db.SealDescriptors(k, rand.Reader)
	}
	ep := &models.WebhookEndpoint{ID: "whe_1", URL: "https://hooks.example/idv", Description: "core banking", Events: []string{"case.created", "case.state_changed"},
		Secret: secret, FromSeq: 3, CreatedBy: "staff:stf_admin", CreatedAt: t0}
	tx(t, s, func(tx models.Tx) error { return tx.CreateWebhookEndpoint(ctx, ep) })
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateWebhookEndpoint(ctx, ep) })
	wantCode(t, "CreateWebhookEndpoint(duplicate)", err, models.ECONFLICT)
	if db, ok := s.(*sqldb.DB); ok {
		var raw []byte
		q := rebindFor(db, `SELECT secret FROM webhook_endpoints WHERE id = ?`)
		if err := db.SQL().QueryRowContext(ctx, q, "whe_1").Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, secret[:16]) || len(raw) != len(secret)+encfile.BlobOverhead {
			t.Errorf("stored secret = %d bytes (plaintext visible: %v), want %d sealed bytes", len(raw), bytes.Contains(raw, secret[:16]), len(secret)+encfile.BlobOverhead)
		}
	}
	endpoint := func(id string) *models.WebhookEndpoint {
		t.Helper()
		var got *models.WebhookEndpoint
		tx(t, s, func(tx models.Tx) (err error) { got, err = tx.WebhookEndpointByID(ctx, id); return })
		return got
	}
	if got := endpoint("whe_1"); !bytes.Equal(got.Secret, secret) || got.URL != ep.URL || fmt.Sprint(got.Events) != fmt.Sprint(ep.Events) ||
		got.FromSeq != 3 || !got.CreatedAt.Equal(t0) || !got.Active() || !got.Wants("case.created") || got.Wants("call.started") {
		t.Fatalf("WebhookEndpointByID(whe_1) = %+v, want it as created with its secret", got)
	}
	err = s.Transact(ctx, func(tx models.Tx) error { _, err := tx.WebhookEndpointByID(ctx, "whe_none"); return err })
	wantCode(t, "WebhookEndpointByID(unknown)", err, models.ENOTFOUND)

	var listed []*models.WebhookEndpoint
	tx(t, s, func(tx models.Tx) (err error) { listed, err = tx.WebhookEndpoints(ctx); return })
	if len(listed) != 1 || listed[0].ID != "whe_1" || listed[0].Secret != nil || listed[0].URL != ep.URL {
		t.Errorf("WebhookEndpoints() = %+v, want whe_1 without its secret", listed)
	}

	// The cursor starts at the audit head of the migration and only moves
	// forward.
	var cur int64
	tx(t, s, func(tx models.Tx) (err error) { cur, err = tx.WebhookCursor(ctx); return })
	if cur != 0 {
		t.Errorf("WebhookCursor() on an empty log = %d, want 0", cur)
	}
	tx(t, s, func(tx models.Tx) error { return tx.SetWebhookCursor(ctx, 9) })
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.SetWebhookCursor(ctx, 8) })
	wantCode(t, "SetWebhookCursor(backwards)", err, models.ECONFLICT)
	tx(t, s, func(tx models.Tx) (err error) { cur, err = tx.WebhookCursor(ctx); return })
	if cur != 9 {
		t.Errorf("WebhookCursor() = %d, want 9", cur)
	}

	delivery := func(id string, seq int64) *models.WebhookDelivery {
		return &models.WebhookDelivery{ID: id, EndpointID: "whe_1", Type: "case.created", AuditSeq: seq, CaseID: "case_a",
			Payload: []byte(`{"type":"case.created"}`), CreatedAt: t0, NextAttemptAt: t0, GiveUpAt: t0.Add(24 * time.Hour)}
	}
	tx(t, s, func(tx models.Tx) error { return tx.EnqueueWebhookDelivery(ctx, delivery("msg_1", 4)) })
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.EnqueueWebhookDelivery(ctx, delivery("msg_dup", 4)) })
	wantCode(t, "EnqueueWebhookDelivery(same endpoint, event and type)", err, models.ECONFLICT)

	claim := func(owner string, now time.Time) []*models.WebhookDelivery {
		t.Helper()
		var got []*models.WebhookDelivery
		tx(t, s, func(tx models.Tx) (err error) {
			got, err = tx.ClaimWebhookDeliveries(ctx, owner, now, now.Add(time.Minute), 10)
			return
		})
		return got
	}
	record := func(owner string, a *models.WebhookAttempt, st models.WebhookState, next time.Time) error {
		return s.Transact(ctx, func(tx models.Tx) error { return tx.RecordWebhookAttempt(ctx, owner, a, st, next) })
	}
	if got := claim("w1", t0); len(got) != 1 || got[0].ID != "msg_1" || got[0].LeaseOwner != "w1" || string(got[0].Payload) != `{"type":"case.created"}` ||
		got[0].State != models.WebhookPending || !got[0].GiveUpAt.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("ClaimWebhookDeliveries(w1) = %+v, want msg_1 leased to w1", got)
	}
	if got := claim("w2", t0.Add(30*time.Second)); len(got) != 0 {
		t.Errorf("ClaimWebhookDeliveries(w2) during w1's lease = %d, want 0", len(got))
	}
	a1 := &models.WebhookAttempt{DeliveryID: "msg_1", N: 1, At: t0, Status: 500, Error: "HTTP 500", Duration: 120 * time.Millisecond}
	wantCode(t, "RecordWebhookAttempt by a non-owner", record("w2", a1, models.WebhookPending, t0.Add(time.Minute)), models.ECONFLICT)
	if err := record("w1", a1, models.WebhookPending, t0.Add(5*time.Minute)); err != nil {
		t.Fatalf("RecordWebhookAttempt(1): %v", err)
	}
	wantCode(t, "RecordWebhookAttempt twice", record("w1", a1, models.WebhookPending, t0.Add(5*time.Minute)), models.ECONFLICT)
	if got := claim("w2", t0.Add(4*time.Minute)); len(got) != 0 {
		t.Errorf("ClaimWebhookDeliveries before the retry time = %d, want 0", len(got))
	}
	got := claim("w2", t0.Add(5*time.Minute))
	if len(got) != 1 || got[0].Attempts != 1 || got[0].LastStatus != 500 || got[0].LastError != "HTTP 500" {
		t.Fatalf("ClaimWebhookDeliveries after the retry time = %+v, want msg_1 after 1 attempt", got)
	}
	a2 := &models.WebhookAttempt{DeliveryID: "msg_1", N: 2, At: t0.Add(5 * time.Minute), Status: 204, Duration: 3 * time.Millisecond}
	if err := record("w2", a2, models.WebhookDelivered, time.Time{}); err != nil {
		t.Fatalf("RecordWebhookAttempt(2): %v", err)
	}
	var atts []*models.WebhookAttempt
	tx(t, s, func(tx models.Tx) (err error) { atts, err = tx.WebhookAttempts(ctx, "msg_1"); return })
	if len(atts) != 2 || atts[0].Status != 500 || atts[0].Error != "HTTP 500" || atts[0].Duration != 120*time.Millisecond ||
		atts[1].Status != 204 || !atts[1].At.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("WebhookAttempts(msg_1) = %+v, want the 500 then the 204", atts)
	}
	var d *models.WebhookDelivery
	tx(t, s, func(tx models.Tx) (err error) { d, err = tx.WebhookDeliveryByID(ctx, "msg_1"); return })
	if d.State != models.WebhookDelivered || d.DoneAt == nil || d.Attempts != 2 || d.LeaseOwner != "" {
		t.Errorf("WebhookDeliveryByID(msg_1) = %+v, want delivered after 2 attempts, lease released", d)
	}

	// A disabled endpoint's deliveries wait.
	tx(t, s, func(tx models.Tx) error { return tx.EnqueueWebhookDelivery(ctx, delivery("msg_2", 5)) })
	off := t0.Add(6 * time.Minute)
	tx(t, s, func(tx models.Tx) error { return tx.SetWebhookEndpointDisabled(ctx, "whe_1", &off) })
	if got := claim("w1", t0.Add(7*time.Minute)); len(got) != 0 {
		t.Errorf("ClaimWebhookDeliveries of a disabled endpoint = %d, want 0", len(got))
	}
	var n int
	tx(t, s, func(tx models.Tx) (err error) { n, err = tx.PendingWebhookDeliveries(ctx); return })
	if n != 1 {
		t.Errorf("PendingWebhookDeliveries() = %d, want 1", n)
	}
	tx(t, s, func(tx models.Tx) error { return tx.SetWebhookEndpointDisabled(ctx, "whe_1", nil) })
	if got := claim("w1", t0.Add(7*time.Minute)); len(got) != 1 || got[0].ID != "msg_2" {
		t.Errorf("ClaimWebhookDeliveries after enabling = %+v, want msg_2", got)
	}
	a3 := &models.WebhookAttempt{DeliveryID: "msg_2", N: 1, At: t0.Add(7 * time.Minute), Error: "timeout"}
	if err := record("w1", a3, models.WebhookFailed, time.Time{}); err != nil {
		t.Fatalf("RecordWebhookAttempt(failed): %v", err)
	}
	var list []*models.WebhookDelivery
	tx(t, s, func(tx models.Tx) (err error) {
		list, err = tx.WebhookDeliveries(ctx, models.WebhookDeliveryFilter{EndpointID: "whe_1", State: models.WebhookFailed})
		return
	})
	if len(list) != 1 || list[0].ID != "msg_2" {
		t.Errorf("WebhookDeliveries(failed) = %+v, want msg_2", list)
	}

	// Redelivery by hand.
	redeliver := func(id string, now time.Time) error {
		return s.Transact(ctx, func(tx models.Tx) error { return tx.RedeliverWebhook(ctx, id, now, now.Add(24*time.Hour)) })
	}
	if err := redeliver("msg_2", t0.Add(time.Hour)); err != nil {
		t.Fatalf("RedeliverWebhook(msg_2): %v", err)
	}
	wantCode(t, "RedeliverWebhook(pending)", redeliver("msg_2", t0.Add(time.Hour)), models.ECONFLICT)
	wantCode(t, "RedeliverWebhook(unknown)", redeliver("msg_none", t0.Add(time.Hour)), models.ENOTFOUND)
	if got := claim("w1", t0.Add(time.Hour)); len(got) != 1 || got[0].ID != "msg_2" || got[0].Attempts != 1 || !got[0].GiveUpAt.Equal(t0.Add(25*time.Hour)) {
		t.Errorf("ClaimWebhookDeliveries after redelivery = %+v, want msg_2 with its attempt count and a new give-up time", got)
	}

	// Deleting erases the secret, fails what is pending, keeps the log.
	tx(t, s, func(tx models.Tx) error { return tx.DeleteWebhookEndpoint(ctx, "whe_1", t0.Add(2*time.Hour)) })
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.DeleteWebhookEndpoint(ctx, "whe_1", t0.Add(2*time.Hour)) })
	wantCode(t, "DeleteWebhookEndpoint(twice)", err, models.ENOTFOUND)
	if got := endpoint("whe_1"); got.Secret != nil || got.DeletedAt == nil || got.Active() {
		t.Errorf("deleted endpoint = %+v, want no secret and deleted", got)
	}
	var eps []*models.WebhookEndpoint
	tx(t, s, func(tx models.Tx) (err error) { eps, err = tx.WebhookEndpoints(ctx); return })
	if len(eps) != 0 {
		t.Errorf("WebhookEndpoints() after delete = %d, want 0", len(eps))
	}
	tx(t, s, func(tx models.Tx) (err error) { d, err = tx.WebhookDeliveryByID(ctx, "msg_2"); return })
	if d.State != models.WebhookFailed || d.LastError != "endpoint deleted" {
		t.Errorf("pending delivery of a deleted endpoint = %+v, want failed", d)
	}
	wantCode(t, "RedeliverWebhook(deleted endpoint)", redeliver("msg_1", t0.Add(3*time.Hour)), models.ECONFLICT)
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.SetWebhookEndpointDisabled(ctx, "whe_1", &off) })
	wantCode(t, "SetWebhookEndpointDisabled(deleted)", err, models.ENOTFOUND)

	// Concurrent workers never hold the same delivery.
	ep2 := &models.WebhookEndpoint{ID: "whe_2", URL: "https://hooks.example/two", Events: []string{"*"}, Secret: secret, CreatedBy: "staff:stf_admin", CreatedAt: t0}
	tx(t, s, func(tx models.Tx) error {
		if err := tx.CreateWebhookEndpoint(ctx, ep2); err != nil {
			return err
		}
		for i := range 12 {
			dl := delivery(fmt.Sprintf("msg_c%02d", i), int64(100+i))
			dl.EndpointID = "whe_2"
			if err := tx.EnqueueWebhookDelivery(ctx, dl); err != nil {
				return err
			}
		}
		return nil
	})
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			owner := fmt.Sprintf("cw%d", w)
			var got []*models.WebhookDelivery
			err := s.Transact(ctx, func(tx models.Tx) (err error) {
				got, err = tx.ClaimWebhookDeliveries(ctx, owner, t0, t0.Add(time.Minute), 3)
				return
			})
			if err != nil {
				t.Errorf("concurrent ClaimWebhookDeliveries(%s): %v", owner, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, g := range got {
				if prev, ok := seen[g.ID]; ok {
					t.Errorf("delivery %s claimed by %s and %s", g.ID, prev, owner)
				}
				seen[g.ID] = owner
			}
		})
	}
	wg.Wait()
	if len(seen) != 12 {
		t.Errorf("4 workers claiming 3 each got %d distinct deliveries, want 12", len(seen))
	}
}
