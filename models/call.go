package models

import (
	"context"
	"time"
)

// CustomerSessionID identifies a customer's session, made when the invite
// link is first opened.
type CustomerSessionID string

// CallID identifies one video call of a case (a reconnect within the call
// keeps the call and adds segments).
type CallID string

// CallLeg is one node's turn at running a call: a call starts with leg 1,
// and each time a node continues a call whose node went away (killed, or
// shut down) the leg goes up by one. The leg numbers the node's segments
// (LegSeq), so that what a lost node recovers later never collides with
// what its successor records.
type CallLeg struct {
	Call CallID
	Leg  int
}

// LegSeqs is how many segment numbers each leg of a call has: leg k's are
// (k-1)*LegSeqs+1 to k*LegSeqs.
const LegSeqs = 10000

// LegSeq is the number of the n-th segment (from 1) of a participant's
// track in leg.
func LegSeq(leg, n int) int { return (leg-1)*LegSeqs + n }

// SegmentLeg is the leg a segment number belongs to.
func SegmentLeg(seq int) int { return (seq-1)/LegSeqs + 1 }

// CustomerSession is what the customer's browser holds after exchanging the
// invite: only the SHA-256 of the cookie secret is stored.
type CustomerSession struct {
	ID         CustomerSessionID
	CaseID     CaseID
	InviteID   InviteID
	SecretHash string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	// Consent to recording and biometric processing: the version and
	// SHA-256 of the text shown, its locale and when it was accepted.
	ConsentVersion string
	ConsentSHA256  string
	ConsentLocale  string
	ConsentAt      *time.Time
}

// RecordingState says whether a call's recording is whole.
type RecordingState string

// Recording states.
const (
	RecordingActive     RecordingState = "recording"
	RecordingComplete   RecordingState = "complete"
	RecordingIncomplete RecordingState = "incomplete" // a recorder failed or the node died: the case is submitted only on a later complete call
)

// Call is one video call of a case.
type Call struct {
	ID        CallID
	CaseID    CaseID
	StartedAt time.Time
	EndedAt   *time.Time
	EndReason string
	Recording RecordingState
	// Legs counts the nodes' turns at running the call (CallLeg): 1 until
	// a node continues it after its node went away.
	Legs int
	// SuspendedAt is when the node running the call stopped with the call
	// unfinished but its recording kept (a graceful shutdown, or a restart
	// that recovered the recording): no node runs it, and the case's next
	// call continues it. Nil while a node runs it, and once it ended.
	SuspendedAt *time.Time
	Segments    []*CallSegment
	// Interruptions are the times a party dropped out of this call, with
	// why, oldest first.
	Interruptions []*Interruption
}

// InterruptionCause is why a party of a call dropped out of it while the
// call went on (or while the node serving it went away). The set is
// closed: the schema checks it.
type InterruptionCause string

// Interruption causes. The media server tells them apart by what ended the
// party's connection; what it cannot see (a reload, a closed tab and a lost
// network all close the socket without a bye) shares a cause.
const (
	// CauseLeft: the party hung up (a bye) while the call went on.
	CauseLeft InterruptionCause = "left"
	// CauseSocketClosed: the signaling socket closed without a bye (the
	// page reloaded or closed, or the network went).
	CauseSocketClosed InterruptionCause = "socket_closed"
	// CauseMediaFailed: ICE or DTLS failed (no media got through).
	CauseMediaFailed InterruptionCause = "media_failed"
	// CauseMediaClosed: the party's browser closed its peer connection.
	CauseMediaClosed InterruptionCause = "media_closed"
	// CauseReplaced: a new connection of the same party took over before
	// the old one was seen to drop (a reload or a rejoin elsewhere).
	CauseReplaced InterruptionCause = "replaced"
	// CauseRemoved: the service put the party out (invite revoked, staff
	// disabled, signed out or no longer the case's clerk).
	CauseRemoved InterruptionCause = "removed"
	// CauseProtocol: the party's page broke a signaling rule (too large,
	// too fast, invalid, no answer in time).
	CauseProtocol InterruptionCause = "protocol"
	// CauseNodeShutdown: the node serving the call shut down (an upgrade,
	// a restart): the parties rejoin, on another node if need be.
	CauseNodeShutdown InterruptionCause = "node_shutdown"
	// CauseNodeLost: the node running the call stopped without shutting
	// down (killed, crashed, cut off from the database); recorded by the
	// node that starts the case's next call, from the lost node's last
	// heartbeat.
	CauseNodeLost InterruptionCause = "node_lost"
	// CauseRecorderFailed: the party's media went on but the server could
	// not record it.
	CauseRecorderFailed InterruptionCause = "recorder_failed"
)

// InterruptionCauses is every cause, in the order pages explain them.
var InterruptionCauses = []InterruptionCause{CauseLeft, CauseSocketClosed, CauseMediaFailed, CauseMediaClosed,
	CauseReplaced, CauseRemoved, CauseProtocol, CauseNodeShutdown, CauseNodeLost, CauseRecorderFailed}

// String returns the cause's stored name.
func (c InterruptionCause) String() string { return string(c) }

// Valid reports whether c is one of InterruptionCauses.
func (c InterruptionCause) Valid() bool {
	for _, k := range InterruptionCauses {
		if c == k {
			return true
		}
	}
	return false
}

// Interruption is a time one party (customer or clerk) of a call had no
// media in it: from StartedAt (their last media, or the drop when none
// came) to EndedAt, when their media arrived again, in this call or in
// the case's next one (ResumedIn). EndedAt nil: they have not come back
// (yet, or ever). Detail is the media server's own words.
type Interruption struct {
	ID          string
	CaseID      CaseID
	Call        CallID
	Participant string // customer, clerk
	Cause       InterruptionCause
	Detail      string
	StartedAt   time.Time
	EndedAt     *time.Time
	ResumedIn   CallID // "" while open
}

// Length is how long the interruption lasted, or has lasted by now when it
// is still open.
func (i *Interruption) Length(now time.Time) time.Duration {
	if i.EndedAt != nil {
		return i.EndedAt.Sub(i.StartedAt)
	}
	return now.Sub(i.StartedAt)
}

// CallSegment is one recorded stream of one participant between a
// (re)connect and the end or a drop; Seq numbers the segments of a call and
// gaps show as time between one segment's end and the next one's start.
type CallSegment struct {
	CallID      CallID
	Seq         int
	Participant string // customer, clerk
	Track       string // audio, video
	Evidence    EvidenceID
	SHA256      string
	Size        int64
	StartedAt   time.Time
	EndedAt     time.Time
}

// LiveFrame is a key frame the server took from the customer's video
// during a call, located in the recording: Segment is the Seq of the
// customer's video segment being recorded when the frame arrived (0 when
// nothing was being recorded) and MediaMS the frame's time in that
// segment's file, in milliseconds from its first frame.
type LiveFrame struct {
	Call    CallID
	Segment int
	MediaMS int64
	At      time.Time // when the server received the frame
	JPEG    []byte
}

// CallRepo stores customer sessions, consent, calls and their segments.
type CallRepo interface {
	CreateCustomerSession(ctx context.Context, s *CustomerSession) error
	// CustomerSessionByHash returns the session whose secret hashes to
	// secretHash: ENOTFOUND when none.
	CustomerSessionByHash(ctx context.Context, secretHash string) (*CustomerSession, error)
	// RecordConsent sets the consent fields once: ECONFLICT when consent
	// was already recorded, ENOTFOUND for an unknown session.
	RecordConsent(ctx context.Context, id CustomerSessionID, version, sha256Hex, locale string, at time.Time) error
	// CustomerSessionsByCase lists the case's customer sessions, oldest first.
	CustomerSessionsByCase(ctx context.Context, id CaseID) ([]*CustomerSession, error)

	CreateCall(ctx context.Context, c *Call) error
	// EndCall sets the end, its reason and the recording state once, for
	// the call's current leg (leg 0: whichever): ECONFLICT when the call
	// already ended or a later leg continued it.
	EndCall(ctx context.Context, id CallID, leg int, at time.Time, reason string, rec RecordingState) error
	// ContinueCall starts the next leg of an unfinished call (its node
	// went away): it clears the suspension, turns a recording the
	// suspension completed back to active (an incomplete one stays
	// incomplete) and returns the new leg. ECONFLICT when the call ended.
	ContinueCall(ctx context.Context, id CallID) (int, error)
	// SuspendCall marks leg of the call suspended at at (its node stopped
	// with the call unfinished and its recording kept): an active
	// recording counts as complete until a next leg continues it.
	// ECONFLICT when the call ended, is suspended already or a later leg
	// continued it.
	SuspendCall(ctx context.Context, id CallID, leg int, at time.Time) error
	// MarkRecordingIncomplete flags the call's recording as incomplete.
	MarkRecordingIncomplete(ctx context.Context, id CallID) error
	AddCallSegment(ctx context.Context, s *CallSegment) error
	// CallsByCase lists the case's calls with their segments and
	// interruptions, oldest first.
	CallsByCase(ctx context.Context, id CaseID) ([]*Call, error)
	// AddInterruption records a party's drop out of a call (ENOTFOUND for
	// an unknown call, EINVALID for a cause not in InterruptionCauses).
	AddInterruption(ctx context.Context, i *Interruption) error
	// EndInterruptions ends every open interruption of participant in
	// case c (in any of its calls) at at, resumed in call; it returns
	// how many it ended.
	EndInterruptions(ctx context.Context, c CaseID, participant string, at time.Time, call CallID) (int, error)
}

// RecordingDone reports whether calls (oldest first) recorded the
// verification: at least one call, every call ended or suspended (its node
// stopped with the recording kept and nobody continued it), the last one
// with its recording complete, and the customer's video kept in a
// non-empty segment of a complete call. A call whose tracks never arrived
// is not a recording. A call whose recording is incomplete (a recorder
// failed) stays on file with its interruptions and does not stop a case
// whose call went on in a later complete call; live captures made in it
// never count toward the face check (verify's liveCapture). A call that
// another node continued after its node died is one call: the time lost
// is its node_lost interruptions, and a capture taken in the lost leg
// counts only with its segment on file.
func RecordingDone(calls []*Call) bool {
	if len(calls) == 0 || calls[len(calls)-1].Recording != RecordingComplete {
		return false
	}
	customerVideo := false
	for _, c := range calls {
		if c.EndedAt == nil && c.SuspendedAt == nil {
			return false
		}
		if c.Recording != RecordingComplete {
			continue
		}
		for _, s := range c.Segments {
			customerVideo = customerVideo || (s.Participant == "customer" && s.Track == "video" && s.Size > 0)
		}
	}
	return customerVideo
}

// LivenessPlan is a liveness challenge as the media layer runs it: each
// step is sent to the customer's page when it starts (never before), and
// the customer's video is sampled throughout.
type LivenessPlan struct {
	ID    string
	Steps []LivenessStep
}

// LivenessStep is one step of a plan: a head pose ("center", "left",
// "right") and, in the light phase, the screen colour ("#rrggbb"), from At
// after the start for For.
type LivenessStep struct {
	Prompt string
	Colour string
	At     time.Duration
	For    time.Duration
}

// Duration is how long the plan's steps take.
func (p LivenessPlan) Duration() time.Duration {
	if len(p.Steps) == 0 {
		return 0
	}
	s := p.Steps[len(p.Steps)-1]
	return s.At + s.For
}

// LivenessSample is a frame of the customer's video sampled during a
// challenge: Offset from the plan's start (the media layer's clock), At
// the wall-clock time it arrived, and where it sits in the recording.
type LivenessSample struct {
	LiveFrame
	Offset time.Duration
}

// RecordingAllowance is how much more a case's calls may record: the
// media layer stops recording (and ends the call) when a call reaches
// either bound.
type RecordingAllowance struct {
	Bytes    int64
	Duration time.Duration
}

// LiveCall is a call running now as the media server sees it: who is
// connected and the customer's latest media quality sample. The board and
// the metrics read it; each node also writes its own with its heartbeat
// (Node.Running), so a board served by another node shows them.
type LiveCall struct {
	CaseID    CaseID    `json:"case_id"`
	Call      CallID    `json:"call_id"`
	Leg       int       `json:"leg,omitempty"` // the node's leg of the call (0 in a report from before legs: 1)
	StartedAt time.Time `json:"started_at"`
	Customer  bool      `json:"customer"` // the customer is connected
	Clerks    []string  `json:"clerks"`   // audit actors ("staff:stf_...") of the connected clerks
	Observers int       `json:"observers"`
	// Sampled is set once a quality sample was taken; LossPercent and
	// JitterMS are the customer's inbound video's in the latest one.
	Sampled     bool    `json:"sampled"`
	LossPercent float64 `json:"loss_percent"`
	JitterMS    float64 `json:"jitter_ms"`
}
