package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"remoteidv/audit"
)

// An auditor keeps the latest checkpoint, later fetches a newer one with
// a consistency proof, and checks both offline with the bank's key.
func TestAuditCheckpointsOverHTTP(t *testing.T) {
	e := newEnv(t)
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
	cpr := audit.Checkpointer{Store: e.store, Key: e.ver.Key, Now: func() time.Time { return e.now }}
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
