package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"remoteidv/models"
	"remoteidv/verify/facematch"
)

// Calls is the part of the workflow that belongs to the video call: the
// customer's session (invite exchange and consent) and the call's lifecycle,
// recordings and server-side captures. signaling uses it through its
// Workflow interface.
type Calls struct {
	svc            *Service
	sessionTTL     time.Duration
	statusTTL      time.Duration
	continueWithin time.Duration

	mu         sync.Mutex
	challenges map[string]pendingChallenge // liveness challenges issued, by ID
}

// NewCalls returns the video-call half of the workflow over svc.
func NewCalls(svc *Service, cfg CallsConfig) (*Calls, error) {
	if svc == nil {
		return nil, missingError("new calls", []string{"Service"})
	}
	c := &Calls{svc: svc, sessionTTL: cfg.SessionTTL, statusTTL: cfg.StatusTTL, continueWithin: cfg.ContinueWithin, challenges: map[string]pendingChallenge{}}
	if c.continueWithin <= 0 {
		c.continueWithin = DefaultContinueWithin
	}
	if c.sessionTTL <= 0 {
		c.sessionTTL = 2 * time.Hour
	}
	if c.statusTTL <= 0 {
		c.statusTTL = DefaultStatusTTL
	}
	return c, nil
}

// DefaultContinueWithin is CallsConfig.ContinueWithin's default.
const DefaultContinueWithin = 15 * time.Minute

type pendingChallenge struct {
	caseID models.CaseID
	ch     facematch.Challenge
}

// RecordingComplete reports whether the case's calls recorded the
// verification (models.RecordingDone), a requirement for submission.
func (c *Calls) RecordingComplete(ctx context.Context, id models.CaseID) (bool, error) {
	var calls []*models.Call
	err := c.svc.store.Transact(ctx, func(tx models.Tx) (err error) { calls, err = tx.CallsByCase(ctx, id); return })
	return err == nil && models.RecordingDone(calls), err
}

// StartCall moves the case into its call (join; a reconnect keeps it
// in_session) and returns the call to run, audited as actor: the case's
// unfinished call continued in a new leg when there is one whose node went
// away under it less than CallsConfig.ContinueWithin ago, else a new call
// record.
//
// Only one node runs a case's call at a time (the call lease, or the one
// process), so an unfinished call at this point is one whose node stopped
// without ending it: suspended (a graceful shutdown, or a restart that
// recovered its recording; its parties' interruptions are on file) or
// lost (killed, crashed, cut off from the database). A lost call's
// parties, as its node last reported them, get a node_lost interruption
// from that node's last heartbeat; their media in the new leg ends it.
// The call's recording stays whole: what the lost node recorded is kept
// when it comes back (Recover), and the time lost is the interruption.
func (c *Calls) StartCall(ctx context.Context, id models.CaseID, actor string) (models.CallLeg, error) {
	cid, err := models.NewID(c.svc.rand, "call")
	if err != nil {
		return models.CallLeg{}, err
	}
	var out models.CallLeg
	err = c.svc.store.Transact(ctx, func(tx models.Tx) error {
		cs, err := tx.CaseByID(ctx, id)
		if err != nil {
			return err
		}
		from := cs.State
		to, err := models.Transition(cs.State, models.EventJoin)
		if err != nil {
			return err
		}
		now := c.svc.now().UTC()
		cs.State, cs.UpdatedAt = to, now
		if err := tx.UpdateCase(ctx, cs); err != nil {
			return err
		}
		open, gone, err := c.unfinishedCall(ctx, tx, id, now)
		if err != nil {
			return err
		}
		if open != nil {
			if out, err = c.continueCall(ctx, tx, open, gone, now); err != nil {
				return err
			}
		} else {
			out = models.CallLeg{Call: models.CallID(cid), Leg: 1}
			if err := tx.CreateCall(ctx, &models.Call{ID: out.Call, CaseID: id, StartedAt: now, Recording: models.RecordingActive}); err != nil {
				return err
			}
		}
		return c.svc.event(ctx, tx, actor, id, "case.join", map[string]string{"from": string(from), "to": string(to), "call": string(out.Call)})
	})
	if err != nil {
		return models.CallLeg{}, fmt.Errorf("start call of %s: %w", id, err)
	}
	return out, nil
}

// unfinishedCall returns the case's latest call that has not ended, if
// its node went away less than continueWithin ago, with its node's last
// sign of life. Any other unfinished
// call (older ones left by a version before calls were continued across
// nodes, or one whose node went away too long ago: the case's next
// session is a call of its own) is ended: a suspended one as it was
// recorded, a lost one incomplete, with node_lost interruptions.
func (c *Calls) unfinishedCall(ctx context.Context, tx models.Tx, id models.CaseID, now time.Time) (*models.Call, alive, error) {
	calls, err := tx.CallsByCase(ctx, id)
	if err != nil {
		return nil, alive{}, err
	}
	var open []*models.Call
	for _, call := range calls {
		if call.EndedAt == nil {
			open = append(open, call)
		}
	}
	if len(open) == 0 {
		return nil, alive{}, nil
	}
	nodes, err := tx.Nodes(ctx)
	if err != nil {
		return nil, alive{}, err
	}
	for i, call := range open {
		gone := lastAlive(call, nodes)
		if i == len(open)-1 && now.Sub(gone.at) <= c.continueWithin {
			return call, gone, nil
		}
		if err := c.endUnfinished(ctx, tx, call, gone, now); err != nil {
			return nil, alive{}, err
		}
	}
	return nil, alive{}, nil
}

// endUnfinished ends an unfinished call that is not continued.
func (c *Calls) endUnfinished(ctx context.Context, tx models.Tx, call *models.Call, gone alive, now time.Time) error {
	reason, rec := "node lost", models.RecordingIncomplete
	if call.SuspendedAt != nil {
		reason, rec = "suspended and not continued", models.RecordingComplete // an incomplete one stays so
	} else if err := c.lostLeg(ctx, tx, call, gone, now); err != nil {
		return err
	}
	// It ended when its node went away (its suspension, the lost node's
	// last heartbeat), not now: the case's recording time counts to there.
	end := gone.at
	if end.After(now) || end.Before(call.StartedAt) {
		end = now
	}
	if err := tx.EndCall(ctx, call.ID, 0, end, reason, rec); err != nil {
		return fmt.Errorf("end unfinished call %s: %w", call.ID, err)
	}
	if rec == models.RecordingComplete && call.Recording == models.RecordingIncomplete {
		rec = models.RecordingIncomplete
	}
	return c.svc.event(ctx, tx, "system:signaling", call.CaseID, "call.ended", map[string]string{"call": string(call.ID), "reason": reason, "recording": string(rec)})
}

// continueCall starts the next leg of call, unfinished because its node
// stopped (gone: its last sign of life): node_lost interruptions first
// when the node was lost rather than suspended, then call.continued.
func (c *Calls) continueCall(ctx context.Context, tx models.Tx, call *models.Call, gone alive, now time.Time) (models.CallLeg, error) {
	how := "suspended"
	if call.SuspendedAt == nil {
		how = "node lost"
		if err := c.lostLeg(ctx, tx, call, gone, now); err != nil {
			return models.CallLeg{}, err
		}
	}
	leg, err := tx.ContinueCall(ctx, call.ID)
	if err != nil {
		return models.CallLeg{}, fmt.Errorf("continue call %s: %w", call.ID, err)
	}
	err = c.svc.event(ctx, tx, "system:signaling", call.CaseID, "call.continued", map[string]string{"call": string(call.ID),
		"leg": strconv.Itoa(leg), "previous": how})
	return models.CallLeg{Call: call.ID, Leg: leg}, err
}

// alive is the last sign of life of an unfinished call's current leg:
// when, who was in it, and in whose words.
type alive struct {
	at      time.Time
	parties []string
	detail  string
}

// lastAlive is when call's current leg was last known to run: its
// suspension; else the last heartbeat of the node that reported it
// running, with the parties it reported; with no report (the node died
// before its first heartbeat with the call, or runs alone), the call's
// start or the last time a party of it came back, whichever is later,
// with both parties.
func lastAlive(call *models.Call, nodes []*models.Node) alive {
	if call.SuspendedAt != nil {
		return alive{at: *call.SuspendedAt}
	}
	a := alive{at: call.StartedAt, parties: []string{"customer", "clerk"}, detail: "the call's node stopped before it reported the call; who was in it is not known"}
	for _, in := range call.Interruptions {
		if in.EndedAt != nil && in.EndedAt.After(a.at) {
			a.at = *in.EndedAt
		}
	}
	for _, n := range nodes {
		for _, lc := range n.Running {
			if lc.Call != call.ID || max(lc.Leg, 1) != call.Legs {
				continue // another call, or a node's report of an earlier leg
			}
			a.at, a.parties = n.LastSeen, nil
			if lc.Customer {
				a.parties = append(a.parties, "customer")
			}
			if len(lc.Clerks) > 0 {
				a.parties = append(a.parties, "clerk")
			}
			a.detail = fmt.Sprintf("node %s stopped heartbeating at %s with the call running", n.ID, n.LastSeen.UTC().Format(time.RFC3339))
		}
	}
	return a
}

// lostLeg records a node_lost interruption, from gone.at, for each party
// of call its lost node last reported in it (gone); a party whose
// interruption is already open gets none.
func (c *Calls) lostLeg(ctx context.Context, tx models.Tx, call *models.Call, gone alive, now time.Time) error {
	at := gone.at
	if at.After(now) {
		at = now
	}
	for _, p := range gone.parties {
		if openInterruption(call, p) {
			continue
		}
		iid, err := models.NewID(c.svc.rand, "int")
		if err != nil {
			return err
		}
		in := &models.Interruption{ID: iid, CaseID: call.CaseID, Call: call.ID, Participant: p, Cause: models.CauseNodeLost, Detail: gone.detail, StartedAt: at.UTC()}
		if err := tx.AddInterruption(ctx, in); err != nil {
			return fmt.Errorf("interruption of lost call %s: %w", call.ID, err)
		}
		if err := c.svc.event(ctx, tx, "system:signaling", call.CaseID, "call.interrupted", map[string]string{"call": string(call.ID), "interruption": iid,
			"participant": p, "cause": string(models.CauseNodeLost), "detail": gone.detail, "started_at": in.StartedAt.Format(time.RFC3339Nano)}); err != nil {
			return err
		}
	}
	return nil
}

// openInterruption reports whether participant has an interruption of
// call that has not ended.
func openInterruption(call *models.Call, participant string) bool {
	for _, in := range call.Interruptions {
		if in.Participant == participant && in.EndedAt == nil {
			return true
		}
	}
	return false
}

// EndCall records the end of a call's leg, why it ended and whether its
// recording is complete (ECONFLICT when another node continued the call:
// its new leg goes on).
func (c *Calls) EndCall(ctx context.Context, id models.CaseID, leg models.CallLeg, reason string, recordingComplete bool) error {
	rec := models.RecordingComplete
	if !recordingComplete {
		rec = models.RecordingIncomplete
	}
	err := c.svc.store.Transact(ctx, func(tx models.Tx) error {
		if err := tx.EndCall(ctx, leg.Call, leg.Leg, c.svc.now().UTC(), reason, rec); err != nil {
			return err
		}
		return c.svc.event(ctx, tx, "system:signaling", id, "call.ended", map[string]string{"call": string(leg.Call), "reason": reason, "recording": string(rec)})
	})
	if err != nil {
		return fmt.Errorf("end call %s: %w", leg.Call, err)
	}
	return nil
}

// SuspendCall records that the node running the call's leg stopped with
// the call unfinished and its recording kept (a graceful shutdown): the
// case's next call continues it. Its parties' interruptions were recorded
// as they dropped.
func (c *Calls) SuspendCall(ctx context.Context, id models.CaseID, leg models.CallLeg, reason string) error {
	err := c.svc.store.Transact(ctx, func(tx models.Tx) error {
		if err := tx.SuspendCall(ctx, leg.Call, leg.Leg, c.svc.now().UTC()); err != nil {
			return err
		}
		return c.svc.event(ctx, tx, "system:signaling", id, "call.suspended", map[string]string{"call": string(leg.Call), "leg": strconv.Itoa(leg.Leg), "reason": reason})
	})
	if err != nil {
		return fmt.Errorf("suspend call %s: %w", leg.Call, err)
	}
	return nil
}

// RecordingFailed marks a call's recording incomplete (the case cannot be
// submitted) and audits why.
func (c *Calls) RecordingFailed(ctx context.Context, id models.CaseID, call models.CallID, why string) error {
	err := c.svc.store.Transact(ctx, func(tx models.Tx) error {
		if err := tx.MarkRecordingIncomplete(ctx, call); err != nil {
			return err
		}
		return c.svc.event(ctx, tx, "system:signaling", id, "call.recording_incomplete", map[string]string{"call": string(call), "why": why})
	})
	if err != nil {
		return fmt.Errorf("mark recording of %s incomplete: %w", call, err)
	}
	return nil
}

// RecoverSegment keeps a segment left half written by a process that
// stopped mid-call (its chunks sealed up to about a second before the
// stop): it is stored as evidence like any segment. What else it does
// depends on the call:
//   - another node continued the call since (a later leg): nothing; the
//     segment fills in the lost leg, whose gap is the node_lost
//     interruption the continuing node recorded;
//   - the call is still at the segment's leg (the node came back before
//     anyone rejoined): the segment's participant gets a node_lost
//     interruption from the segment's end, unless one is open, and the
//     call is suspended (the next call continues it);
//   - the call ended at the segment's leg: a segment was missing when it
//     ended, so its recording is marked incomplete.
func (c *Calls) RecoverSegment(ctx context.Context, id models.CaseID, seg *models.CallSegment, contentType string, r io.Reader) error {
	if err := c.SaveSegment(ctx, id, seg, contentType, r); err != nil {
		return err
	}
	leg := models.SegmentLeg(seg.Seq)
	err := c.svc.store.Transact(ctx, func(tx models.Tx) error {
		calls, err := tx.CallsByCase(ctx, id)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(calls, func(k *models.Call) bool { return k.ID == seg.CallID })
		if i < 0 {
			return models.Errorf(models.ENOTFOUND, "call %s of case %s not found", seg.CallID, id)
		}
		call := calls[i]
		switch {
		case call.Legs > leg:
			return nil
		case call.EndedAt != nil:
			if call.Recording == models.RecordingIncomplete {
				return nil
			}
			if err := tx.MarkRecordingIncomplete(ctx, call.ID); err != nil {
				return err
			}
			return c.svc.event(ctx, tx, "system:signaling", id, "call.recording_incomplete", map[string]string{"call": string(call.ID),
				"why": "a segment was recovered after the call ended"})
		}
		if !openInterruption(call, seg.Participant) {
			iid, err := models.NewID(c.svc.rand, "int")
			if err != nil {
				return err
			}
			const detail = "the server stopped during the call; its recording was recovered after a restart"
			in := &models.Interruption{ID: iid, CaseID: id, Call: call.ID, Participant: seg.Participant, Cause: models.CauseNodeLost, Detail: detail, StartedAt: seg.EndedAt.UTC()}
			if err := tx.AddInterruption(ctx, in); err != nil {
				return err
			}
			if err := c.svc.event(ctx, tx, "system:signaling", id, "call.interrupted", map[string]string{"call": string(call.ID), "interruption": iid,
				"participant": seg.Participant, "cause": string(models.CauseNodeLost), "detail": detail, "started_at": in.StartedAt.Format(time.RFC3339Nano)}); err != nil {
				return err
			}
		}
		if call.SuspendedAt != nil {
			return nil
		}
		if err := tx.SuspendCall(ctx, call.ID, leg, c.svc.now().UTC()); err != nil {
			return err
		}
		return c.svc.event(ctx, tx, "system:signaling", id, "call.suspended", map[string]string{"call": string(call.ID), "leg": strconv.Itoa(leg), "reason": "server restarted"})
	})
	if err != nil {
		return fmt.Errorf("recover segment %d of call %s: %w", seg.Seq, seg.CallID, err)
	}
	return nil
}

// SaveQuality keeps a call's media-quality samples (JSON, as signaling
// measured them every few seconds) as evidence of kind quality, with an
// audit event, so reviewers can judge the video the clerk relied on.
func (c *Calls) SaveQuality(ctx context.Context, id models.CaseID, call models.CallID, samples int, data []byte) error {
	_, err := c.svc.recordEvidence(ctx, id, "system:signaling", []artifact{{Kind: models.EvidenceQuality, ContentType: "application/json", Data: data}}, func(tx models.Tx, evs []*models.Evidence) error {
		ev := evs[0]
		return c.svc.event(ctx, tx, "system:signaling", id, "call.quality", map[string]string{"call": string(call),
			"samples": strconv.Itoa(samples), "sha256": ev.SHA256, "evidence": string(ev.ID)})
	})
	if err != nil {
		return fmt.Errorf("save quality of call %s: %w", call, err)
	}
	return nil
}

// SaveSegment stages a recorded segment as evidence (kind recording) and
// lists it in the call record, in one transaction. seg's evidence, hash and
// size are filled in.
func (c *Calls) SaveSegment(ctx context.Context, id models.CaseID, seg *models.CallSegment, contentType string, r io.Reader) error {
	actor := "system:recorder"
	_, err := c.svc.recordEvidence(ctx, id, actor, []artifact{{Kind: models.EvidenceRecording, ContentType: contentType, Body: r}}, func(tx models.Tx, evs []*models.Evidence) error {
		ev := evs[0]
		seg.Evidence, seg.SHA256, seg.Size = ev.ID, ev.SHA256, ev.Size
		if err := tx.AddCallSegment(ctx, seg); err != nil {
			return err
		}
		return c.svc.event(ctx, tx, actor, id, "call.segment", map[string]string{"call": string(seg.CallID), "seq": strconv.Itoa(seg.Seq),
			"participant": seg.Participant, "track": seg.Track, "sha256": ev.SHA256, "size": strconv.FormatInt(ev.Size, 10), "evidence": string(ev.ID)})
	})
	if err != nil {
		return fmt.Errorf("save segment %d of call %s: %w", seg.Seq, seg.CallID, err)
	}
	return nil
}

// JoinCall authorizes a member of staff to join the case's call: its
// assigned clerk runs the call (runs is true), a supervisor observes it
// receive-only (policy.go). The case must be awaiting or in its call.
func (s *Service) JoinCall(ctx context.Context, a Actor, id models.CaseID) (c *models.Case, runs bool, err error) {
	c, err = s.authorized(ctx, a, id, callRule, "join the call")
	if err != nil {
		return nil, false, err
	}
	if !c.State.TakesChecks() {
		return nil, false, models.Errorf(models.ECONFLICT, "case is %s: no call", c.State)
	}
	return c, a.runsCase(c), nil
}

func (c *Calls) requireConsent(ctx context.Context, id models.CaseID) error {
	ok, err := c.ConsentRecorded(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return models.Errorf(models.EPRECONDITION, "the customer has not consented to biometric processing: no capture is taken")
	}
	return nil
}

// FaceCapture runs a face check on a key frame the server took from the
// customer's live video (JPEG), for the case's clerk (actor). It is refused
// (EPRECONDITION) before the customer consented, and unless f was taken in
// a running call of the case whose recording is active, while a segment of
// the customer's video was recorded. The frame is stored as evidence
// (kind capture) with the check, which records the call, the segment and
// the frame's media time: only such checks meet the face-match requirement
// and serve as the registry check's comparison photo.
func (c *Calls) FaceCapture(ctx context.Context, id models.CaseID, actor string, f models.LiveFrame) (*models.Check, error) {
	return c.FaceCaptures(ctx, id, actor, []models.LiveFrame{f})
}

// StartLiveness issues a liveness challenge for the case: a random
// sequence of head turns and screen colours with random timings (see
// facematch.Challenger), which the media layer plays step by step.
func (c *Calls) StartLiveness(ctx context.Context, id models.CaseID) (models.LivenessPlan, error) {
	if err := faceLoaded(c.svc.face); err != nil {
		return models.LivenessPlan{}, err
	}
	if err := c.requireConsent(ctx, id); err != nil {
		return models.LivenessPlan{}, err
	}
	ch, err := facematch.Challenger{Rand: c.svc.rand, Now: c.svc.now}.Issue()
	if err != nil {
		return models.LivenessPlan{}, fmt.Errorf("liveness challenge for %s: %w", id, err)
	}
	lid, err := models.NewID(c.svc.rand, "lv")
	if err != nil {
		return models.LivenessPlan{}, err
	}
	plan := models.LivenessPlan{ID: lid}
	for _, s := range ch.Steps {
		plan.Steps = append(plan.Steps, models.LivenessStep{Prompt: s.Pose.String(), Colour: s.Colour, At: s.At(), For: s.End() - s.At()})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.svc.now()
	for k, v := range c.challenges {
		if now.After(v.ch.Expires) {
			delete(c.challenges, k)
		}
	}
	c.challenges[lid] = pendingChallenge{caseID: id, ch: ch}
	return plan, nil
}

// FinishLiveness judges the frames sampled through challenge lid (in time
// order) and records a liveness check: its detail holds the challenge and
// the evidence of every sample, turn and colour (facematch.LivenessResult),
// and the sampled frames are stored as evidence (kind capture).
func (c *Calls) FinishLiveness(ctx context.Context, id models.CaseID, actor, lid string, samples []models.LivenessSample) (*models.Check, error) {
	c.mu.Lock()
	p, ok := c.challenges[lid]
	delete(c.challenges, lid)
	c.mu.Unlock()
	if !ok || p.caseID != id {
		return nil, models.Errorf(models.ENOTFOUND, "liveness challenge %s not found", lid)
	}
	if err := c.requireConsent(ctx, id); err != nil {
		return nil, fmt.Errorf("liveness of %s: %w", id, err)
	}
	if err := c.svc.admitCaptures(ctx, id, len(samples)); err != nil {
		return nil, fmt.Errorf("liveness of %s: %w", id, err)
	}
	a, err := c.callClerk(ctx, id, actor)
	if err != nil {
		return nil, fmt.Errorf("liveness of %s: %w", id, err)
	}
	cs, err := c.svc.Case(ctx, a, id)
	if err != nil {
		return nil, err
	}
	refs, err := c.svc.References(ctx, cs.AccountNo)
	if err != nil {
		return nil, err
	}
	caps := make([]facematch.Capture, len(samples))
	for i, s := range samples {
		caps[i] = facematch.Capture{JPEG: s.JPEG, At: s.At, Offset: s.Offset}
	}
	res, err := c.svc.face.CheckLiveness(ctx, p.ch, caps, refs)
	if err != nil {
		return nil, fmt.Errorf("liveness of %s: %w", id, err)
	}
	detail, err := json.Marshal(struct {
		Challenge facematch.Challenge      `json:"challenge"`
		Result    facematch.LivenessResult `json:"result"`
	}{Challenge: p.ch, Result: res})
	if err != nil {
		return nil, fmt.Errorf("liveness of %s: %w", id, err)
	}
	arts := make([]artifact, len(samples))
	for i, s := range samples {
		arts[i] = artifact{Kind: models.EvidenceCapture, ContentType: "image/jpeg", Data: s.JPEG}
	}
	result := models.ResultFail
	if res.Passed {
		result = models.ResultPass
	}
	chkID, err := models.NewID(c.svc.rand, "chk")
	if err != nil {
		return nil, err
	}
	chk := &models.Check{ID: models.CheckID(chkID), CaseID: id, Kind: models.CheckLiveness, Result: result, Detail: detail, Actor: actor, CreatedAt: c.svc.now().UTC()}
	_, err = c.svc.recordEvidence(ctx, id, actor, arts, func(tx models.Tx, evs []*models.Evidence) error {
		var sums []string
		chk.Evidence = ""
		for _, ev := range evs {
			sums = append(sums, ev.SHA256)
			if chk.Evidence == "" {
				chk.Evidence = ev.ID
			}
		}
		if err := tx.CreateCheck(ctx, chk); err != nil {
			return err
		}
		return c.svc.event(ctx, tx, actor, id, "check.liveness", map[string]string{"check": chkID, "result": string(result),
			"failure": fmt.Sprint(res.Failure), "samples": strconv.Itoa(len(samples)), "captures_sha256": strings.Join(sums, ",")})
	})
	if err != nil {
		return nil, fmt.Errorf("liveness of %s: %w", id, err)
	}
	return chk, nil
}

// ObserveStarted audits a supervisor (actor) starting to watch the live
// call of case id: call.observe_started with the call. The media layer
// keeps the observer out if this fails, so no one watches unrecorded.
func (c *Calls) ObserveStarted(ctx context.Context, id models.CaseID, call models.CallID, actor string) error {
	err := c.svc.store.Transact(ctx, func(tx models.Tx) error {
		return c.svc.event(ctx, tx, actor, id, "call.observe_started", map[string]string{"call": string(call)})
	})
	if err != nil {
		return fmt.Errorf("observe call %s: %w", call, err)
	}
	return nil
}

// ObserveStopped audits the supervisor (actor) no longer watching the
// call, and why (left, call ended, disabled, logged out, ...):
// call.observe_stopped.
func (c *Calls) ObserveStopped(ctx context.Context, id models.CaseID, call models.CallID, actor, reason string) error {
	err := c.svc.store.Transact(ctx, func(tx models.Tx) error {
		return c.svc.event(ctx, tx, actor, id, "call.observe_stopped", map[string]string{"call": string(call), "reason": reason})
	})
	if err != nil {
		return fmt.Errorf("stop observing call %s: %w", call, err)
	}
	return nil
}

// CallInterrupted records that a party dropped out of the call (open
// until their media comes back) and audits it with the cause, so that the
// case's record and its evidence bundle show the gap and why.
func (c *Calls) CallInterrupted(ctx context.Context, id models.CaseID, call models.CallID, participant string, cause models.InterruptionCause, detail string, at time.Time) error {
	iid, err := models.NewID(c.svc.rand, "int")
	if err != nil {
		return fmt.Errorf("interruption of call %s: %w", call, err)
	}
	if len(detail) > 500 {
		detail = detail[:500]
	}
	in := &models.Interruption{ID: iid, CaseID: id, Call: call, Participant: participant, Cause: cause, Detail: detail, StartedAt: at.UTC()}
	err = c.svc.store.Transact(ctx, func(tx models.Tx) error {
		if err := tx.AddInterruption(ctx, in); err != nil {
			return err
		}
		return c.svc.event(ctx, tx, "system:signaling", id, "call.interrupted", map[string]string{"call": string(call), "interruption": iid,
			"participant": participant, "cause": string(cause), "detail": detail, "started_at": in.StartedAt.Format(time.RFC3339Nano)})
	})
	if err != nil {
		return fmt.Errorf("interruption of %s in call %s: %w", participant, call, err)
	}
	return nil
}

// CallResumed ends the party's open interruptions in the case: their media
// arrived again in call (this one or the case's next). Nothing open,
// nothing is written.
func (c *Calls) CallResumed(ctx context.Context, id models.CaseID, call models.CallID, participant string, at time.Time) error {
	err := c.svc.store.Transact(ctx, func(tx models.Tx) error {
		n, err := tx.EndInterruptions(ctx, id, participant, at.UTC(), call)
		if err != nil || n == 0 {
			return err
		}
		return c.svc.event(ctx, tx, "system:signaling", id, "call.resumed", map[string]string{"call": string(call), "participant": participant,
			"ended": strconv.Itoa(n), "ended_at": at.UTC().Format(time.RFC3339Nano)})
	})
	if err != nil {
		return fmt.Errorf("resume %s in call %s: %w", participant, call, err)
	}
	return nil
}
