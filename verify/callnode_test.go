package verify_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/storage/archiver/archivertest"
	"remoteidv/verify"
)

// TestCallPlacement: a call goes to the live node holding its lease, else
// to the live node running the fewest calls (ties to the node asking,
// then by ID); a dead or gone node is never chosen; nodes placing one
// call at once agree on one node; a dead holder's lease blocks the call
// until it runs out, a released one does not.
func TestCallPlacement(t *testing.T) {
	for _, d := range archivertest.Databases() {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			db := d.Open(t)
			now := time.Now().UTC()
			clock := func() time.Time { return now }
			register := func(id models.NodeID, seen time.Time, gone bool) {
				t.Helper()
				err := db.Transact(ctx, func(tx models.Tx) error {
					n := &models.Node{ID: id, Instance: "i-" + string(id), URL: "http://" + string(id), Version: "t", StartedAt: seen, LastSeen: seen}
					if err := tx.RegisterNode(ctx, n, seen.Add(-time.Minute)); err != nil {
						return err
					}
					if gone {
						return tx.NodeGone(ctx, id, n.Instance, seen)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			register("a", now, false)
			register("b", now, false)
			register("c", now.Add(-time.Hour), false) // dead
			register("d", now, true)                  // gone
			node := func(id models.NodeID) *verify.CallNodes {
				return &verify.CallNodes{Store: db, Self: id, DeadAfter: 15 * time.Second, TTL: 15 * time.Second, Now: clock}
			}
			place := func(on models.NodeID, c models.CaseID) models.NodeID {
				t.Helper()
				n, err := node(on).Place(ctx, c)
				if err != nil {
					t.Fatalf("Place(%s) on %s: %v", c, on, err)
				}
				if n.Self != (n.ID == on) || (!n.Self && n.URL != "http://"+string(n.ID)) {
					t.Fatalf("Place(%s) on %s = %+v: Self or URL wrong", c, on, n)
				}
				return n.ID
			}
			steps := []struct {
				on   models.NodeID
				c    models.CaseID
				want models.NodeID
			}{
				{"a", "case1", "a"}, // a tie: the node asking
				{"b", "case1", "a"}, // a holds it
				{"a", "case2", "b"}, // a runs one, b none (b claims when served)
				{"c", "case3", "c"}, // the node asking is a candidate however its row looks (it is up: it asks)
			}
			for _, st := range steps {
				if got := place(st.on, st.c); got != st.want {
					t.Errorf("Place(%s) on %s = %s, want %s", st.c, st.on, got, st.want)
				}
			}
			// b serves case2 (a proxied socket claims it).
			if n, err := node("b").Claim(ctx, "case2"); err != nil || !n.Self {
				t.Fatalf("Claim(case2) on b = %+v, %v; want b", n, err)
			}
			if n, err := node("a").Claim(ctx, "case2"); err != nil || n.ID != "b" || n.Self {
				t.Fatalf("Claim(case2) on a = %+v, %v; want the holder b", n, err)
			}
			// Never the dead c or the gone d; c's lease of case3 is a dead
			// node's: nobody else may start case3 until it runs out.
			if got := place("a", "case4"); got == "c" || got == "d" {
				t.Errorf("Place(case4) = %s, a dead or gone node", got)
			}
			if n, err := node("a").Place(ctx, "case3"); err == nil && n.URL != "" {
				t.Errorf("Place(case3) on a while dead c's lease runs = %+v, want no node to go to", n)
			}
			now = now.Add(16 * time.Second)
			for _, id := range []models.NodeID{"a", "b"} {
				if err := db.Transact(ctx, func(tx models.Tx) error {
					return tx.NodeHeartbeat(ctx, id, "i-"+string(id), now, []models.LiveCall{{CaseID: "case-" + models.CaseID(id)}})
				}); err != nil {
					t.Fatal(err)
				}
			}
			if got := place("a", "case3"); got == "c" {
				t.Errorf("Place(case3) after the dead node's lease ran out = c")
			}
			// Released leases are free at once.
			if err := node("a").ReleaseAll(ctx); err != nil {
				t.Fatal(err)
			}
			if err := node("b").ReleaseAll(ctx); err != nil {
				t.Fatal(err)
			}
			// Many sockets of one case on both nodes at once: one node runs it.
			var mu sync.Mutex
			where := map[models.NodeID]int{}
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					on := models.NodeID([]string{"a", "b"}[i%2])
					n, err := node(on).Place(ctx, "case9")
					if err != nil {
						t.Errorf("Place(case9) on %s: %v", on, err)
						return
					}
					mu.Lock()
					where[n.ID]++
					mu.Unlock()
				})
			}
			wg.Wait()
			if len(where) != 1 {
				t.Errorf("sockets of case9 placed on %v, want one node", where)
			}
			// Renew keeps the holder's lease past its TTL.
			var holder, other models.NodeID
			for id := range where {
				holder, other = id, map[models.NodeID]models.NodeID{"a": "b", "b": "a"}[id]
			}
			now = now.Add(10 * time.Second)
			if err := node(holder).Renew(ctx, []models.CaseID{"case9"}); err != nil {
				t.Fatal(err)
			}
			now = now.Add(10 * time.Second)
			if n, err := node(other).Claim(ctx, "case9"); err != nil || n.ID != holder {
				t.Errorf("Claim(case9) on %s after the holder renewed = %+v, %v; want %s", other, n, err, holder)
			}
		})
	}
}

// TestCallStopped: of the calls a node runs, those whose case was
// cancelled (through any node) are the ones its heartbeat ends.
func TestCallStopped(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := invited(t, f, goodCase())
	cn := &verify.CallNodes{Store: f.g.Store, Self: "a", Now: f.clock.Now}
	got, err := cn.Stopped(ctx, []models.CaseID{c.ID, "case_unknown"})
	if err != nil || len(got) != 0 {
		t.Fatalf("Stopped(scheduled case) = %v, %v; want none", got, err)
	}
	if _, err := f.svc.Cancel(ctx, f.clerk, c.ID, "customer asked"); err != nil {
		t.Fatal(err)
	}
	got, err = cn.Stopped(ctx, []models.CaseID{c.ID})
	if err != nil || got[c.ID] != "case cancelled" {
		t.Fatalf("Stopped(cancelled case) = %v, %v; want case cancelled", got, err)
	}
}
