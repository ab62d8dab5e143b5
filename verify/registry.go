package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"remoteidv/models"
	"remoteidv/verify/facematch"
)

// Registry check limits (DeskDeps.RegistryCaptureMaxAge and
// DeskDeps.RegistryMaxDataAge override the first two).
const (
	defaultRegistryCaptureMaxAge = 30 * time.Minute
	defaultRegistryMaxDataAge    = 10 * time.Minute
	// registryClockSkew is how far in the future a registry's data_as_of
	// may lie (the two clocks differ a little).
	registryClockSkew = time.Minute
)

// RegistryCheck is a recorded registry check and what the clerk sees.
type RegistryCheck struct {
	Check        *models.Check
	Status       string // valid, invalid, deceased, or unavailable
	NameMatch    bool
	PhotoMatch   string // MATCH, NO_MATCH, UNUSABLE, no_photo, engine_unavailable, not_run
	DataAge      time.Duration
	MaxDataAge   time.Duration // the largest DataAge that may pass
	Elapsed      time.Duration
	Hours        string // the registry's service hours, e.g. "07:30-19:00 Asia/Shanghai"
	WithinHours  bool
	Unavailable  string // why the registry could not answer
	SnapshotHash string
	// Capture is the live capture the registry photo was compared with:
	// its face check, the SHA-256 of the frame and its age at the check.
	CaptureCheck  models.CheckID
	CaptureSHA256 string
	CaptureAge    time.Duration
	// RegistryPhotoSHA256 is the SHA-256 of the registry's photo ("" when
	// it sent none).
	RegistryPhotoSHA256 string
	// Reasons says why the check did not pass (empty for a PASS).
	Reasons []string
}

// RegistryHours describes the registry's service hours and whether t lies
// within them.
func (d *Desk) RegistryHours(t time.Time) (string, bool) {
	cfg := d.svc.cfg
	local := t.In(cfg.RegistryTZ)
	since := time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute
	return fmt.Sprintf("%s-%s %s", clock(cfg.RegistryOpen), clock(cfg.RegistryClose), cfg.RegistryTZ), since >= cfg.RegistryOpen && since < cfg.RegistryClose
}

// latestLiveCapture returns the case's latest live capture with a usable
// face (see liveCapture) and its frame's evidence, or EPRECONDITION when
// there is none taken within maxAge of now.
func latestLiveCapture(ctx context.Context, tx models.Tx, id models.CaseID, now time.Time, maxAge time.Duration) (*models.Check, *models.Evidence, error) {
	consent, err := consentAt(ctx, tx, id)
	if err != nil {
		return nil, nil, err
	}
	calls, err := tx.CallsByCase(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	checks, err := tx.ChecksByCase(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	var latest *models.Check
	for _, k := range checks { // oldest first
		if liveCapture(k, calls, consent) && k.Result != models.ResultUnusable {
			latest = k
		}
	}
	if latest == nil {
		return nil, nil, models.Errorf(models.EPRECONDITION, "no live capture of this case: take a face capture in the call first (the registry photo is compared with it)")
	}
	if age := now.Sub(latest.CreatedAt); age > maxAge {
		return nil, nil, models.Errorf(models.EPRECONDITION, "the latest live capture of this case is %s old (at most %s): take a new face capture in the call, then run the registry check",
			age.Round(time.Second), maxAge)
	}
	ev, err := tx.EvidenceByID(ctx, latest.Evidence)
	if err != nil {
		return nil, nil, err
	}
	return latest, ev, nil
}

// RunRegistryCheck asks the national ID registry about the account holder
// (ID number and name) and compares the registry's photo with the case's
// latest live capture (a frame the server took in the recorded call, see
// liveCapture). Without a live capture taken within RegistryCaptureMaxAge
// (default 30 min) the registry is not asked and EPRECONDITION says so. It
// records the request, the response snapshot (evidence), the time, the
// operator, the data's age, the capture used and the SHA-256 of both photos
// (in the check's detail, the snapshot and the audit event). It passes only
// when the ID is valid, the name matches, the registry's data is at most
// RegistryMaxDataAge (default 10 min) old by its data_as_of, and the
// registry photo matches the live capture; an answer without a photo, a
// photo that does not match, or one that cannot be matched because the face
// engine is down, fails, with the reasons recorded. A timeout or error is
// recorded as UNAVAILABLE, never as a pass.
func (d *Desk) RunRegistryCheck(ctx context.Context, a Actor, id models.CaseID) (*RegistryCheck, error) {
	captureMaxAge, maxDataAge := d.captureMaxAge, d.maxDataAge
	now := d.svc.now().UTC()
	var acct *models.Account
	var shot *models.Check
	var capture *models.Evidence
	err := d.svc.store.Transact(ctx, func(tx models.Tx) error {
		c, err := d.clerkCase(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if shot, capture, err = latestLiveCapture(ctx, tx, c.ID, now, captureMaxAge); err != nil {
			return err
		}
		acct, err = tx.AccountByNo(ctx, c.AccountNo)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("registry check of %s: %w", id, err)
	}
	out := &RegistryCheck{Status: "unavailable", PhotoMatch: "not_run", MaxDataAge: maxDataAge,
		CaptureCheck: shot.ID, CaptureSHA256: capture.SHA256, CaptureAge: now.Sub(shot.CreatedAt)}
	out.Hours, out.WithinHours = d.RegistryHours(now)
	q := models.RegistryQuery{NationalID: acct.NationalID, Name: acct.HolderName}
	var ans *models.RegistryAnswer
	ans, err = d.registry.Lookup(ctx, q)
	captureInfo := map[string]any{"check": shot.ID, "evidence": capture.ID, "sha256": capture.SHA256, "taken_at": shot.CreatedAt,
		"age_seconds": int64(out.CaptureAge.Seconds()), "call": shot.Call, "segment": shot.Segment, "media_ms": shot.MediaMS}
	var photoAssessment *facematch.Assessment // what the calibration says about the registry photo's score
	snapshot := map[string]any{"request": map[string]string{"id_number": q.NationalID, "name": q.Name}, "requested_at": now, "operator": a.Name,
		"service_hours": out.Hours, "within_service_hours": out.WithinHours, "live_capture": captureInfo,
		"max_data_age_seconds": int64(maxDataAge.Seconds()), "max_capture_age_seconds": int64(captureMaxAge.Seconds())}
	result := models.ResultUnavailable
	switch {
	case err != nil:
		out.Unavailable = models.ErrorMessageOf(err)
		snapshot["error"] = out.Unavailable
		if code := models.ErrorCodeOf(err); code != models.EUNAVAILABLE && code != models.EINVALID {
			d.svc.log.WarnContext(ctx, "registry lookup", "case_id", id, "err", err)
		}
	default:
		out.Status, out.NameMatch, out.Elapsed = ans.Status, ans.NameMatch, ans.Elapsed
		if json.Valid(ans.Raw) {
			snapshot["response"] = json.RawMessage(ans.Raw)
		} else {
			snapshot["response_raw"] = string(ans.Raw)
		}
		snapshot["elapsed_ms"] = ans.Elapsed.Milliseconds()
		snapshot["data_as_of"] = ans.DataAsOf
		if ans.Status != models.RegistryValid {
			out.Reasons = append(out.Reasons, "the registry says the ID is "+ans.Status)
		}
		if !ans.NameMatch {
			out.Reasons = append(out.Reasons, "the name does not match the registry's")
		}
		switch {
		case ans.DataAsOf.IsZero():
			out.Reasons = append(out.Reasons, "the registry gave no data_as_of: the age of its data is unknown")
		default:
			out.DataAge = now.Sub(ans.DataAsOf)
			snapshot["data_age_seconds"] = int64(out.DataAge.Seconds())
			if out.DataAge > maxDataAge {
				out.Reasons = append(out.Reasons, fmt.Sprintf("the registry's data is %s old (at most %s)", out.DataAge.Round(time.Second), maxDataAge))
			} else if out.DataAge < -registryClockSkew {
				out.Reasons = append(out.Reasons, fmt.Sprintf("the registry's data_as_of is %s in the future", (-out.DataAge).Round(time.Second)))
			}
		}
		if len(ans.Photo) == 0 {
			out.PhotoMatch = "no_photo"
			out.Reasons = append(out.Reasons, "the registry sent no photo to compare with the live capture")
		} else {
			sum := sha256.Sum256(ans.Photo)
			out.RegistryPhotoSHA256 = hex.EncodeToString(sum[:])
			out.PhotoMatch, photoAssessment = d.registryPhotoMatch(ctx, ans.Photo, capture)
			if out.PhotoMatch != facematch.DecisionMatch.String() {
				out.Reasons = append(out.Reasons, "registry photo against the live capture: "+out.PhotoMatch)
			}
		}
		snapshot["registry_photo_sha256"] = out.RegistryPhotoSHA256
		snapshot["photo_match"] = out.PhotoMatch
		snapshot["photo_assessment"] = photoAssessment
		result = models.ResultFail
		if len(out.Reasons) == 0 {
			result = models.ResultPass
		}
	}
	if out.Unavailable != "" {
		out.Reasons = append(out.Reasons, "registry unavailable: "+out.Unavailable)
	}
	snapshot["result"], snapshot["reasons"] = result, out.Reasons
	body, err := json.Marshal(snapshot)
	if err != nil {
		return nil, fmt.Errorf("registry check of %s: %w", id, err)
	}
	snapshotSHA := sha256Hex(body)
	detail, _ := json.Marshal(map[string]any{"status": out.Status, "name_match": out.NameMatch, "photo_match": out.PhotoMatch,
		"data_age_seconds": int64(out.DataAge.Seconds()), "max_data_age_seconds": int64(maxDataAge.Seconds()), "elapsed_ms": out.Elapsed.Milliseconds(),
		"service_hours": out.Hours, "within_service_hours": out.WithinHours, "unavailable": out.Unavailable, "operator": a.Name, "at": now,
		"snapshot_sha256": snapshotSHA, "capture_check": shot.ID, "capture_sha256": capture.SHA256, "capture_age_seconds": int64(out.CaptureAge.Seconds()),
		"max_capture_age_seconds": int64(captureMaxAge.Seconds()), "registry_photo_sha256": out.RegistryPhotoSHA256, "reasons": out.Reasons,
		"photo_assessment": photoAssessment})
	cid, err := models.NewID(d.svc.rand, "chk")
	if err != nil {
		return nil, err
	}
	chk := &models.Check{ID: models.CheckID(cid), CaseID: id, Kind: models.CheckRegistry, Result: result, Detail: detail, Actor: a.Name, CreatedAt: now}
	evs, err := d.svc.recordEvidence(ctx, id, a.Name, []artifact{{Kind: models.EvidenceRegistry, ContentType: "application/json", Data: body}}, func(tx models.Tx, evs []*models.Evidence) error {
		if _, err := d.clerkCase(ctx, tx, a, id); err != nil {
			return err
		}
		ev := evs[0]
		chk.Evidence = ev.ID
		if err := tx.CreateCheck(ctx, chk); err != nil {
			return err
		}
		ed := map[string]string{"check": cid, "result": string(result), "status": out.Status,
			"name_match": fmt.Sprint(out.NameMatch), "photo_match": out.PhotoMatch, "snapshot_sha256": ev.SHA256,
			"capture_check": string(shot.ID), "capture_sha256": capture.SHA256, "registry_photo_sha256": out.RegistryPhotoSHA256,
			"data_age_seconds": fmt.Sprint(int64(out.DataAge.Seconds())), "reasons": strings.Join(out.Reasons, "; ")}
		if photoAssessment != nil {
			ed["photo_evidence_strength"] = "calibrated"
			if photoAssessment.Weak {
				ed["photo_evidence_strength"] = "weak"
			}
		}
		return d.svc.event(ctx, tx, a.Name, id, "check.registry", ed)
	})
	if err != nil {
		return nil, fmt.Errorf("registry check of %s: %w", id, err)
	}
	out.Check, out.SnapshotHash = chk, evs[0].SHA256
	return out, nil
}

// registryPhotoMatch matches the registry photo against the live capture,
// decided at the threshold in force, with what the calibration says about
// the score (nil when no score was made).
func (d *Desk) registryPhotoMatch(ctx context.Context, photo []byte, capture *models.Evidence) (string, *facematch.Assessment) {
	if faceLoaded(d.svc.face) != nil {
		return "engine_unavailable", nil
	}
	img, err := d.readEvidence(ctx, capture)
	if err != nil {
		d.svc.log.WarnContext(ctx, "registry photo match: read capture", "err", err)
		return "engine_unavailable", nil
	}
	en, err := d.svc.face.Enroll(ctx, photo)
	if err != nil {
		return facematch.DecisionUnusable.String(), nil
	}
	res, err := d.svc.face.Match(ctx, img, []facematch.Reference{{ID: "registry", Descriptor: en.Descriptor, ModelHash: d.svc.face.ModelHash()}})
	if err != nil {
		return "engine_unavailable", nil
	}
	if err := d.svc.assess(ctx, &res); err != nil {
		d.svc.log.WarnContext(ctx, "registry photo match: calibration", "err", err)
		return "engine_unavailable", nil
	}
	return res.Decision.String(), res.Assessment
}
