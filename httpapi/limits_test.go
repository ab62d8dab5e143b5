package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"remoteidv/models"
)

// postRetry sends a JSON body with the client's cookies and CSRF token and
// returns the status and the Retry-After header.
func (c *client) postRetry(path string, body any, out any) (int, string) {
	c.t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", c.base+path, bytes.NewReader(b))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

func (e *env) auditEvents(t testing.TB) []*models.AuditEvent {
	t.Helper()
	var evs []*models.AuditEvent
	err := e.store.Transact(context.Background(), func(tx models.Tx) (err error) {
		evs, err = tx.AuditEvents(context.Background(), models.AuditFilter{})
		return
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestStepUpIsLimited: a stolen session is no password oracle: the sixth
// wrong step-up gets 429 with Retry-After, even with the right password.
func TestStepUpIsLimited(t *testing.T) {
	e := newEnv(t)
	sup := e.login(t, "supervisor")
	for i := range 5 {
		if code, _ := sup.postRetry("/api/auth/step-up", map[string]string{"password": "not the password"}, nil); code != 401 {
			t.Fatalf("wrong step-up %d = %d, want 401", i+1, code)
		}
	}
	code, retry := sup.postRetry("/api/auth/step-up", map[string]string{"password": password}, nil)
	if code != 429 || retry != "900" {
		t.Fatalf("sixth step-up = %d, Retry-After %q; want 429, 900", code, retry)
	}
	// The limit is the staff member's: another member's step-up still
	// works, and a new session of the same member does not reset it.
	if code, _ := e.login(t, "clerk").postRetry("/api/auth/step-up", map[string]string{"password": password}, nil); code != 200 {
		t.Fatalf("another member's step-up = %d, want 200", code)
	}
	if code, _ := e.login(t, "supervisor").postRetry("/api/auth/step-up", map[string]string{"password": password}, nil); code != 429 {
		t.Fatalf("step-up in a new session of the locked member = %d, want 429", code)
	}
}

// TestLoginLimitsOverHTTP: with every password check taken a login waits
// and gets 429 with Retry-After; failures against one name delay the next
// attempt (429 with Retry-After) from any address; the owner's next login
// tells of them.
func TestLoginLimitsOverHTTP(t *testing.T) {
	e := newEnv(t)
	release := e.acc.HoldChecks()
	code, retry := e.anon(t).postRetry("/api/auth/login", map[string]string{"username": "clerk", "password": password}, nil)
	release()
	if code != 429 || retry != "2" {
		t.Fatalf("login with no free check = %d, Retry-After %q; want 429, 2", code, retry)
	}
	c := e.anon(t)
	for i := range 3 {
		if code, _ := c.postRetry("/api/auth/login", map[string]string{"username": "clerk", "password": "wrong wrong wrong"}, nil); code != 401 {
			t.Fatalf("wrong login %d = %d, want 401", i+1, code)
		}
	}
	if code, retry := c.postRetry("/api/auth/login", map[string]string{"username": "clerk", "password": password}, nil); code != 429 || retry != "1" {
		t.Fatalf("login after 3 failures = %d, Retry-After %q; want 429, 1", code, retry)
	}
	e.now = e.now.Add(time.Second)
	var me struct {
		Notice *struct {
			FailedAttempts int        `json:"failed_attempts"`
			LockedAt       *time.Time `json:"locked_at"`
		} `json:"notice"`
	}
	if code, _ := c.postRetry("/api/auth/login", map[string]string{"username": "clerk", "password": password}, &me); code != 200 {
		t.Fatalf("login after the delay = %d, want 200", code)
	}
	if me.Notice == nil || me.Notice.FailedAttempts != 3 || me.Notice.LockedAt != nil {
		t.Fatalf("login notice = %+v, want 3 failed attempts and no lock", me.Notice)
	}
}

// TestBadTokensAggregated: 1000 requests with a bad bearer token from one
// address add one audit event at once and, after the window, one event
// with the count of the rest.
func TestBadTokensAggregated(t *testing.T) {
	e := newEnv(t)
	before := len(e.auditEvents(t))
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 250 {
				req, _ := http.NewRequest("GET", e.ts.URL+"/api/auth/me", nil)
				req.Header.Set("Authorization", "Bearer idv_x"+string(rune('a'+w)))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if codes[401] != 1000 {
		t.Fatalf("answers %v, want 1000 401s", codes)
	}
	evs := e.auditEvents(t)[before:]
	if len(evs) != 1 || evs[0].Action != "auth.token_rejected" || evs[0].Detail["source"] != "127.0.0.1" {
		t.Fatalf("audit events of 1000 bad tokens: %d (%v), want one auth.token_rejected of 127.0.0.1", len(evs), actions(evs))
	}
	e.now = e.now.Add(6 * time.Minute)
	if n, err := e.acc.FlushSuppressed(context.Background()); err != nil || n != 1 {
		t.Fatalf("FlushSuppressed = %d, %v; want 1", n, err)
	}
	evs = e.auditEvents(t)[before:]
	if len(evs) != 2 || evs[1].Action != "auth.events_suppressed" || evs[1].Detail["count"] != "999" || evs[1].Detail["action"] != "auth.token_rejected" {
		t.Fatalf("after the window: %v, want one auth.events_suppressed of 999 auth.token_rejected", actions(evs))
	}
}

func actions(evs []*models.AuditEvent) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Action+" "+ev.Detail["count"])
	}
	return out
}
