package verify

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
)

// SystemActor is the audit actor of sealing, which no person triggers.
const SystemActor = "system"

// maxManifest caps what is read back as a manifest.
const maxManifest = 16 << 20

// checkpointTimeout bounds CheckpointNow.
const checkpointTimeout = 30 * time.Second

// Seal seals an approved case once every evidence item is archived: it
// builds the manifest (every item's key, version, size, SHA-256, kind,
// time and actor; the audit chain head; a case summary), signs it, stores
// it in the evidence store, and then, in one transaction, records it as an
// evidence row (kind manifest, without a staged file: the archiver
// confirms it by read-back), appends the case.seal event carrying its
// SHA-256 and signature, and moves the case approved -> sealed. With the
// chain head locked, the seal event also lists the seqs of every earlier
// event of the case and digests the checkpoints signed so far
// (audit.SealBinding): a bundle must hold exactly those. After the commit
// it signs and publishes a checkpoint (CheckpointNow).
//
// It returns EPRECONDITION listing the items not yet archived, ECONFLICT
// when the case is not approved or its evidence changed meanwhile, and
// EUNAVAILABLE when the store is down. If the transaction fails after the
// manifest was stored, that object is an orphan nothing refers to (the
// store is write-once); the next attempt writes another.
//
// Approval belongs to a later issue; until then tests bring cases to
// approved through the store (tx.UpdateCase).
//
// Processes sealing at once (the sealer job of every node, a decision that
// seals at once) take the case's lease first: one of them seals, the
// others get EPRECONDITION, so no second manifest is written to the
// write-once store. A process that dies mid-seal leaves the lease to run
// out (sealLease); then the next attempt seals.
func (s *Service) Seal(ctx context.Context, id models.CaseID) (*models.Case, error) {
	lease := "seal:" + string(id)
	switch held, err := s.claim(ctx, lease, sealLease); {
	case err != nil:
		return nil, fmt.Errorf("seal case %s: %w", id, err)
	case !held:
		return nil, models.Errorf(models.EPRECONDITION, "case %s is being sealed by another process", id)
	}
	defer s.release(ctx, lease)
	return s.seal(ctx, id)
}

func (s *Service) seal(ctx context.Context, id models.CaseID) (*models.Case, error) {
	var c *models.Case
	var items []*models.Evidence
	var head models.AuditHead
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) {
		if c, err = tx.CaseByID(ctx, id); err != nil {
			return err
		}
		if c.State != models.StateApproved {
			return models.Errorf(models.ECONFLICT, "case %s is %s; only approved cases are sealed", id, c.State)
		}
		if items, err = tx.EvidenceByCase(ctx, id); err != nil {
			return err
		}
		head, err = tx.AuditHeadForUpdate(ctx) // held only for this short read
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("seal case %s: %w", id, err)
	}
	pub := s.key.Public().(ed25519.PublicKey)
	m, err := audit.NewManifest(c, items, head, SystemActor, s.now(), audit.KeyID(pub))
	if err != nil {
		return nil, fmt.Errorf("seal case %s: %w", id, err)
	}
	body, err := audit.EncodeManifest(m)
	if err != nil {
		return nil, err
	}
	sig := audit.SignManifest(s.key, body)
	sum := audit.SHA256Hex(body)
	key, err := models.EvidenceKey(id, models.EvidenceManifest, sum)
	if err != nil {
		return nil, fmt.Errorf("seal case %s: %w", id, err)
	}
	if _, err := s.evidence.Put(ctx, key, bytes.NewReader(body), int64(len(body)), sum, "application/json"); err != nil {
		return nil, fmt.Errorf("seal case %s: store manifest: %w", id, err)
	}
	evID, err := models.NewID(s.rand, "evd")
	if err != nil {
		return nil, err
	}
	listed := make(map[models.EvidenceID]bool, len(m.Items))
	for _, it := range m.Items {
		listed[it.ID] = true
	}
	err = s.store.Transact(ctx, func(tx models.Tx) error {
		cur, err := tx.CaseByID(ctx, id)
		if err != nil {
			return err
		}
		if cur.Version != c.Version {
			return models.Errorf(models.ECONFLICT, "case %s changed while sealing; try again", id)
		}
		latest, err := tx.EvidenceByCase(ctx, id)
		if err != nil {
			return err
		}
		for _, e := range latest {
			if e.Kind != models.EvidenceManifest && !listed[e.ID] {
				return models.Errorf(models.ECONFLICT, "case %s got new evidence %s while sealing; try again", id, e.Key)
			}
		}
		to, err := models.Transition(cur.State, models.EventSeal)
		if err != nil {
			return err
		}
		if err := tx.AddEvidence(ctx, &models.Evidence{ID: models.EvidenceID(evID), CaseID: id, Kind: models.EvidenceManifest, Key: key,
			SHA256: sum, Size: int64(len(body)), ContentType: "application/json", Actor: SystemActor, CreatedAt: s.now().UTC(), NextAttemptAt: s.now().UTC()}); err != nil {
			return err
		}
		// With the head locked, no event or checkpoint can come between
		// what the seal event records and the seal event itself.
		if _, err := tx.AuditHeadForUpdate(ctx); err != nil {
			return err
		}
		caseEvents, err := tx.AuditEvents(ctx, models.AuditFilter{CaseID: id})
		if err != nil {
			return err
		}
		cps, err := tx.Checkpoints(ctx)
		if err != nil {
			return err
		}
		detail := audit.SealBinding(caseEvents, cps)
		maps.Copy(detail, map[string]string{
			"from": string(cur.State), "to": string(to), "items": fmt.Sprint(len(m.Items)),
			audit.DetailManifestKey: key, audit.DetailManifestSHA256: sum, audit.DetailKeyID: m.KeyID,
			audit.DetailManifestSignature: base64.StdEncoding.EncodeToString(sig),
			"audit_head_seq":              fmt.Sprint(head.Seq),
		})
		if err := s.event(ctx, tx, SystemActor, id, audit.SealAction, detail); err != nil {
			return err
		}
		cur.State, cur.UpdatedAt = to, s.now().UTC()
		if err := tx.UpdateCase(ctx, cur); err != nil {
			return err
		}
		c = cur
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("seal case %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "case sealed", "case_id", id, "manifest_sha256", sum, "items", len(m.Items))
	s.CheckpointNow(ctx, "seal", id)
	return c, nil
}

// CheckpointNow signs a checkpoint of the audit log and publishes it to
// the evidence store (audit.Checkpointer.CheckpointAndPublish), as the
// workflow does after each seal and decision: what was just committed is
// then under a signature kept outside the database. It runs after the
// commit and never fails the caller: an error is logged, and the
// periodic checkpoint (idv serve) makes it good.
func (s *Service) CheckpointNow(ctx context.Context, after string, id models.CaseID) {
	// The change is committed: finish even if the caller has gone.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointTimeout)
	defer cancel()
	cpr := audit.Checkpointer{Store: s.store, Key: s.key, Now: s.now, Publish: s.evidence}
	if err := cpr.CheckpointAndPublish(ctx); err != nil {
		s.log.WarnContext(ctx, "audit checkpoint after "+after, "case_id", id, "err", err)
	}
}

// SealPending tries to seal every approved case and returns how many it
// sealed. Cases still waiting for the archiver or being sealed by another
// node, and cases another node sealed meanwhile, are skipped quietly;
// other failures are logged. `idv serve` runs it periodically.
func (s *Service) SealPending(ctx context.Context) (int, error) {
	var cases []*models.Case
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) {
		cases, _, err = tx.ListCases(ctx, models.CaseFilter{State: models.StateApproved, Limit: 100})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("seal pending cases: %w", err)
	}
	n := 0
	for _, c := range cases {
		switch _, err := s.Seal(ctx, c.ID); models.ErrorCodeOf(err) {
		case "":
			n++
		case models.EPRECONDITION:
		case models.ECONFLICT:
			// Sealed by another node since the list was read, or changed
			// while sealing: the next round tries again if it must.
			s.log.DebugContext(ctx, "seal case", "case_id", c.ID, "err", err)
		default:
			s.log.WarnContext(ctx, "seal case", "case_id", c.ID, "err", err)
		}
	}
	return n, nil
}

// SealRecord is a sealed case's manifest as recorded in the audit chain.
type SealRecord struct {
	Event     *models.AuditEvent // the case.seal event
	Key       string             // object key of the manifest
	SHA256    string
	Signature []byte
}

// sealRecord finds the case's seal event.
func sealRecord(ctx context.Context, tx models.Tx, id models.CaseID) (*SealRecord, error) {
	evs, err := tx.AuditEvents(ctx, models.AuditFilter{CaseID: id})
	if err != nil {
		return nil, err
	}
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		if e.Action != audit.SealAction {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(e.Detail[audit.DetailManifestSignature])
		if err != nil {
			return nil, models.Errorf(models.ECONFLICT, "case %s: seal event %d has a malformed signature", id, e.Seq)
		}
		return &SealRecord{Event: e, Key: e.Detail[audit.DetailManifestKey], SHA256: e.Detail[audit.DetailManifestSHA256], Signature: sig}, nil
	}
	return nil, models.Errorf(models.ECONFLICT, "case %s has not been sealed", id)
}

// readManifest re-reads the manifest from the store, checks its hash
// against the seal event and its signature against the service key.
func (s *Service) readManifest(ctx context.Context, rec *SealRecord) (*audit.Manifest, []byte, error) {
	r, info, err := s.evidence.Get(ctx, rec.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("read manifest %s: %w", rec.Key, err)
	}
	defer r.Close()
	body, err := io.ReadAll(io.LimitReader(r, maxManifest+1))
	if err != nil {
		return nil, nil, models.Errorf(models.EUNAVAILABLE, "read manifest %s: %v", rec.Key, err)
	}
	if got := audit.SHA256Hex(body); got != rec.SHA256 || info.SHA256 != rec.SHA256 {
		return nil, nil, models.Errorf(models.ECONFLICT, "manifest %s: stored SHA-256 %s, the audit chain says %s", rec.Key, got, rec.SHA256)
	}
	if info.Mode != models.RetentionNone && info.Mode != models.RetentionCompliance {
		return nil, nil, models.Errorf(models.ECONFLICT, "manifest %s: retention %s, want COMPLIANCE", rec.Key, info.Mode)
	}
	m, err := audit.VerifyManifest(s.key.Public().(ed25519.PublicKey), body, rec.Signature)
	if err != nil {
		return nil, nil, fmt.Errorf("manifest %s: %w", rec.Key, err)
	}
	return m, body, nil
}

// SealedAndVerified is the one check the statement release makes: it
// returns nil only when the case is sealed (or already released/closed),
// its manifest, re-read from the evidence store, hashes to what the
// audit chain recorded and carries a valid signature of the service key,
// and every item it lists is in the store with the manifest's size,
// SHA-256, version and (where the store enforces it) COMPLIANCE
// retention. Otherwise ECONFLICT names what is wrong, or EUNAVAILABLE
// when the store cannot be reached: the statement stays locked.
func (s *Service) SealedAndVerified(ctx context.Context, id models.CaseID) error {
	var rec *SealRecord
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		c, err := tx.CaseByID(ctx, id)
		if err != nil {
			return err
		}
		switch c.State {
		case models.StateSealed, models.StateReleased, models.StateClosed:
		default:
			return models.Errorf(models.ECONFLICT, "case %s is %s, not sealed", id, c.State)
		}
		rec, err = sealRecord(ctx, tx, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("check seal of %s: %w", id, err)
	}
	m, _, err := s.readManifest(ctx, rec)
	if err != nil {
		return fmt.Errorf("check seal of %s: %w", id, err)
	}
	if m.Case.ID != id {
		return models.Errorf(models.ECONFLICT, "check seal of %s: manifest is for case %s", id, m.Case.ID)
	}
	for _, it := range m.Items {
		info, err := s.evidence.Stat(ctx, it.Key)
		if err != nil {
			return fmt.Errorf("check seal of %s: %s: %w", id, it.Key, err)
		}
		if err := audit.CheckObject(it, info); err != nil {
			return fmt.Errorf("check seal of %s: %w", id, err)
		}
	}
	return nil
}
