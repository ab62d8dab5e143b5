package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"golang.org/x/image/vp8"

	"remoteidv/models"
)

// room is one case's live call: its participants' peers, the four forwarded
// tracks, the recorders' bookkeeping and the capture machinery. It owns a
// context from the first join to the end; every goroutine it starts stops
// with it.
type room struct {
	h      *Hub
	caseID models.CaseID
	call   models.CallID
	leg    int // this node's turn at running the call (models.CallLeg)
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// Forwarded media: the customer's to the clerk and observers, the
	// clerk's to the customer.
	custAudio, custVideo, clerkAudio, clerkVideo *webrtc.TrackLocalStaticRTP
	relays                                       map[*webrtc.TrackLocalStaticRTP]*relay

	grab  *grabber
	stats *stats

	mu        sync.Mutex
	peers     map[*peer]struct{}
	ended     bool
	endReason string
	seq       map[string]int
	recFailed bool
	busy      bool // a capture or challenge is running
	quality   []Quality
	wg        sync.WaitGroup

	// The recording's caps: bytes over all tracks, and the call's length
	// when the case's allowance ends it before MaxDuration
	// (durationCapped). recorded counts the bytes written; capped is set
	// once a cap is reached, and nothing more is written.
	started     time.Time
	maxBytes    int64
	durationCap time.Duration // 0: MaxDuration ends the call
	recorded    atomic.Int64
	capped      atomic.Bool
}

func newRoom(h *Hub, c models.CaseID, leg models.CallLeg, allow models.RecordingAllowance) (*room, error) {
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.MaxDuration)
	rm := &room{h: h, caseID: c, call: leg.Call, leg: leg.Leg, log: h.log.With("case_id", c, "call", leg.Call, "leg", leg.Leg), ctx: ctx, cancel: cancel,
		done: make(chan struct{}), peers: map[*peer]struct{}{}, seq: map[string]int{}, grab: newGrabber(), stats: &stats{},
		started: h.cfg.Now(), maxBytes: h.cfg.MaxRecordingBytes}
	if allow.Duration > 0 && allow.Duration < h.cfg.MaxDuration {
		rm.durationCap = allow.Duration
	}
	if allow.Bytes > 0 && allow.Bytes < rm.maxBytes {
		rm.maxBytes = allow.Bytes
	}
	var err error
	mk := func(codec, id, stream string) *webrtc.TrackLocalStaticRTP {
		if err != nil {
			return nil
		}
		var t *webrtc.TrackLocalStaticRTP
		cap := webrtc.RTPCodecCapability{MimeType: codec}
		if codec == webrtc.MimeTypeOpus {
			cap.ClockRate, cap.Channels = 48000, 2
		} else {
			cap.ClockRate = 90000
		}
		t, err = webrtc.NewTrackLocalStaticRTP(cap, id, stream)
		return t
	}
	rm.custAudio = mk(webrtc.MimeTypeOpus, "customer-audio", "customer")
	rm.custVideo = mk(webrtc.MimeTypeVP8, "customer-video", "customer")
	rm.clerkAudio = mk(webrtc.MimeTypeOpus, "clerk-audio", "clerk")
	rm.clerkVideo = mk(webrtc.MimeTypeVP8, "clerk-video", "clerk")
	if err != nil {
		cancel()
		return nil, fmt.Errorf("room %s: tracks: %w", c, err)
	}
	rm.relays = map[*webrtc.TrackLocalStaticRTP]*relay{}
	for _, t := range []*webrtc.TrackLocalStaticRTP{rm.custAudio, rm.clerkAudio} {
		rm.relays[t] = newRelay(t, 48000)
	}
	for _, t := range []*webrtc.TrackLocalStaticRTP{rm.custVideo, rm.clerkVideo} {
		rm.relays[t] = newRelay(t, 90000)
	}
	return rm, nil
}

// run serves one participant until it leaves; it is called on the
// participant's HTTP handler goroutine.
func (rm *room) run(pe *peer) {
	rm.mu.Lock()
	if rm.ended {
		rm.mu.Unlock()
		pe.close("call ended")
		return
	}
	var replaced *peer
	for other := range rm.peers {
		if other.p.Role == pe.p.Role && pe.p.Role != RoleObserver {
			replaced = other
		}
	}
	rm.peers[pe] = struct{}{}
	rm.wg.Add(1)
	rm.mu.Unlock()
	defer rm.wg.Done()
	if replaced != nil {
		replaced.close(reasonReplaced)
		rm.leave(replaced, reasonReplaced)
	}
	rm.h.track(pe)
	defer rm.h.untrack(pe)
	if reason := rm.admit(pe); reason != "" {
		pe.close(reason)
		pe.log.WarnContext(rm.ctx, "participant refused", "reason", reason)
		rm.leave(pe, reason)
		return
	}
	pe.joined.Store(true)
	pe.log.InfoContext(rm.ctx, "participant joined")
	reason := pe.run()
	pe.close(reason)
	if r := pe.closeReason(); r != "" {
		reason = r // closed from outside (ended, disabled, logged out) before run saw why
	}
	pe.log.InfoContext(rm.ctx, "participant left", "reason", reason)
	if pe.p.Role == RoleObserver {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := rm.h.wf.ObserveStopped(ctx, rm.caseID, rm.call, pe.p.Actor, reason); err != nil {
			pe.log.Error("audit the end of an observation", "err", err)
		}
		cancel()
	}
	rm.leave(pe, reason)
}

// admit checks, once the socket is tracked (so that a disable or logout
// from now on finds it), that a staff participant is still allowed, and
// audits an observer's start; it returns why the participant may not stay.
func (rm *room) admit(pe *peer) string {
	if err := pe.allowed(rm.ctx); err != nil {
		pe.send(errorMessage(string(models.ErrorCodeOf(err)), models.ErrorMessageOf(err)))
		return "not allowed: " + models.ErrorMessageOf(err)
	}
	if pe.p.Role != RoleObserver {
		return ""
	}
	if err := rm.h.wf.ObserveStarted(rm.ctx, rm.caseID, rm.call, pe.p.Actor); err != nil {
		pe.log.Error("audit the start of an observation", "err", err)
		pe.send(errorMessage("internal", "the observation could not be recorded"))
		return "observation not recorded"
	}
	return ""
}

// leave takes pe out of the call, for reason (its first leave counts:
// a replaced peer leaves twice). A customer or clerk who leaves a call
// that goes on, or whose node shuts down under it, is an interruption,
// recorded before the call can end.
//
// The interruption is written while pe still counts as present: were it
// taken out first, a socket joining during the write would join a call
// about to end as "everyone left".
func (rm *room) leave(pe *peer, reason string) {
	rm.mu.Lock()
	_, present := rm.peers[pe]
	rm.mu.Unlock()
	if present && pe.left.CompareAndSwap(false, true) {
		rm.interrupted(pe, reason)
	}
	rm.mu.Lock()
	delete(rm.peers, pe)
	empty := len(rm.peers) == 0
	rm.mu.Unlock()
	if empty {
		rm.end("everyone left")
	}
}

// Reasons the hub gives that name an interruption's cause.
const (
	reasonReplaced = "replaced by a new connection"
	reasonShutdown = "server shutting down"
	reasonSocket   = "connection closed"
	reasonMedia    = "media connection failed"
)

// interruptionCause is why pe, leaving for reason, dropped out of the
// call; false when its leaving is no interruption: an observer, a
// participant never admitted, or the call's own end (the clerk ended it,
// its time ran out) other than its node shutting down.
func (rm *room) interruptionCause(pe *peer, reason string) (models.InterruptionCause, bool) {
	if pe.p.Role != RoleCustomer && pe.p.Role != RoleClerk || !pe.joined.Load() {
		return "", false
	}
	rm.mu.Lock()
	endReason := rm.endReason
	rm.mu.Unlock()
	if rm.ctx.Err() != nil || endReason != "" {
		// The call is ending: only a node going away under it interrupts
		// (its parties rejoin, here after a restart or on another node).
		if endReason == reasonShutdown && reason != reasonReplaced {
			return models.CauseNodeShutdown, true
		}
		if reason != reasonReplaced {
			return "", false
		}
	}
	switch {
	case reason == reasonReplaced:
		return models.CauseReplaced, true
	case pe.bye.Load():
		return models.CauseLeft, true // the party's own words are the detail
	case reason == reasonSocket:
		return models.CauseSocketClosed, true
	case reason == reasonMedia:
		// A connection that never came up failed, however pion ended
		// it (a refused DTLS certificate may close before it fails).
		if pe.mediaUp.Load() && webrtc.PeerConnectionState(pe.downState.Load()) == webrtc.PeerConnectionStateClosed {
			return models.CauseMediaClosed, true
		}
		return models.CauseMediaFailed, true
	case reason == "invite revoked" || strings.HasPrefix(reason, "not allowed"):
		return models.CauseRemoved, true
	case strings.HasPrefix(reason, "internal: "):
		return models.CauseMediaFailed, true // the server could not start the media connection
	case isProtocolReason(reason):
		return models.CauseProtocol, true
	}
	return models.CauseSocketClosed, true
}

// isProtocolReason reports whether reason is one of peer.fail's ("code:
// text") for a broken signaling rule.
func isProtocolReason(reason string) bool {
	code, _, ok := strings.Cut(reason, ": ")
	if !ok {
		return false
	}
	switch code {
	case "too_large", "rate_limited", "invalid", "timeout", "too_many", "forbidden":
		return true
	}
	return false
}

// interrupted records pe's drop out of the call, if it is one: from its
// last media (or now, when none came).
func (rm *room) interrupted(pe *peer, reason string) {
	cause, ok := rm.interruptionCause(pe, reason)
	if !ok {
		return
	}
	at := rm.h.cfg.Now().UTC()
	if us := pe.lastMedia.Load(); us != 0 {
		at = time.UnixMicro(us).UTC()
	}
	rm.interrupt(string(pe.p.Role), cause, reason, at)
}

// interrupt records that participant dropped out at at, for cause.
func (rm *room) interrupt(participant string, cause models.InterruptionCause, detail string, at time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rm.h.wf.CallInterrupted(ctx, rm.caseID, rm.call, participant, cause, detail, at); err != nil {
		rm.log.Error("record an interruption", "participant", participant, "cause", cause, "err", err)
		return
	}
	rm.log.Info("participant interrupted", "participant", participant, "cause", cause, "detail", detail)
}

// mediaArrived notes a packet of pe's; the first one of the peer ends the
// party's open interruptions in the case (in the background: it is on the
// forwarding path).
func (rm *room) mediaArrived(pe *peer, at time.Time) {
	pe.lastMedia.Store(at.UnixMicro())
	pe.mediaOnce.Do(func() {
		pe.goTracked(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := rm.h.wf.CallResumed(ctx, rm.caseID, rm.call, string(pe.p.Role), at.UTC()); err != nil {
				rm.log.Error("end the participant's interruptions", "participant", pe.p.Role, "err", err)
			}
		})
	})
}

// end ends the call (idempotent); supervise tears it down.
func (rm *room) end(reason string) {
	rm.mu.Lock()
	if rm.endReason == "" {
		rm.endReason = reason
	}
	rm.mu.Unlock()
	rm.cancel()
}

// why returns why the call ended, as its peers are told: the reason end
// was given, else that its time was up, else "ended".
func (rm *room) why() string {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	switch {
	case rm.endReason != "":
		return rm.endReason
	case errors.Is(rm.ctx.Err(), context.DeadlineExceeded):
		return "maximum duration reached"
	}
	return "ended"
}

func (rm *room) byRole(r Role) *peer {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	for pe := range rm.peers {
		if pe.p.Role == r {
			return pe
		}
	}
	return nil
}

func (rm *room) broadcast(r Role, m Message) {
	rm.mu.Lock()
	var to []*peer
	for pe := range rm.peers {
		if pe.p.Role == r {
			to = append(to, pe)
		}
	}
	rm.mu.Unlock()
	for _, pe := range to {
		pe.send(m)
	}
}

// supervise waits for the end (leave, bye, timeout, shutdown), polls the
// customer's right to stay and samples quality, then tears everything down
// and records the end.
func (rm *room) supervise() {
	defer close(rm.done)
	revoke := time.NewTicker(rm.h.cfg.RevokePoll)
	defer revoke.Stop()
	quality := time.NewTicker(rm.h.cfg.QualityEvery)
	defer quality.Stop()
	var capped <-chan time.Time // the case's recording time runs out
	if rm.durationCap > 0 {
		t := time.NewTimer(rm.durationCap)
		defer t.Stop()
		capped = t.C
	}
loop:
	for {
		select {
		case <-rm.ctx.Done():
			break loop
		case <-capped:
			rm.capRecording("duration")
		case <-revoke.C:
			if cu := rm.byRole(RoleCustomer); cu != nil {
				err := rm.h.wf.CustomerAllowed(rm.ctx, cu.p.Customer, rm.caseID)
				if models.ErrorCodeOf(err) == models.EGONE {
					rm.log.Warn("customer session no longer valid: ending the customer's call")
					cu.close("invite revoked")
				}
			}
			rm.revokeStaff()
		case <-quality.C:
			q := rm.stats.sample(rm.h.cfg.Now())
			rm.mu.Lock()
			if len(rm.quality) < 10000 {
				rm.quality = append(rm.quality, q)
			}
			rm.mu.Unlock()
			rm.broadcast(RoleClerk, Message{V: ProtocolVersion, Type: TypeQuality, Quality: &q})
		}
	}
	rm.mu.Lock()
	rm.ended = true
	reason := rm.endReason
	if reason == "" {
		reason = "maximum duration reached"
		if !errors.Is(rm.ctx.Err(), context.DeadlineExceeded) {
			reason = "ended"
		}
	}
	var all []*peer
	for pe := range rm.peers {
		all = append(all, pe)
	}
	rm.mu.Unlock()
	for _, pe := range all {
		pe.close(reason)
	}
	rm.wg.Wait()
	rm.mu.Lock()
	complete := !rm.recFailed
	rm.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rm.saveQuality(ctx)
	leg := models.CallLeg{Call: rm.call, Leg: rm.leg}
	if reason == reasonShutdown {
		// The node goes away under the call: its recording is kept, and
		// the parties' rejoin continues it here after a restart or on
		// another node. (A failed recorder marked it incomplete already.)
		if err := rm.h.wf.SuspendCall(ctx, rm.caseID, leg, reason); err != nil {
			rm.log.Error("record the suspension of the call", "err", err)
		}
		rm.log.Info("call suspended", "reason", reason, "recording_complete", complete)
		return
	}
	if err := rm.h.wf.EndCall(ctx, rm.caseID, leg, reason, complete); err != nil {
		rm.log.Error("record end of call", "err", err)
	}
	rm.log.Info("call ended", "reason", reason, "recording_complete", complete)
}

// revokeStaff closes the sockets of staff participants who may no longer
// take part (disabled or session ended, e.g. by another process).
func (rm *room) revokeStaff() {
	rm.mu.Lock()
	var staff []*peer
	for pe := range rm.peers {
		if pe.p.Allowed != nil {
			staff = append(staff, pe)
		}
	}
	rm.mu.Unlock()
	for _, pe := range staff {
		if err := pe.allowed(rm.ctx); err != nil {
			pe.log.Warn("staff participant no longer allowed: closing their socket", "err", err)
			pe.close("not allowed: " + models.ErrorMessageOf(err))
		}
	}
}

// saveQuality hands the quality samples of the call to the workflow as
// evidence. Losing them does not make the recording incomplete, but it is
// logged.
func (rm *room) saveQuality(ctx context.Context) {
	rm.mu.Lock()
	samples := rm.quality
	rm.mu.Unlock()
	if len(samples) == 0 {
		return
	}
	data, err := json.Marshal(struct {
		Call    models.CallID `json:"call"`
		Case    models.CaseID `json:"case"`
		Samples []Quality     `json:"samples"`
	}{rm.call, rm.caseID, samples})
	if err == nil {
		err = rm.h.wf.SaveQuality(ctx, rm.caseID, rm.call, len(samples), data)
	}
	if err != nil {
		rm.log.Error("save quality samples", "err", err)
	}
}

// nextSeq numbers a participant's segments of one kind in this node's leg
// of the call (models.LegSeq): a reconnect makes a new segment.
func (rm *room) nextSeq(participant, track string) int {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.seq[participant+"/"+track]++
	return models.LegSeq(rm.leg, rm.seq[participant+"/"+track])
}

// wrote counts n bytes written to a recording and reports whether the
// recording may go on: false once the call's cap is reached, which stops
// every recorder and ends the call.
func (rm *room) wrote(n int64) bool {
	if rm.recorded.Add(n) >= rm.maxBytes {
		rm.capRecording("bytes")
		return false
	}
	return !rm.capped.Load()
}

// capRecording stops the recording at its cap (limit: "bytes" or
// "duration") and ends the call, once: every participant is told why, and
// the audit trail records the cap. The segments written so far are saved
// whole as the recorders finish, and the recording counts as complete:
// nothing of the call went unrecorded, since the call ends with it.
func (rm *room) capRecording(limit string) {
	if rm.capped.Swap(true) {
		return
	}
	rm.mu.Lock()
	if rm.endReason == "" {
		rm.endReason = ReasonRecordingLimit
	}
	rm.mu.Unlock()
	bytes, took := rm.recorded.Load(), rm.h.cfg.Now().Sub(rm.started)
	rm.log.Warn("recording cap reached: ending the call", "limit", limit, "bytes", bytes, "duration", took)
	text := "the call reached its recording limit (" + limit + ") and ends; what was recorded is kept"
	for _, r := range []Role{RoleCustomer, RoleClerk, RoleObserver} {
		rm.broadcast(r, errorMessage(CodeRecordingLimit, text))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rm.h.wf.RecordingCapped(ctx, rm.caseID, rm.call, limit, bytes, took); err != nil {
		rm.log.Error("audit the recording cap", "err", err)
	}
	rm.cancel()
}

func (rm *room) recordingFailed(why string, err error) {
	rm.mu.Lock()
	first := !rm.recFailed
	rm.recFailed = true
	rm.mu.Unlock()
	rm.log.Error("recorder failed: the recording is incomplete", "why", why, "err", err)
	if first {
		// The staff in the call learn it at once: what is said from now on
		// is not recorded, and the case cannot be submitted on this call.
		text := "the recording stopped (" + why + ")"
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			text += ": the server's disk is full"
		}
		text += "; this call can no longer be submitted: end it and schedule another"
		rm.broadcast(RoleClerk, errorMessage(CodeRecordingStopped, text))
		rm.broadcast(RoleObserver, errorMessage(CodeRecordingStopped, text))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rm.h.wf.RecordingFailed(ctx, rm.caseID, rm.call, why); err != nil {
			rm.log.Error("mark recording incomplete", "err", err)
		}
	}
}

// pli asks the participant in role for a key frame.
func (rm *room) pli(r Role) {
	if pe := rm.byRole(r); pe != nil {
		pe.requestKeyFrame()
	}
}

// keyFrame asks the customer for a key frame and returns it as JPEG with
// its place in the recording.
func (rm *room) keyFrame(ctx context.Context) (frame, error) {
	ctx, cancel := context.WithTimeout(ctx, rm.h.cfg.CaptureTimeout)
	defer cancel()
	ch := rm.grab.arm()
	defer rm.grab.disarm(ch)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	rm.pli(RoleCustomer)
	for {
		select {
		case f := <-ch:
			return f, f.err
		case <-t.C:
			rm.pli(RoleCustomer)
		case <-ctx.Done():
			return frame{}, fmt.Errorf("no key frame from the customer within %s", rm.h.cfg.CaptureTimeout)
		}
	}
}

// keyFrames takes n key frames of the customer, spread evenly over
// spread (the first at once), each located in the recording, for a fused
// face capture.
func (rm *room) keyFrames(ctx context.Context, n int, spread time.Duration) ([]models.LiveFrame, error) {
	var out []models.LiveFrame
	var gap time.Duration
	if n > 1 {
		gap = spread / time.Duration(n-1)
	}
	next := time.Now()
	for i := range n {
		if i > 0 {
			select {
			case <-time.After(time.Until(next)):
			case <-ctx.Done():
				return nil, errors.New("the call ended during the capture")
			}
		}
		f, err := rm.keyFrame(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, models.LiveFrame{Call: rm.call, Segment: f.seq, MediaMS: f.mediaMS, At: f.at, JPEG: f.jpeg})
		next = next.Add(gap)
	}
	return out, nil
}

func (rm *room) claim(pe *peer) bool {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if rm.busy || rm.ended {
		return false
	}
	rm.busy = true
	rm.wg.Add(1)
	return true
}

// finish ends a capture or challenge: the room is free again before the
// outcome goes out, so the clerk may start the next one at once.
func (rm *room) finish(to *peer, out Message) {
	rm.mu.Lock()
	rm.busy = false
	rm.mu.Unlock()
	to.send(out)
	rm.wg.Done()
}

func errorMessage(code, text string) Message {
	return Message{V: ProtocolVersion, Type: TypeError, Code: code, Text: text}
}

// capture takes a key frame of the customer and runs a face check for the
// clerk, telling the workflow where the frame sits in the recording (call,
// segment, media time); the result goes to the clerk.
func (rm *room) capture(clerk *peer) {
	if !rm.claim(clerk) {
		clerk.send(errorMessage("busy", "a capture or challenge is already running"))
		return
	}
	go func() {
		start := time.Now()
		frames, err := rm.keyFrames(rm.ctx, rm.h.cfg.Captures, rm.h.cfg.CaptureSpread)
		if err != nil {
			rm.finish(clerk, errorMessage("capture", err.Error()))
			return
		}
		chk, err := rm.h.wf.FaceCaptures(rm.ctx, rm.caseID, clerk.p.Actor, frames)
		if err != nil {
			rm.log.Warn("face capture", "err", err)
			rm.finish(clerk, errorMessage(string(orInternal(models.ErrorCodeOf(err))), models.ErrorMessageOf(err)))
			return
		}
		rm.finish(clerk, Message{V: ProtocolVersion, Type: TypeResult, Kind: string(chk.Kind), Check: string(chk.ID), Result: string(chk.Result),
			Detail: json.RawMessage(chk.Detail), Millis: time.Since(start).Milliseconds()})
	}()
}

// challenge runs an active liveness challenge: the workflow's plan is
// played to the customer step by step, each step sent when it starts (the
// page never knows the next one), while key frames of the customer's
// video are asked for every SampleEvery and every one that arrives is kept
// as a sample; the samples are then judged together.
func (rm *room) challenge(clerk *peer) {
	if !rm.claim(clerk) {
		clerk.send(errorMessage("busy", "a capture or challenge is already running"))
		return
	}
	go func() {
		start := time.Now()
		plan, err := rm.h.wf.StartLiveness(rm.ctx, rm.caseID)
		if err != nil {
			rm.finish(clerk, errorMessage(string(orInternal(models.ErrorCodeOf(err))), models.ErrorMessageOf(err)))
			return
		}
		samples, err := rm.sample(plan, clerk)
		if err != nil {
			rm.finish(clerk, errorMessage("ended", err.Error()))
			return
		}
		chk, err := rm.h.wf.FinishLiveness(rm.ctx, rm.caseID, clerk.p.Actor, plan.ID, samples)
		if err != nil {
			rm.broadcast(RoleCustomer, Message{V: ProtocolVersion, Type: TypeResult, Kind: string(models.CheckLiveness)})
			rm.finish(clerk, errorMessage(string(orInternal(models.ErrorCodeOf(err))), models.ErrorMessageOf(err)))
			return
		}
		rm.broadcast(RoleCustomer, Message{V: ProtocolVersion, Type: TypeResult, Kind: string(chk.Kind)})
		rm.finish(clerk, Message{V: ProtocolVersion, Type: TypeResult, Kind: string(chk.Kind), Check: string(chk.ID), Result: string(chk.Result),
			Detail: json.RawMessage(chk.Detail), Millis: time.Since(start).Milliseconds()})
	}()
}

// sampleTail is how long sampling goes on after the last step, for the
// frames still on their way.
const sampleTail = 300 * time.Millisecond

// sample plays plan to the customer (and shows the clerk each step) and
// returns the key frames that arrived meanwhile, decoded as JPEG, with
// their offsets from the start.
func (rm *room) sample(plan models.LivenessPlan, clerk *peer) ([]models.LivenessSample, error) {
	ch := rm.grab.armStream(64)
	defer rm.grab.disarm(ch)
	dec := vp8.NewDecoder()
	now := rm.h.cfg.Now
	start := now()
	pli := time.NewTicker(rm.h.cfg.SampleEvery)
	defer pli.Stop()
	rm.pli(RoleCustomer)
	step := time.NewTimer(0)
	defer step.Stop()
	end := time.NewTimer(plan.Duration() + sampleTail)
	defer end.Stop()
	next := 0
	var out []models.LivenessSample
	for {
		select {
		case <-step.C:
			s := plan.Steps[next]
			m := Message{V: ProtocolVersion, Type: TypeChallenge, Prompt: s.Prompt, Colour: s.Colour, Index: next + 1, Total: len(plan.Steps)}
			rm.broadcast(RoleCustomer, m)
			clerk.send(m)
			if next++; next < len(plan.Steps) {
				step.Reset(plan.Steps[next].At - now().Sub(start))
			}
		case <-pli.C:
			rm.pli(RoleCustomer)
		case f := <-ch:
			img, err := decodeKeyFrame(dec, f.vp8)
			if err != nil {
				rm.log.Debug("liveness sample", "err", err)
				continue
			}
			out = append(out, models.LivenessSample{LiveFrame: models.LiveFrame{Call: rm.call, Segment: f.seq, MediaMS: f.mediaMS, At: f.at, JPEG: img}, Offset: f.at.Sub(start)})
		case <-end.C:
			return out, nil
		case <-rm.ctx.Done():
			return nil, errors.New("the call ended during the challenge")
		}
	}
}

func orInternal(c models.ErrorCode) models.ErrorCode {
	if c == "" {
		return models.EINTERNAL
	}
	return c
}

// pliPacket is a picture loss indication for a media SSRC.
func pliPacket(ssrc uint32) []rtcp.Packet {
	return []rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}
}

// live says who is in the room and how the customer's video fares.
func (rm *room) live() models.LiveCall {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	lc := models.LiveCall{CaseID: rm.caseID, Call: rm.call, Leg: rm.leg, StartedAt: rm.started.UTC()}
	for pe := range rm.peers {
		switch pe.p.Role {
		case RoleCustomer:
			lc.Customer = true
		case RoleClerk:
			lc.Clerks = append(lc.Clerks, pe.p.Actor)
		case RoleObserver:
			lc.Observers++
		}
	}
	if n := len(rm.quality); n > 0 {
		q := rm.quality[n-1]
		lc.Sampled, lc.LossPercent, lc.JitterMS = true, q.LossPercent, q.JitterMS
	}
	return lc
}

// recorderFailed records that the server stopped recording pe's track
// (its media goes on, unrecorded, until the party reconnects), in the
// background: it is on the forwarding path.
func (rm *room) recorderFailed(pe *peer, track string) {
	at := rm.h.cfg.Now().UTC()
	pe.goTracked(func() {
		rm.interrupt(string(pe.p.Role), models.CauseRecorderFailed, "recording of the "+track+" failed", at)
	})
}
