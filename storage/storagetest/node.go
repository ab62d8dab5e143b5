package storagetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/models"
)

func testNodes(t *testing.T, s models.Store) {
	ctx := context.Background()
	a := &models.Node{ID: "idv-a", Instance: "i1", URL: "http://10.0.0.1:8080", Version: "v1", StartedAt: t0, LastSeen: t0}
	tx(t, s, func(tx models.Tx) error { return tx.RegisterNode(ctx, a, t0.Add(-15*time.Second)) })

	// A second process under the same ID is refused while the first lives.
	dup := *a
	dup.Instance, dup.StartedAt, dup.LastSeen = "i2", t0.Add(5*time.Second), t0.Add(5*time.Second)
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.RegisterNode(ctx, &dup, t0.Add(-10*time.Second)) })
	wantCode(t, "RegisterNode(same ID, live)", err, models.ECONFLICT)

	// The heartbeat carries the calls running on the node (the board of
	// every node shows them).
	running := []models.LiveCall{
		{CaseID: "cas_1", Call: "cal_1", StartedAt: t0.Add(time.Second), Customer: true, Clerks: []string{"staff:stf_1"}, Observers: 1, Sampled: true, LossPercent: 1.5, JitterMS: 12},
		{CaseID: "cas_2", Call: "cal_2", StartedAt: t0.Add(2 * time.Second), Clerks: []string{}},
	}
	tx(t, s, func(tx models.Tx) error {
		return tx.NodeHeartbeat(ctx, a.ID, a.Instance, t0.Add(3*time.Second), running)
	})
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.NodeHeartbeat(ctx, a.ID, "i2", t0.Add(3*time.Second), running[:1]) })
	wantCode(t, "NodeHeartbeat(other instance)", err, models.ECONFLICT)

	var got []*models.Node
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.Nodes(ctx); return })
	want := []*models.Node{{ID: "idv-a", Instance: "i1", URL: "http://10.0.0.1:8080", Version: "v1", StartedAt: t0, LastSeen: t0.Add(3 * time.Second), Calls: 2, Running: running}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Nodes (-want +got):\n%s", d)
	}
	if !got[0].Live(t0.Add(10*time.Second), 15*time.Second) || got[0].Live(t0.Add(20*time.Second), 15*time.Second) {
		t.Errorf("Live: seen at +3s, want live at +10s and dead at +20s (dead after 15s)")
	}

	// Not seen for a while (killed): a new process takes the ID over, and
	// the old one, were it to come back, may not heartbeat it.
	dup.LastSeen = t0.Add(time.Minute)
	tx(t, s, func(tx models.Tx) error { return tx.RegisterNode(ctx, &dup, t0.Add(30*time.Second)) })
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.NodeHeartbeat(ctx, a.ID, a.Instance, t0.Add(time.Minute), nil) })
	wantCode(t, "NodeHeartbeat(taken over)", err, models.ECONFLICT)
	// The old instance's goodbye does not mark the new one gone.
	tx(t, s, func(tx models.Tx) error { return tx.NodeGone(ctx, a.ID, a.Instance, t0.Add(time.Minute)) })

	b := &models.Node{ID: "idv-b", Instance: "j1", URL: "http://10.0.0.2:8080", StartedAt: t0, LastSeen: t0}
	tx(t, s, func(tx models.Tx) error { return tx.RegisterNode(ctx, b, t0) })
	tx(t, s, func(tx models.Tx) error { return tx.NodeGone(ctx, b.ID, b.Instance, t0.Add(2*time.Second)) })
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.NodeHeartbeat(ctx, b.ID, b.Instance, t0.Add(3*time.Second), nil) })
	wantCode(t, "NodeHeartbeat(gone)", err, models.ECONFLICT)
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.Nodes(ctx); return })
	if len(got) != 2 || got[0].Instance != "i2" || got[0].GoneAt != nil || got[1].GoneAt == nil || !got[1].GoneAt.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("Nodes = %+v %+v, want idv-a held by i2 and live, idv-b gone at +2s", got[0], got[1])
	}
	// The new process has no calls yet: the dead one's are not its.
	if got[0].Running != nil || got[0].Calls != 0 {
		t.Errorf("idv-a taken over: running calls %+v (%d), want none", got[0].Running, got[0].Calls)
	}
	// A gone node's ID may be registered again at once (a restart).
	b.Instance = "j2"
	tx(t, s, func(tx models.Tx) error { return tx.RegisterNode(ctx, b, t0.Add(-time.Hour)) })
}

func testJobLeases(t *testing.T, s models.Store) {
	ctx := context.Background()
	claim := func(name, owner string, now time.Time) bool {
		t.Helper()
		var ok bool
		tx(t, s, func(tx models.Tx) (err error) {
			ok, err = tx.ClaimJobLease(ctx, name, owner, now, now.Add(time.Minute))
			return
		})
		return ok
	}
	steps := []struct {
		name, owner string
		at          time.Duration
		want        bool
	}{
		{"seal:case_a", "node-a", 0, true},
		{"seal:case_a", "node-b", 10 * time.Second, false}, // held
		{"seal:case_a", "node-a", 30 * time.Second, true},  // renewed to +90s
		{"seal:case_a", "node-b", 80 * time.Second, false}, // still held
		{"seal:case_b", "node-b", 80 * time.Second, true},  // another name
		{"seal:case_a", "node-b", 91 * time.Second, true},  // ran out: taken over
		{"seal:case_a", "node-a", 92 * time.Second, false},
	}
	for _, st := range steps {
		if got := claim(st.name, st.owner, t0.Add(st.at)); got != st.want {
			t.Fatalf("ClaimJobLease(%s, %s, +%s) = %v, want %v", st.name, st.owner, st.at, got, st.want)
		}
	}
	var held []models.JobLease
	tx(t, s, func(tx models.Tx) (err error) { held, err = tx.JobLeases(ctx, t0.Add(95*time.Second)); return })
	want := []models.JobLease{{Name: "seal:case_a", Owner: "node-b", Until: t0.Add(151 * time.Second)}, {Name: "seal:case_b", Owner: "node-b", Until: t0.Add(140 * time.Second)}}
	if d := cmp.Diff(want, held); d != "" {
		t.Fatalf("JobLeases (-want +got):\n%s", d)
	}
	// Releasing someone else's lease does nothing; one's own frees it.
	tx(t, s, func(tx models.Tx) error { return tx.ReleaseJobLease(ctx, "seal:case_a", "node-a") })
	if claim("seal:case_a", "node-c", t0.Add(96*time.Second)) {
		t.Fatal("ClaimJobLease after another owner's release = true, want false")
	}
	tx(t, s, func(tx models.Tx) error { return tx.ReleaseJobLease(ctx, "seal:case_a", "node-b") })
	if !claim("seal:case_a", "node-c", t0.Add(96*time.Second)) {
		t.Fatal("ClaimJobLease after the holder's release = false, want true")
	}

	// Many claimants at once: exactly one holds each lease.
	const claimants = 8
	for round := range 5 {
		name := fmt.Sprintf("race:%d", round)
		var won atomic.Int32
		var wg sync.WaitGroup
		for c := range claimants {
			wg.Go(func() {
				err := s.Transact(ctx, func(tx models.Tx) error {
					ok, err := tx.ClaimJobLease(ctx, name, fmt.Sprintf("node-%d", c), t0, t0.Add(time.Minute))
					if ok {
						won.Add(1)
					}
					return err
				})
				if err != nil {
					t.Errorf("ClaimJobLease(%s) by node-%d: %v", name, c, err)
				}
			})
		}
		wg.Wait()
		if n := won.Load(); n != 1 {
			t.Fatalf("%d claimants at once on %s: %d won, want 1", claimants, name, n)
		}
	}
}
