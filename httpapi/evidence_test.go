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
	"os"
	"path/filepath"
	"strings"
	"testing"

	"remoteidv/audit"
	"remoteidv/internal/testenv"
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
	store, st, _ := withEvidence(t, e)
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
	archiveAll(t, e, store, 2)
	// Approval belongs to the review feature; set the state directly.
	err := e.store.Transact(ctx, func(tx models.Tx) error {
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

// TestRecordingPlayback: a recorded video segment plays in the browser as
// WebM (every frame decodes in ffprobe), the read is audited, anything else
// or a damaged recording gets 415, and a recording altered in the store
// breaks the stream instead of playing.
func TestRecordingPlayback(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	store, st, root := withEvidence(t, e)
	id := e.createCase(t, e.login(t, "clerk"))
	video, err := os.ReadFile(testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Simm", 0), 2, 160))
	if err != nil {
		t.Fatal(err)
	}
	items := []struct {
		kind models.EvidenceKind
		ct   string
		body []byte
	}{
		{models.EvidenceRecording, "video/x-ivf", video},
		{models.EvidenceRecording, "video/x-ivf", bytes.Repeat([]byte("DKIF frame"), 300)},
		{models.EvidenceCapture, "image/jpeg", []byte("a capture")},
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ev, err := st.Stage(ctx, models.CaseID(id), it.kind, it.ct, it.body, "staff:test")
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = string(ev.ID)
		if err := e.store.Transact(ctx, func(tx models.Tx) error { return tx.AddEvidence(ctx, ev) }); err != nil {
			t.Fatal(err)
		}
	}
	archiveAll(t, e, store, len(items))

	auditor := e.login(t, "auditor")
	play := func(i int) (int, http.Header, []byte, error) {
		resp, err := auditor.http.Get(auditor.base + "/api/cases/" + id + "/evidence/" + ids[i] + "/play")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b, err
	}
	code, hdr, body, err := play(0)
	sum := sha256.Sum256(video)
	if err != nil || code != 200 || hdr.Get("Content-Type") != "video/webm" || hdr.Get("X-Source-SHA256") != hex.EncodeToString(sum[:]) {
		t.Fatalf("play the recording: %d %v %v", code, hdr, err)
	}
	out := filepath.Join(t.TempDir(), "play.webm")
	if err := os.WriteFile(out, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if p := testenv.FFprobe(t, out); p.Codec != "vp8" || p.Width != 160 || p.Frames != 30 {
		t.Errorf("played WebM: %+v, want vp8 160x160 with 30 frames", p)
	}
	for _, i := range []int{1, 2} {
		if code, _, body, _ := play(i); code != http.StatusUnsupportedMediaType {
			t.Errorf("play item %d (%s) = %d %s, want 415", i, items[i].ct, code, body)
		}
	}
	var tl struct {
		Events []struct{ Action string }
	}
	e.login(t, "supervisor").do("GET", "/api/cases/"+id+"/timeline", nil, &tl)
	played := 0
	for _, ev := range tl.Events {
		if ev.Action == "evidence.played" {
			played++
		}
	}
	if played != 2 {
		t.Errorf("timeline has %d evidence.played events, want 2 (both recordings were read; the capture was refused unread)", played)
	}

	// Alter one byte of the archived recording (same size): the stream breaks.
	var file string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(p) == hex.EncodeToString(sum[:]) {
			file = p
		}
		return nil
	})
	if file == "" {
		t.Fatal("archived recording not found under the evidence root")
	}
	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-5] ^= 0xff
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _, err := play(0); code != 200 || err == nil {
		t.Errorf("play an altered recording: %d, read error %v; want the stream broken", code, err)
	}
}

// withEvidence returns e's local evidence folder (with its root) and its
// staging folder.
func withEvidence(t *testing.T, e *env) (*localfs.Store, *archiver.Stager, string) {
	t.Helper()
	store, ok := e.g.Evidence.(*localfs.Store)
	if !ok {
		t.Fatalf("the env's evidence store is a %T, want a local folder", e.g.Evidence)
	}
	return store, e.g.Stager, e.evRoot
}

// archiveAll archives what is staged and checks that n items went.
func archiveAll(t *testing.T, e *env, store *localfs.Store, n int) {
	t.Helper()
	arc, err := archiver.New(e.store, store, archiver.Config{Rand: rand.Reader}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer arc.Close()
	if got, err := arc.Drain(context.Background(), "test"); err != nil || got != n {
		t.Fatalf("Drain = %d, %v; want %d archived", got, err, n)
	}
}
