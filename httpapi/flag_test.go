package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"remoteidv/models"
)

type flagJSON struct {
	ID        string `json:"id"`
	Category  string `json:"category"`
	Reason    string `json:"reason"`
	CaseID    string `json:"case_id"`
	RaisedBy  string `json:"raised_by"`
	ClearedBy string `json:"cleared_by"`
}

type flaggedJSON struct {
	ID           string     `json:"id"`
	State        string     `json:"state"`
	AccountFlags []flagJSON `json:"account_flags"`
}

// TestFraudFlags: an abort with a fraud category flags the account; the
// look-up, the search, a new case and its page show the flag; only another
// supervisor clears it.
func TestFraudFlags(t *testing.T) {
	e := newEnv(t)
	if _, err := e.acc.CreateStaff(context.Background(), "system", "supervisor2", "Second supervisor", password, []models.Role{models.RoleSupervisor}); err != nil {
		t.Fatal(err)
	}
	clerk, sup, sup2, aud := e.login(t, "clerk"), e.login(t, "supervisor"), e.login(t, "supervisor2"), e.login(t, "auditor")
	const acct = "/api/accounts/6222000011112222"
	first := e.createCase(t, clerk)

	for _, tc := range []struct {
		name string
		body map[string]any
		want int
	}{
		{"unknown category", map[string]any{"reason": "odd", "fraud_category": "rude"}, http.StatusBadRequest},
		{"category of the wrong type", map[string]any{"reason": "odd", "fraud_category": 3}, http.StatusBadRequest},
		{"no reason", map[string]any{"fraud_category": "coercion"}, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := clerk.do("POST", "/api/cases/"+first+"/abort", tc.body, nil); code != tc.want {
				t.Fatalf("abort with %v: %d, want %d", tc.body, code, tc.want)
			}
		})
	}
	var got flaggedJSON
	if code := clerk.do("GET", "/api/cases/"+first, nil, &got); code != http.StatusOK || got.State != "scheduled" || len(got.AccountFlags) != 0 {
		t.Fatalf("case after refused aborts: %d %+v, want scheduled without flags", code, got)
	}

	if code := sup.do("POST", "/api/cases/"+first+"/abort", map[string]any{"reason": "the face is a printed photo", "fraud_category": "suspected_impostor"}, &got); code != http.StatusOK {
		t.Fatalf("abort with a category: %d", code)
	}
	if got.State != "aborted" || len(got.AccountFlags) != 1 {
		t.Fatalf("abort answer = %+v, want aborted with the new flag", got)
	}
	flag := got.AccountFlags[0]
	want := flagJSON{ID: flag.ID, Category: "suspected_impostor", Reason: "the face is a printed photo", CaseID: first, RaisedBy: "Demo supervisor"}
	if flag != want {
		t.Fatalf("flag = %+v, want %+v", flag, want)
	}

	var account struct {
		Flags []flagJSON `json:"account_flags"`
	}
	if code := clerk.do("GET", acct, nil, &account); code != http.StatusOK || len(account.Flags) != 1 || account.Flags[0] != want {
		t.Fatalf("GET account: %d %+v, want the flag", code, account.Flags)
	}
	var search struct {
		Accounts []struct {
			Flags []flagJSON `json:"account_flags"`
		} `json:"accounts"`
	}
	if code := clerk.do("GET", "/api/accounts?q=6222", nil, &search); code != http.StatusOK || len(search.Accounts) != 1 || len(search.Accounts[0].Flags) != 1 {
		t.Fatalf("search accounts: %d %+v, want the account with its flag", code, search)
	}

	// A new case for the flagged account is opened, and its answer and
	// page carry the flag.
	var second flaggedJSON
	if code := clerk.do("POST", "/api/cases", newCaseBody(), &second); code != http.StatusCreated || len(second.AccountFlags) != 1 || second.AccountFlags[0] != want {
		t.Fatalf("create case for a flagged account: %d %+v, want 201 carrying the flag", code, second)
	}
	for who, c := range map[string]*client{"clerk": clerk, "auditor": aud} {
		var v flaggedJSON
		if code := c.do("GET", "/api/cases/"+second.ID, nil, &v); code != http.StatusOK || len(v.AccountFlags) != 1 {
			t.Errorf("GET case as %s: %d %+v, want the flag", who, code, v.AccountFlags)
		}
	}

	clear := acct + "/flags/" + flag.ID + "/clear"
	for _, tc := range []struct {
		name string
		c    *client
		body map[string]any
		want int
	}{
		{"clerk", clerk, map[string]any{"reason": "fine"}, http.StatusForbidden},
		{"auditor", aud, map[string]any{"reason": "fine"}, http.StatusForbidden},
		{"the supervisor who raised it", sup, map[string]any{"reason": "fine"}, http.StatusForbidden},
		{"no reason", sup2, map[string]any{"reason": ""}, http.StatusBadRequest},
		{"another supervisor", sup2, map[string]any{"reason": "the holder came to the branch"}, http.StatusOK},
		{"again", sup2, map[string]any{"reason": "again"}, http.StatusConflict},
	} {
		t.Run("clear by "+tc.name, func(t *testing.T) {
			var f flagJSON
			code := tc.c.do("POST", clear, tc.body, &f)
			if code != tc.want {
				t.Fatalf("clear: %d, want %d", code, tc.want)
			}
			if code == http.StatusOK && (f.ID != flag.ID || f.ClearedBy != "Second supervisor") {
				t.Errorf("clear answer = %+v, want the flag cleared by Second supervisor", f)
			}
		})
	}
	if code := sup2.do("POST", "/api/accounts/6222000099998888/flags/"+flag.ID+"/clear", map[string]any{"reason": "x"}, nil); code != http.StatusNotFound {
		t.Errorf("clear through another account: %d, want 404", code)
	}
	account.Flags = nil
	if code := clerk.do("GET", acct, nil, &account); code != http.StatusOK || account.Flags == nil || len(account.Flags) != 0 {
		t.Errorf("GET account after clearing: %d %+v, want an empty list", code, account.Flags)
	}

	actions := map[string]int{}
	for _, ev := range e.auditEvents(t) {
		actions[ev.Action]++
		if ev.Action == "account.flagged" && (ev.Detail["category"] != "suspected_impostor" || ev.CaseID != models.CaseID(first)) {
			t.Errorf("account.flagged = %+v, want the category on the aborted case", ev)
		}
	}
	if actions["account.flagged"] != 1 || actions["account.flag_cleared"] != 1 {
		t.Errorf("audit actions = %v, want one account.flagged and one account.flag_cleared", actions)
	}
}
