package signaling_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/signaling"
)

// TestStaffSockets: the hub closes a staff member's sockets when told their
// session ended (EndSession, following a step-up's RotateSession) or they
// were disabled (EndStaff), refuses a capture once Allowed says no, and
// audits the observer's start and stop.
func TestStaffSockets(t *testing.T) {
	f := newFixture(t, signaling.Config{RevokePoll: time.Hour, CaptureTimeout: 300 * time.Millisecond})
	ctx := context.Background()
	id, _, clURL, obURL := f.newCall(0)
	var clerkOut atomic.Bool
	allowed := func(out *atomic.Bool) func(context.Context, string) error {
		return func(context.Context, string) error {
			if out.Load() {
				return models.Errorf(models.EFORBIDDEN, "staff member c1 is disabled")
			}
			return nil
		}
	}
	f.mu.Lock()
	for path, p := range f.parts {
		switch p.Role {
		case signaling.RoleClerk:
			p.Staff, p.Session, p.Allowed = "stf_c1", "sess-clerk", allowed(&clerkOut)
		case signaling.RoleObserver:
			p.Staff, p.Session, p.Allowed = "stf_sup", "sess-sup", allowed(new(atomic.Bool))
		}
		f.parts[path] = p
	}
	f.mu.Unlock()
	// The clerk's join starts the call (audited as the clerk's case.join);
	// the observer joins only once the clerk is welcomed, so that the call
	// is not started by the observer when the two joins race.
	clerk := dial(t, clURL, nil, source{})
	defer clerk.close("")
	if m, ok := clerk.waitFor(signaling.TypeJoin, 10*time.Second); !ok {
		t.Fatalf("no welcome for the clerk: %+v", m)
	}
	observer := dial(t, obURL, nil, source{})
	defer observer.close("")
	if m, ok := observer.waitFor(signaling.TypeJoin, 10*time.Second); !ok {
		t.Fatalf("no welcome for the observer: %+v", m)
	}

	// A step-up rotates the supervisor's session: ending the old one
	// closes nothing, ending the new one closes the observer.
	f.hub.RotateSession("sess-sup", "sess-sup-2")
	if n := f.hub.EndSession("sess-sup", "logged out"); n != 0 {
		t.Errorf("EndSession(rotated away) closed %d sockets, want 0", n)
	}
	if n := f.hub.EndSession("sess-sup-2", "logged out"); n != 1 {
		t.Errorf("EndSession(current) closed %d sockets, want 1", n)
	}
	select {
	case <-observer.closed:
	case <-time.After(2 * time.Second):
		t.Fatal("the observer's socket is open after EndSession")
	}

	// Disabled elsewhere: the capture is refused and the socket closes.
	clerkOut.Store(true)
	clerk.send(signaling.Message{Type: signaling.TypeCapture})
	if m, _ := clerk.waitFor(signaling.TypeError, 5*time.Second); m.Code != string(models.EFORBIDDEN) {
		t.Errorf("capture after the clerk was disabled: %+v, want error forbidden", m)
	}
	select {
	case <-clerk.closed:
	case <-time.After(2 * time.Second):
		t.Fatal("the clerk's socket is open after a refused capture")
	}
	if n := f.hub.EndStaff("stf_c1", "staff member disabled"); n != 0 {
		t.Errorf("EndStaff after the socket closed = %d, want 0", n)
	}
	f.waitEnded(id, 10*time.Second)

	var got []string
	err := f.store.Transact(ctx, func(tx models.Tx) error {
		evs, err := tx.AuditEvents(ctx, models.AuditFilter{CaseID: id})
		for _, e := range evs {
			if e.Actor == "staff:stf_sup" {
				got = append(got, e.Action+" "+e.Detail["reason"])
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"call.observe_started ", "call.observe_stopped logged out"}; !slices.Equal(got, want) {
		t.Errorf("observer's audit events = %q, want %q", got, want)
	}
}

// joinAsStaff makes the call's clerk participant staff member id (with a
// session) and joins as them.
func joinAsStaff(t *testing.T, f *fixture, clURL string, id models.StaffID) *testPeer {
	t.Helper()
	f.mu.Lock()
	for path, p := range f.parts {
		if p.Role == signaling.RoleClerk {
			p.Staff, p.Session = id, "sess-clerk"
			f.parts[path] = p
		}
	}
	f.mu.Unlock()
	clerk := dial(t, clURL, nil, source{})
	if m, ok := clerk.waitFor(signaling.TypeJoin, 10*time.Second); !ok {
		clerk.close("")
		t.Fatalf("no welcome: %+v", m)
	}
	return clerk
}

// TestEndStaff closes every socket of a disabled staff member at once.
func TestEndStaff(t *testing.T) {
	f := newFixture(t, signaling.Config{RevokePoll: time.Hour})
	id, _, clURL, _ := f.newCall(0)
	clerk := joinAsStaff(t, f, clURL, "stf_c1")
	defer clerk.close("")
	if n := f.hub.EndStaff("stf_other", "staff member disabled"); n != 0 {
		t.Errorf("EndStaff(someone else) = %d, want 0", n)
	}
	if n := f.hub.EndStaff("stf_c1", "staff member disabled"); n != 1 {
		t.Errorf("EndStaff = %d, want 1", n)
	}
	select {
	case <-clerk.closed:
	case <-time.After(2 * time.Second):
		t.Fatal("the clerk's socket is open after EndStaff")
	}
	f.waitEnded(id, 10*time.Second)
}

// TestEndClerk closes a reassigned clerk's socket in that case's call
// only: another case, or another member, is left alone.
func TestEndClerk(t *testing.T) {
	f := newFixture(t, signaling.Config{RevokePoll: time.Hour})
	id, _, clURL, _ := f.newCall(0)
	clerk := joinAsStaff(t, f, clURL, "stf_c1")
	defer clerk.close("")
	for _, tc := range []struct {
		c     models.CaseID
		staff models.StaffID
	}{{"case_other", "stf_c1"}, {id, "stf_other"}} {
		if n := f.hub.EndClerk(tc.c, tc.staff, "no longer a clerk of this case"); n != 0 {
			t.Errorf("EndClerk(%s, %s) = %d, want 0", tc.c, tc.staff, n)
		}
	}
	if n := f.hub.EndClerk(id, "stf_c1", "no longer a clerk of this case"); n != 1 {
		t.Errorf("EndClerk = %d, want 1", n)
	}
	select {
	case <-clerk.closed:
	case <-time.After(2 * time.Second):
		t.Fatal("the reassigned clerk's socket is open after EndClerk")
	}
	f.waitEnded(id, 10*time.Second)
}
