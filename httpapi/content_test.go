package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/http"
	"os"
	"testing"

	"remoteidv/internal/testenv"
	"remoteidv/models"
)

// letterPDF is a benign one-page PDF letter.
func letterPDF() []byte {
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>", "<< /Length 9 >>\nstream\nBT 1 0 Td\nendstream"}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}

// TestStoredContentHeaders: every route that answers with stored bytes
// (letters, the specimen, reference photos, evidence items, recordings
// played, bundles) sends them with their stored type, never sniffed, under
// a sandboxing policy, and inline only when they are a JPEG or PNG image:
// nothing a customer uploaded runs on the app's origin.
func TestStoredContentHeaders(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	store, st, _ := withEvidence(t, e)
	clerk := e.login(t, "clerk")
	id := e.createCase(t, clerk)
	base := "/api/cases/" + id
	for _, l := range []struct {
		ct   string
		body []byte
	}{{"image/png", pngFixture(t)}, {"application/pdf", letterPDF()}} {
		var out map[string]any
		if code := clerk.raw("POST", base+"/letters", l.ct, bytes.NewReader(l.body), &out); code != http.StatusCreated {
			t.Fatalf("upload %s letter = %d %v", l.ct, code, out)
		}
	}
	var letters struct {
		Letters []struct {
			ID          string `json:"id"`
			ContentType string `json:"content_type"`
		} `json:"letters"`
	}
	if code := clerk.do("GET", base+"/letters", nil, &letters); code != 200 || len(letters.Letters) != 2 {
		t.Fatalf("letters = %d %+v", code, letters)
	}
	video, err := os.ReadFile(testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Simm", 0), 1, 64))
	if err != nil {
		t.Fatal(err)
	}
	evs := map[models.EvidenceKind]string{}
	for _, it := range []struct {
		kind models.EvidenceKind
		ct   string
		body []byte
	}{{models.EvidenceCapture, "image/jpeg", readPhoto(t, "John_Simm", 0)}, {models.EvidenceRecording, "video/x-ivf", video}} {
		ev, err := st.Stage(ctx, models.CaseID(id), it.kind, it.ct, it.body, "staff:test")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.Transact(ctx, func(tx models.Tx) error { return tx.AddEvidence(ctx, ev) }); err != nil {
			t.Fatal(err)
		}
		evs[it.kind] = string(ev.ID)
	}
	archiveAll(t, e, store, 4)
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
	sup := e.login(t, "supervisor")
	auditor := e.login(t, "auditor")
	letterOf := func(ct string) string {
		for _, l := range letters.Letters {
			if l.ContentType == ct {
				return l.ID
			}
		}
		t.Fatalf("no %s letter in %+v", ct, letters)
		return ""
	}
	tests := []struct {
		name        string
		c           *client
		path        string
		ct          string
		disposition string
	}{
		{"image letter", clerk, base + "/letters/" + letterOf("image/png") + "/content", "image/png", "inline"},
		{"pdf letter", sup, base + "/letters/" + letterOf("application/pdf") + "/content", "application/pdf", "attachment"},
		{"specimen", clerk, base + "/specimen", "image/png", "inline"},
		{"reference photo", clerk, base + "/references/0", "image/png", "inline"},
		{"evidence item", auditor, base + "/evidence/" + evs[models.EvidenceCapture], "image/jpeg", "attachment"},
		{"recording played", auditor, base + "/evidence/" + evs[models.EvidenceRecording] + "/play", "video/webm", "attachment"},
		{"bundle", auditor, base + "/bundle", "application/zip", "attachment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, h := get(t, tt.c, tt.path)
			if got := h.Get("Content-Type"); got != tt.ct {
				t.Errorf("Content-Type = %q, want %q", got, tt.ct)
			}
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if got := h.Get("Content-Security-Policy"); got != "sandbox; default-src 'none'" {
				t.Errorf("Content-Security-Policy = %q, want the sandbox", got)
			}
			if got := h.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if d, _, err := mime.ParseMediaType(h.Get("Content-Disposition")); err != nil || d != tt.disposition {
				t.Errorf("Content-Disposition = %q, want %s", h.Get("Content-Disposition"), tt.disposition)
			}
		})
	}
}
