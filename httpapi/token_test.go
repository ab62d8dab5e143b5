package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
)

// bearer sends a request with an API token and returns the status and
// the error message, decoding a JSON answer into out.
func bearer(t *testing.T, e *env, raw, method, path string, body, out any) (int, string) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+raw)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb struct {
		Error struct{ Message string } `json:"error"`
	}
	_ = json.Unmarshal(b, &eb)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, eb.Error.Message
}

type minted struct {
	ID        string        `json:"id"`
	Token     string        `json:"token"`
	Scope     []models.Role `json:"scope"`
	ExpiresAt time.Time     `json:"expires_at"`
}

type listed struct {
	Tokens []struct {
		ID       string        `json:"id"`
		Username string        `json:"username"`
		Scope    []models.Role `json:"scope"`
		Roles    []models.Role `json:"roles"`
		State    string        `json:"state"`
		LastUsed *time.Time    `json:"last_used"`
	} `json:"tokens"`
}

// mint logs user in, steps up and mints a token with scope.
func mint(t *testing.T, e *env, c *client, body map[string]any) (int, minted) {
	t.Helper()
	if code := c.do("POST", "/api/auth/step-up", map[string]string{"password": password}, nil); code != http.StatusOK {
		t.Fatalf("step-up: %d", code)
	}
	var m minted
	code := c.do("POST", "/api/tokens", body, &m)
	return code, m
}

func addStaff(t *testing.T, e *env, username string, roles ...models.Role) {
	t.Helper()
	if _, err := e.acc.CreateStaff(context.Background(), "system", username, "", password, roles); err != nil {
		t.Fatal(err)
	}
}

// TestTokenScope: a token does what its scope allows and its member may do
// now, never more; minting stays within the minter's own roles.
func TestTokenScope(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnvOn(t, kind)
			addStaff(t, e, "cs", models.RoleClerk, models.RoleSupervisor)
			cs := e.login(t, "cs")
			code, clerkTok := mint(t, e, cs, map[string]any{"name": "desk script", "scope": []string{"clerk"}})
			if code != http.StatusCreated || len(clerkTok.Scope) != 1 || clerkTok.Scope[0] != models.RoleClerk {
				t.Fatalf("mint a clerk token as a clerk-supervisor: %d %+v", code, clerkTok)
			}
			if want := e.now.Add(90 * 24 * time.Hour); !clerkTok.ExpiresAt.Equal(want) {
				t.Errorf("expires_at = %v, want %v (90 days)", clerkTok.ExpiresAt, want)
			}
			_, supTok := mint(t, e, cs, map[string]any{"name": "review script", "scope": []string{"supervisor"}, "expires_in_days": 30})
			if want := e.now.Add(30 * 24 * time.Hour); !supTok.ExpiresAt.Equal(want) {
				t.Errorf("expires_at (30 days asked) = %v, want %v", supTok.ExpiresAt, want)
			}

			// The supervisor's evidence route: the clerk-scoped token is
			// refused by role (403), the supervisor-scoped one let through
			// to the case rule (404: no such case).
			evidence := "/api/cases/case_AAAAAAAAAAAAAAAAAAAAAAAAAA/evidence"
			for _, tt := range []struct {
				name, raw, method, path string
				want                    int
			}{
				{"clerk scope, supervisor route", clerkTok.Token, "GET", evidence, http.StatusForbidden},
				{"clerk scope, decision", clerkTok.Token, "POST", "/api/cases/case_AAAAAAAAAAAAAAAAAAAAAAAAAA/decision", http.StatusForbidden},
				{"clerk scope, clerk route", clerkTok.Token, "POST", "/api/cases", http.StatusCreated},
				{"supervisor scope, supervisor route", supTok.Token, "GET", evidence, http.StatusNotFound},
				{"supervisor scope, clerk route", supTok.Token, "POST", "/api/cases", http.StatusForbidden},
			} {
				var body any
				if tt.method == "POST" && tt.path == "/api/cases" {
					body = newCaseBody()
				}
				if got, msg := bearer(t, e, tt.raw, tt.method, tt.path, body, nil); got != tt.want {
					t.Errorf("%s: %s %s = %d %q, want %d", tt.name, tt.method, tt.path, got, msg, tt.want)
				}
			}

			// The member loses the supervisor role: so does the token.
			err := e.store.Transact(context.Background(), func(tx models.Tx) error {
				st, err := tx.StaffByUsername(context.Background(), "cs")
				if err != nil {
					return err
				}
				st.Roles = []models.Role{models.RoleClerk}
				return tx.UpdateStaff(context.Background(), st)
			})
			if err != nil {
				t.Fatal(err)
			}
			if got, msg := bearer(t, e, supTok.Token, "GET", evidence, nil, nil); got != http.StatusForbidden {
				t.Errorf("supervisor token after its member lost the role: %d %q, want 403", got, msg)
			}

			// Minting is the member's own, within their roles.
			adm := e.login(t, "admin")
			for _, tt := range []struct {
				name string
				c    *client
				body map[string]any
				want int
			}{
				{"admin, auditor scope (reads biometric evidence)", adm, map[string]any{"name": "x", "scope": []string{"auditor"}}, http.StatusForbidden},
				{"admin, supervisor scope", adm, map[string]any{"name": "x", "scope": []string{"admin", "supervisor"}}, http.StatusForbidden},
				{"admin, for a supervisor", adm, map[string]any{"name": "x", "username": "supervisor", "scope": []string{"admin"}}, http.StatusForbidden},
				{"admin, admin scope", adm, map[string]any{"name": "x", "scope": []string{"admin"}}, http.StatusCreated},
				{"clerk-supervisor now only a clerk, supervisor scope", cs, map[string]any{"name": "x", "scope": []string{"supervisor"}}, http.StatusForbidden},
				{"longer than the lifetime", cs, map[string]any{"name": "x", "scope": []string{"clerk"}, "expires_in_days": 91}, http.StatusBadRequest},
				{"no scope", cs, map[string]any{"name": "x"}, http.StatusBadRequest},
			} {
				if code, _ := mint(t, e, tt.c, tt.body); code != tt.want {
					t.Errorf("mint (%s) = %d, want %d", tt.name, code, tt.want)
				}
			}
			// Without a step-up, and through a token, nothing is minted.
			clerk := e.login(t, "clerk")
			if code := clerk.do("POST", "/api/tokens", map[string]any{"name": "x", "scope": []string{"clerk"}}, nil); code != http.StatusUnprocessableEntity {
				t.Errorf("mint without a step-up = %d, want 422 (step up first)", code)
			}
			if got, msg := bearer(t, e, clerkTok.Token, "POST", "/api/tokens", map[string]any{"name": "x", "scope": []string{"clerk"}}, nil); got != http.StatusForbidden {
				t.Errorf("mint through a token = %d %q, want 403", got, msg)
			}
		})
	}
}

// TestTokenLifecycle: expiry, last use, listing and revocation, and the
// audit trail of each.
func TestTokenLifecycle(t *testing.T) {
	e := newEnv(t)
	clerk := e.login(t, "clerk")
	_, tok := mint(t, e, clerk, map[string]any{"name": "core banking", "scope": []string{"clerk"}, "expires_in_days": 1})
	_, other := mint(t, e, e.login(t, "clerk2"), map[string]any{"name": "other", "scope": []string{"clerk"}})

	// Last use is listed.
	var l listed
	if code := clerk.do("GET", "/api/tokens", nil, &l); code != http.StatusOK || len(l.Tokens) != 1 || l.Tokens[0].LastUsed != nil || l.Tokens[0].State != "live" {
		t.Fatalf("GET /api/tokens before use = %d %+v, want one live unused token", code, l)
	}
	e.now = e.now.Add(10 * time.Minute)
	if code, msg := bearer(t, e, tok.Token, "GET", "/api/cases", nil, nil); code != http.StatusOK {
		t.Fatalf("use the token: %d %q", code, msg)
	}
	if code := clerk.do("GET", "/api/tokens", nil, &l); code != http.StatusOK || l.Tokens[0].LastUsed == nil || !l.Tokens[0].LastUsed.Equal(e.now) {
		t.Fatalf("GET /api/tokens after use = %d %+v, want last_used %v", code, l, e.now)
	}
	// A token lists its member's tokens too.
	if code, _ := bearer(t, e, tok.Token, "GET", "/api/tokens", nil, &l); code != http.StatusOK || len(l.Tokens) != 1 || l.Tokens[0].ID != tok.ID {
		t.Errorf("GET /api/tokens through the token = %d %+v, want its own", code, l)
	}

	// Expired: refused with a clear 401, audited.
	e.now = e.now.Add(24 * time.Hour)
	if code, msg := bearer(t, e, tok.Token, "GET", "/api/cases", nil, nil); code != http.StatusUnauthorized || !strings.Contains(msg, "expired") {
		t.Errorf("expired token = %d %q, want 401 saying expired", code, msg)
	}
	clerk = e.login(t, "clerk") // the session idled out meanwhile
	if code := clerk.do("GET", "/api/tokens", nil, &l); code != http.StatusOK || l.Tokens[0].State != "expired" || len(l.Tokens[0].Roles) != 0 {
		t.Errorf("GET /api/tokens after expiry = %d %+v, want expired with no roles", code, l)
	}

	// Revocation: not by another clerk; by the owner; then refused.
	_, tok2 := mint(t, e, clerk, map[string]any{"name": "second", "scope": []string{"clerk"}})
	clerk2 := e.login(t, "clerk2")
	if code := clerk2.do("DELETE", "/api/tokens/"+tok2.ID, nil, nil); code != http.StatusForbidden {
		t.Errorf("revoke by another clerk = %d, want 403", code)
	}
	if code := clerk.do("DELETE", "/api/tokens/"+tok2.ID, nil, nil); code != http.StatusNoContent {
		t.Errorf("revoke by its owner = %d, want 204", code)
	}
	if code := clerk.do("DELETE", "/api/tokens/"+tok2.ID, nil, nil); code != http.StatusConflict {
		t.Errorf("revoke twice = %d, want 409", code)
	}
	if code := clerk.do("DELETE", "/api/tokens/tok_none", nil, nil); code != http.StatusNotFound {
		t.Errorf("revoke an unknown token = %d, want 404", code)
	}
	if code, msg := bearer(t, e, tok2.Token, "GET", "/api/cases", nil, nil); code != http.StatusUnauthorized || !strings.Contains(msg, "revoked") {
		t.Errorf("revoked token = %d %q, want 401 saying revoked", code, msg)
	}
	// An admin lists everyone's and revokes another member's.
	adm := e.login(t, "admin")
	if code := adm.do("GET", "/api/tokens", nil, &l); code != http.StatusOK || len(l.Tokens) != 3 {
		t.Errorf("GET /api/tokens as admin = %d, %d tokens, want 3", code, len(l.Tokens))
	}
	if code := adm.do("DELETE", "/api/tokens/"+other.ID, nil, nil); code != http.StatusNoContent {
		t.Errorf("revoke by an admin = %d, want 204", code)
	}

	var trail []string
	err := e.store.Transact(context.Background(), func(tx models.Tx) error {
		evs, err := tx.AuditEvents(context.Background(), models.AuditFilter{})
		for _, ev := range evs {
			switch ev.Action {
			case "token.created":
				trail = append(trail, ev.Action+" "+ev.Detail["token"]+" "+ev.Detail["scope"]+" "+ev.Detail["expires_at"])
			case "token.revoked", "auth.token_rejected":
				trail = append(trail, ev.Action+" "+ev.Detail["token"]+" "+ev.Detail["reason"])
			case "token.listed":
				trail = append(trail, ev.Action+" "+ev.Detail["tokens"])
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	want := []string{
		"token.created " + tok.ID + " clerk " + t0.Add(24*time.Hour).Format(time.RFC3339),
		"token.created " + other.ID + " clerk " + t0.Add(90*24*time.Hour).Format(time.RFC3339),
		"auth.token_rejected " + tok.ID + " expired",
		"token.created " + tok2.ID + " clerk " + t0.Add(24*time.Hour+10*time.Minute+90*24*time.Hour).Format(time.RFC3339),
		"token.revoked " + tok2.ID + " ",
		"auth.token_rejected " + tok2.ID + " revoked",
		"token.listed 3",
		"token.revoked " + other.ID + " ",
	}
	if strings.Join(trail, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit trail of tokens:\n%s\nwant:\n%s", strings.Join(trail, "\n"), strings.Join(want, "\n"))
	}
}
