package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/webhook"
)

// An admin registers an endpoint (its secret shown once), a case's
// creation reaches the receiver, a failed delivery's log shows the
// receiver's status and the admin redelivers it by hand; disable, enable
// and delete answer as documented.
func TestWebhooksAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var fail atomic.Bool
	fail.Store(true)
	var got atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		got.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer rcv.Close()
	adm := e.login(t, "admin")

	var ep struct {
		ID     string   `json:"id"`
		URL    string   `json:"url"`
		Events []string `json:"events"`
		Secret string   `json:"secret"`
	}
	if code := adm.do("POST", "/api/admin/webhooks", map[string]any{"url": rcv.URL + "/hook", "events": []string{"case.created"}, "description": "core"}, &ep); code != http.StatusCreated {
		t.Fatalf("POST /api/admin/webhooks = %d, want 201", code)
	}
	if !strings.HasPrefix(ep.Secret, "whsec_") || ep.ID == "" {
		t.Fatalf("created endpoint = %+v, want an id and a whsec_ secret", ep)
	}
	if code := adm.do("POST", "/api/admin/webhooks", map[string]any{"url": rcv.URL, "events": []string{"case.exploded"}}, nil); code != http.StatusBadRequest {
		t.Errorf("POST with an unknown event type = %d, want 400", code)
	}
	var one map[string]any
	if code := adm.do("GET", "/api/admin/webhooks/"+ep.ID, nil, &one); code != http.StatusOK || one["secret"] != nil || one["url"] != rcv.URL+"/hook" {
		t.Errorf("GET endpoint = %d %v, want it without its secret", code, one)
	}
	var list struct {
		Endpoints  []map[string]any `json:"endpoints"`
		EventTypes []string         `json:"event_types"`
	}
	if code := adm.do("GET", "/api/admin/webhooks", nil, &list); code != http.StatusOK || len(list.Endpoints) != 1 || len(list.EventTypes) != len(webhook.Types) {
		t.Errorf("GET /api/admin/webhooks = %d %+v", code, list)
	}

	e.createCase(t, e.login(t, "clerk"))
	if _, err := e.wh.Deliver(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	var ds struct {
		Deliveries []struct {
			ID         string `json:"id"`
			Type       string `json:"type"`
			State      string `json:"state"`
			LastStatus int    `json:"last_status"`
		} `json:"deliveries"`
	}
	if code := adm.do("GET", "/api/admin/webhook-deliveries?state=pending", nil, &ds); code != http.StatusOK || len(ds.Deliveries) != 1 ||
		ds.Deliveries[0].Type != "case.created" || ds.Deliveries[0].LastStatus != http.StatusBadGateway {
		t.Fatalf("pending deliveries = %d %+v, want the case.created one after a 502", code, ds)
	}
	id := ds.Deliveries[0].ID
	if code := adm.do("POST", "/api/admin/webhook-deliveries/"+id+"/redeliver", nil, nil); code != http.StatusConflict {
		t.Errorf("redeliver a pending delivery = %d, want 409", code)
	}
	// Mark it failed the way the worker does after 24 hours.
	err := e.store.Transact(ctx, func(tx models.Tx) error {
		if _, err := tx.ClaimWebhookDeliveries(ctx, "test", e.now.Add(48*time.Hour), e.now.Add(49*time.Hour), 10); err != nil {
			return err
		}
		return tx.RecordWebhookAttempt(ctx, "test", &models.WebhookAttempt{DeliveryID: id, N: 2, At: e.now, Status: 502, Error: "HTTP 502"}, models.WebhookFailed, e.now)
	})
	if err != nil {
		t.Fatal(err)
	}
	fail.Store(false)
	var d struct {
		State string `json:"state"`
		Log   []struct {
			Status int `json:"status"`
		} `json:"attempts_log"`
		Payload map[string]any `json:"payload"`
	}
	if code := adm.do("POST", "/api/admin/webhook-deliveries/"+id+"/redeliver", nil, &d); code != http.StatusOK || d.State != "pending" {
		t.Fatalf("redeliver = %d %+v, want pending", code, d)
	}
	if n, err := e.wh.Deliver(ctx, "test"); err != nil || n != 1 || got.Load() != 1 {
		t.Fatalf("Deliver after redelivery = %d, %v (receiver got %d), want 1", n, err, got.Load())
	}
	if code := adm.do("GET", "/api/admin/webhook-deliveries/"+id, nil, &d); code != http.StatusOK || d.State != "delivered" || len(d.Log) != 3 || d.Log[2].Status != 200 ||
		d.Payload["type"] != "case.created" {
		t.Errorf("GET delivery = %d %+v, want delivered after 3 attempts with the payload", code, d)
	}
	var actions []string
	for _, ev := range auditActions(t, e, "") {
		actions = append(actions, ev.Action)
	}
	if !strings.Contains(strings.Join(actions, " "), "webhook.redelivered") {
		t.Errorf("the redelivery is not audited")
	}

	for _, s := range []struct {
		method, path string
		want         int
	}{
		{"POST", "/api/admin/webhooks/" + ep.ID + "/disable", http.StatusOK},
		{"POST", "/api/admin/webhooks/" + ep.ID + "/enable", http.StatusOK},
		{"DELETE", "/api/admin/webhooks/" + ep.ID, http.StatusNoContent},
		{"DELETE", "/api/admin/webhooks/" + ep.ID, http.StatusNotFound},
		{"POST", "/api/admin/webhook-deliveries/" + id + "/redeliver", http.StatusConflict},
		{"GET", "/api/admin/webhook-deliveries/msg_none", http.StatusNotFound},
	} {
		if code := adm.do(s.method, s.path, nil, nil); code != s.want {
			t.Errorf("%s %s = %d, want %d", s.method, s.path, code, s.want)
		}
	}
}
