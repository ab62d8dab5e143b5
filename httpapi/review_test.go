package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"remoteidv/models"
	"remoteidv/storage/archiver/archivertest"
)

// decisionCall sends a decision-style request with an Idempotency-Key.
func (c *client) keyed(method, path, key string, body []byte) (int, []byte, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", c.csrf)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// pendingCase opens a case as clerk and moves it to pending_review in the
// store (the checks are tested in verify).
func pendingCase(t *testing.T, e *env, clerk *client) string {
	t.Helper()
	var cs struct {
		ID string `json:"id"`
	}
	if code := clerk.do("POST", "/api/cases", newCaseBody(), &cs); code != 201 {
		t.Fatalf("create case: %d", code)
	}
	ctx := context.Background()
	err := e.store.Transact(ctx, func(tx models.Tx) error {
		c, err := tx.CaseByID(ctx, models.CaseID(cs.ID))
		if err != nil {
			return err
		}
		c.State = models.StatePendingReview
		return tx.UpdateCase(ctx, c)
	})
	if err != nil {
		t.Fatal(err)
	}
	archivertest.SeedStatement(t, e.store, e.g.Stager, models.CaseID(cs.ID))
	return cs.ID
}

// approveBody is a decision that approves the case's statement.
func approveBody(t *testing.T, e *env, id, reason string) []byte {
	t.Helper()
	ctx := context.Background()
	var list []*models.StatementRecord
	if err := e.store.Transact(ctx, func(tx models.Tx) (err error) { list, err = tx.StatementsByCase(ctx, models.CaseID(id)); return }); err != nil || len(list) == 0 {
		t.Fatalf("statement of %s: %v (%d)", id, err, len(list))
	}
	b, err := json.Marshal(map[string]string{"decision": "approve", "reason": reason, "statement_sha256": list[len(list)-1].SHA256})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSubmitListsMissing(t *testing.T) {
	e := newEnv(t)
	clerk := e.login(t, "clerk")
	var cs struct {
		ID string `json:"id"`
	}
	if code := clerk.do("POST", "/api/cases", newCaseBody(), &cs); code != 201 {
		t.Fatalf("create case: %d", code)
	}
	var req struct {
		Missing []string `json:"missing"`
		Ready   bool     `json:"ready"`
		Hours   string   `json:"registry_hours"`
		Code    string   `json:"statement_code"`
		Problem string   `json:"statement_problem"`
	}
	// No ledger was imported: the statement is missing too, with its code.
	if code := clerk.do("GET", "/api/cases/"+cs.ID+"/requirements", nil, &req); code != 200 || req.Ready || len(req.Missing) != 9 || req.Hours != "07:30-19:00 Asia/Shanghai" ||
		req.Code != models.StatementNoImport || !strings.Contains(req.Problem, "no ledger") {
		t.Fatalf("requirements = %d %+v", code, req)
	}
	var eb struct {
		Error struct {
			Code    string   `json:"code"`
			Details []string `json:"details"`
		} `json:"error"`
	}
	if code := clerk.do("POST", "/api/cases/"+cs.ID+"/submit", nil, &eb); code != 409 {
		t.Fatalf("submit scheduled case = %d, want 409", code)
	}
	ctx := context.Background()
	_ = e.store.Transact(ctx, func(tx models.Tx) error {
		c, _ := tx.CaseByID(ctx, models.CaseID(cs.ID))
		c.State = models.StateInSession
		return tx.UpdateCase(ctx, c)
	})
	if code := clerk.do("POST", "/api/cases/"+cs.ID+"/submit", nil, &eb); code != 422 || eb.Error.Code != "precondition" || len(eb.Error.Details) != 9 || eb.Error.Details[8] != "statement" {
		t.Fatalf("submit = %d %+v, want 422 listing 9 requirements, the statement last", code, eb)
	}
}

func TestDecisionEndpoint(t *testing.T) {
	e := newEnv(t)
	clerk := e.login(t, "clerk")
	sup := e.login(t, "supervisor")
	id := pendingCase(t, e, clerk)
	path := "/api/cases/" + id + "/decision"
	body := approveBody(t, e, id, "all evidence in order")

	if code, b, _ := sup.keyed("POST", path, "", body); code != 400 {
		t.Fatalf("decision without Idempotency-Key = %d %s, want 400", code, b)
	}
	if code, b, _ := sup.keyed("POST", path, "k0", body); code != 403 {
		t.Fatalf("decision without step-up = %d %s, want 403", code, b)
	}
	if code, b, _ := clerk.keyed("POST", path, "k0", body); code != 403 {
		t.Fatalf("decision by the clerk = %d %s, want 403", code, b)
	}
	if code := sup.do("POST", "/api/auth/step-up", map[string]string{"password": password}, &struct {
		CSRF *string `json:"csrf_token"`
	}{CSRF: &sup.csrf}); code != 200 {
		t.Fatalf("step-up: %d", code)
	}
	code, first, _ := sup.keyed("POST", path, "k1", body)
	if code != 200 {
		t.Fatalf("decision = %d %s, want 200", code, first)
	}
	code, again, h := sup.keyed("POST", path, "k1", body)
	if code != 200 || !bytes.Equal(again, first) || h.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("same key and body = %d %s, want the same answer replayed", code, again)
	}
	if code, b, _ := sup.keyed("POST", path, "k1", []byte(`{"decision":"reject","reason":"changed my mind"}`)); code != 422 {
		t.Fatalf("same key, other body = %d %s, want 422", code, b)
	}
	if code, b, _ := sup.keyed("POST", path, "k2", body); code != 409 {
		t.Fatalf("second decision with a new key = %d %s, want 409", code, b)
	}
	var got struct {
		State string `json:"state"`
	}
	if code := sup.do("GET", "/api/cases/"+id, nil, &got); code != 200 || got.State != "approved" {
		t.Fatalf("case after decision = %d %+v, want approved", code, got)
	}
	if code, b, _ := sup.keyed("POST", "/api/cases/"+id+"/release", "r1", nil); code != 409 {
		t.Fatalf("release before sealing = %d %s, want 409", code, b)
	}
}

func TestConcurrentDecisionsOneWins(t *testing.T) {
	e := newEnv(t)
	clerk := e.login(t, "clerk")
	id := pendingCase(t, e, clerk)
	ctx := context.Background()
	if _, err := e.acc.CreateStaff(ctx, "system", "supervisor2", "Second sup", password, []models.Role{models.RoleSupervisor}); err != nil {
		t.Fatal(err)
	}
	sups := []*client{e.login(t, "supervisor"), e.login(t, "supervisor2")}
	for _, s := range sups {
		var me struct {
			CSRF string `json:"csrf_token"`
		}
		if code := s.do("POST", "/api/auth/step-up", map[string]string{"password": password}, &me); code != 200 {
			t.Fatalf("step-up: %d", code)
		}
		s.csrf = me.CSRF
	}
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i, s := range sups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, _ = s.keyed("POST", "/api/cases/"+id+"/decision", "same-key", approveBody(t, e, id, "fine"))
		}()
	}
	wg.Wait()
	if !(codes[0] == 200 && codes[1] == 409 || codes[0] == 409 && codes[1] == 200) {
		t.Fatalf("concurrent decisions = %v, want one 200 and one 409", codes)
	}
}

func TestLetterUploadHTTP(t *testing.T) {
	e := newEnv(t)
	clerk := e.login(t, "clerk")
	var cs struct {
		ID string `json:"id"`
	}
	if code := clerk.do("POST", "/api/cases", newCaseBody(), &cs); code != 201 {
		t.Fatalf("create case: %d", code)
	}
	path := "/api/cases/" + cs.ID + "/letters"
	tests := []struct {
		name  string
		ctype string
		body  []byte
		want  int
	}{
		{"wrong declared type", "text/html", []byte("<html></html>"), 415},
		{"html sent as pdf", "application/pdf", []byte("<html><script></script></html>"), 415},
		{"not a pdf", "application/pdf", []byte("%PDF-1.4 nothing else"), 415},
		{"oversized", "application/pdf", make([]byte, 11<<20), 413},
		{"empty", "image/png", []byte{}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out json.RawMessage
			if code := clerk.raw("POST", path, tt.ctype, bytes.NewReader(tt.body), &out); code != tt.want {
				t.Errorf("upload %s = %d %s, want %d", tt.name, code, out, tt.want)
			}
		})
	}
	var list struct {
		Letters []any `json:"letters"`
	}
	if code := clerk.do("GET", path, nil, &list); code != 200 || len(list.Letters) != 0 {
		t.Fatalf("letters after refusals = %d %+v, want none", code, list)
	}
	if code := clerk.do("GET", "/api/cases/"+cs.ID+"/statement", nil, nil); code != 404 {
		t.Fatalf("statement before release = %d, want 404", code)
	}
	var spec []byte
	req, _ := http.NewRequest("GET", clerk.base+"/api/cases/"+cs.ID+"/specimen", nil)
	resp, err := clerk.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || len(spec) == 0 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("specimen = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	clerk2 := e.login(t, "clerk2")
	if code := clerk2.do("GET", "/api/cases/"+cs.ID+"/specimen", nil, nil); code != 404 {
		t.Fatalf("specimen of another clerk's case = %d, want 404", code)
	}
}
