package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"remoteidv/models"
)

// expiryBatch is how many items one query of the expiry job reads.
const expiryBatch = 100

// ExpiryReport sums up one run of the expiry job.
type ExpiryReport struct {
	Deleted int // bytes deleted from the store, recorded in the case's trail
	Kept    int // still due but kept: a legal hold (or the store's lock) refused
	Failed  int // errors; tried again on the next run
}

// ExpireEvidence deletes from the evidence store every archived item whose
// retention has ended, unless a legal hold keeps it, and records each
// deletion in its case's audit trail (evidence.expired, with the key and
// hash). The evidence row stays, marked expired: the case's history still
// lists what was kept and until when. A store error leaves the item for
// the next run; the errors are returned together.
func (s *Service) ExpireEvidence(ctx context.Context) (ExpiryReport, error) {
	var rep ExpiryReport
	now := s.now().UTC()
	var after *models.Evidence
	var errs []error
	for {
		var batch []*models.Evidence
		err := s.store.Transact(ctx, func(tx models.Tx) (err error) {
			batch, err = tx.DueForExpiry(ctx, now, after, expiryBatch)
			return err
		})
		if err != nil {
			return rep, fmt.Errorf("expire evidence: %w", err)
		}
		for _, e := range batch {
			switch kept, done, err := s.expireOne(ctx, e); {
			case err != nil:
				rep.Failed++
				errs = append(errs, err)
			case kept != "":
				rep.Kept++
				s.log.InfoContext(ctx, "evidence past retention kept", "case_id", e.CaseID, "evidence", e.ID, "reason", kept)
			case done:
				rep.Deleted++
			}
		}
		if len(batch) < expiryBatch || ctx.Err() != nil {
			return rep, errors.Join(errs...)
		}
		after = batch[len(batch)-1]
	}
}

// expireOne deletes one item's bytes, then records it, or says why the
// store keeps it. An item already gone from the store (a run that stopped
// between the two) is recorded too.
//
// Processes expiring at once (the expiry job of every node) take the
// item's lease first and re-read it under the lease: only one deletes and
// records it; the others skip it (kept is "", err nil, done false). One
// that dies between the deletion and the record leaves the lease to run
// out; the next run finds the object gone and records it (already_gone).
func (s *Service) expireOne(ctx context.Context, e *models.Evidence) (kept string, done bool, err error) {
	lease := "expire:" + string(e.ID)
	held, err := s.claim(ctx, lease, expiryLease)
	if err != nil || !held {
		return "", false, err
	}
	defer s.release(ctx, lease)
	var cur *models.Evidence
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { cur, err = tx.EvidenceByID(ctx, e.ID); return }); err != nil {
		return "", false, fmt.Errorf("expire %s: %w", e.Key, err)
	}
	if cur.ExpiredAt != nil {
		return "", false, nil // another process expired it meanwhile
	}
	kept, err = s.expire(ctx, e)
	return kept, err == nil && kept == "", err
}

func (s *Service) expire(ctx context.Context, e *models.Evidence) (kept string, err error) {
	err = s.evidence.Expire(ctx, e.Key)
	gone := "false" // the store had the object and deleted it now
	switch models.ErrorCodeOf(err) {
	case "":
	case models.ENOTFOUND:
		gone = "true" // a run that stopped after deleting, or a store that lost it: the trail says which
		s.log.WarnContext(ctx, "evidence past retention was already missing from the store", "case_id", e.CaseID, "evidence", e.ID, "key", e.Key)
	case models.ECONFLICT:
		return models.ErrorMessageOf(err), nil
	default:
		return "", err
	}
	at := s.now().UTC()
	err = s.store.Transact(ctx, func(tx models.Tx) error {
		if err := tx.MarkExpired(ctx, e.ID, at); err != nil {
			return err
		}
		return s.event(ctx, tx, SystemActor, e.CaseID, "evidence.expired", map[string]string{
			"evidence": string(e.ID), "kind": string(e.Kind), "key": e.Key, "sha256": e.SHA256,
			"version_id": e.VersionID, "retain_until": e.RetainUntil.UTC().Format(time.RFC3339), "already_gone": gone,
		})
	})
	if err != nil {
		return "", fmt.Errorf("record expiry of %s: %w", e.Key, err)
	}
	return "", nil
}
