package access

import (
	"context"
	"fmt"
	"net/mail"
	"strings"

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

// WorkingHours returns the weekly working hours of the staff member named
// username (ENOTFOUND when there is none; empty hours when none are
// recorded).
func (s *Service) WorkingHours(ctx context.Context, username string) (*models.Staff, models.WorkingHours, error) {
	var st *models.Staff
	var h models.WorkingHours
	err := s.Store.Transact(ctx, func(tx models.Tx) (err error) {
		if st, err = tx.StaffByUsername(ctx, username); err != nil {
			return err
		}
		h, err = tx.WorkingHours(ctx, st.ID)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("working hours of %q: %w", username, err)
	}
	return st, h, nil
}

// SetWorkingHours replaces the weekly working hours of the staff member
// named username (empty hours clear them), audited as staff.hours_set
// with the old and new hours.
func (s *Service) SetWorkingHours(ctx context.Context, actor, username string, h models.WorkingHours) (*models.Staff, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	var st *models.Staff
	err := s.Store.Transact(ctx, func(tx models.Tx) (err error) {
		if st, err = tx.StaffByUsername(ctx, username); err != nil {
			return err
		}
		old, err := tx.WorkingHours(ctx, st.ID)
		if err != nil {
			return err
		}
		if err := tx.SetWorkingHours(ctx, st.ID, h); err != nil {
			return err
		}
		return s.event(ctx, tx, actor, "staff.hours_set", map[string]string{"staff": string(st.ID), "old": old.String(), "new": h.String()})
	})
	if err != nil {
		return nil, fmt.Errorf("set working hours of %q: %w", username, err)
	}
	return st, nil
}

// CheckContact validates a member's notification address and language:
// a plain address (no display name) of at most 254 characters or "", and
// "en", "zh-CN" or "" (English).
func CheckContact(email, language string) error {
	if email != "" {
		a, err := mail.ParseAddress(email)
		if err != nil || a.Name != "" || a.Address != email || len(email) > 254 {
			return models.Errorf(models.EINVALID, "email %q is not a plain email address", email)
		}
	}
	switch language {
	case "", "en", "zh-CN":
	default:
		return models.Errorf(models.EINVALID, "language must be en or zh-CN (or empty for English)")
	}
	return nil
}

// SetContact sets where the staff member named username gets staff
// notifications by email ("" for none) and in which language, audited as
// staff.contact_set (the address itself stays out of the audit trail).
func (s *Service) SetContact(ctx context.Context, actor, username, email, language string) (*models.Staff, error) {
	email = strings.TrimSpace(email)
	if err := CheckContact(email, language); err != nil {
		return nil, err
	}
	var st *models.Staff
	err := s.Store.Transact(ctx, func(tx models.Tx) (err error) {
		if st, err = tx.StaffByUsername(ctx, username); err != nil {
			return err
		}
		st.Email, st.Language = email, language
		if err := tx.UpdateStaff(ctx, st); err != nil {
			return err
		}
		set := "cleared"
		if email != "" {
			set = "set"
		}
		return s.event(ctx, tx, actor, "staff.contact_set", map[string]string{"staff": string(st.ID), "email": set, "language": language})
	})
	if err != nil {
		return nil, fmt.Errorf("set contact of %q: %w", username, err)
	}
	return st, nil
}
