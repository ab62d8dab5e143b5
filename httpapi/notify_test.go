package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"remoteidv/models"
)

// TestNotificationsAPI: a member sets and reads only their own
// preferences and notifications under /api/me; another clerk's stay as
// they were and cannot be read or changed by a clerk; an admin sets a
// member's address, language and preferences and reads their
// notifications, which the dispatcher sends from the audit log.
func TestNotificationsAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	clerk, clerk2, adm := e.login(t, "clerk"), e.login(t, "clerk2"), e.login(t, "admin")

	type prefs struct {
		Username    string `json:"username"`
		Email       string `json:"email"`
		Language    string `json:"language"`
		Preferences []struct {
			Kind    string `json:"kind"`
			Enabled bool   `json:"enabled"`
			Email   bool   `json:"email"`
		} `json:"preferences"`
	}
	pref := func(p prefs, kind string) (bool, bool) {
		for _, x := range p.Preferences {
			if x.Kind == kind {
				return x.Enabled, x.Email
			}
		}
		t.Fatalf("no preference %s in %+v", kind, p)
		return false, false
	}
	var got prefs
	if code := clerk.do("PUT", "/api/me/notification-preferences", map[string]any{"preferences": []map[string]any{
		{"kind": "letter_uploaded", "enabled": false, "email": false}}}, &got); code != http.StatusOK || got.Username != "clerk" {
		t.Fatalf("PUT own preferences = %d %+v", code, got)
	}
	if on, _ := pref(got, "letter_uploaded"); on {
		t.Errorf("letter_uploaded still on after turning it off: %+v", got)
	}
	if code := clerk.do("PUT", "/api/me/notification-preferences", map[string]any{"preferences": []map[string]any{
		{"kind": "everything", "enabled": true}}}, nil); code != http.StatusBadRequest {
		t.Errorf("PUT an unknown kind = %d, want 400", code)
	}
	// The other clerk's are untouched, and the first clerk cannot reach them.
	if code := clerk2.do("GET", "/api/me/notification-preferences", nil, &got); code != http.StatusOK || got.Username != "clerk2" {
		t.Fatalf("GET clerk2's own = %d %+v", code, got)
	}
	if on, mail := pref(got, "letter_uploaded"); !on || !mail {
		t.Errorf("clerk2's letter_uploaded = %v, %v; want the default (on, by email)", on, mail)
	}
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/staff/clerk2/notification-preferences"},
		{"PUT", "/api/staff/clerk2/notification-preferences"},
		{"GET", "/api/staff/clerk2/notifications"},
		{"PUT", "/api/staff/clerk2/contact"},
	} {
		if code := clerk.do(r.method, r.path, map[string]any{"preferences": []map[string]any{{"kind": "letter_uploaded"}}, "email": "x@bank.example"}, nil); code != http.StatusForbidden {
			t.Errorf("clerk %s %s = %d, want 403", r.method, r.path, code)
		}
	}

	// The admin gives clerk2 an address and Chinese, and turns a kind's
	// mail off.
	var contact map[string]string
	if code := adm.do("PUT", "/api/staff/clerk2/contact", map[string]string{"email": "clerk2@bank.example", "language": "zh-CN"}, &contact); code != http.StatusOK || contact["email"] != "clerk2@bank.example" {
		t.Fatalf("PUT contact = %d %v", code, contact)
	}
	if code := adm.do("PUT", "/api/staff/clerk2/contact", map[string]string{"email": "Clerk <c@bank.example>"}, nil); code != http.StatusBadRequest {
		t.Errorf("PUT contact with a display name = %d, want 400", code)
	}
	if code := adm.do("PUT", "/api/staff/clerk2/notification-preferences", map[string]any{"preferences": []map[string]any{
		{"kind": "customer_consented", "enabled": true, "email": false}}}, &got); code != http.StatusOK || got.Email != "clerk2@bank.example" || got.Language != "zh-CN" {
		t.Fatalf("admin PUT clerk2's preferences = %d %+v", code, got)
	}
	if on, mail := pref(got, "customer_consented"); !on || mail {
		t.Errorf("clerk2's customer_consented = %v, %v; want on, no mail", on, mail)
	}

	// A case of clerk with clerk2 as its backup; the customer consents.
	id := e.createCase(t, clerk)
	st2, err := e.acc.StaffByUsername(ctx, "clerk2")
	if err != nil {
		t.Fatal(err)
	}
	sup := e.login(t, "supervisor")
	if code := sup.do("POST", "/api/cases/"+id+"/clerks", map[string]string{"role": "backup", "staff_id": string(st2.ID), "reason": "night shift"}, nil); code != http.StatusOK {
		t.Fatalf("reassign backup = %d", code)
	}
	if _, err := e.nt.Dispatch(ctx); err != nil {
		t.Fatal(err)
	}
	type list struct {
		Username      string `json:"username"`
		Notifications []struct {
			StaffID string `json:"staff_id"`
			Kind    string `json:"kind"`
			CaseID  string `json:"case_id"`
			Channel string `json:"channel"`
		} `json:"notifications"`
	}
	var mine, theirs list
	if code := clerk2.do("GET", "/api/me/notifications", nil, &mine); code != http.StatusOK {
		t.Fatalf("GET own notifications = %d", code)
	}
	if len(mine.Notifications) != 2 { // case_reassigned by email and by webhook
		t.Fatalf("clerk2's notifications = %+v, want the reassignment on 2 channels", mine)
	}
	for _, n := range mine.Notifications {
		if n.StaffID != string(st2.ID) || n.Kind != string(models.NotifyReassigned) || n.CaseID != id {
			t.Errorf("clerk2's notification = %+v", n)
		}
	}
	if code := clerk.do("GET", "/api/me/notifications", nil, &theirs); code != http.StatusOK || len(theirs.Notifications) != 0 {
		t.Errorf("clerk's own notifications = %d %+v, want none (clerk2's are not theirs)", code, theirs)
	}
	if code := adm.do("GET", "/api/staff/clerk2/notifications", nil, &theirs); code != http.StatusOK || len(theirs.Notifications) != 2 {
		t.Errorf("admin GET clerk2's notifications = %d %+v", code, theirs)
	}

	// The answers are what the OpenAPI document says.
	schemas := openAPISchemas(t, e)
	for _, r := range []struct{ path, schema string }{
		{"/api/me/notifications", "Notifications"},
		{"/api/me/notification-preferences", "NotifyPrefs"},
	} {
		var generic map[string]any
		getJSON(t, clerk2, r.path, &generic)
		checkSchema(t, schemas, map[string]any{"$ref": "#/components/schemas/" + r.schema}, generic, r.path)
	}
}
