package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"remoteidv/models"
	"remoteidv/verify/facematch"
)

// FaceCheck is a recorded face match and the engine's full answer.
type FaceCheck struct {
	Check *models.Check
	Match facematch.MatchResult
}

// References returns the descriptors of an account's usable reference
// photos for the loaded models, computing and storing any that are missing
// (first use, or the model files changed). Photos without exactly one
// usable face are skipped and stay flagged.
func (s *Service) References(ctx context.Context, no models.AccountNo) ([]facematch.Reference, error) {
	if err := faceLoaded(s.face); err != nil {
		return nil, err
	}
	hash := string(s.face.ModelHash())
	var photos []*models.AccountImage
	var stored []*models.FaceReference
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) {
		if photos, err = tx.AccountImages(ctx, no, models.ImagePhoto); err != nil {
			return err
		}
		stored, err = tx.FaceReferences(ctx, no, hash)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("references of %s: %w", models.MaskAccountNo(no), err)
	}
	have := map[int64][]byte{}
	for _, r := range stored {
		have[r.ImageID] = r.Descriptor
	}
	var refs []facematch.Reference
	for _, p := range photos {
		desc, ok := have[p.ID]
		if !ok {
			if p.Problem != "" {
				continue
			}
			en, err := s.face.Enroll(ctx, p.Data)
			var rej *facematch.RejectedError
			if errors.As(err, &rej) {
				s.log.WarnContext(ctx, "reference photo unusable", "account", models.MaskAccountNo(no), "image", p.ID, "status", rej.Status)
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("enroll photo %d: %w", p.ID, err)
			}
			desc, err = en.Descriptor.MarshalBinary()
			if err != nil {
				return nil, err
			}
			ref := &models.FaceReference{ImageID: p.ID, ModelHash: hash, Descriptor: desc, CreatedAt: s.now().UTC()}
			if err := s.store.Transact(ctx, func(tx models.Tx) error { return tx.PutFaceReference(ctx, ref) }); err != nil {
				return nil, fmt.Errorf("store descriptor of photo %d: %w", p.ID, err)
			}
		}
		var d facematch.Descriptor
		if err := d.UnmarshalBinary(desc); err != nil {
			return nil, fmt.Errorf("descriptor of photo %d: %w", p.ID, err)
		}
		refs = append(refs, facematch.Reference{ID: "photo:" + strconv.FormatInt(p.ID, 10), Descriptor: d, ModelHash: facematch.ModelHash(hash)})
	}
	return refs, nil
}

// RunFaceCheck matches a photo a clerk uploaded (JPEG or PNG) against the
// account's reference photos, as a comparison aid (for instance a photo
// the customer sent when the video is poor). The customer must have
// consented to biometric processing first (EPRECONDITION otherwise, before
// any face is processed). The check is labelled as uploaded everywhere:
// source upload, evidence kind upload, audit event check.face_upload. It
// never meets the face-match requirement, cannot be confirmed, and is never
// the registry check's comparison photo: only a live capture
// (Calls.FaceCapture) is.
func (s *Service) RunFaceCheck(ctx context.Context, a Actor, id models.CaseID, img []byte) (*FaceCheck, error) {
	c, err := s.authorized(ctx, a, id, clerkRule, "run face checks")
	if err != nil {
		return nil, err
	}
	return s.matchFace(ctx, a, c, img, nil)
}

// errNoConsent refuses biometric processing before the customer consented.
var errNoConsent = models.Errorf(models.EPRECONDITION, "the customer has not consented to biometric processing: no face is matched")

// consentAt returns when the case's customer first accepted the consent
// text, or nil.
func consentAt(ctx context.Context, tx models.Tx, id models.CaseID) (*time.Time, error) {
	sessions, err := tx.CustomerSessionsByCase(ctx, id)
	if err != nil {
		return nil, err
	}
	var first *time.Time
	for _, s := range sessions {
		if s.ConsentAt != nil && (first == nil || s.ConsentAt.Before(*first)) {
			first = s.ConsentAt
		}
	}
	return first, nil
}

// requireRecording returns nil when frame f was taken in a call of case id
// that is running with its recording active, while a segment of the
// customer's video was being recorded; else EPRECONDITION saying why.
func requireRecording(ctx context.Context, tx models.Tx, id models.CaseID, f *models.LiveFrame) error {
	if f.Call == "" || f.Segment < 1 {
		return models.Errorf(models.EPRECONDITION, "the customer's video is not being recorded: a capture is taken only while the call is recorded")
	}
	calls, err := tx.CallsByCase(ctx, id)
	if err != nil {
		return err
	}
	for _, k := range calls {
		if k.ID != f.Call {
			continue
		}
		switch {
		case k.EndedAt != nil:
			return models.Errorf(models.EPRECONDITION, "call %s has ended: no capture is taken", k.ID)
		case k.Recording != models.RecordingActive:
			return models.Errorf(models.EPRECONDITION, "the recording of call %s is %s: a capture is taken only while the call is recorded", k.ID, k.Recording)
		case k.SuspendedAt != nil || models.SegmentLeg(f.Segment) != k.Legs:
			// Only the node running the call's current leg takes captures.
			return models.Errorf(models.EPRECONDITION, "call %s is not running on the node that took the capture: no capture is taken", k.ID)
		}
		return nil
	}
	return models.Errorf(models.EPRECONDITION, "call %s is not a call of case %s", f.Call, id)
}

// matchFace runs and records a face check of img: a live capture when live
// is set (taken by the media layer in the call), an uploaded photo
// otherwise. Consent and, for a live capture, the running recording are
// checked before the face engine sees the image and again in the
// transaction that records the check.
func (s *Service) matchFace(ctx context.Context, a Actor, c *models.Case, img []byte, live *models.LiveFrame) (*FaceCheck, error) {
	id := c.ID
	if !c.State.TakesChecks() {
		return nil, models.Errorf(models.ECONFLICT, "case is %s: face checks run before submission", c.State)
	}
	if live != nil && live.MediaMS < 0 {
		return nil, models.Errorf(models.EINVALID, "capture media time %d ms is negative", live.MediaMS)
	}
	preconditions := func(tx models.Tx) error {
		at, err := consentAt(ctx, tx, id)
		if err != nil {
			return err
		}
		if at == nil {
			return errNoConsent
		}
		if live != nil {
			return requireRecording(ctx, tx, id, live)
		}
		return nil
	}
	if err := s.store.Transact(ctx, preconditions); err != nil {
		return nil, fmt.Errorf("face check of %s: %w", id, err)
	}
	refs, err := s.References(ctx, c.AccountNo)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, models.Errorf(models.EPRECONDITION, "the account has no reference photo with a usable face; an admin must re-import it")
	}
	started, outcome := time.Now(), models.FaceOutcomeError // monotonic: a latency, not a timestamp
	if s.faceObs != nil {
		defer func() { s.faceObs.ObserveFaceCheck(outcome, time.Since(started)) }()
	}
	res, err := s.face.Match(ctx, img, refs)
	if err != nil {
		return nil, fmt.Errorf("face check of %s: %w", id, err)
	}
	if err := s.assess(ctx, &res); err != nil {
		return nil, fmt.Errorf("face check of %s: %w", id, err)
	}
	// Input that is not a usable image file is refused and not kept; a real
	// photo without a usable face is recorded as an UNUSABLE check.
	switch res.Status {
	case facematch.StatusTooLarge, facematch.StatusTooManyPixels:
		outcome = models.FaceOutcomeNoFace
		return nil, models.Errorf(models.ETOOLARGE, "capture refused: %s (%s)", res.Status, res.Detail)
	case facematch.StatusNotAnImage, facematch.StatusUnsupportedFormat:
		outcome = models.FaceOutcomeNoFace
		return nil, models.Errorf(models.EUNSUPPORTED, "capture refused: %s: send a JPEG or PNG photo", res.Status)
	}
	contentType := "image/jpeg"
	if strings.HasPrefix(string(img), "\x89PNG") {
		contentType = "image/png"
	}
	detail, err := json.Marshal(jsonSafe(res))
	if err != nil {
		return nil, fmt.Errorf("face check of %s: encode result: %w", id, err)
	}
	kind, source, action, shaKey := models.EvidenceUpload, models.SourceUpload, "check.face_upload", "upload_sha256"
	if live != nil {
		kind, source, action, shaKey = models.EvidenceCapture, models.SourceLiveCall, "check.face_match", "capture_sha256"
	}
	cid, err := models.NewID(s.rand, "chk")
	if err != nil {
		return nil, err
	}
	chk := &models.Check{ID: models.CheckID(cid), CaseID: c.ID, Kind: models.CheckFaceMatch, Result: faceResult(res.Decision),
		Detail: detail, Actor: a.Name, Source: source}
	if live != nil {
		chk.Call, chk.Segment, chk.MediaMS = live.Call, live.Segment, live.MediaMS
	}
	_, err = s.recordEvidence(ctx, c.ID, a.Name, []artifact{{Kind: kind, ContentType: contentType, Data: img}}, func(tx models.Tx, evs []*models.Evidence) error {
		if err := preconditions(tx); err != nil {
			return err
		}
		ev := evs[0]
		chk.Evidence, chk.CreatedAt = ev.ID, s.now().UTC()
		if err := tx.CreateCheck(ctx, chk); err != nil {
			return err
		}
		d := map[string]string{"check": cid, "source": string(source), "decision": res.Decision.String(), "status": res.Status.String(),
			"threshold": strconv.FormatFloat(res.Threshold, 'f', 4, 64), "model_hash": string(res.ModelHash), "engine": res.Engine, shaKey: ev.SHA256, "evidence": string(ev.ID)}
		if live != nil {
			d["call"], d["segment"], d["media_ms"] = string(live.Call), strconv.Itoa(live.Segment), strconv.FormatInt(live.MediaMS, 10)
		} else {
			d["counts"] = "no: an uploaded photo never meets the face-match requirement"
		}
		if !math.IsInf(res.Distance, 0) {
			d["distance"] = strconv.FormatFloat(res.Distance, 'f', 4, 64)
		}
		assessDetail(d, res.Assessment)
		return s.event(ctx, tx, a.Name, c.ID, action, d)
	})
	if err != nil {
		return nil, fmt.Errorf("face check of %s: %w", id, err)
	}
	outcome = faceOutcome(res.Decision)
	return &FaceCheck{Check: chk, Match: res}, nil
}

// liveCapture reports whether face check k is a live capture that can
// count: taken by the server in a call of the case (calls) whose recording
// did not fail, after the customer's consent (consent), with the recorded
// segment it came from on file once the call has ended. Only what the
// workflow itself recorded is consulted.
func liveCapture(k *models.Check, calls []*models.Call, consent *time.Time) bool {
	if k.Kind != models.CheckFaceMatch || k.Source != models.SourceLiveCall || k.Call == "" || k.Segment < 1 || k.Evidence == "" {
		return false
	}
	if consent == nil || k.CreatedAt.Before(*consent) {
		return false
	}
	for _, call := range calls {
		if call.ID != k.Call || call.CaseID != k.CaseID {
			continue
		}
		if call.Recording == models.RecordingIncomplete || k.CreatedAt.Before(call.StartedAt) {
			return false
		}
		if call.EndedAt == nil && call.SuspendedAt == nil {
			return true // submission waits for the call's end: see RecordingDone
		}
		for _, seg := range call.Segments {
			if seg.Participant == "customer" && seg.Track == "video" && seg.Seq == k.Segment {
				return true
			}
		}
		return false
	}
	return false
}

// faceOutcome is how the metrics count a recorded check's decision.
func faceOutcome(d facematch.Decision) models.FaceOutcome {
	switch d {
	case facematch.DecisionMatch:
		return models.FaceOutcomeMatch
	case facematch.DecisionNoMatch:
		return models.FaceOutcomeNoMatch
	}
	return models.FaceOutcomeNoFace
}

// faceResult is the check result of a face engine's decision.
// facematch.Decision's names are the check results MATCH, NO_MATCH and
// UNUSABLE.
func faceResult(d facematch.Decision) models.CheckResult { return models.CheckResult(d.String()) }

// jsonSafe replaces the +Inf distance of an unusable capture, which JSON
// cannot carry, by 0 (the decision says UNUSABLE).
func jsonSafe(r facematch.MatchResult) facematch.MatchResult {
	if math.IsInf(r.Distance, 0) || math.IsNaN(r.Distance) {
		r.Distance = 0
	}
	return r
}

// ConfirmFace records the clerk's side-by-side visual judgement of a live
// capture's face check: confirmed (same person) or rejected, with a note.
// A face check counts towards submission only when it is a live capture
// (see liveCapture), it matched AND the clerk confirmed. Checks of uploaded
// photos are refused (EPRECONDITION).
func (s *Service) ConfirmFace(ctx context.Context, a Actor, id models.CaseID, check models.CheckID, confirmed bool, note string) (*models.Check, error) {
	note = strings.TrimSpace(note)
	if len(note) > 1000 {
		return nil, models.Errorf(models.EINVALID, "note longer than 1000 characters")
	}
	if !confirmed && note == "" {
		return nil, models.Errorf(models.EINVALID, "say why the faces do not match (note)")
	}
	verdict := "rejected"
	if confirmed {
		verdict = "confirmed"
	}
	var out *models.Check
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		c, err := s.authorize(ctx, tx, a, id, clerkRule, "confirm its face checks")
		if err != nil {
			return err
		}
		chk, err := tx.CheckByID(ctx, check)
		if err != nil || chk.CaseID != c.ID || chk.Kind != models.CheckFaceMatch {
			return models.Errorf(models.ENOTFOUND, "face check %s not found in case %s", check, id)
		}
		if chk.Source != models.SourceLiveCall {
			src := "an uploaded photo"
			if chk.Source == models.SourceNone {
				src = "a capture of unknown origin"
			}
			return models.Errorf(models.EPRECONDITION, "face check %s is of %s, not a live capture from the recorded call: it is never confirmed and never counts; take a capture in the call", check, src)
		}
		now := s.now().UTC()
		if err := tx.ConfirmCheck(ctx, check, a.Name, verdict, note, now); err != nil {
			return err
		}
		chk.ConfirmedBy, chk.ConfirmedAt, chk.Confirmation, chk.Note = a.Name, &now, verdict, note
		out = chk
		return s.event(ctx, tx, a.Name, c.ID, "check.face_confirmed", map[string]string{"check": string(check), "confirmation": verdict})
	})
	if err != nil {
		return nil, fmt.Errorf("confirm face check %s: %w", check, err)
	}
	return out, nil
}

// Checks lists a visible case's checks.
func (s *Service) Checks(ctx context.Context, a Actor, id models.CaseID) ([]*models.Check, error) {
	var out []*models.Check
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		c, err := s.visibleCase(ctx, tx, a, id)
		if err != nil {
			return err
		}
		out, err = tx.ChecksByCase(ctx, c.ID)
		return err
	})
	return out, err
}
