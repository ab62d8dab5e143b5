package storagetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/models"
)

func testCalls(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	nb, na := models.InviteWindow(t0.Add(time.Hour))
	inv := &models.Invite{ID: "inv_1", CaseID: "case_a", TokenHash: fmt.Sprintf("%064x", 7), NotBefore: nb, NotAfter: na, CreatedAt: t0}
	tx(t, s, func(tx models.Tx) error { return tx.CreateInvite(ctx, inv) })

	// One customer session per invite, even when two first uses race.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.Transact(ctx, func(tx models.Tx) error {
				return tx.CreateCustomerSession(ctx, &models.CustomerSession{ID: models.CustomerSessionID(fmt.Sprintf("cus_%d", i)), CaseID: "case_a",
					InviteID: "inv_1", SecretHash: fmt.Sprintf("%064x", 100+i), CreatedAt: t0, ExpiresAt: na})
			})
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch models.ErrorCodeOf(err) {
		case "":
			if won >= 0 {
				t.Fatalf("CreateCustomerSession race: sessions %d and %d both created", won, i)
			}
			won = i
		case models.ECONFLICT:
		default:
			t.Fatalf("CreateCustomerSession race: unexpected error %v", err)
		}
	}
	if won < 0 {
		t.Fatal("CreateCustomerSession race: no winner")
	}
	hash := fmt.Sprintf("%064x", 100+won)
	var got *models.CustomerSession
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.CustomerSessionByHash(ctx, hash); return })
	want := &models.CustomerSession{ID: models.CustomerSessionID(fmt.Sprintf("cus_%d", won)), CaseID: "case_a", InviteID: "inv_1", SecretHash: hash, CreatedAt: t0, ExpiresAt: na}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("CustomerSessionByHash (-want +got):\n%s", diff)
	}
	err := s.Transact(ctx, func(tx models.Tx) error { _, err := tx.CustomerSessionByHash(ctx, fmt.Sprintf("%064x", 1)); return err })
	wantCode(t, "CustomerSessionByHash(unknown)", err, models.ENOTFOUND)

	consentAt := t0.Add(time.Minute)
	sum := fmt.Sprintf("%064x", 5)
	tx(t, s, func(tx models.Tx) error { return tx.RecordConsent(ctx, want.ID, "v1", sum, "en", consentAt) })
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.RecordConsent(ctx, want.ID, "v1", sum, "en", consentAt) })
	wantCode(t, "RecordConsent(again)", err, models.ECONFLICT)
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.RecordConsent(ctx, "cus_none", "v1", sum, "en", consentAt) })
	wantCode(t, "RecordConsent(unknown)", err, models.ENOTFOUND)
	var all []*models.CustomerSession
	tx(t, s, func(tx models.Tx) (err error) { all, err = tx.CustomerSessionsByCase(ctx, "case_a"); return })
	want.ConsentVersion, want.ConsentSHA256, want.ConsentLocale, want.ConsentAt = "v1", sum, "en", &consentAt
	if diff := cmp.Diff([]*models.CustomerSession{want}, all); diff != "" {
		t.Fatalf("CustomerSessionsByCase (-want +got):\n%s", diff)
	}

	// Calls and their segments.
	call := &models.Call{ID: "call_1", CaseID: "case_a", StartedAt: t0, Recording: models.RecordingActive}
	tx(t, s, func(tx models.Tx) error { return tx.CreateCall(ctx, call) })
	seg := func(seq int, track string, from, to time.Time) *models.CallSegment {
		return &models.CallSegment{CallID: "call_1", Seq: seq, Participant: "customer", Track: track, Evidence: "evd_1",
			SHA256: fmt.Sprintf("%064x", seq), Size: 1000, StartedAt: from, EndedAt: to}
	}
	segs := []*models.CallSegment{seg(1, "audio", t0, t0.Add(time.Minute)), seg(1, "video", t0, t0.Add(time.Minute)), seg(2, "video", t0.Add(2*time.Minute), t0.Add(3*time.Minute))}
	for _, sg := range segs {
		tx(t, s, func(tx models.Tx) error { return tx.AddCallSegment(ctx, sg) })
	}
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.AddCallSegment(ctx, segs[0]) })
	wantCode(t, "AddCallSegment(repeat)", err, models.ECONFLICT)
	tx(t, s, func(tx models.Tx) error { return tx.MarkRecordingIncomplete(ctx, "call_1") })
	end := t0.Add(4 * time.Minute)
	tx(t, s, func(tx models.Tx) error { return tx.EndCall(ctx, "call_1", 0, end, "left", models.RecordingComplete) })
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.EndCall(ctx, "call_1", 0, end, "left", models.RecordingComplete) })
	wantCode(t, "EndCall(again)", err, models.ECONFLICT)
	err = s.Transact(ctx, func(tx models.Tx) error {
		return tx.EndCall(ctx, "call_none", 0, end, "left", models.RecordingComplete)
	})
	wantCode(t, "EndCall(unknown)", err, models.ENOTFOUND)
	var calls []*models.Call
	tx(t, s, func(tx models.Tx) (err error) { calls, err = tx.CallsByCase(ctx, "case_a"); return })
	wantCall := &models.Call{ID: "call_1", CaseID: "case_a", StartedAt: t0, EndedAt: &end, EndReason: "left",
		Recording: models.RecordingIncomplete, Legs: 1, Segments: []*models.CallSegment{segs[0], segs[1], segs[2]}}
	if diff := cmp.Diff([]*models.Call{wantCall}, calls); diff != "" {
		t.Fatalf("CallsByCase (-want +got):\n%s", diff)
	}
}

// testCallInterruptions: a party's drops are stored open, listed with
// their call, ended when the party's media comes back (in the same call or
// the case's next one), and an unknown cause or call is refused.
func testCallInterruptions(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	for _, c := range []*models.Call{
		{ID: "call_1", CaseID: "case_a", StartedAt: t0, Recording: models.RecordingActive},
		{ID: "call_2", CaseID: "case_a", StartedAt: t0.Add(10 * time.Minute), Recording: models.RecordingActive},
	} {
		tx(t, s, func(tx models.Tx) error { return tx.CreateCall(ctx, c) })
	}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	in := []*models.Interruption{
		{ID: "int_1", CaseID: "case_a", Call: "call_1", Participant: "customer", Cause: models.CauseSocketClosed, Detail: "connection closed", StartedAt: at(1)},
		{ID: "int_2", CaseID: "case_a", Call: "call_1", Participant: "clerk", Cause: models.CauseMediaFailed, Detail: "media connection failed", StartedAt: at(2)},
		{ID: "int_3", CaseID: "case_a", Call: "call_1", Participant: "customer", Cause: models.CauseNodeShutdown, Detail: "server shutting down", StartedAt: at(5)},
	}
	tx(t, s, func(tx models.Tx) error { return tx.AddInterruption(ctx, in[0]) })
	var n int
	tx(t, s, func(tx models.Tx) (err error) {
		n, err = tx.EndInterruptions(ctx, "case_a", "customer", at(3), "call_1")
		return
	})
	if n != 1 {
		t.Fatalf("EndInterruptions(customer, same call) = %d, want 1", n)
	}
	tx(t, s, func(tx models.Tx) error { return tx.AddInterruption(ctx, in[1]) })
	tx(t, s, func(tx models.Tx) error { return tx.AddInterruption(ctx, in[2]) })
	// The customer comes back in the next call, by a clock a little behind
	// the one that saw the drop: the end is taken as the start.
	tx(t, s, func(tx models.Tx) (err error) {
		n, err = tx.EndInterruptions(ctx, "case_a", "customer", at(5).Add(-time.Second), "call_2")
		return
	})
	if n != 1 {
		t.Fatalf("EndInterruptions(customer, next call) = %d, want 1", n)
	}
	tx(t, s, func(tx models.Tx) (err error) {
		n, err = tx.EndInterruptions(ctx, "case_a", "customer", at(6), "call_2")
		return
	})
	if n != 0 {
		t.Fatalf("EndInterruptions(customer, nothing open) = %d, want 0", n)
	}
	var calls []*models.Call
	tx(t, s, func(tx models.Tx) (err error) { calls, err = tx.CallsByCase(ctx, "case_a"); return })
	e0, e2 := at(3), at(5)
	in[0].EndedAt, in[0].ResumedIn = &e0, "call_1"
	in[2].EndedAt, in[2].ResumedIn = &e2, "call_2"
	if len(calls) != 2 {
		t.Fatalf("CallsByCase = %d calls, want 2", len(calls))
	}
	// The clerk's drop stays open: they did not come back.
	if diff := cmp.Diff(in, calls[0].Interruptions); diff != "" {
		t.Fatalf("CallsByCase(call_1).Interruptions (-want +got):\n%s", diff)
	}
	if len(calls[1].Interruptions) != 0 {
		t.Fatalf("CallsByCase(call_2).Interruptions = %v, want none", calls[1].Interruptions)
	}

	for _, tc := range []struct {
		name string
		i    models.Interruption
		want models.ErrorCode
	}{
		{"unknown cause", models.Interruption{ID: "int_x", CaseID: "case_a", Call: "call_1", Participant: "customer", Cause: "gremlins", StartedAt: at(7)}, models.EINVALID},
		{"unknown call", models.Interruption{ID: "int_x", CaseID: "case_a", Call: "call_none", Participant: "customer", Cause: models.CauseLeft, StartedAt: at(7)}, models.ENOTFOUND},
		{"another case's call", models.Interruption{ID: "int_x", CaseID: "case_b", Call: "call_1", Participant: "customer", Cause: models.CauseLeft, StartedAt: at(7)}, models.ENOTFOUND},
		{"observer", models.Interruption{ID: "int_x", CaseID: "case_a", Call: "call_1", Participant: "observer", Cause: models.CauseLeft, StartedAt: at(7)}, models.EINVALID},
		{"repeated id", models.Interruption{ID: "int_1", CaseID: "case_a", Call: "call_1", Participant: "customer", Cause: models.CauseLeft, StartedAt: at(7)}, models.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Transact(ctx, func(tx models.Tx) error { return tx.AddInterruption(ctx, &tc.i) })
			wantCode(t, "AddInterruption("+tc.name+")", err, tc.want)
		})
	}
}

// testCallLegs: a call whose node stopped is suspended by its leg (an
// active recording counts as complete meanwhile) and continued by the next
// leg (recording active again); a stale leg can neither end nor suspend it;
// an incomplete recording stays incomplete; an ended call cannot be
// continued; two nodes continuing the same call get different legs.
func testCallLegs(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	tx(t, s, func(tx models.Tx) error {
		return tx.CreateCall(ctx, &models.Call{ID: "call_1", CaseID: "case_a", StartedAt: t0, Recording: models.RecordingActive})
	})
	get := func() *models.Call {
		t.Helper()
		var calls []*models.Call
		tx(t, s, func(tx models.Tx) (err error) { calls, err = tx.CallsByCase(ctx, "case_a"); return })
		if len(calls) != 1 {
			t.Fatalf("CallsByCase = %d calls, want 1", len(calls))
		}
		return calls[0]
	}
	if c := get(); c.Legs != 1 || c.SuspendedAt != nil || c.Recording != models.RecordingActive {
		t.Fatalf("new call: legs %d, suspended %v, recording %s; want 1, nil, recording", c.Legs, c.SuspendedAt, c.Recording)
	}
	// A graceful shutdown suspends leg 1.
	at := t0.Add(time.Minute)
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.SuspendCall(ctx, "call_1", 2, at) })
	wantCode(t, "SuspendCall(leg 2 of a call at leg 1)", err, models.ECONFLICT)
	tx(t, s, func(tx models.Tx) error { return tx.SuspendCall(ctx, "call_1", 1, at) })
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.SuspendCall(ctx, "call_1", 1, at) })
	wantCode(t, "SuspendCall(again)", err, models.ECONFLICT)
	if c := get(); c.SuspendedAt == nil || !c.SuspendedAt.Equal(at) || c.Recording != models.RecordingComplete {
		t.Fatalf("suspended call: suspended %v, recording %s; want %v, complete", c.SuspendedAt, c.Recording, at)
	}
	// Another node continues it: leg 2, recording again.
	var leg int
	tx(t, s, func(tx models.Tx) (err error) { leg, err = tx.ContinueCall(ctx, "call_1"); return })
	if c := get(); leg != 2 || c.Legs != 2 || c.SuspendedAt != nil || c.Recording != models.RecordingActive {
		t.Fatalf("continued call: leg %d, legs %d, suspended %v, recording %s; want 2, 2, nil, recording", leg, c.Legs, c.SuspendedAt, c.Recording)
	}
	// Leg 1's node, back, can neither end nor suspend what leg 2 runs.
	err = s.Transact(ctx, func(tx models.Tx) error {
		return tx.EndCall(ctx, "call_1", 1, at, "everyone left", models.RecordingComplete)
	})
	wantCode(t, "EndCall(stale leg)", err, models.ECONFLICT)
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.SuspendCall(ctx, "call_1", 1, at) })
	wantCode(t, "SuspendCall(stale leg)", err, models.ECONFLICT)
	// Leg 2's recorder fails; a node dies and the call is continued (leg 3,
	// concurrently with nothing): incomplete stays incomplete.
	tx(t, s, func(tx models.Tx) error { return tx.MarkRecordingIncomplete(ctx, "call_1") })
	tx(t, s, func(tx models.Tx) (err error) { leg, err = tx.ContinueCall(ctx, "call_1"); return })
	if c := get(); leg != 3 || c.Recording != models.RecordingIncomplete {
		t.Fatalf("continued incomplete call: leg %d, recording %s; want 3, incomplete", leg, c.Recording)
	}
	end := t0.Add(5 * time.Minute)
	tx(t, s, func(tx models.Tx) error {
		return tx.EndCall(ctx, "call_1", 3, end, "ended by the clerk", models.RecordingComplete)
	})
	c := get()
	if c.EndedAt == nil || !c.EndedAt.Equal(end) || c.Recording != models.RecordingIncomplete || c.Legs != 3 {
		t.Fatalf("ended call: ended %v, recording %s, legs %d; want %v, incomplete, 3", c.EndedAt, c.Recording, c.Legs, end)
	}
	err = s.Transact(ctx, func(tx models.Tx) error { _, err := tx.ContinueCall(ctx, "call_1"); return err })
	wantCode(t, "ContinueCall(ended)", err, models.ECONFLICT)
	err = s.Transact(ctx, func(tx models.Tx) error { _, err := tx.ContinueCall(ctx, "call_none"); return err })
	wantCode(t, "ContinueCall(unknown)", err, models.ENOTFOUND)
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.SuspendCall(ctx, "call_none", 1, at) })
	wantCode(t, "SuspendCall(unknown)", err, models.ENOTFOUND)

	// Two nodes continue one call at once: each gets its own leg.
	tx(t, s, func(tx models.Tx) error {
		return tx.CreateCall(ctx, &models.Call{ID: "call_2", CaseID: "case_a", StartedAt: t0.Add(time.Hour), Recording: models.RecordingActive})
	})
	legs := make(chan int, 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var l int
			if err := s.Transact(ctx, func(tx models.Tx) (err error) { l, err = tx.ContinueCall(ctx, "call_2"); return }); err != nil {
				t.Errorf("ContinueCall(racing): %v", err)
			}
			legs <- l
		}()
	}
	wg.Wait()
	close(legs)
	got := map[int]bool{}
	for l := range legs {
		got[l] = true
	}
	if !got[2] || !got[3] {
		t.Fatalf("racing ContinueCall legs = %v, want 2 and 3", got)
	}
}
