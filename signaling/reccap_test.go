package signaling_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/signaling"
	"remoteidv/verify"
)

// TestRecordingCap: a call whose recording reaches its cap (the call's
// bytes, or what is left of the case's bytes or time) stops recording and
// ends: every participant is told why, the call record says so with its
// recording complete, the cap is audited, and the segments written so far
// are kept whole. A case whose allowance is used up starts no new call.
func TestRecordingCap(t *testing.T) {
	const capBytes = 200 << 10
	tests := []struct {
		name     string
		cfg      signaling.Config
		quotas   verify.Quotas
		limit    string // the audited limit
		maxBytes int64  // the most the call may record (plus a packet per track)
		caseFull bool   // the case's allowance is used up afterwards
	}{
		{"call bytes", signaling.Config{MaxRecordingBytes: capBytes}, verify.Quotas{}, "bytes", capBytes, false},
		{"case bytes", signaling.Config{}, verify.Quotas{RecordingBytes: capBytes}, "bytes", capBytes, true},
		{"case duration", signaling.Config{}, verify.Quotas{RecordingDuration: 3 * time.Second}, "duration", 1 << 30, false},
	}
	// The two sides send different media: a segment with the same bytes
	// as another is stored once, and counts once.
	media := source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 160), ogg: testenv.OpusTone(t, 2)}
	clerkMedia := source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Savage", 0), 3, 160), ogg: testenv.OpusTone(t, 3)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureQuotas(t, tt.cfg, tt.quotas)
			id, cu, cl, _ := f.newCall(0)
			peers := map[string]*testPeer{"customer": dial(t, cu, nil, media), "clerk": dial(t, cl, nil, clerkMedia)}
			for name, p := range peers {
				select {
				case <-p.connected:
				case <-time.After(20 * time.Second):
					t.Fatalf("%s never connected", name)
				}
			}
			for name, p := range peers {
				if m, ok := p.waitFor(signaling.TypeError, 30*time.Second); !ok || m.Code != signaling.CodeRecordingLimit {
					t.Errorf("%s got %+v, want the error %s", name, m, signaling.CodeRecordingLimit)
				}
				if m, ok := p.waitFor(signaling.TypeBye, 10*time.Second); !ok || m.Reason != signaling.ReasonRecordingLimit {
					t.Errorf("%s got %+v, want bye with reason %q", name, m, signaling.ReasonRecordingLimit)
				}
				p.close("")
			}
			f.waitEnded(id, 30*time.Second)
			// Each of the four tracks' segment is saved as its track ends.
			var calls []*models.Call
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if calls = f.calls_(id); len(calls[0].Segments) == 4 || time.Now().After(deadline) {
					break
				}
			}
			if len(calls) != 1 || calls[0].EndReason != signaling.ReasonRecordingLimit || calls[0].Recording != models.RecordingComplete {
				t.Fatalf("call record = %+v, want one call ended for %q with its recording complete", calls[0], signaling.ReasonRecordingLimit)
			}
			ctx := context.Background()
			var total int64
			if len(calls[0].Segments) != 4 {
				t.Fatalf("%d segments kept, want the four tracks'", len(calls[0].Segments))
			}
			for _, seg := range calls[0].Segments {
				total += seg.Size
				var ev *models.Evidence
				if err := f.store.Transact(ctx, func(tx models.Tx) (err error) { ev, err = tx.EvidenceByID(ctx, seg.Evidence); return }); err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(ev.Staged)
				if err != nil {
					t.Fatalf("segment %d %s: %v", seg.Seq, seg.Track, err)
				}
				if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != seg.SHA256 || int64(len(b)) != seg.Size {
					t.Errorf("segment %d %s: staged file differs from the one recorded", seg.Seq, seg.Track)
				}
				if seg.Track == "video" && len(readIVF(t, ev.Staged)) == 0 {
					t.Errorf("segment %d video: no frame in the kept file", seg.Seq)
				}
			}
			// The cap is checked as each packet is written, and a video
			// frame is written when its last packet arrives: each track
			// may end one frame (or packet) and its file's header past it.
			var slack int64 = 4 * 2048
			for _, fr := range append(readIVF(t, media.ivf), readIVF(t, clerkMedia.ivf)...) {
				slack = max(slack, 4*2048+2*int64(len(fr)))
			}
			if total > tt.maxBytes+slack {
				t.Errorf("the call recorded %d bytes, over its cap %d", total, tt.maxBytes)
			}
			var evs []*models.AuditEvent
			if err := f.store.Transact(ctx, func(tx models.Tx) (err error) {
				evs, err = tx.AuditEvents(ctx, models.AuditFilter{CaseID: id})
				return
			}); err != nil {
				t.Fatal(err)
			}
			capped := 0
			for _, e := range evs {
				if e.Action == "call.recording_capped" {
					capped++
					if e.Detail["limit"] != tt.limit {
						t.Errorf("call.recording_capped limit = %q, want %q", e.Detail["limit"], tt.limit)
					}
				}
			}
			if capped != 1 {
				t.Errorf("%d call.recording_capped events, want 1", capped)
			}
			if !tt.caseFull {
				return
			}
			// The case's allowance is used up: a new join is refused with
			// the same error code, and no call record is opened.
			p := dial(t, cu, nil, media)
			defer p.close("")
			if m, ok := p.waitFor(signaling.TypeError, 10*time.Second); !ok || m.Code != signaling.CodeRecordingLimit {
				t.Errorf("join after the allowance: got %+v, want the error %s", m, signaling.CodeRecordingLimit)
			}
			if cs := f.calls_(id); len(cs) != 1 {
				for _, c := range cs {
					t.Logf("call %s started %v ended %v (%s), %d segments", c.ID, c.StartedAt, c.EndedAt, c.EndReason, len(c.Segments))
				}
				t.Errorf("%d calls after the refused join (the first recorded %d bytes), want 1", len(cs), total)
			}
		})
	}
}
