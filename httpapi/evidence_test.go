package httpapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/localfs"
)

// TestAuditorBundleOverHTTP: a sealed case's bundle, downloaded by an
// auditor through the API, verifies offline; every read is audited; a legal
// hold needs an admin with a fresh step-up.
func TestAuditorBundleOverHTTP(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	log := slog.New(slog.DiscardHandler)
	store, err := localfs.New(localfs.Config{Root: filepath.Join(t.TempDir(), "evidence"), Now: time.Now}, log)
	if err != nil {
		t.Fatal(err)
	}
	st, err := archiver.NewStager(filepath.Join(t.TempDir(), "staging"), time.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e.ver.Evidence, e.ver.Stager = store, st
	id := e.createCase(t, e.login(t, "clerk"))

	// Two artifacts, staged and recorded as the workflow does, then archived.
	for i, body := range []string{"capture one", "the signed letter"} {
		ev, err := st.Stage(ctx, models.CaseID(id), []models.EvidenceKind{models.EvidenceCapture, models.EvidenceLetter}[i], "application/octet-stream", []byte(body), "staff:test")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.Transact(ctx, func(tx models.Tx) error { return tx.AddEvidence(ctx, ev) }); err != nil {
			t.Fatal(err)
		}
	}
	arc, err := archiver.New(e.store, store, archiver.Config{Rand: rand.Reader}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer arc.Close()
	if n, err := arc.Drain(ctx, "test"); err != nil || n != 2 {
		t.Fatalf("Drain = %d, %v; want 2 archived", n, err)
	}
	// Approval belongs to the review feature; set the state directly.
	err = e.store.Transact(ctx, func(tx models.Tx) error {
		c, err := tx.CaseByID(ctx, models.CaseID(id))
		if err != nil {
			return err
		}
		c.State = models.StateApproved
		return tx.UpdateCase(ctx, c)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ver.Seal(ctx, models.CaseID(id)); err != nil {
		t.Fatalf("Seal: %v", err)
	}

	auditor := e.login(t, "auditor")
	var list struct {
		Evidence []struct {
			ID     string `json:"id"`
			Kind   string `json:"kind"`
			SHA256 string `json:"sha256"`
		} `json:"evidence"`
	}
	if code := auditor.do("GET", "/api/cases/"+id+"/evidence", nil, &list); code != 200 || len(list.Evidence) != 3 {
		t.Fatalf("evidence list: %d, %d items; want 3 (two artifacts and the manifest)", code, len(list.Evidence))
	}
	capture := list.Evidence[0]
	for _, it := range list.Evidence {
		if it.Kind == string(models.EvidenceCapture) {
			capture = it
		}
	}
	body, hdr := get(t, auditor, "/api/cases/"+id+"/evidence/"+capture.ID)
	if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != capture.SHA256 || hdr.Get("X-Content-SHA256") != capture.SHA256 {
		t.Fatalf("downloaded item does not hash to its listed SHA-256")
	}
	zipped, _ := get(t, auditor, "/api/cases/"+id+"/bundle")
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatalf("bundle is not a zip: %v", err)
	}
	if rep := audit.VerifyBundle(zr, e.pub); !rep.OK() {
		t.Fatalf("VerifyBundle(downloaded bundle) = %+v", rep)
	}
	var tl struct {
		Events []struct{ Action, Actor string }
	}
	e.login(t, "supervisor").do("GET", "/api/cases/"+id+"/timeline", nil, &tl)
	reads := map[string]bool{}
	for _, ev := range tl.Events {
		if strings.HasPrefix(ev.Action, "evidence.") {
			reads[ev.Action] = true
		}
	}
	for _, want := range []string{"evidence.listed", "evidence.downloaded", "evidence.bundle_downloaded"} {
		if !reads[want] {
			t.Errorf("timeline lacks %s (got %v)", want, reads)
		}
	}
	// Legal hold: refused without a step-up, accepted after one.
	adm := e.login(t, "admin")
	hold := map[string]any{"on": true, "reason": "litigation 2026-17"}
	path := "/api/cases/" + id + "/evidence/" + capture.ID + "/legal-hold"
	if code := adm.do("POST", path, hold, nil); code != 422 {
		t.Fatalf("legal hold without step-up = %d, want 422", code)
	}
	if code := adm.do("POST", "/api/auth/step-up", map[string]string{"password": password}, nil); code != 200 {
		t.Fatalf("step-up = %d", code)
	}
	if code := adm.do("POST", path, hold, nil); code != 200 {
		t.Fatalf("legal hold after step-up = %d, want 200", code)
	}
}

func get(t *testing.T, c *client, path string) ([]byte, http.Header) {
	t.Helper()
	resp, err := c.http.Get(c.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d, %v: %s", path, resp.StatusCode, err, b)
	}
	return b, resp.Header
}
