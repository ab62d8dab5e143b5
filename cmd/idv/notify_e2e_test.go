package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStaffNotificationsServe: idv serve wires the staff notifications
// job. An admin adds a clerk with an address; a supervisor makes them a
// case's backup; the job tells them, by webhook (staff ID and kind only,
// through the webhook job) and in the outbox, and they read it on
// GET /api/me/notifications.
func TestStaffNotificationsServe(t *testing.T) {
	idv := newE2EIDV(t, map[string]string{"IDV_REQUIRE_MODELS": "false", "IDV_MODELS_DIR": t.TempDir(), "IDV_WEBHOOK_INTERVAL": "1s", "IDV_NOTIFY_INTERVAL": "1s"})
	if out, err := idv.cli("demo", "load"); err != nil {
		t.Fatalf("demo load: %v\n%s", err, out)
	}
	idv.serve()

	var mu sync.Mutex
	var got []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(body))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()

	admin := loginAPI(t, idv.origin, "admin")
	admin.must(201, "POST", "/api/admin/webhooks", map[string]any{"url": rcv.URL + "/idv", "events": []string{"staff.notification"}}, nil)
	var night struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}
	if err := json.Unmarshal(admin.must(201, "POST", "/api/staff", map[string]any{"username": "night", "password": e2ePassword, "roles": []string{"clerk"},
		"email": "night@bank.example", "language": "zh-CN"}, nil), &night); err != nil || night.Email != "night@bank.example" {
		t.Fatalf("create night: %+v %v", night, err)
	}

	clerk := loginAPI(t, idv.origin, "clerk")
	var cs struct{ ID string }
	if err := json.Unmarshal(clerk.must(201, "POST", "/api/cases", map[string]any{"account_no": "6222020200112233", "purpose": "transaction_statement",
		"period_from": "2025-01-01", "period_to": "2025-12-31",
		"slot": map[string]string{"local": time.Now().UTC().Add(48 * time.Hour).Format("2006-01-02T15:04"), "time_zone": "UTC"}}, nil), &cs); err != nil {
		t.Fatal(err)
	}
	sup := loginAPI(t, idv.origin, "supervisor")
	sup.must(200, "POST", "/api/cases/"+cs.ID+"/clerks", map[string]string{"role": "backup", "staff_id": night.ID, "reason": "night shift"}, nil)

	nightAPI := loginAPI(t, idv.origin, "night")
	var mine struct {
		Notifications []struct {
			Kind    string `json:"kind"`
			CaseID  string `json:"case_id"`
			Channel string `json:"channel"`
		} `json:"notifications"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := json.Unmarshal(nightAPI.must(200, "GET", "/api/me/notifications", nil, nil), &mine); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if (len(mine.Notifications) >= 2 && n >= 1) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var channels []string
	for _, x := range mine.Notifications {
		if x.Kind != "case_reassigned" || x.CaseID != cs.ID {
			t.Errorf("night's notification = %+v", x)
		}
		channels = append(channels, x.Channel)
	}
	if strings.Join(channels, ",") != "email,webhook" && strings.Join(channels, ",") != "webhook,email" {
		t.Errorf("night's channels = %v, want email and webhook", channels)
	}
	mu.Lock()
	defer mu.Unlock()
	want := fmt.Sprintf(`"staff_id":"%s"`, night.ID)
	if len(got) != 1 || !strings.Contains(got[0], want) || !strings.Contains(got[0], `"kind":"case_reassigned"`) || strings.Contains(got[0], "6222020200112233") {
		t.Errorf("receiver got %q, want one staff.notification for %s without the account", got, night.ID)
	}
}
