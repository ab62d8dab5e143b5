package main

import (
	"path/filepath"
	"strings"
	"testing"

	"remoteidv/internal/testenv"
	"remoteidv/models"
)

// TestTwoNodesOnePostgres: two idv serve on one PostgreSQL database, with
// one signing key and one staging key, register as two live nodes that
// idv nodes lists; a third process under a live node's ID does not start.
func TestTwoNodesOnePostgres(t *testing.T) {
	url := testenv.PostgresURL(t)
	env := func(id string) map[string]string {
		return map[string]string{"IDV_DATABASE_URL": url, "IDV_REQUIRE_MODELS": "false", "IDV_MODELS_DIR": t.TempDir(),
			"IDV_NODE_ID": id, "IDV_NODE_HEARTBEAT": "1s", "IDV_LOG_LEVEL": "info"}
	}
	a := newE2EIDV(t, env("idv-a"))
	a.serve()
	shared := env("idv-b")
	shared["IDV_SIGNING_KEY"] = a.env["IDV_SIGNING_KEY"]
	shared["IDV_STAGING_KEY_FILE"] = filepath.Join(a.dir, "keys", "staging-aes256.key")
	b := newE2EIDV(t, shared)
	b.serve()

	out, err := b.cli("nodes")
	if err != nil {
		t.Fatalf("idv nodes: %v\n%s", err, out)
	}
	host := mustHostname(t)
	internal := func(origin string) string { // the default IDV_NODE_URL: host name and port
		return "http://" + host + ":" + origin[strings.LastIndex(origin, ":")+1:]
	}
	for _, want := range []string{"idv-a  live  " + internal(a.origin), "idv-b  live  " + internal(b.origin)} {
		if !strings.Contains(strings.Join(strings.Fields(out), "  "), want) {
			t.Errorf("idv nodes:\n%s\nwant a line %q", out, want)
		}
	}

	shared["IDV_NODE_ID"] = "idv-a"
	twin := newE2EIDV(t, shared)
	out, err = twin.cli("serve")
	if models.ErrorCodeOf(err) != models.ECONFLICT || !strings.Contains(err.Error(), "idv-a") {
		t.Fatalf("idv serve under the live node ID idv-a = %v, want ECONFLICT naming it\n%s", err, out)
	}
}
