package httpapi_test

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/storage/archiver/archivertest"
)

// An auditor keeps the latest checkpoint, later fetches a newer one with
// a consistency proof, and checks both offline with the bank's key.
func TestAuditCheckpointsOverHTTP(t *testing.T) {
	e := newEnv(t)
	withEvidence(t, e)
	ctx := context.Background()
	aud := e.login(t, "auditor")
	get := func(c *client, path string) (int, string) {
		t.Helper()
		resp, err := c.http.Get(e.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(aud, "/api/audit/checkpoints/latest"); code != http.StatusNotFound {
		t.Fatalf("GET checkpoints/latest (none yet) = %d, want 404", code)
	}
	cpr := audit.Checkpointer{Store: e.store, Key: e.g.Key, Now: func() time.Time { return e.now }}
	if _, err := cpr.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	code, kept := get(aud, "/api/audit/checkpoints/latest")
	if code != http.StatusOK {
		t.Fatalf("GET checkpoints/latest = %d, want 200", code)
	}
	old, err := audit.OpenCheckpointNote(e.pub, []byte(kept))
	if err != nil {
		t.Fatalf("OpenCheckpointNote(latest) = %v", err)
	}

	e.login(t, "clerk") // more events
	if _, err := cpr.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	var cons struct {
		From, To   int64
		Checkpoint string
		Proof      []string
	}
	if code := aud.do("GET", "/api/audit/checkpoints/consistency?from="+itoa(old.N), nil, &cons); code != 200 || cons.To <= old.N {
		t.Fatalf("GET consistency = %d %+v, want a proof to a larger log than %d", code, cons, old.N)
	}
	proof, err := audit.DecodeTreeProof(cons.Proof)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.VerifyNewer(e.pub, []byte(kept), []byte(cons.Checkpoint), proof); err != nil {
		t.Fatalf("VerifyNewer(kept, served) = %v", err)
	}

	var ver struct {
		OK               bool
		TreeSize         int64  `json:"tree_size"`
		RootHash         string `json:"root_hash"`
		LatestCheckpoint struct {
			TreeSize int64 `json:"tree_size"`
			Note     string
		} `json:"latest_checkpoint"`
	}
	if code := aud.do("GET", "/api/audit/verify", nil, &ver); code != 200 || !ver.OK || ver.TreeSize < cons.To || len(ver.RootHash) != 64 ||
		ver.LatestCheckpoint.TreeSize != cons.To || ver.LatestCheckpoint.Note != cons.Checkpoint {
		t.Fatalf("GET audit/verify = %d %+v; want OK with the log's size, root and the latest checkpoint (%d)", code, ver, cons.To)
	}
	for _, bad := range []struct {
		path string
		want int
	}{
		{"/api/audit/checkpoints/consistency", 400},
		{"/api/audit/checkpoints/consistency?from=0", 400},
		{"/api/audit/checkpoints/consistency?from=" + itoa(cons.To+1), 409},
	} {
		if code := aud.do("GET", bad.path, nil, nil); code != bad.want {
			t.Errorf("GET %s = %d, want %d", bad.path, code, bad.want)
		}
	}
	if code, _ := get(e.login(t, "clerk"), "/api/audit/checkpoints/latest"); code != http.StatusForbidden {
		t.Errorf("GET checkpoints/latest as clerk = %d, want 403", code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// auditVerifyAnswer is what GET /api/audit/verify answers.
type auditVerifyAnswer struct {
	OK             bool     `json:"ok"`
	Problems       []string `json:"problems"`
	KeyID          string   `json:"key_id"`
	KeyFingerprint string   `json:"key_fingerprint"`
	Published      struct {
		OK      bool   `json:"ok"`
		Notes   int    `json:"notes"`
		Newest  int64  `json:"newest"`
		Problem string `json:"problem"`
	} `json:"published"`
}

// GET /api/audit/verify checks the notes published to the write-once
// store as idv audit verify does: deleted checkpoint rows and a database
// rolled back after publication fail it, though the database alone looks
// intact; on SQLite and PostgreSQL.
func TestAuditVerifyPublishedOverHTTP(t *testing.T) {
	for _, d := range archivertest.Databases() {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnvOn(t, d.Name)
			ev, _, _ := withEvidence(t, e)
			aud := e.login(t, "auditor")
			verify := func(what string) auditVerifyAnswer {
				t.Helper()
				var a auditVerifyAnswer
				if code := aud.do("GET", "/api/audit/verify", nil, &a); code != http.StatusOK {
					t.Fatalf("GET /api/audit/verify (%s) = %d", what, code)
				}
				return a
			}
			a := verify("nothing published")
			if !a.OK || !a.Published.OK || a.Published.Notes != 0 || a.KeyFingerprint != audit.Fingerprint(e.pub) || a.KeyID != audit.KeyID(e.pub) {
				t.Fatalf("GET /api/audit/verify (nothing published) = %+v; want OK with the key's fingerprint %s", a, audit.Fingerprint(e.pub))
			}
			cpr := audit.Checkpointer{Store: e.store, Key: e.g.Key, Now: func() time.Time { return e.now }, Publish: ev}
			if err := cpr.CheckpointAndPublish(ctx); err != nil {
				t.Fatal(err)
			}
			first := headSeq(t, e)
			e.login(t, "clerk") // more events
			if err := cpr.CheckpointAndPublish(ctx); err != nil {
				t.Fatal(err)
			}
			second := headSeq(t, e)
			if a := verify("honest"); !a.OK || !a.Published.OK || a.Published.Notes != 2 || a.Published.Newest != second {
				t.Fatalf("GET /api/audit/verify (honest) = %+v; want OK, 2 published notes, newest %d", a, second)
			}

			db := e.store.(interface{ SQL() *sql.DB }).SQL()
			exec := func(qs ...string) {
				t.Helper()
				for _, q := range qs {
					if _, err := db.ExecContext(ctx, q); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
			}
			var rows []*models.Checkpoint
			if err := e.store.Transact(ctx, func(tx models.Tx) (err error) { rows, err = tx.Checkpoints(ctx); return }); err != nil {
				t.Fatal(err)
			}
			exec(`DELETE FROM audit_checkpoints`)
			a = verify("checkpoint rows deleted")
			if a.OK || a.Published.OK || len(a.Problems) != 0 || !strings.Contains(a.Published.Problem, audit.CheckpointKey(second)+": the database has no checkpoint of size "+itoa(second)+" though it was published (checkpoint rows deleted)") {
				t.Fatalf("GET /api/audit/verify (checkpoint rows deleted) = %+v; want the published check alone to fail, naming the note of size %d", a, second)
			}
			if err := e.store.Transact(ctx, func(tx models.Tx) error {
				for _, cp := range rows {
					if err := tx.InsertCheckpoint(ctx, cp); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if a := verify("rows put back"); !a.OK {
				t.Fatalf("GET /api/audit/verify (rows put back) = %+v; want OK", a)
			}

			// Rolled back to the first published size, the log rebuilt: the
			// database alone is consistent.
			exec(`DELETE FROM audit_events WHERE seq > `+itoa(first),
				`UPDATE audit_head SET seq = `+itoa(first)+`, hash = (SELECT hash FROM audit_events WHERE seq = `+itoa(first)+`) WHERE id = 1`,
				`DELETE FROM audit_tree_hashes`,
				`DELETE FROM audit_checkpoints WHERE seq > `+itoa(first))
			if _, err := audit.SyncStore(ctx, e.store); err != nil {
				t.Fatal(err)
			}
			a = verify("rolled back")
			if a.OK || len(a.Problems) != 0 || a.Published.Notes != 1 || !strings.Contains(a.Published.Problem, audit.CheckpointKey(second)+": the log has "+itoa(first)+" leaves") ||
				!strings.Contains(a.Published.Problem, "(database rolled back)") {
				t.Fatalf("GET /api/audit/verify (rolled back) = %+v; want the published check alone to fail, naming the note of size %d", a, second)
			}
			if !strings.Contains(e.logs.String(), "SECURITY ALERT: the audit log does not match its published checkpoints") {
				t.Errorf("no security alert logged:\n%s", e.logs.String())
			}
		})
	}
}

// headSeq is the chain's head.
func headSeq(t *testing.T, e *env) int64 {
	t.Helper()
	var h models.AuditHead
	ctx := context.Background()
	if err := e.store.Transact(ctx, func(tx models.Tx) (err error) { h, err = tx.AuditHeadForUpdate(ctx); return }); err != nil {
		t.Fatal(err)
	}
	return h.Seq
}
