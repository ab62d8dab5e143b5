package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"remoteidv/models"
	"remoteidv/verify/face"
)

// FaceEngine is the face engine as the workflow uses it; *face.Engine
// implements it.
type FaceEngine interface {
	Enroll(ctx context.Context, img []byte) (face.Enrollment, error)
	Match(ctx context.Context, img []byte, refs []face.Reference) (face.MatchResult, error)
	ModelHash() face.ModelHash
}

// Stager keeps an artifact's bytes until the archiver stores them, and
// returns the evidence row the caller inserts in the same transaction as
// the event that produced the artifact (storage/archiver implements it).
type Stager interface {
	Stage(ctx context.Context, c models.CaseID, kind models.EvidenceKind, contentType string, data []byte, actor string) (*models.Evidence, error)
	// Discard removes a staged file whose row was not kept.
	Discard(e *models.Evidence) error
}

// FaceCheck is a recorded face match and the engine's full answer.
type FaceCheck struct {
	Check *models.Check
	Match face.MatchResult
}

// References returns the descriptors of an account's usable reference
// photos for the loaded models, computing and storing any that are missing
// (first use, or the model files changed). Photos without exactly one
// usable face are skipped and stay flagged.
func (s *Service) References(ctx context.Context, no models.AccountNo) ([]face.Reference, error) {
	if s.Face == nil {
		return nil, models.Errorf(models.EUNAVAILABLE, "the face engine is not loaded")
	}
	hash := string(s.Face.ModelHash())
	var photos []*models.AccountImage
	var stored []*models.FaceReference
	err := s.Store.Transact(ctx, func(tx models.Tx) (err error) {
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
	var refs []face.Reference
	for _, p := range photos {
		desc, ok := have[p.ID]
		if !ok {
			if p.Problem != "" {
				continue
			}
			en, err := s.Face.Enroll(ctx, p.Data)
			var rej *face.RejectedError
			if errors.As(err, &rej) {
				s.Log.WarnContext(ctx, "reference photo unusable", "account", models.MaskAccountNo(no), "image", p.ID, "status", rej.Status)
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("enroll photo %d: %w", p.ID, err)
			}
			desc, err = en.Descriptor.MarshalBinary()
			if err != nil {
				return nil, err
			}
			ref := &models.FaceReference{ImageID: p.ID, ModelHash: hash, Descriptor: desc, CreatedAt: s.Now().UTC()}
			if err := s.Store.Transact(ctx, func(tx models.Tx) error { return tx.PutFaceReference(ctx, ref) }); err != nil {
				return nil, fmt.Errorf("store descriptor of photo %d: %w", p.ID, err)
			}
		}
		var d face.Descriptor
		if err := d.UnmarshalBinary(desc); err != nil {
			return nil, fmt.Errorf("descriptor of photo %d: %w", p.ID, err)
		}
		refs = append(refs, face.Reference{ID: "photo:" + strconv.FormatInt(p.ID, 10), Descriptor: d, ModelHash: face.ModelHash(hash)})
	}
	return refs, nil
}

// RunFaceCheck matches a capture (JPEG or PNG) of the customer against the
// account's reference photos and records the outcome with the capture as
// evidence. The score informs; the clerk must still confirm visually.
func (s *Service) RunFaceCheck(ctx context.Context, a Actor, id models.CaseID, img []byte) (*FaceCheck, error) {
	c, err := s.authorized(ctx, a, id, clerkRule, "run face checks")
	if err != nil {
		return nil, err
	}
	if s.Stager == nil {
		return nil, models.Errorf(models.EUNAVAILABLE, "evidence staging is not configured")
	}
	if c.State != models.StateScheduled && c.State != models.StateInSession {
		return nil, models.Errorf(models.ECONFLICT, "case is %s: face checks run before submission", c.State)
	}
	refs, err := s.References(ctx, c.AccountNo)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, models.Errorf(models.EPRECONDITION, "the account has no reference photo with a usable face; an admin must re-import it")
	}
	res, err := s.Face.Match(ctx, img, refs)
	if err != nil {
		return nil, fmt.Errorf("face check of %s: %w", id, err)
	}
	// Input that is not a usable image file is refused and not kept; a real
	// photo without a usable face is recorded as an UNUSABLE check.
	switch res.Status {
	case face.StatusTooLarge, face.StatusTooManyPixels:
		return nil, models.Errorf(models.ETOOLARGE, "capture refused: %s (%s)", res.Status, res.Detail)
	case face.StatusNotAnImage, face.StatusUnsupportedFormat:
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
	ev, err := s.Stager.Stage(ctx, c.ID, models.EvidenceCapture, contentType, img, a.Name)
	if err != nil {
		return nil, fmt.Errorf("face check of %s: stage capture: %w", id, err)
	}
	cid, err := models.NewID(s.Rand, "chk")
	if err != nil {
		return nil, err
	}
	chk := &models.Check{ID: models.CheckID(cid), CaseID: c.ID, Kind: models.CheckFaceMatch, Result: res.Decision.String(),
		Detail: detail, Evidence: ev.ID, Actor: a.Name, CreatedAt: s.Now().UTC()}
	staged := *ev
	err = s.Store.Transact(ctx, func(tx models.Tx) error {
		*ev = staged
		if err := tx.AddEvidence(ctx, ev); err != nil {
			return err
		}
		chk.Evidence = ev.ID
		if err := tx.CreateCheck(ctx, chk); err != nil {
			return err
		}
		d := map[string]string{"check": cid, "decision": res.Decision.String(), "status": res.Status.String(),
			"threshold": strconv.FormatFloat(res.Threshold, 'f', 4, 64), "model_hash": string(res.ModelHash), "capture_sha256": ev.SHA256}
		if !math.IsInf(res.Distance, 0) {
			d["distance"] = strconv.FormatFloat(res.Distance, 'f', 4, 64)
		}
		return s.event(ctx, tx, a.Name, c.ID, "check.face_match", d)
	})
	if err != nil || ev.ID != staged.ID { // not kept, or the same capture was already on file
		if derr := s.Stager.Discard(&staged); derr != nil {
			s.Log.ErrorContext(ctx, "discard staged capture", "err", derr)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("face check of %s: %w", id, err)
	}
	return &FaceCheck{Check: chk, Match: res}, nil
}

// jsonSafe replaces the +Inf distance of an unusable capture, which JSON
// cannot carry, by 0 (the decision says UNUSABLE).
func jsonSafe(r face.MatchResult) face.MatchResult {
	if math.IsInf(r.Distance, 0) || math.IsNaN(r.Distance) {
		r.Distance = 0
	}
	return r
}

// ConfirmFace records the clerk's side-by-side visual judgement of a face
// check: confirmed (same person) or rejected, with a note. A face check
// counts towards submission only when it matched AND the clerk confirmed.
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
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		c, err := s.authorize(ctx, tx, a, id, clerkRule, "confirm its face checks")
		if err != nil {
			return err
		}
		chk, err := tx.CheckByID(ctx, check)
		if err != nil || chk.CaseID != c.ID || chk.Kind != models.CheckFaceMatch {
			return models.Errorf(models.ENOTFOUND, "face check %s not found in case %s", check, id)
		}
		now := s.Now().UTC()
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
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		c, err := s.visibleCase(ctx, tx, a, id)
		if err != nil {
			return err
		}
		out, err = tx.ChecksByCase(ctx, c.ID)
		return err
	})
	return out, err
}
