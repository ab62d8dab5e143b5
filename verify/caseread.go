package verify

import (
	"context"
	"fmt"

	"remoteidv/models"
)

// CaseInvites returns a case the actor may see with every invite issued
// for it (used, revoked and live).
func (s *Service) CaseInvites(ctx context.Context, a Actor, id models.CaseID) (*models.Case, []*models.Invite, error) {
	c, err := s.Case(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	var invs []*models.Invite
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { invs, err = tx.InvitesByCase(ctx, c.ID); return }); err != nil {
		return nil, nil, fmt.Errorf("invites of case %s: %w", c.ID, err)
	}
	return c, invs, nil
}

// CaseStatement returns the statement of a case the actor may see (the
// file its submission generated, with its hash), or nil before submission.
func (s *Service) CaseStatement(ctx context.Context, a Actor, id models.CaseID) (*models.StatementRecord, error) {
	var out *models.StatementRecord
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		c, err := s.visibleCase(ctx, tx, a, id)
		if err != nil {
			return err
		}
		out, err = currentStatement(ctx, tx, c.ID)
		if models.ErrorCodeOf(err) == models.EPRECONDITION {
			out, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("statement of case %s: %w", id, err)
	}
	return out, nil
}

// Timeline returns a case the actor may see with its audit events, in
// sequence order.
func (s *Service) Timeline(ctx context.Context, a Actor, id models.CaseID) (*models.Case, []*models.AuditEvent, error) {
	c, err := s.Case(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	var evs []*models.AuditEvent
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) {
		evs, err = tx.AuditEvents(ctx, models.AuditFilter{CaseID: c.ID})
		return
	}); err != nil {
		return nil, nil, fmt.Errorf("timeline of case %s: %w", c.ID, err)
	}
	return c, evs, nil
}

// CaseCalls returns a case the actor may see with its video calls and
// their recorded segments.
func (s *Service) CaseCalls(ctx context.Context, a Actor, id models.CaseID) (*models.Case, []*models.Call, error) {
	c, err := s.Case(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	var calls []*models.Call
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { calls, err = tx.CallsByCase(ctx, c.ID); return }); err != nil {
		return nil, nil, fmt.Errorf("calls of case %s: %w", c.ID, err)
	}
	return c, calls, nil
}
