package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/archiver/archivertest"
)

// TestTamperedEvidenceAlerts stores a case's capture through `idv serve`
// in each kind of evidence store, the local folder and an S3 bucket
// (MinIO, Object Lock COMPLIANCE), then:
//
//   - a clerk asks to download it: 403, and auth.permission_denied with
//     the route is in the audit trail;
//   - an auditor downloads it whole, with its hash;
//   - someone with write access to the store changes it (the local file
//     edited in place; in S3 a new version of the key, uploaded with the
//     root credentials and the original's metadata, which Object Lock
//     allows);
//   - the auditor's next download is cut short, never delivered whole,
//     and the server logs "SECURITY ALERT: evidence does not match its
//     recorded hash" naming the case.
func TestTamperedEvidenceAlerts(t *testing.T) {
	for _, kind := range []string{"local", "s3"} {
		t.Run(kind, func(t *testing.T) {
			extra := map[string]string{"IDV_REQUIRE_MODELS": "false", "IDV_MODELS_DIR": t.TempDir(), "IDV_NEW_PASSWORD": e2ePassword, "IDV_LOG_LEVEL": "info"}
			var m *testenv.MinIOServer
			if kind == "s3" {
				m = testenv.MinIO(t)
				for k, v := range map[string]string{"IDV_S3_ENDPOINT": m.Endpoint, "IDV_S3_BUCKET": "idv-tamper", "IDV_S3_ACCESS_KEY": m.AccessKey,
					"IDV_S3_SECRET_KEY": m.SecretKey, "IDV_S3_TLS": "false", "IDV_S3_RETENTION_DAYS": "1"} {
					extra[k] = v
				}
			}
			idv := newE2EIDV(t, extra)
			for _, u := range []struct{ name, role string }{{"aud", "auditor"}, {"clk", "clerk"}} {
				if out, err := idv.cli("users", "add", "--username", u.name, "--name", u.name, "--role", u.role); err != nil {
					t.Fatalf("users add: %v\n%s", err, out)
				}
			}
			var c *models.Case
			var item *models.Evidence
			func() {
				db := idv.openStore()
				defer db.Close()
				st, err := archiver.NewStager(filepath.Join(idv.dir, "staging"), time.Now, rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				c = archivertest.SeedCase(t, db, models.StateInSession)
				item = archivertest.Stage(t, db, st, c.ID, models.EvidenceCapture, 1, 256<<10, 5)[0]
			}()
			idv.serve()
			waitAllArchived(t, idv, c.ID, 30*time.Second)
			path := "/api/cases/" + string(c.ID) + "/evidence/" + string(item.ID)

			clerk := loginAPI(t, idv.origin, "clk")
			if code, b, err := clerk.call("GET", path, nil, nil); err != nil || code != 403 {
				t.Errorf("clerk downloads evidence = %d %s (%v), want 403", code, b, err)
			}
			var denied []*models.AuditEvent
			idv.withStore(func(ctx context.Context, tx models.Tx) error {
				evs, err := tx.AuditEvents(ctx, models.AuditFilter{})
				for _, e := range evs {
					if e.Action == "auth.permission_denied" {
						denied = append(denied, e)
					}
				}
				return err
			})
			if len(denied) != 1 || denied[0].Detail["route"] != "/api/cases/:id/evidence/:evidence" || denied[0].Detail["method"] != "GET" || !strings.HasPrefix(denied[0].Actor, "staff:") {
				t.Errorf("auth.permission_denied events = %v, want one for the clerk's GET of the evidence route", details(denied))
			}

			aud := loginAPI(t, idv.origin, "aud")
			got, err := download(aud, path)
			if err != nil || sha256Hex(got) != item.SHA256 {
				t.Fatalf("auditor's download before tampering: %d bytes, %v; want the item whole", len(got), err)
			}
			tampered := append([]byte(nil), got...)
			tampered[len(tampered)/2] ^= 0x01
			if kind == "local" {
				obj := filepath.Join(idv.dir, "evidence", "objects", filepath.FromSlash(item.Key))
				if err := os.Chmod(filepath.Dir(obj), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(obj, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(obj, tampered, 0o600); err != nil {
					t.Fatal(err)
				}
			} else {
				root, err := minio.New(m.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, "")})
				if err != nil {
					t.Fatal(err)
				}
				opts := minio.PutObjectOptions{ContentType: item.ContentType, UserMetadata: map[string]string{"sha256": item.SHA256}}
				if _, err := root.PutObject(context.Background(), "idv-tamper", item.Key, bytes.NewReader(tampered), int64(len(tampered)), opts); err != nil {
					t.Fatalf("tamper with the object as root: %v", err)
				}
			}
			before := strings.Count(idv.log.String(), "SECURITY ALERT")
			got, err = download(aud, path)
			if err == nil || bytes.Equal(got, tampered) {
				t.Errorf("auditor's download of the tampered item: %d bytes, err %v; want it cut short", len(got), err)
			}
			alert := ""
			for _, l := range strings.Split(idv.log.String(), "\n") {
				if strings.Contains(l, "SECURITY ALERT: evidence does not match its recorded hash") && strings.Contains(l, string(c.ID)) {
					alert = l
				}
			}
			if alert == "" || strings.Count(idv.log.String(), "SECURITY ALERT") != before+1 {
				t.Errorf("no SECURITY ALERT naming case %s after the tampered download; log:\n%s", c.ID, idv.log.String())
			}
			t.Logf("alert: %s", alert)
		})
	}
}

// download GETs path and returns the body; err is set when the server
// cut it short or answered other than 200.
func download(s *staffAPI, path string) ([]byte, error) {
	resp, err := s.http.Get(s.base + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = &httpStatusError{resp.StatusCode, string(b)}
	}
	return b, err
}

type httpStatusError struct {
	code int
	body string
}

func (e *httpStatusError) Error() string { return http.StatusText(e.code) + ": " + e.body }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func details(evs []*models.AuditEvent) []map[string]string {
	var out []map[string]string
	for _, e := range evs {
		out = append(out, e.Detail)
	}
	return out
}
