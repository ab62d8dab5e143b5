package verify

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strconv"

	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/statement"
)

// evidenceRead checks the actor may read the case's evidence
// (evidenceCase) and records the read (who, what, when) in the audit chain
// before anything is returned. fn runs in the same transaction.
func (s *Service) evidenceRead(ctx context.Context, a Actor, id models.CaseID, action string, detail map[string]string, fn func(tx models.Tx, c *models.Case) error) error {
	return s.store.Transact(ctx, func(tx models.Tx) error {
		c, err := s.evidenceCase(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if err := fn(tx, c); err != nil {
			return err
		}
		return s.event(ctx, tx, a.Name, id, action, detail)
	})
}

// EvidenceList returns the case's evidence rows (with their hashes and
// archive state). The read is audited.
func (s *Service) EvidenceList(ctx context.Context, a Actor, id models.CaseID) ([]*models.Evidence, error) {
	var out []*models.Evidence
	err := s.evidenceRead(ctx, a, id, "evidence.listed", nil, func(tx models.Tx, _ *models.Case) (err error) {
		out, err = tx.EvidenceByCase(ctx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list evidence of %s: %w", id, err)
	}
	return out, nil
}

// OpenEvidence audits the read, then opens one archived item from the
// evidence store. The reader re-hashes what it returns: at the end it
// fails with ECONFLICT if the bytes differ from the recorded size or
// SHA-256 (the caller must abort the download and raise an alert).
func (s *Service) OpenEvidence(ctx context.Context, a Actor, id models.CaseID, ev models.EvidenceID) (io.ReadCloser, *models.Evidence, error) {
	return s.openEvidence(ctx, a, id, ev, "evidence.downloaded", "")
}

// OpenRecording is OpenEvidence for watching a recorded video segment
// (VP8 in IVF) in the browser: the read is audited as a playback, and any
// other item is refused.
func (s *Service) OpenRecording(ctx context.Context, a Actor, id models.CaseID, ev models.EvidenceID) (io.ReadCloser, *models.Evidence, error) {
	return s.openEvidence(ctx, a, id, ev, "evidence.played", "video/x-ivf")
}

// maxPreviewPDF caps the PDF EvidencePreview reads into memory (letters
// are at most 10 MiB, statements far less).
const maxPreviewPDF = 16 << 20

// EvidencePreview draws the first page of a PDF item (the letter, the
// statement) as a PNG (statement.FirstPagePNG), for the auditor's page.
// The read is audited as evidence.previewed and the item re-hashed as it
// is read (ECONFLICT on a mismatch); any other type is EUNSUPPORTED, and
// EUNAVAILABLE without pdftoppm.
func (s *Service) EvidencePreview(ctx context.Context, a Actor, id models.CaseID, ev models.EvidenceID) ([]byte, *models.Evidence, error) {
	r, e, err := s.openEvidence(ctx, a, id, ev, "evidence.previewed", "application/pdf")
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	pdf, err := io.ReadAll(io.LimitReader(r, maxPreviewPDF+1))
	if err != nil {
		return nil, nil, fmt.Errorf("preview evidence %s: %w", ev, err)
	}
	if len(pdf) > maxPreviewPDF {
		return nil, nil, models.Errorf(models.EUNSUPPORTED, "evidence %s is larger than %d bytes: download it instead", ev, maxPreviewPDF)
	}
	png, err := statement.FirstPagePNG(ctx, pdf)
	if err != nil {
		return nil, nil, fmt.Errorf("preview evidence %s: %w", ev, err)
	}
	return png, e, nil
}

func (s *Service) openEvidence(ctx context.Context, a Actor, id models.CaseID, ev models.EvidenceID, action, onlyType string) (io.ReadCloser, *models.Evidence, error) {
	var e *models.Evidence
	err := s.evidenceRead(ctx, a, id, action, map[string]string{"evidence": string(ev)}, func(tx models.Tx, _ *models.Case) (err error) {
		if !models.ValidID("evd", string(ev)) {
			return models.Errorf(models.ENOTFOUND, "evidence %s not found", ev)
		}
		e, err = tx.EvidenceByID(ctx, ev)
		if models.ErrorCodeOf(err) == models.ENOTFOUND || (err == nil && e.CaseID != id) {
			return models.Errorf(models.ENOTFOUND, "evidence %s not found", ev)
		}
		if err != nil {
			return err
		}
		if e.ExpiredAt != nil {
			return models.Errorf(models.EGONE, "evidence %s passed its retention and was deleted on %s", ev, e.ExpiredAt.Format("2006-01-02"))
		}
		if onlyType != "" && e.ContentType != onlyType {
			what := map[string]string{"video/x-ivf": "a recorded video", "application/pdf": "a PDF"}[onlyType]
			return models.Errorf(models.EUNSUPPORTED, "evidence %s is %s, not %s; download it instead", ev, e.ContentType, what)
		}
		if e.ArchivedAt == nil {
			return models.Errorf(models.ECONFLICT, "evidence %s is not archived yet", ev)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("open evidence %s: %w", ev, err)
	}
	r, _, err := s.evidence.Get(ctx, e.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("open evidence %s: %w", ev, err)
	}
	return &checkedReader{r: r, h: sha256.New(), key: e.Key, size: e.Size, sum: e.SHA256}, e, nil
}

// checkedReader hashes while reading and fails at EOF on a mismatch.
type checkedReader struct {
	r    io.ReadCloser
	h    hash.Hash
	n    int64
	key  string
	size int64
	sum  string
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err == io.EOF {
		if got := hex.EncodeToString(c.h.Sum(nil)); got != c.sum || c.n != c.size {
			return n, models.Errorf(models.ECONFLICT, "%s: the store returned %d bytes with SHA-256 %s, recorded %d bytes with %s", c.key, c.n, got, c.size, c.sum)
		}
	}
	return n, err
}

func (c *checkedReader) Close() error { return c.r.Close() }

// WriteBundle audits the read and writes the sealed case's evidence bundle
// to w (see audit.WriteBundle): the manifest re-read from the store and
// checked, its signature, the public key, the Merkle log's leaves from
// seq 1 to the seal event with the case's events in full (other cases'
// events only as leaves), the proof that this log is a prefix of the
// newest signed checkpoint's, the checkpoints, and every artifact
// re-hashed while streamed.
func (s *Service) WriteBundle(ctx context.Context, a Actor, id models.CaseID, w io.Writer) error {
	var rec *SealRecord
	var events []*models.AuditEvent
	var cps []*models.Checkpoint
	err := s.evidenceRead(ctx, a, id, "evidence.bundle_downloaded", nil, func(tx models.Tx, c *models.Case) (err error) {
		if rec, err = sealRecord(ctx, tx, id); err != nil {
			return err
		}
		items, err := tx.EvidenceByCase(ctx, id)
		if err != nil {
			return err
		}
		for _, e := range items {
			if e.ExpiredAt != nil {
				return models.Errorf(models.EGONE, "the case's evidence passed its retention and was deleted on %s: no bundle can be made", e.ExpiredAt.Format("2006-01-02"))
			}
		}
		events, err = tx.AuditEvents(ctx, models.AuditFilter{Limit: int(rec.Event.Seq)})
		return err
	})
	if err != nil {
		return fmt.Errorf("evidence bundle of %s: %w", id, err)
	}
	_, body, err := s.readManifest(ctx, rec)
	if err != nil {
		return fmt.Errorf("evidence bundle of %s: %w", id, err)
	}
	// The proof that the log up to the seal event is a prefix of the
	// newest signed checkpoint's (written now when none covers the seal).
	proof, _, err := audit.Checkpointer{Store: s.store, Key: s.key, Now: s.now}.ProveFrom(ctx, rec.Event.Seq)
	if err != nil {
		return fmt.Errorf("evidence bundle of %s: %w", id, err)
	}
	if cps, err = s.checkpoints(ctx); err != nil {
		return fmt.Errorf("evidence bundle of %s: %w", id, err)
	}
	err = audit.WriteBundle(w, audit.Bundle{Manifest: body, Signature: rec.Signature, PublicKey: s.key.Public().(ed25519.PublicKey),
		Events: events, Checkpoints: cps, Proof: proof}, func(it audit.ManifestItem) (io.ReadCloser, error) {
		r, _, err := s.evidence.Get(ctx, it.Key)
		return r, err
	})
	if err != nil {
		return fmt.Errorf("evidence bundle of %s: %w", id, err)
	}
	return nil
}

// SetLegalHold sets or clears the legal hold on one item (in the store)
// and records it. Only admins may; the HTTP layer also demands a recent
// step-up.
func (s *Service) SetLegalHold(ctx context.Context, a Actor, id models.CaseID, ev models.EvidenceID, on bool, reason string) error {
	if !a.has(models.RoleAdmin) {
		return models.Errorf(models.EFORBIDDEN, "only admins set or clear legal holds")
	}
	if reason == "" || len(reason) > 1000 {
		return models.Errorf(models.EINVALID, "a reason of 1 to 1000 characters is required")
	}
	action := "evidence.legal_hold_cleared"
	if on {
		action = "evidence.legal_hold_set"
	}
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		if !models.ValidID("evd", string(ev)) {
			return models.Errorf(models.ENOTFOUND, "evidence %s not found", ev)
		}
		e, err := tx.EvidenceByID(ctx, ev)
		if models.ErrorCodeOf(err) == models.ENOTFOUND || (err == nil && e.CaseID != id) {
			return models.Errorf(models.ENOTFOUND, "evidence %s not found", ev)
		}
		if err != nil {
			return err
		}
		if e.ArchivedAt == nil {
			return models.Errorf(models.ECONFLICT, "evidence %s is not archived yet", ev)
		}
		// The store call happens inside the transaction so that the audit
		// event is kept only if the hold really changed.
		if err := s.evidence.SetLegalHold(ctx, e.Key, on); err != nil {
			return err
		}
		return s.event(ctx, tx, a.Name, id, action, map[string]string{"evidence": string(ev), "key": e.Key, "on": strconv.FormatBool(on), "reason": reason})
	})
	if err != nil {
		return fmt.Errorf("legal hold on %s: %w", ev, err)
	}
	return nil
}

func (s *Service) checkpoints(ctx context.Context) ([]*models.Checkpoint, error) {
	var cps []*models.Checkpoint
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) { cps, err = tx.Checkpoints(ctx); return })
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	return cps, nil
}
