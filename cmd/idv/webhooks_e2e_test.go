package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWebhooksServe: idv serve with the demo data; an admin registers a
// receiver on loopback through the API, a clerk opens and cancels a case,
// and the webhooks job delivers case.created and case.state_changed,
// signed (checked here with the receiver's own HMAC code), without the
// account number.
func TestWebhooksServe(t *testing.T) {
	idv := newE2EIDV(t, map[string]string{"IDV_REQUIRE_MODELS": "false", "IDV_MODELS_DIR": t.TempDir(), "IDV_WEBHOOK_INTERVAL": "1s"})
	if out, err := idv.cli("demo", "load"); err != nil {
		t.Fatalf("demo load: %v\n%s", err, out)
	}
	idv.serve()

	var mu sync.Mutex
	var secret string
	var got []map[string]any
	var bad []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		m := hmac.New(sha256.New, key)
		fmt.Fprintf(m, "%s.%s.%s", r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), body)
		if r.Header.Get("webhook-signature") != "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)) {
			bad = append(bad, string(body))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p map[string]any
		if err := json.Unmarshal(body, &p); err != nil {
			bad = append(bad, string(body))
		}
		if strings.Contains(string(body), "6222020200112233") {
			bad = append(bad, "full account number in "+string(body))
		}
		got = append(got, p)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()

	admin := loginAPI(t, idv.origin, "admin")
	var ep struct{ Secret string }
	mu.Lock()
	if err := json.Unmarshal(admin.must(201, "POST", "/api/admin/webhooks", map[string]any{"url": rcv.URL + "/idv", "events": []string{"case.created", "case.state_changed"}}, nil), &ep); err != nil {
		t.Fatal(err)
	}
	secret = ep.Secret
	mu.Unlock()

	clerk := loginAPI(t, idv.origin, "clerk")
	ny, _ := time.LoadLocation("America/New_York")
	var cs struct{ ID string }
	if err := json.Unmarshal(clerk.must(201, "POST", "/api/cases", map[string]any{"account_no": "6222020200112233", "purpose": "transaction_statement",
		"period_from": "2025-01-01", "period_to": "2025-12-31",
		"slot": map[string]string{"local": time.Now().In(ny).Add(24 * time.Hour).Format("2006-01-02T15:04"), "time_zone": "America/New_York"}}, nil), &cs); err != nil {
		t.Fatal(err)
	}
	clerk.must(200, "POST", "/api/cases/"+cs.ID+"/cancel", map[string]string{"reason": "the customer will visit the branch"}, nil)

	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("receiver refused: %q", bad)
	}
	var seen []string
	for _, p := range got {
		d, _ := p["data"].(map[string]any)
		if d["case_id"] != cs.ID {
			t.Errorf("payload %v is not about case %s", p, cs.ID)
		}
		seen = append(seen, fmt.Sprint(p["type"], " ", d["to"]))
	}
	slices.Sort(seen) // one round posts its batch at once: in any order
	if strings.Join(seen, ", ") != "case.created <nil>, case.state_changed cancelled" {
		t.Errorf("receiver got %q, want case.created and case.state_changed to cancelled", seen)
	}
}
