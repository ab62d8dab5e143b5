package signaling_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/signaling"
	"remoteidv/verify"
)

// TestInterruptionCauses drops the customer out of a running call in
// each way the server can tell apart (bye, socket closed, peer connection
// closed, a new page taking over, DTLS failing), lets them rejoin, and
// checks that the one call record holds every interruption with its
// cause, ended when their media came back. Shutting the node down
// suspends the call with both parties' interruptions open; they rejoin on
// another node, which continues the same call record in its second leg,
// and their media there ends the interruptions.
func TestInterruptionCauses(t *testing.T) {
	f := newFixture(t, signaling.Config{})
	media := source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 160), ogg: testenv.OpusTone(t, 2)}
	id, cuURL, clURL, _ := f.newCall(0)
	clerk := dial(t, clURL, nil, media)
	defer clerk.close("")
	customer := dial(t, cuURL, nil, media)
	waitCount(t, "clerk video packets", clerk.videoIn.Load, 20, 20*time.Second)

	drops := []struct {
		name string
		drop func(p *testPeer) // leaves p's socket and media dead or closed
		want models.InterruptionCause
	}{
		{"bye", func(p *testPeer) { p.close("customer left") }, models.CauseLeft},
		{"socket closed without a bye", func(p *testPeer) { p.close("") }, models.CauseSocketClosed},
		{"peer connection closed, socket open", func(p *testPeer) { _ = p.pc.Close() }, models.CauseMediaClosed},
		{"rejoined while still connected", nil, models.CauseReplaced},
	}
	outer := t // the peers outlive the subtests
	for i, d := range drops {
		t.Run(d.name, func(t *testing.T) {
			old := customer
			if d.drop != nil {
				d.drop(old)
				waitInterruptions(t, f, id, i+1)
			}
			before := clerk.videoIn.Load()
			customer = dial(outer, cuURL, nil, media)
			if d.drop == nil {
				waitInterruptions(t, f, id, i+1)
			}
			old.close("")
			waitCount(t, "clerk video packets after the rejoin", clerk.videoIn.Load, before+20, 20*time.Second)
			in := waitResumed(t, f, id, i)
			if in.Cause != d.want || in.Participant != "customer" {
				t.Errorf("interruption %d = %s of the %s (%q), want %s of the customer", i, in.Cause, in.Participant, in.Detail, d.want)
			}
			if in.ResumedIn != in.Call || in.EndedAt.Before(in.StartedAt) {
				t.Errorf("interruption %d: %s to %v, resumed in %s, want an end after the start in its own call %s", i, in.StartedAt, in.EndedAt, in.ResumedIn, in.Call)
			}
		})
	}

	// A page whose DTLS certificate is not the one its answer names takes
	// over (the customer before it: replaced), its media never connects
	// (media_failed), and the customer comes back: both end then.
	other := sha256.Sum256([]byte("not the certificate"))
	var fp []string
	for _, b := range other {
		fp = append(fp, fmt.Sprintf("%02X", b))
	}
	fingerprint := regexp.MustCompile(`(?m)^a=fingerprint:sha-256 [0-9A-F:]+\r$`)
	bad := dialWith(t, cuURL, nil, media, peerOpts{mungeAnswer: func(sdp string) string {
		return fingerprint.ReplaceAllString(sdp, "a=fingerprint:sha-256 "+strings.Join(fp, ":")+"\r")
	}})
	waitInterruptions(t, f, id, len(drops)+2)
	customer.close("")
	bad.close("")
	customer = dial(t, cuURL, nil, media)
	for i, want := range []models.InterruptionCause{models.CauseReplaced, models.CauseMediaFailed} {
		if in := waitResumed(t, f, id, len(drops)+i); in.Cause != want {
			t.Errorf("interruption %d = %s (%q), want %s", len(drops)+i, in.Cause, in.Detail, want)
		}
	}
	before := len(drops) + 2 // the interruptions so far

	// The node shuts down under the call: each party's drop is recorded,
	// still open, and the call is suspended, not ended.
	if err := f.hub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	customer.close("")
	calls := f.waitStopped(id, 30*time.Second)
	if len(calls) != 1 || calls[0].EndedAt != nil || calls[0].SuspendedAt == nil || calls[0].Legs != 1 {
		t.Fatalf("calls after the shutdown = %+v, want the one call across every rejoin, suspended in leg 1", calls)
	}
	got := calls[0].Interruptions
	if len(got) != before+2 {
		t.Fatalf("%d interruptions, want %d: %+v", len(got), before+2, got)
	}
	parties := map[string]bool{}
	for _, in := range got[before:] {
		if in.Cause != models.CauseNodeShutdown || in.EndedAt != nil {
			t.Errorf("interruption of the %s at shutdown = %s ended %v, want node_shutdown, open", in.Participant, in.Cause, in.EndedAt)
		}
		parties[in.Participant] = true
	}
	if !parties["customer"] || !parties["clerk"] {
		t.Errorf("interruptions at shutdown of %v, want the customer and the clerk", parties)
	}

	// Both rejoin on another node (a second hub on the same workflow): it
	// continues the call in leg 2, and their media there ends the
	// interruptions the shutdown left open.
	next, err := signaling.New(signaling.Config{Loopback: true, RecordDir: t.TempDir()}, f.calls, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.hub = next
	f.mu.Unlock()
	clerk2 := dial(t, clURL, nil, media)
	customer2 := dial(t, cuURL, nil, media)
	waitCount(t, "clerk video packets on the next node", clerk2.videoIn.Load, 20, 20*time.Second)
	waitCount(t, "customer video packets on the next node", customer2.videoIn.Load, 20, 20*time.Second)
	for i := before; i < before+2; i++ {
		in := waitResumed(t, f, id, i)
		if in.ResumedIn != in.Call {
			t.Errorf("interruption %d of the %s resumed in %q, want its own call %s", i, in.Participant, in.ResumedIn, in.Call)
		}
	}
	customer2.close("")
	clerk2.close("done")
	calls = f.waitEnded(id, 30*time.Second)
	if len(calls) != 1 || calls[0].Legs != 2 || calls[0].Recording != models.RecordingComplete {
		t.Fatalf("calls after the move = %+v, want the one call, in 2 legs, recorded whole", calls)
	}
	// Each node numbered its own segments: leg 1's from 1, leg 2's from
	// models.LegSeq(2, 1); every party's track has a segment in both.
	legs := map[string]map[int]bool{}
	for _, sg := range calls[0].Segments {
		k := sg.Participant + "/" + sg.Track
		if legs[k] == nil {
			legs[k] = map[int]bool{}
		}
		legs[k][models.SegmentLeg(sg.Seq)] = true
	}
	for _, k := range []string{"customer/video", "customer/audio", "clerk/video", "clerk/audio"} {
		if !legs[k][1] || !legs[k][2] {
			t.Errorf("segments of %s in legs %v, want legs 1 and 2", k, legs[k])
		}
	}
}

// waitInterruptions waits until the case's calls hold n interruptions.
func waitInterruptions(t *testing.T, f *fixture, id models.CaseID, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := 0
		for _, c := range f.calls_(id) {
			got += len(c.Interruptions)
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d interruptions after 20s, want %d", got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitResumed waits until interruption i of the case's interrupted call
// (the only one with interruptions; the fixture's clock stands still, so
// the calls' order is by ID) has ended and returns it.
func waitResumed(t *testing.T, f *fixture, id models.CaseID, i int) *models.Interruption {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		calls := f.calls_(id)
		for _, c := range calls {
			if len(c.Interruptions) > i && c.Interruptions[i].EndedAt != nil {
				return c.Interruptions[i]
			}
		}
		if time.Now().After(deadline) {
			var all []models.Interruption
			for _, c := range calls {
				for _, in := range c.Interruptions {
					all = append(all, *in)
				}
			}
			t.Fatalf("interruption %d not ended after 20s: %+v", i, all)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// endHeld is the workflow with each call's end held until release is
// closed; ending receives when one is held.
type endHeld struct {
	*verify.Calls
	ending  chan struct{}
	release chan struct{}
}

func (w *endHeld) EndCall(ctx context.Context, c models.CaseID, leg models.CallLeg, reason string, complete bool) error {
	select {
	case w.ending <- struct{}{}:
	default:
	}
	<-w.release
	return w.Calls.EndCall(ctx, c, leg, reason, complete)
}

// TestRejoinWhileTheCallEnds: when everyone leaves, the call ends; a party
// who rejoins while the room is still being torn down (its end not yet
// written) starts the case's next call once that end is recorded. The
// ending call is not taken for one whose node went away: it is not
// continued, and nobody gets a node_lost.
func TestRejoinWhileTheCallEnds(t *testing.T) {
	f := newFixture(t, signaling.Config{})
	wf := &endHeld{Calls: f.calls, ending: make(chan struct{}, 1), release: make(chan struct{})}
	var released sync.Once
	release := func() { released.Do(func() { close(wf.release) }) }
	t.Cleanup(release) // before the hub closes, which waits for the held end
	hub, err := signaling.New(signaling.Config{Loopback: true, RecordDir: t.TempDir()}, wf, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	old := f.hub
	f.hub = hub
	f.mu.Unlock()
	old.Close()
	media := source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 160), ogg: testenv.OpusTone(t, 2)}
	id, cuURL, clURL, _ := f.newCall(0)
	clerk := dial(t, clURL, nil, media)
	customer := dial(t, cuURL, nil, media)
	waitCount(t, "clerk video packets", clerk.videoIn.Load, 20, 20*time.Second)
	clerk.close("")
	customer.close("")
	select {
	case <-wf.ending:
	case <-time.After(20 * time.Second):
		t.Fatal("the call did not end after everyone left")
	}
	// The room is ending, its end held: the customer rejoins.
	again := dial(t, cuURL, nil, media)
	time.Sleep(500 * time.Millisecond)
	if calls := f.calls_(id); len(calls) != 1 || calls[0].Legs != 1 || calls[0].EndedAt != nil {
		t.Fatalf("while the first call's end is held: calls %+v, want the one call, in leg 1, not ended yet", calls)
	}
	release()
	deadline := time.Now().Add(20 * time.Second)
	for len(f.calls_(id)) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("calls after the rejoin = %+v, want a second call", f.calls_(id))
		}
		time.Sleep(50 * time.Millisecond)
	}
	again.close("")
	calls := f.waitEnded(id, 30*time.Second)
	for i, k := range calls {
		if k.Legs != 1 {
			t.Errorf("call %d in %d legs, want 1", i+1, k.Legs)
		}
		for _, in := range k.Interruptions {
			if in.Cause == models.CauseNodeLost {
				t.Errorf("call %d: %+v, want no node_lost: no node went away", i+1, in)
			}
		}
	}
	if calls[0].EndReason != "everyone left" {
		t.Errorf("the first call ended %q, want \"everyone left\"", calls[0].EndReason)
	}
}
