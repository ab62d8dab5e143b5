package httpapi_test

import (
	"context"
	"testing"
	"time"

	"remoteidv/models"
)

// storeNodes lists the registry of a store, as idv serve's heartbeat does.
type storeNodes struct{ db models.Store }

func (s storeNodes) Nodes(ctx context.Context) ([]*models.Node, error) {
	var out []*models.Node
	err := s.db.Transact(ctx, func(tx models.Tx) (err error) { out, err = tx.Nodes(ctx); return })
	return out, err
}

// TestAdminNodes: an admin sees every node of the registry, live, dead
// (silent too long) or gone (shut down).
func TestAdminNodes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := e.now.UTC().Truncate(time.Microsecond)
	for _, n := range []struct {
		id   models.NodeID
		seen time.Duration
		gone bool
	}{{"idv-a", -2 * time.Second, false}, {"idv-b", -time.Minute, false}, {"idv-c", -3 * time.Second, true}} {
		node := &models.Node{ID: n.id, Instance: "i-" + string(n.id), URL: "http://" + string(n.id) + ":8080", Version: "v1", StartedAt: now.Add(-time.Hour), LastSeen: now.Add(n.seen), Calls: 1}
		err := e.store.Transact(ctx, func(tx models.Tx) error {
			if err := tx.RegisterNode(ctx, node, now.Add(-time.Hour)); err != nil {
				return err
			}
			if n.gone {
				return tx.NodeGone(ctx, node.ID, node.Instance, now)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var got struct {
		Nodes []struct {
			ID, State, URL string
			Calls          int
		} `json:"nodes"`
	}
	getJSON(t, e.login(t, "admin"), "/api/admin/nodes", &got)
	want := map[string]string{"idv-a": "live", "idv-b": "dead", "idv-c": "gone"}
	if len(got.Nodes) != 3 {
		t.Fatalf("GET /api/admin/nodes = %+v, want 3 nodes", got)
	}
	for _, n := range got.Nodes {
		if n.State != want[n.ID] || n.URL != "http://"+n.ID+":8080" {
			t.Errorf("node %s: %s at %s, want %s", n.ID, n.State, n.URL, want[n.ID])
		}
	}
}
