package signaling_test

import (
	"context"
	"testing"
	"time"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/signaling"
)

// TestPeersAreToldWhyTheCallEnds: when the server ends a call (the case
// was cancelled, the server shuts down), every participant's bye carries
// that reason, rather than a bare "ended"; so does the call record's end,
// or, at a shutdown, the call.suspended event of the call it suspends.
func TestPeersAreToldWhyTheCallEnds(t *testing.T) {
	f := newFixture(t, signaling.Config{})
	media := source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 160), ogg: testenv.OpusTone(t, 2)}
	tests := []struct {
		name, want string
		end        func(f *fixture, id models.CaseID)
	}{
		{"ended by the workflow", "case cancelled", func(f *fixture, id models.CaseID) { f.hub.End(id, "case cancelled") }},
		{"server shutdown", "server shutting down", func(f *fixture, _ models.CaseID) { f.hub.Close() }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, cu, cl, _ := f.newCall(i)
			peers := map[string]*testPeer{"customer": dial(t, cu, nil, media), "clerk": dial(t, cl, nil, media)}
			for name, p := range peers {
				select {
				case <-p.connected:
				case <-time.After(20 * time.Second):
					t.Fatalf("%s never connected", name)
				}
			}
			tt.end(f, id)
			for name, p := range peers {
				if m, ok := p.waitFor(signaling.TypeBye, 10*time.Second); !ok || m.Reason != tt.want {
					t.Errorf("%s got %+v (bye %t), want bye with reason %q", name, m, ok, tt.want)
				}
				p.close("")
			}
			if tt.want != "server shutting down" {
				if calls := f.waitEnded(id, 30*time.Second); calls[0].EndReason != tt.want {
					t.Errorf("call record's end reason = %q, want %q", calls[0].EndReason, tt.want)
				}
				return
			}
			// The shutdown suspends the call (a rejoin continues it).
			if calls := f.waitStopped(id, 30*time.Second); calls[0].EndedAt != nil || calls[0].SuspendedAt == nil {
				t.Fatalf("call after the shutdown: ended %v, suspended %v; want suspended", calls[0].EndedAt, calls[0].SuspendedAt)
			}
			var reason string
			err := f.store.Transact(context.Background(), func(tx models.Tx) error {
				evs, err := tx.AuditEvents(context.Background(), models.AuditFilter{CaseID: id, Limit: 1000})
				for _, e := range evs {
					if e.Action == "call.suspended" {
						reason = e.Detail["reason"]
					}
				}
				return err
			})
			if err != nil || reason != tt.want {
				t.Errorf("call.suspended reason = %q (%v), want %q", reason, err, tt.want)
			}
		})
	}
}
