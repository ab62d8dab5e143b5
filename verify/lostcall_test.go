package verify_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
)

// TestLostCallEndedByTheNextCall: a call whose node died under it (kill
// -9: nobody ended it) is ended when the case's next call starts, with its
// recording incomplete and a node_lost interruption for each party the
// node last reported in it, from that node's last heartbeat; with no
// report, both parties from the call's start. The case is then submitted
// on the later complete call.
func TestLostCallEndedByTheNextCall(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, err := f.svc.CreateCase(ctx, f.clerk, goodCase())
	if err != nil {
		t.Fatal(err)
	}
	inv, err := f.svc.IssueInvite(ctx, f.clerk, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.t = time.Date(2026, 12, 1, 13, 50, 0, 0, time.UTC) // in the invite's window
	f.g.Consent(t, inv.Link)
	first := f.g.StartCall(t, c.ID, f.clerk.Name)

	// node-a reported the call with the customer and the clerk in it at
	// its last heartbeat, then died.
	lastSeen := f.clock.t.Add(20 * time.Second)
	node := &models.Node{ID: "node-a", Instance: "i1", URL: "http://node-a:8080", StartedAt: f.clock.t.Add(-time.Hour), LastSeen: f.clock.t}
	err = f.g.Store.Transact(ctx, func(tx models.Tx) error {
		if err := tx.RegisterNode(ctx, node, f.clock.t.Add(-time.Hour)); err != nil {
			return err
		}
		return tx.NodeHeartbeat(ctx, node.ID, node.Instance, lastSeen, []models.LiveCall{
			{CaseID: c.ID, Call: first.ID, StartedAt: f.clock.t, Customer: true, Clerks: []string{"staff:stf_c1"}},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.t = f.clock.t.Add(time.Minute)
	second := f.g.StartCall(t, c.ID, f.clerk.Name)
	secondStart := f.clock.t

	// The second call's node dies before any heartbeat with it.
	f.clock.t = f.clock.t.Add(time.Minute)
	third := f.g.StartCall(t, c.ID, f.clerk.Name)

	var calls []*models.Call
	err = f.g.Store.Transact(ctx, func(tx models.Tx) (err error) { calls, err = tx.CallsByCase(ctx, c.ID); return })
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 3 {
		t.Fatalf("calls = %d, want 3", len(calls))
	}
	for i, want := range []struct {
		id      models.CallID
		ended   bool
		parties string
		from    time.Time
		detail  string
	}{
		{first.ID, true, "clerk,customer", lastSeen, "node node-a stopped heartbeating"},
		{second.ID, true, "clerk,customer", secondStart, "who was in it is not known"},
		{third.ID, false, "", time.Time{}, ""},
	} {
		k := calls[i]
		if k.ID != want.id || (k.EndedAt != nil) != want.ended {
			t.Fatalf("call %d = %s ended %v, want %s ended %v", i+1, k.ID, k.EndedAt, want.id, want.ended)
		}
		if !want.ended {
			continue
		}
		if k.EndReason != "node lost" || k.Recording != models.RecordingIncomplete {
			t.Errorf("lost call %d ended %q with recording %s, want \"node lost\", incomplete", i+1, k.EndReason, k.Recording)
		}
		var parties []string
		for _, in := range k.Interruptions {
			parties = append(parties, in.Participant)
			if in.Cause != models.CauseNodeLost || !in.StartedAt.Equal(want.from) || in.EndedAt != nil || !strings.Contains(in.Detail, want.detail) {
				t.Errorf("call %d: interruption %+v, want node_lost from %v, open, detail with %q", i+1, in, want.from, want.detail)
			}
		}
		slices.Sort(parties)
		if strings.Join(parties, ",") != want.parties {
			t.Errorf("call %d: interruptions of %v, want %s", i+1, parties, want.parties)
		}
	}

	// The verification goes on in the third call, recorded whole: the case
	// can be submitted on it.
	third.End()
	done, err := f.g.Calls.RecordingComplete(ctx, c.ID)
	if err != nil || !done {
		t.Errorf("RecordingComplete after a complete call that followed the lost ones = %v, %v; want true", done, err)
	}
}
