package verify_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
)

// TestLostCallContinued: a call whose node died under it (kill -9: nobody
// ended it) is continued, in the same record, by the case's next call: a
// new leg, with a node_lost interruption for each party the lost node last
// reported, from its last heartbeat (with no report, both parties from the
// last time one came back). A party still out gets no second one. A
// suspended call (its node shut down) is continued without one. The stale
// leg can no longer end the call, a segment the lost node recovers later
// fills in its leg without touching the call, and the case is submitted on
// the one call once its last leg ends.
func TestLostCallContinued(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := consentedCase(t, f)
	base, err := f.g.Calls.RecordingAllowance(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	start := f.clock.t
	first := f.g.StartCall(t, c.ID, f.clerk.Name)
	if first.Leg != 1 {
		t.Fatalf("first leg = %d, want 1", first.Leg)
	}
	call := func() *models.Call {
		t.Helper()
		var calls []*models.Call
		if err := f.g.Store.Transact(ctx, func(tx models.Tx) (err error) { calls, err = tx.CallsByCase(ctx, c.ID); return }); err != nil {
			t.Fatal(err)
		}
		if len(calls) != 1 {
			t.Fatalf("calls = %d, want 1: the call is continued, not replaced", len(calls))
		}
		return calls[0]
	}
	lost := func(k *models.Call, since time.Time) (parties []string) {
		for _, in := range k.Interruptions {
			if in.Cause == models.CauseNodeLost && !in.StartedAt.Before(since) {
				parties = append(parties, in.Participant)
			}
		}
		slices.Sort(parties)
		return parties
	}

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
	k := call()
	if second.ID != first.ID || second.Leg != 2 || k.Legs != 2 || k.EndedAt != nil || k.Recording != models.RecordingActive {
		t.Fatalf("after node-a died: call %s leg %d (legs %d, ended %v, recording %s); want %s leg 2, open, recording",
			second.ID, second.Leg, k.Legs, k.EndedAt, k.Recording, first.ID)
	}
	if got := lost(k, time.Time{}); strings.Join(got, ",") != "clerk,customer" {
		t.Fatalf("node_lost interruptions of %v, want clerk and customer", got)
	}
	for _, in := range k.Interruptions {
		if !in.StartedAt.Equal(lastSeen) || !strings.Contains(in.Detail, "node node-a stopped heartbeating") || in.EndedAt != nil {
			t.Errorf("interruption %+v: want from node-a's last heartbeat %v, open", in, lastSeen)
		}
	}
	// Leg 1's node comes back: it can no longer end the call, and the
	// segment it recovers fills in leg 1.
	if err := f.g.Calls.EndCall(ctx, c.ID, models.CallLeg{Call: first.ID, Leg: 1}, "everyone left", true); models.ErrorCodeOf(err) != models.ECONFLICT {
		t.Fatalf("EndCall(leg 1) after leg 2 began = %v, want ECONFLICT", err)
	}
	rec := &models.CallSegment{CallID: first.ID, Seq: models.LegSeq(1, 1), Participant: "customer", Track: "video", StartedAt: lastSeen.Add(-time.Minute), EndedAt: lastSeen}
	if err := f.g.Calls.RecoverSegment(ctx, c.ID, rec, "video/x-ivf", bytes.NewReader(bytes.Repeat([]byte("DKIF frame"), 300))); err != nil {
		t.Fatal(err)
	}
	if k := call(); k.Legs != 2 || k.EndedAt != nil || k.SuspendedAt != nil || k.Recording != models.RecordingActive || len(k.Segments) != 1 {
		t.Fatalf("after leg 1's segment was recovered: legs %d, ended %v, suspended %v, recording %s, %d segments; want 2, open, running, recording, 1",
			k.Legs, k.EndedAt, k.SuspendedAt, k.Recording, len(k.Segments))
	}

	// Both come back in leg 2, then its node dies before any heartbeat
	// with the call: leg 3, both lost from the later return.
	back := f.clock.t.Add(5 * time.Second)
	for i, p := range []string{"customer", "clerk"} {
		if err := f.g.Calls.CallResumed(ctx, c.ID, second.ID, p, back.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.t = f.clock.t.Add(time.Minute)
	third := f.g.StartCall(t, c.ID, f.clerk.Name)
	k = call()
	if third.Leg != 3 || k.Legs != 3 {
		t.Fatalf("third leg = %d (legs %d), want 3", third.Leg, k.Legs)
	}
	if got := lost(k, back.Add(time.Second)); strings.Join(got, ",") != "clerk,customer" {
		t.Fatalf("node_lost interruptions from %v: %v, want clerk and customer", back.Add(time.Second), got)
	}
	for _, in := range k.Interruptions {
		if in.EndedAt == nil && !strings.Contains(in.Detail, "who was in it is not known") {
			t.Errorf("interruption %+v: want the unknown-report detail", in)
		}
	}

	// Nobody comes back in leg 3 and its node dies: the parties, still
	// out, get no second interruption.
	n := len(k.Interruptions)
	f.clock.t = f.clock.t.Add(time.Minute)
	fourth := f.g.StartCall(t, c.ID, f.clerk.Name)
	if k = call(); fourth.Leg != 4 || len(k.Interruptions) != n {
		t.Fatalf("fourth leg = %d with %d interruptions, want 4 with %d", fourth.Leg, len(k.Interruptions), n)
	}

	// Leg 4's node shuts down: the call is suspended (no decision is taken
	// on a running call, but nothing blocks it either), then continued
	// without a node_lost interruption.
	if err := f.g.Calls.SuspendCall(ctx, c.ID, models.CallLeg{Call: fourth.ID, Leg: 4}, "server shutting down"); err != nil {
		t.Fatal(err)
	}
	if k = call(); k.SuspendedAt == nil || k.Recording != models.RecordingComplete {
		t.Fatalf("suspended call: suspended %v, recording %s; want set, complete", k.SuspendedAt, k.Recording)
	}
	f.clock.t = f.clock.t.Add(time.Minute)
	fifth := f.g.StartCall(t, c.ID, f.clerk.Name)
	if k = call(); fifth.Leg != 5 || len(k.Interruptions) != n || k.SuspendedAt != nil || k.Recording != models.RecordingActive {
		t.Fatalf("after the suspension: leg %d, %d interruptions, suspended %v, recording %s; want 5, %d, nil, recording",
			fifth.Leg, len(k.Interruptions), k.SuspendedAt, k.Recording, n)
	}
	var previous []string
	err = f.g.Store.Transact(ctx, func(tx models.Tx) error {
		evs, err := tx.AuditEvents(ctx, models.AuditFilter{CaseID: c.ID, Limit: 1000})
		for _, e := range evs {
			if e.Action == "call.continued" {
				previous = append(previous, e.Detail["leg"]+":"+e.Detail["previous"])
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(previous, ","); got != "2:node lost,3:node lost,4:node lost,5:suspended" {
		t.Errorf("call.continued events = %s", got)
	}

	// The call's earlier legs count against the case's recording time.
	if a, err := f.g.Calls.RecordingAllowance(ctx, c.ID); err != nil || a.Duration != base.Duration-f.clock.t.Sub(start) {
		t.Errorf("recording time left in leg 5 = %v, %v; want %v", a.Duration, err, base.Duration-f.clock.t.Sub(start))
	}

	// The verification goes on in leg 5, recorded whole: the case can be
	// submitted on the one call.
	if done, err := f.g.Calls.RecordingComplete(ctx, c.ID); err != nil || done {
		t.Errorf("RecordingComplete while the call runs = %v, %v; want false", done, err)
	}
	fifth.End()
	if done, err := f.g.Calls.RecordingComplete(ctx, c.ID); err != nil || !done {
		t.Errorf("RecordingComplete after the call's last leg ended = %v, %v; want true", done, err)
	}
}

// TestRecoveredLegSuspendsTheCall: a node killed mid-call and restarted
// before anyone rejoined recovers its segments: the call is suspended
// (not ended), each recovered party has a node_lost interruption from
// their segment's end, and the case's next call continues it.
func TestRecoveredLegSuspendsTheCall(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := consentedCase(t, f)
	first := f.g.StartCall(t, c.ID, f.clerk.Name)
	cut := f.clock.t.Add(90 * time.Second)
	for _, s := range []struct{ p, track string }{{"customer", "audio"}, {"customer", "video"}, {"clerk", "video"}} {
		seg := &models.CallSegment{CallID: first.ID, Seq: 1, Participant: s.p, Track: s.track, StartedAt: f.clock.t, EndedAt: cut}
		if err := f.g.Calls.RecoverSegment(ctx, c.ID, seg, "video/x-ivf", bytes.NewReader(bytes.Repeat([]byte("DKIF frame"), 300))); err != nil {
			t.Fatal(err)
		}
	}
	var k *models.Call
	read := func() {
		t.Helper()
		err := f.g.Store.Transact(ctx, func(tx models.Tx) error {
			calls, err := tx.CallsByCase(ctx, c.ID)
			if err == nil && len(calls) != 1 {
				t.Fatalf("calls = %d, want 1", len(calls))
			}
			if err == nil {
				k = calls[0]
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	read()
	if k.EndedAt != nil || k.SuspendedAt == nil || k.Recording != models.RecordingComplete || len(k.Segments) != 3 {
		t.Fatalf("recovered call: ended %v, suspended %v, recording %s, %d segments; want open, suspended, complete, 3", k.EndedAt, k.SuspendedAt, k.Recording, len(k.Segments))
	}
	var parties []string
	for _, in := range k.Interruptions {
		parties = append(parties, in.Participant)
		if in.Cause != models.CauseNodeLost || !in.StartedAt.Equal(cut) || in.EndedAt != nil {
			t.Errorf("interruption %+v: want node_lost from %v, open", in, cut)
		}
	}
	slices.Sort(parties)
	if strings.Join(parties, ",") != "clerk,customer" {
		t.Fatalf("interruptions of %v, want one each for clerk and customer", parties)
	}
	// Nobody rejoined: the case could go on to a decision on what was
	// recorded. Someone rejoins: the call is continued in leg 2.
	if done, err := f.g.Calls.RecordingComplete(ctx, c.ID); err != nil || !done {
		t.Errorf("RecordingComplete of a suspended call with the customer's video = %v, %v; want true", done, err)
	}
	second := f.g.StartCall(t, c.ID, f.clerk.Name)
	read()
	if second.ID != first.ID || second.Leg != 2 || k.SuspendedAt != nil || len(k.Interruptions) != 2 {
		t.Fatalf("rejoin after the restart: call %s leg %d, suspended %v, %d interruptions; want %s leg 2, running, 2", second.ID, second.Leg, k.SuspendedAt, len(k.Interruptions), first.ID)
	}
}

// TestUnfinishedCallTooOldIsEnded: an unfinished call whose node went
// away longer ago than ContinueWithin (15 minutes) is not continued: the
// case's next session is a call of its own. A suspended call is ended as
// it was recorded; a lost one incomplete, with its parties' node_lost
// interruptions; either at its node's last sign of life, so the time
// until the next call does not count as recorded.
func TestUnfinishedCallTooOldIsEnded(t *testing.T) {
	for _, tt := range []struct {
		name      string
		suspend   bool
		recording models.RecordingState
		reason    string
		lost      int // node_lost interruptions
	}{
		{"suspended", true, models.RecordingComplete, "suspended and not continued", 0},
		{"lost", false, models.RecordingIncomplete, "node lost", 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			c := consentedCase(t, f)
			base, err := f.g.Calls.RecordingAllowance(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			start := f.clock.t
			first := f.g.StartCall(t, c.ID, f.clerk.Name)
			if tt.suspend {
				if err := f.g.Calls.SuspendCall(ctx, c.ID, models.CallLeg{Call: first.ID, Leg: 1}, "server shutting down"); err != nil {
					t.Fatal(err)
				}
			}
			f.clock.t = f.clock.t.Add(16 * time.Minute)
			second := f.g.StartCall(t, c.ID, f.clerk.Name)
			var calls []*models.Call
			if err := f.g.Store.Transact(ctx, func(tx models.Tx) (err error) { calls, err = tx.CallsByCase(ctx, c.ID); return }); err != nil {
				t.Fatal(err)
			}
			if second.ID == first.ID || second.Leg != 1 || len(calls) != 2 {
				t.Fatalf("after 16 minutes: call %s leg %d, %d calls; want a new call, leg 1, 2 calls", second.ID, second.Leg, len(calls))
			}
			old := calls[0]
			if old.EndedAt == nil || old.EndReason != tt.reason || old.Recording != tt.recording || old.Legs != 1 {
				t.Errorf("the old call: ended %v %q, recording %s, legs %d; want ended %q, %s, 1", old.EndedAt, old.EndReason, old.Recording, old.Legs, tt.reason, tt.recording)
			}
			if len(old.Interruptions) != tt.lost {
				t.Errorf("the old call's interruptions = %+v, want %d node_lost", old.Interruptions, tt.lost)
			}
			// It ended when its node went away, not when the next call
			// started: the 16 minutes between do not use up the case's
			// recording time.
			if old.EndedAt != nil && !old.EndedAt.Equal(start) {
				t.Errorf("the old call ended at %v, want %v (its node's last sign of life)", old.EndedAt, start)
			}
			if a, err := f.g.Calls.RecordingAllowance(ctx, c.ID); err != nil || a.Duration != base.Duration {
				t.Errorf("recording time left = %v, %v; want %v: neither call has run any time", a.Duration, err, base.Duration)
			}
		})
	}
}

// consentedCase opens a case whose customer has consented; the clock is
// then in its invite's window.
func consentedCase(t *testing.T, f *fixture) *models.Case {
	t.Helper()
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
	return c
}
