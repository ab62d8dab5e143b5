package verify

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"remoteidv/audit"
	"remoteidv/models"
)

// The reads below serve auditors and admins (the HTTP route table checks
// the role); they record nothing. pub is the key the chain's checkpoints
// are verified with.

// AuditEvents lists audit events in sequence order.
func (s *Service) AuditEvents(ctx context.Context, f models.AuditFilter) ([]*models.AuditEvent, error) {
	var evs []*models.AuditEvent
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { evs, err = tx.AuditEvents(ctx, f); return }); err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	return evs, nil
}

// VerifyAudit verifies the whole stored chain, the Merkle log recomputed
// from it and its signed checkpoints (audit.VerifyStore).
func (s *Service) VerifyAudit(ctx context.Context, pub ed25519.PublicKey) (audit.Report, error) {
	return audit.VerifyStore(ctx, s.store, pub)
}

// PublishedCheck is the check of the checkpoint notes published to the
// write-once evidence store, as `idv audit verify` makes it.
type PublishedCheck struct {
	OK      bool
	Notes   int   // notes that the log still matches
	Newest  int64 // the largest size among them
	Problem string
}

// CheckPublished runs audit.VerifyPublished against the evidence store (a
// required dependency of the Service: nothing outside the database would
// vouch for the log without it). A log that does not match its published
// notes is logged as a security alert.
func (s *Service) CheckPublished(ctx context.Context, pub ed25519.PublicKey) PublishedCheck {
	n, newest, err := audit.VerifyPublished(ctx, s.store, pub, s.evidence)
	switch {
	case models.ErrorCodeOf(err) == models.ECONFLICT:
		s.log.ErrorContext(ctx, "SECURITY ALERT: the audit log does not match its published checkpoints", "err", err)
		return PublishedCheck{Notes: n, Newest: newest, Problem: models.ErrorMessageOf(err)}
	case err != nil:
		s.log.WarnContext(ctx, "check published checkpoints", "err", err)
		return PublishedCheck{Problem: "the published checkpoints could not be checked: " + models.ErrorMessageOf(err)}
	}
	return PublishedCheck{OK: true, Notes: n, Newest: newest}
}

// LatestCheckpoint returns the newest checkpoint that has a note
// (ENOTFOUND when none has been signed yet).
func (s *Service) LatestCheckpoint(ctx context.Context) (*models.Checkpoint, error) {
	cps, err := s.checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	if cp := audit.LatestCheckpoint(cps); cp != nil {
		return cp, nil
	}
	return nil, models.Errorf(models.ENOTFOUND, "no signed checkpoint of the audit log yet")
}

// ConsistencyProof returns the newest checkpoint and the RFC 6962 proof
// (audit.EncodeTreeProof) that its log extends the log of size from, the
// size of a checkpoint an auditor kept. A from beyond the newest
// checkpoint is ECONFLICT: the auditor holds another log, or this one was
// rolled back.
func (s *Service) ConsistencyProof(ctx context.Context, from int64) (*models.Checkpoint, []string, error) {
	cp, err := s.LatestCheckpoint(ctx)
	if err != nil {
		return nil, nil, err
	}
	if from > cp.Seq {
		return nil, nil, models.Errorf(models.ECONFLICT, "the newest checkpoint has size %d, smaller than %d: the log you hold is not this one, or it was rolled back", cp.Seq, from)
	}
	var proof []string
	err = s.store.Transact(ctx, func(tx models.Tx) error {
		p, err := audit.ProveConsistency(ctx, tx, from, cp.Seq)
		proof = audit.EncodeTreeProof(p)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("prove log size %d extends %d: %w", cp.Seq, from, err)
	}
	return cp, proof, nil
}
