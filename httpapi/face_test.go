package httpapi_test

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"remoteidv/verify"
)

// An uploaded photo, even the account's own reference photo, is matched
// only after the customer's consent; the answer, the check and the
// timeline say it was uploaded; it cannot be confirmed and the face-match
// requirement stays unmet.
func TestUploadedPhotoOverTheAPI(t *testing.T) {
	e := newEnvWith(t, "sqlite", envOptions{faces: true})
	e.withFaces(t)
	id, link := e.invite(t)
	clerk := e.login(t, "clerk")
	base := "/api/cases/" + id
	ref := readPhoto(t, "John_Salley", 0) // byte for byte one of the account's reference photos

	customer := e.anon(t)
	if r := join(t, customer, link); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("open invite: %d", r.StatusCode)
	}
	if code := clerk.raw("POST", base+"/face-checks", "image/jpeg", bytes.NewReader(ref), nil); code != http.StatusUnprocessableEntity {
		t.Fatalf("upload before consent: %d, want 422 (no face matching without consent)", code)
	}
	ct := verify.ConsentText("en")
	if code := customer.raw("POST", "/call/consent", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"version": {ct.Version}, "locale": {"en"}}.Encode()), nil); code != http.StatusSeeOther {
		t.Fatalf("consent: %d", code)
	}

	var up struct {
		Source   string `json:"source"`
		Decision string `json:"decision"`
		Counts   *bool  `json:"counts"`
		Check    struct {
			ID     string `json:"id"`
			Source string `json:"source"`
		} `json:"check"`
	}
	if code := clerk.raw("POST", base+"/face-checks", "image/jpeg", bytes.NewReader(ref), &up); code != http.StatusCreated {
		t.Fatalf("upload after consent: %d", code)
	}
	if up.Decision != "MATCH" || up.Source != "upload" || up.Check.Source != "upload" || up.Counts == nil || *up.Counts {
		t.Fatalf("upload answer = %+v, want a MATCH labelled upload that does not count", up)
	}
	if code := clerk.do("POST", base+"/checks/"+up.Check.ID+"/confirm", map[string]any{"confirmed": true, "note": "same person"}, nil); code != http.StatusUnprocessableEntity {
		t.Fatalf("confirm an upload: %d, want 422", code)
	}
	var req struct {
		Missing []string `json:"missing"`
	}
	if code := clerk.do("GET", base+"/requirements", nil, &req); code != 200 || !slices.Contains(req.Missing, "face_match") {
		t.Fatalf("requirements: %d %v, want face_match missing", code, req.Missing)
	}
	var list struct {
		Checks []struct {
			Source string `json:"source"`
		} `json:"checks"`
	}
	if code := clerk.do("GET", base+"/checks", nil, &list); code != 200 || len(list.Checks) != 1 || list.Checks[0].Source != "upload" {
		t.Fatalf("checks: %d %+v, want the one upload labelled upload", code, list)
	}
	var tl struct {
		Events []struct {
			Action string            `json:"action"`
			Detail map[string]string `json:"detail"`
		} `json:"events"`
	}
	if code := clerk.do("GET", base+"/timeline", nil, &tl); code != 200 {
		t.Fatalf("timeline: %d", code)
	}
	var uploads int
	for _, ev := range tl.Events {
		if ev.Action == "check.face_match" {
			t.Errorf("the upload shows in the timeline as a live face match: %+v", ev)
		}
		if ev.Action == "check.face_upload" && ev.Detail["source"] == "upload" {
			uploads++
		}
	}
	if uploads != 1 {
		t.Errorf("timeline has %d check.face_upload events, want 1", uploads)
	}
}
