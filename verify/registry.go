package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"remoteidv/models"
	"remoteidv/verify/face"
)

// RegistryCheck is a recorded registry check and what the clerk sees.
type RegistryCheck struct {
	Check        *models.Check
	Status       string // valid, invalid, deceased, or unavailable
	NameMatch    bool
	PhotoMatch   string // MATCH, NO_MATCH, UNUSABLE, no_photo, no_capture, engine_unavailable
	DataAge      time.Duration
	Elapsed      time.Duration
	Hours        string // the registry's service hours, e.g. "07:30-19:00 Asia/Shanghai"
	WithinHours  bool
	Unavailable  string // why the registry could not answer
	SnapshotHash string
}

// RegistryHours describes the registry's service hours and whether t lies
// within them.
func (s *Service) RegistryHours(t time.Time) (string, bool) {
	local := t.In(s.Cfg.RegistryTZ)
	since := time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute
	return fmt.Sprintf("%s-%s %s", clock(s.Cfg.RegistryOpen), clock(s.Cfg.RegistryClose), s.Cfg.RegistryTZ), since >= s.Cfg.RegistryOpen && since < s.Cfg.RegistryClose
}

// RunRegistryCheck asks the national ID registry about the account holder
// (ID number and name), records the request, the response snapshot
// (evidence), the time, the operator and the data's age, and matches the
// registry photo against the case's latest live capture when there is one.
// It passes only when the ID is valid, the name matches and the photo
// matches when there is both a registry photo and a live capture; a
// photo that does not match, or cannot be matched because the face engine
// is down, fails. A timeout or error is recorded as UNAVAILABLE,
// never as a pass.
func (d *Desk) RunRegistryCheck(ctx context.Context, a Actor, id models.CaseID) (*RegistryCheck, error) {
	if d.Stager == nil {
		return nil, models.Errorf(models.EUNAVAILABLE, "evidence staging is not configured")
	}
	var acct *models.Account
	var capture *models.Evidence
	err := d.Store.Transact(ctx, func(tx models.Tx) error {
		c, err := d.clerkCase(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if acct, err = tx.AccountByNo(ctx, c.AccountNo); err != nil {
			return err
		}
		items, err := tx.EvidenceByCase(ctx, c.ID)
		for _, e := range items {
			if e.Kind == models.EvidenceCapture {
				capture = e
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("registry check of %s: %w", id, err)
	}
	now := d.Now().UTC()
	out := &RegistryCheck{Status: "unavailable", PhotoMatch: "not_run"}
	out.Hours, out.WithinHours = d.RegistryHours(now)
	q := models.RegistryQuery{NationalID: acct.NationalID, Name: acct.HolderName}
	var ans *models.RegistryAnswer
	if d.Registry == nil {
		err = models.Errorf(models.EUNAVAILABLE, "no registry is configured")
	} else {
		ans, err = d.Registry.Lookup(ctx, q)
	}
	snapshot := map[string]any{"request": map[string]string{"id_number": q.NationalID, "name": q.Name}, "requested_at": now, "operator": a.Name,
		"service_hours": out.Hours, "within_service_hours": out.WithinHours}
	result := "UNAVAILABLE"
	switch {
	case err != nil:
		out.Unavailable = models.ErrorMessageOf(err)
		snapshot["error"] = out.Unavailable
		if code := models.ErrorCodeOf(err); code != models.EUNAVAILABLE && code != models.EINVALID {
			d.Log.WarnContext(ctx, "registry lookup", "case_id", id, "err", err)
		}
	default:
		out.Status, out.NameMatch, out.Elapsed = ans.Status, ans.NameMatch, ans.Elapsed
		if !ans.DataAsOf.IsZero() {
			out.DataAge = now.Sub(ans.DataAsOf)
		}
		if json.Valid(ans.Raw) {
			snapshot["response"] = json.RawMessage(ans.Raw)
		} else {
			snapshot["response_raw"] = string(ans.Raw)
		}
		snapshot["elapsed_ms"] = ans.Elapsed.Milliseconds()
		snapshot["data_as_of"] = ans.DataAsOf
		out.PhotoMatch = d.registryPhotoMatch(ctx, ans.Photo, capture)
		snapshot["photo_match"] = out.PhotoMatch
		result = "FAIL"
		if ans.Status == models.RegistryValid && ans.NameMatch && (out.PhotoMatch == "MATCH" || out.PhotoMatch == "no_capture" || out.PhotoMatch == "no_photo") {
			result = "PASS"
		}
	}
	body, err := json.Marshal(snapshot)
	if err != nil {
		return nil, fmt.Errorf("registry check of %s: %w", id, err)
	}
	ev, err := d.Stager.Stage(ctx, id, models.EvidenceRegistry, "application/json", body, a.Name)
	if err != nil {
		return nil, fmt.Errorf("registry check of %s: stage snapshot: %w", id, err)
	}
	staged := *ev
	detail, _ := json.Marshal(map[string]any{"status": out.Status, "name_match": out.NameMatch, "photo_match": out.PhotoMatch,
		"data_age_seconds": int64(out.DataAge.Seconds()), "elapsed_ms": out.Elapsed.Milliseconds(), "service_hours": out.Hours,
		"within_service_hours": out.WithinHours, "unavailable": out.Unavailable, "operator": a.Name, "at": now, "snapshot_sha256": ev.SHA256})
	cid, err := models.NewID(d.Rand, "chk")
	if err != nil {
		return nil, err
	}
	chk := &models.Check{ID: models.CheckID(cid), CaseID: id, Kind: models.CheckRegistry, Result: result, Detail: detail, Actor: a.Name, CreatedAt: now}
	err = d.Store.Transact(ctx, func(tx models.Tx) error {
		if _, err := d.clerkCase(ctx, tx, a, id); err != nil {
			return err
		}
		*ev = staged
		if err := tx.AddEvidence(ctx, ev); err != nil {
			return err
		}
		chk.Evidence = ev.ID
		if err := tx.CreateCheck(ctx, chk); err != nil {
			return err
		}
		return d.event(ctx, tx, a.Name, id, "check.registry", map[string]string{"check": cid, "result": result, "status": out.Status,
			"name_match": fmt.Sprint(out.NameMatch), "photo_match": out.PhotoMatch, "snapshot_sha256": ev.SHA256})
	})
	if err != nil || ev.ID != staged.ID {
		_ = d.Stager.Discard(&staged)
	}
	if err != nil {
		return nil, fmt.Errorf("registry check of %s: %w", id, err)
	}
	out.Check, out.SnapshotHash = chk, ev.SHA256
	return out, nil
}

// registryPhotoMatch matches the registry photo against the live capture.
func (d *Desk) registryPhotoMatch(ctx context.Context, photo []byte, capture *models.Evidence) string {
	switch {
	case len(photo) == 0:
		return "no_photo"
	case capture == nil:
		return "no_capture"
	case d.Face == nil:
		return "engine_unavailable"
	}
	img, err := d.readEvidence(ctx, capture)
	if err != nil {
		d.Log.WarnContext(ctx, "registry photo match: read capture", "err", err)
		return "engine_unavailable"
	}
	en, err := d.Face.Enroll(ctx, photo)
	if err != nil {
		return "UNUSABLE"
	}
	res, err := d.Face.Match(ctx, img, []face.Reference{{ID: "registry", Descriptor: en.Descriptor, ModelHash: d.Face.ModelHash()}})
	if err != nil {
		return "engine_unavailable"
	}
	return res.Decision.String()
}
