package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"strings"

	"remoteidv/models"
)

// Region is a rectangle on the letter: pixels for image letters, PDF points
// on the first page for PDF letters.
type Region struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Signature verdicts.
const (
	VerdictPass         = "pass"
	VerdictFail         = "fail"
	VerdictInconclusive = "inconclusive"
)

// SignatureInput is the clerk's side-by-side comparison.
type SignatureInput struct {
	Letter  models.LetterID
	Region  Region
	Verdict string
	Reason  string
}

// Specimen returns the account's signature specimen for a side-by-side
// view, to the case's clerk or a supervisor. Every view is audited.
func (d *Desk) Specimen(ctx context.Context, a Actor, id models.CaseID) (*models.AccountImage, error) {
	var out *models.AccountImage
	err := d.svc.store.Transact(ctx, func(tx models.Tx) error {
		c, err := d.svc.authorize(ctx, tx, a, id, documentRule, "view the signature specimen")
		if err != nil {
			return err
		}
		imgs, err := tx.AccountImages(ctx, c.AccountNo, models.ImageSignature)
		if err != nil {
			return err
		}
		if len(imgs) == 0 {
			return models.Errorf(models.ENOTFOUND, "the account has no signature specimen on file")
		}
		out = imgs[len(imgs)-1]
		return d.svc.event(ctx, tx, a.Name, c.ID, "specimen.viewed", map[string]string{"image": fmt.Sprint(out.ID), "sha256": out.SHA256})
	})
	if err != nil {
		return nil, fmt.Errorf("specimen for %s: %w", id, err)
	}
	return out, nil
}

// ReferencePhoto returns the n-th reference photo (0, 1, ...) of the case's
// account, for the side-by-side comparison with a live capture, to the
// case's clerk or a supervisor. Every view is audited.
func (s *Service) ReferencePhoto(ctx context.Context, a Actor, id models.CaseID, n int) (*models.AccountImage, error) {
	if n < 0 {
		return nil, models.Errorf(models.EINVALID, "n must be the photo's index: 0, 1, ...")
	}
	var out *models.AccountImage
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		c, err := s.authorize(ctx, tx, a, id, documentRule, "view the account's reference photos")
		if err != nil {
			return err
		}
		imgs, err := tx.AccountImages(ctx, c.AccountNo, models.ImagePhoto)
		if err != nil {
			return err
		}
		if n >= len(imgs) {
			return models.Errorf(models.ENOTFOUND, "the account has %d reference photos", len(imgs))
		}
		out = imgs[n]
		return s.event(ctx, tx, a.Name, c.ID, "reference.viewed", map[string]string{"image": fmt.Sprint(out.ID), "sha256": out.SHA256})
	})
	if err != nil {
		return nil, fmt.Errorf("reference photo %d of %s: %w", n, id, err)
	}
	return out, nil
}

// LetterContent returns a letter's bytes and type for viewing, to the
// case's clerk or a supervisor. Every view is audited.
func (d *Desk) LetterContent(ctx context.Context, a Actor, id models.CaseID, letter models.LetterID) ([]byte, string, error) {
	var e *models.Evidence
	err := d.svc.store.Transact(ctx, func(tx models.Tx) error {
		c, err := d.svc.authorize(ctx, tx, a, id, documentRule, "view the case's letters")
		if err != nil {
			return err
		}
		l, err := d.letter(ctx, tx, c.ID, letter)
		if err != nil {
			return err
		}
		if e, err = tx.EvidenceByID(ctx, l.Evidence); err != nil {
			return err
		}
		return d.svc.event(ctx, tx, a.Name, c.ID, "letter.viewed", map[string]string{"letter": string(letter), "sha256": e.SHA256})
	})
	if err != nil {
		return nil, "", fmt.Errorf("letter %s: %w", letter, err)
	}
	b, err := d.readEvidence(ctx, e)
	if err != nil {
		return nil, "", err
	}
	return b, e.ContentType, nil
}

// RecordSignature records the clerk's verdict on the letter's signature
// against the specimen: the region marked on the letter, pass, fail or
// inconclusive, and a reason (required). The crop of the region (image
// letters), a copy of the specimen and the verdict are evidence. The
// latest signature check of a case is the one that counts.
func (d *Desk) RecordSignature(ctx context.Context, a Actor, id models.CaseID, in SignatureInput) (*models.Check, error) {
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Reason == "" || len(in.Reason) > maxReason {
		return nil, models.Errorf(models.EINVALID, "a reason of 1 to %d characters is required", maxReason)
	}
	result := map[string]models.CheckResult{VerdictPass: models.ResultPass, VerdictFail: models.ResultFail, VerdictInconclusive: models.ResultInconclusive}[in.Verdict]
	if result == "" {
		return nil, models.Errorf(models.EINVALID, "verdict must be pass, fail or inconclusive")
	}
	r := in.Region
	if r.X < 0 || r.Y < 0 || r.W <= 0 || r.H <= 0 || r.W > 20000 || r.H > 20000 {
		return nil, models.Errorf(models.EINVALID, "region x, y must be >= 0 and w, h > 0")
	}
	var l *models.Letter
	var letterEv *models.Evidence
	var specimen *models.AccountImage
	err := d.svc.store.Transact(ctx, func(tx models.Tx) error {
		c, err := d.clerkCase(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if l, err = d.letter(ctx, tx, c.ID, in.Letter); err != nil {
			return err
		}
		if letterEv, err = tx.EvidenceByID(ctx, l.Evidence); err != nil {
			return err
		}
		imgs, err := tx.AccountImages(ctx, c.AccountNo, models.ImageSignature)
		if err != nil {
			return err
		}
		if len(imgs) == 0 {
			return models.Errorf(models.EPRECONDITION, "the account has no signature specimen on file")
		}
		specimen = imgs[len(imgs)-1]
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("signature check of %s: %w", id, err)
	}
	var arts []artifact // the crop (image letters), the specimen, the verdict
	detail := map[string]any{"letter": l.ID, "letter_sha256": letterEv.SHA256, "region": r, "verdict": in.Verdict, "reason": in.Reason,
		"specimen_sha256": specimen.SHA256, "operator": a.Name, "at": d.svc.now().UTC()}
	if l.ContentType != "application/pdf" {
		if r.X+r.W > l.Width || r.Y+r.H > l.Height {
			return nil, models.Errorf(models.EINVALID, "region %dx%d+%d+%d lies outside the %dx%d letter", r.W, r.H, r.X, r.Y, l.Width, l.Height)
		}
		b, err := d.readEvidence(ctx, letterEv)
		if err != nil {
			return nil, fmt.Errorf("signature check of %s: %w", id, err)
		}
		img, _, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("signature check of %s: decode letter: %w", id, err)
		}
		sub, ok := img.(interface {
			SubImage(image.Rectangle) image.Image
		})
		if !ok {
			return nil, fmt.Errorf("signature check of %s: letter image cannot be cropped", id)
		}
		min := img.Bounds().Min
		var out bytes.Buffer
		if err := png.Encode(&out, sub.SubImage(image.Rect(min.X+r.X, min.Y+r.Y, min.X+r.X+r.W, min.Y+r.Y+r.H))); err != nil {
			return nil, fmt.Errorf("signature check of %s: crop: %w", id, err)
		}
		arts = append(arts, artifact{Kind: models.EvidenceSignature, ContentType: "image/png", Data: out.Bytes()})
		detail["crop_sha256"] = sha256Hex(out.Bytes())
	}
	arts = append(arts, artifact{Kind: models.EvidenceSpecimen, ContentType: specimen.ContentType, Data: specimen.Data})
	verdictJSON, err := json.Marshal(detail)
	if err != nil {
		return nil, err
	}
	arts = append(arts, artifact{Kind: models.EvidenceCheck, ContentType: "application/json", Data: verdictJSON})
	cid, err := models.NewID(d.svc.rand, "chk")
	if err != nil {
		return nil, err
	}
	chk := &models.Check{ID: models.CheckID(cid), CaseID: id, Kind: models.CheckSignature, Result: result, Detail: verdictJSON, Actor: a.Name, CreatedAt: d.svc.now().UTC()}
	_, err = d.svc.recordEvidence(ctx, id, a.Name, arts, func(tx models.Tx, evs []*models.Evidence) error {
		if _, err := d.clerkCase(ctx, tx, a, id); err != nil {
			return err
		}
		verdictEv := evs[len(evs)-1]
		chk.Evidence = verdictEv.ID
		if err := tx.CreateCheck(ctx, chk); err != nil {
			return err
		}
		return d.svc.event(ctx, tx, a.Name, id, "check.signature", map[string]string{"check": cid, "letter": string(l.ID), "verdict": in.Verdict,
			"region": fmt.Sprintf("%d,%d,%d,%d", r.X, r.Y, r.W, r.H), "verdict_sha256": verdictEv.SHA256})
	})
	if err != nil {
		return nil, fmt.Errorf("signature check of %s: %w", id, err)
	}
	return chk, nil
}
