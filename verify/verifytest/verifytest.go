// Package verifytest builds the workflow's service graph for tests (New:
// the accounts import, the service, its desk and its calls, as cmd/idv
// builds them, with test defaults for what a test does not choose) and
// drives its video-call path: the customer's consent, a call whose
// recording runs, live face captures and the end of the call with its
// recording complete. It goes through verify.Calls exactly as the call
// page and signaling do; only the media is left out (a capture's frame is
// given, as the media layer would have grabbed it). Use it wherever a test
// needs the face-match requirement met or a live capture for the registry
// check: uploaded photos never count.
package verifytest

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/verify"
)

// Call is one call of a case held through verify.Calls.
type Call struct {
	tb    testing.TB
	calls *verify.Calls
	now   func() time.Time
	Case  models.CaseID
	ID    models.CallID
	// Leg is the node's turn at running the call (1 unless it continued
	// a call whose node went away).
	Leg int
	// Segment is the Seq of the customer's video segment being recorded
	// (the leg's first: the call has had no reconnect).
	Segment int
	media   int64 // media time of the next capture, ms
}

// Consent spends the case's invite token (the last part of the invite
// link) and records the customer's consent to the current English text,
// as the call page does. The clock must lie in the invite's window.
func (g *Graph) Consent(tb testing.TB, link string) *models.CustomerSession {
	tb.Helper()
	ctx := context.Background()
	sess, _, err := g.Calls.StartCustomerSession(ctx, link[strings.LastIndex(link, "/")+1:])
	if err != nil {
		tb.Fatalf("verifytest: start customer session: %v", err)
	}
	if err := g.Calls.RecordConsent(ctx, sess, verify.ConsentText("en").Version, "en"); err != nil {
		tb.Fatalf("verifytest: consent: %v", err)
	}
	return sess
}

// StartCall opens a call of case id with its recording running, as the
// media layer does when the first participant (actor) joins.
func (g *Graph) StartCall(tb testing.TB, id models.CaseID, actor string) *Call {
	tb.Helper()
	call, err := g.Calls.StartCall(context.Background(), id, actor)
	if err != nil {
		tb.Fatalf("verifytest: start call of %s: %v", id, err)
	}
	return &Call{tb: tb, calls: g.Calls, now: g.Now, Case: id, ID: call.Call, Leg: call.Leg, Segment: models.LegSeq(call.Leg, 1), media: 1500}
}

// TryCapture runs the clerk's (actor's) face check on jpeg as a key frame
// the server took from the customer's video in the current segment of this
// call, each capture a few seconds of media after the previous one. It
// returns the workflow's answer as is, refusals included.
func (c *Call) TryCapture(actor string, jpeg []byte) (*models.Check, error) {
	f := models.LiveFrame{Call: c.ID, Segment: c.Segment, MediaMS: c.media, At: c.now().UTC(), JPEG: jpeg}
	c.media += 4000
	return c.calls.FaceCapture(context.Background(), c.Case, actor, f)
}

// CaptureFused runs the clerk's fused face check on jpegs as key frames
// taken half a second of media apart, as signaling does with
// IDV_FACE_CAPTURES frames.
func (c *Call) CaptureFused(actor string, jpegs ...[]byte) (*models.Check, error) {
	var frames []models.LiveFrame
	for _, j := range jpegs {
		frames = append(frames, models.LiveFrame{Call: c.ID, Segment: c.Segment, MediaMS: c.media, At: c.now().UTC(), JPEG: j})
		c.media += 500
	}
	c.media += 4000
	return c.calls.FaceCaptures(context.Background(), c.Case, actor, frames)
}

// Capture is TryCapture that fails the test on a refusal.
func (c *Call) Capture(actor string, jpeg []byte) *models.Check {
	c.tb.Helper()
	chk, err := c.TryCapture(actor, jpeg)
	if err != nil {
		c.tb.Fatalf("verifytest: live capture in %s: %v", c.ID, err)
	}
	return chk
}

// End stores the customer's recorded video segment and ends the call with its recording complete, as the media layer
// does when everyone has left.
func (c *Call) End() {
	c.tb.Helper()
	ctx := context.Background()
	now := c.now().UTC()
	seg := &models.CallSegment{CallID: c.ID, Seq: c.Segment, Participant: "customer", Track: "video", StartedAt: now, EndedAt: now}
	if err := c.calls.SaveSegment(ctx, c.Case, seg, "video/x-ivf", bytes.NewReader(bytes.Repeat([]byte("DKIF frame"), 300))); err != nil {
		c.tb.Fatalf("verifytest: save segment of %s: %v", c.ID, err)
	}
	if err := c.calls.EndCall(ctx, c.Case, models.CallLeg{Call: c.ID, Leg: c.Leg}, "bye", true); err != nil {
		c.tb.Fatalf("verifytest: end call %s: %v", c.ID, err)
	}
}
