package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"remoteidv/models"
	"remoteidv/verify/facematch"
)

// FaceCaptures runs one face check on several key frames the server took
// from the customer's live video over a short window (signaling takes
// IDV_FACE_CAPTURES of them): each is matched against every reference
// photo, and the check records their fusion as the face match, the rule
// idv face eval -study supports best: the mean of the captures' best
// distances, decided at the threshold in force, with how many captures
// match on their own (agree). Each frame is kept as evidence (identical
// frames once); the check points at the closest one (the registry check's
// comparison photo). Preconditions as FaceCapture, for every frame; one
// frame is a plain face check.
func (c *Calls) FaceCaptures(ctx context.Context, id models.CaseID, actor string, frames []models.LiveFrame) (*models.Check, error) {
	if len(frames) == 0 {
		return nil, models.Errorf(models.EINVALID, "face capture of %s: no frame", id)
	}
	if err := c.requireConsent(ctx, id); err != nil {
		return nil, fmt.Errorf("face capture of %s: %w", id, err)
	}
	a, err := c.callClerk(ctx, id, actor)
	if err != nil {
		return nil, fmt.Errorf("face capture of %s: %w", id, err)
	}
	cs, err := c.svc.Case(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if err := c.svc.admitCaptures(ctx, id, len(frames)); err != nil {
		return nil, fmt.Errorf("face capture of %s: %w", id, err)
	}
	if len(frames) == 1 {
		fc, err := c.svc.matchFace(ctx, a, cs, frames[0].JPEG, &frames[0])
		if err != nil {
			return nil, err
		}
		return fc.Check, nil
	}
	return c.svc.matchFused(ctx, a, cs, frames)
}

// matchFused is matchFace for several live frames of one call.
func (s *Service) matchFused(ctx context.Context, a Actor, c *models.Case, frames []models.LiveFrame) (*models.Check, error) {
	id := c.ID
	if !c.State.TakesChecks() {
		return nil, models.Errorf(models.ECONFLICT, "case is %s: face checks run before submission", c.State)
	}
	for _, f := range frames {
		if f.MediaMS < 0 {
			return nil, models.Errorf(models.EINVALID, "capture media time %d ms is negative", f.MediaMS)
		}
	}
	preconditions := func(tx models.Tx) error {
		at, err := consentAt(ctx, tx, id)
		if err != nil {
			return err
		}
		if at == nil {
			return errNoConsent
		}
		for i := range frames {
			if err := requireRecording(ctx, tx, id, &frames[i]); err != nil {
				return err
			}
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
	cal, err := s.calib.FaceCalibration(ctx)
	if err != nil {
		return nil, fmt.Errorf("face check of %s: %w", id, err)
	}
	results := make([]facematch.MatchResult, len(frames))
	var arts []artifact
	shas := make([]string, len(frames))
	seen := map[string]bool{}
	for i, f := range frames {
		res, err := s.face.Match(ctx, f.JPEG, refs)
		if err != nil {
			return nil, fmt.Errorf("face check of %s: %w", id, err)
		}
		switch res.Status {
		case facematch.StatusTooLarge, facematch.StatusTooManyPixels, facematch.StatusNotAnImage, facematch.StatusUnsupportedFormat:
			return nil, models.Errorf(models.EUNSUPPORTED, "capture %d refused: %s", i+1, res.Status)
		}
		facematch.OperatingFor(cal, s.calib.policy(res.Threshold)).Apply(cal, &res)
		results[i] = res
		sum := sha256.Sum256(f.JPEG)
		shas[i] = hex.EncodeToString(sum[:])
		if !seen[shas[i]] {
			seen[shas[i]] = true
			arts = append(arts, artifact{Kind: models.EvidenceCapture, ContentType: "image/jpeg", Data: f.JPEG})
		}
	}
	fused, err := facematch.Fuse(results)
	if err != nil {
		return nil, fmt.Errorf("face check of %s: %w", id, err)
	}
	// The fused result: the first usable capture's engine answer with the
	// fused distance, the mean distance per reference, and the decision
	// and assessment at the fused distance.
	best := -1
	for i, r := range results {
		if r.Status == facematch.StatusOK && (best < 0 || r.Distance < results[best].Distance) {
			best = i
		}
	}
	first := 0
	if best >= 0 {
		first = best
	}
	res := results[first]
	res.Descriptor = facematch.Descriptor{}
	res.Distance, res.Decision = fused.Distance, fused.Decision
	if best >= 0 {
		res.References = make([]facematch.ReferenceDistance, len(refs))
		for j, r := range refs {
			res.References[j].ID = r.ID
			for _, x := range results {
				if x.Status == facematch.StatusOK {
					res.References[j].Distance += x.References[j].Distance / float64(fused.Captures)
				}
			}
		}
		facematch.OperatingFor(cal, s.calib.policy(res.Threshold)).Apply(cal, &res)
	}
	cid, err := models.NewID(s.rand, "chk")
	if err != nil {
		return nil, err
	}
	chk := &models.Check{ID: models.CheckID(cid), CaseID: c.ID, Kind: models.CheckFaceMatch, Result: faceResult(res.Decision),
		Actor: a.Name, Source: models.SourceLiveCall, Call: frames[first].Call, Segment: frames[first].Segment, MediaMS: frames[first].MediaMS}
	_, err = s.recordEvidence(ctx, c.ID, a.Name, arts, func(tx models.Tx, evs []*models.Evidence) error {
		if err := preconditions(tx); err != nil {
			return err
		}
		bySHA := map[string]*models.Evidence{}
		for _, ev := range evs {
			bySHA[ev.SHA256] = ev
		}
		fused.Each = make([]facematch.FusedCapture, len(frames))
		for i, r := range results {
			e := facematch.FusedCapture{Evidence: string(bySHA[shas[i]].ID), MediaMS: frames[i].MediaMS, Status: r.Status, Decision: r.Decision}
			if r.Status == facematch.StatusOK {
				e.Distance = r.Distance
			}
			fused.Each[i] = e
		}
		res.Fusion = &fused
		detail, err := json.Marshal(jsonSafe(res))
		if err != nil {
			return fmt.Errorf("encode result: %w", err)
		}
		ev := bySHA[shas[first]]
		chk.Evidence, chk.Detail, chk.CreatedAt = ev.ID, detail, s.now().UTC()
		if err := tx.CreateCheck(ctx, chk); err != nil {
			return err
		}
		d := map[string]string{"check": cid, "source": string(models.SourceLiveCall), "decision": res.Decision.String(), "status": res.Status.String(),
			"threshold": strconv.FormatFloat(res.Threshold, 'f', 4, 64), "model_hash": string(res.ModelHash), "engine": res.Engine,
			"capture_sha256": ev.SHA256, "evidence": string(ev.ID), "call": string(chk.Call), "segment": strconv.Itoa(chk.Segment),
			"media_ms": strconv.FormatInt(chk.MediaMS, 10), "fusion": fmt.Sprintf("mean of %d usable of %d captures, %d agree", fused.Captures, fused.Taken, fused.Agree)}
		if !math.IsInf(res.Distance, 0) {
			d["distance"] = strconv.FormatFloat(res.Distance, 'f', 4, 64)
		}
		assessDetail(d, res.Assessment)
		return s.event(ctx, tx, a.Name, c.ID, "check.face_match", d)
	})
	if err != nil {
		return nil, fmt.Errorf("face check of %s: %w", id, err)
	}
	return chk, nil
}
