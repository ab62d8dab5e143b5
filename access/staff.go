package access

import (
	"context"
	"fmt"

	"remoteidv/models"
)

// ListStaff returns every staff member, disabled ones included.
func (s *Service) ListStaff(ctx context.Context) ([]*models.Staff, error) {
	var all []*models.Staff
	if err := s.Store.Transact(ctx, func(tx models.Tx) (err error) { all, err = tx.ListStaff(ctx); return }); err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	return all, nil
}

// StaffByID returns one staff member (ENOTFOUND when there is none).
func (s *Service) StaffByID(ctx context.Context, id models.StaffID) (*models.Staff, error) {
	var st *models.Staff
	if err := s.Store.Transact(ctx, func(tx models.Tx) (err error) { st, err = tx.StaffByID(ctx, id); return }); err != nil {
		return nil, fmt.Errorf("staff %s: %w", id, err)
	}
	return st, nil
}

// StaffByUsername returns one staff member (ENOTFOUND when there is none).
func (s *Service) StaffByUsername(ctx context.Context, username string) (*models.Staff, error) {
	var st *models.Staff
	if err := s.Store.Transact(ctx, func(tx models.Tx) (err error) { st, err = tx.StaffByUsername(ctx, username); return }); err != nil {
		return nil, fmt.Errorf("staff %q: %w", username, err)
	}
	return st, nil
}

// RecordDenied appends auth.permission_denied for a request the route
// policy refused to p: its method, route pattern and why ("role", "csrf").
func (s *Service) RecordDenied(ctx context.Context, p *Principal, method, route, why string) error {
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		return s.event(ctx, tx, p.Actor(), "auth.permission_denied", map[string]string{"method": method, "route": route, "why": why})
	})
	if err != nil {
		return fmt.Errorf("record permission denied: %w", err)
	}
	return nil
}
