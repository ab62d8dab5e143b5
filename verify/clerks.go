package verify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"remoteidv/models"
)

// A case has a primary clerk (who opened it, unless reassigned) and
// optionally a backup clerk; both run it alike (policy.go's
// assignedClerks). A supervisor reassigns either role before submission.

// Staffing is who runs a case and whether they work at its slot.
type Staffing struct {
	Primary *models.Staff
	Backup  *models.Staff // nil when the case has none
	// Warnings is set when the slot, read in the branch's zone, falls
	// outside the working hours of every clerk of the case (a clerk with no
	// hours recorded counts as working).
	Warnings []string
}

// Staffing returns the clerks of c, which the caller has read through the
// policy, and the working-hours warnings of its slot.
func (s *Service) Staffing(ctx context.Context, c *models.Case) (Staffing, error) {
	var out Staffing
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) { out, err = s.staffing(ctx, tx, c); return })
	if err != nil {
		return Staffing{}, fmt.Errorf("staffing of %s: %w", c.ID, err)
	}
	return out, nil
}

func (s *Service) staffing(ctx context.Context, tx models.Tx, c *models.Case) (Staffing, error) {
	var out Staffing
	var away []string
	for _, id := range c.Clerks() {
		st, err := tx.StaffByID(ctx, id)
		if err != nil {
			return Staffing{}, err
		}
		if id == c.ClerkID {
			out.Primary = st
		} else {
			out.Backup = st
		}
		h, err := tx.WorkingHours(ctx, id)
		if err != nil {
			return Staffing{}, err
		}
		if h.Covers(c.SlotAt, s.cfg.BranchTZ) {
			return out, finishStaffing(ctx, tx, c, &out)
		}
		away = append(away, fmt.Sprintf("%s (%s)", st.DisplayName, h))
	}
	if c.SlotAt.IsZero() {
		return out, nil
	}
	local := c.SlotAt.In(s.cfg.BranchTZ)
	who := "the case's clerk does not work"
	if len(away) > 1 {
		who = "neither of the case's clerks works"
	}
	out.Warnings = append(out.Warnings, fmt.Sprintf("%s at the slot's branch time (%s %s %s): %s; a supervisor can set a backup clerk",
		who, local.Weekday().String()[:3], local.Format("15:04"), s.cfg.BranchTZ, strings.Join(away, "; ")))
	return out, nil
}

// finishStaffing reads the clerks that staffing did not reach once one
// of them was found working.
func finishStaffing(ctx context.Context, tx models.Tx, c *models.Case, out *Staffing) error {
	var err error
	if out.Primary == nil {
		out.Primary, err = tx.StaffByID(ctx, c.ClerkID)
	}
	if err == nil && out.Backup == nil && c.BackupID != "" {
		out.Backup, err = tx.StaffByID(ctx, c.BackupID)
	}
	return err
}

// Reassignment is a supervisor's change of one of a case's clerks.
type Reassignment struct {
	Role   models.ClerkRole
	Staff  models.StaffID // the new clerk; "" clears the backup
	Reason string
}

// Reassign sets the case's primary or backup clerk (an empty Staff clears
// the backup) for a reason, audited as case.reassigned with the role, the
// old and new clerk and the reason. Only a supervisor reassigns, and only
// before submission (scheduled or in its call; ECONFLICT after). The new
// clerk must hold the clerk role and be enabled (EINVALID). Making the
// backup the primary leaves the case without a backup. What the customer
// did (consent, email code, letter, captures) belongs to the case and
// stays. The returned staff IDs are the clerks who left the case, whose
// call sockets the caller closes.
func (s *Service) Reassign(ctx context.Context, a Actor, id models.CaseID, in Reassignment) (*models.Case, []models.StaffID, error) {
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Reason == "" || len(in.Reason) > 1000 {
		return nil, nil, models.Errorf(models.EINVALID, "a reason of 1 to 1000 characters is required")
	}
	if _, err := models.ParseClerkRole(string(in.Role)); err != nil {
		return nil, nil, err
	}
	if in.Staff == "" && in.Role == models.ClerkPrimary {
		return nil, nil, models.Errorf(models.EINVALID, "a case always has a primary clerk: name one")
	}
	var out *models.Case
	var left []models.StaffID
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		c, err := s.authorize(ctx, tx, a, id, reassignRule, "reassign the case's clerks")
		if err != nil {
			return err
		}
		if !c.State.TakesChecks() {
			return models.Errorf(models.ECONFLICT, "case is %s: clerks are reassigned only before submission", c.State)
		}
		if in.Staff != "" {
			st, err := tx.StaffByID(ctx, in.Staff)
			if models.ErrorCodeOf(err) == models.ENOTFOUND {
				return models.Errorf(models.EINVALID, "staff member %s does not exist", in.Staff)
			}
			if err != nil {
				return err
			}
			if !st.Has(models.RoleClerk) || !st.Active() {
				return models.Errorf(models.EINVALID, "%s is not an enabled clerk: only an enabled member of staff with the clerk role runs a case", st.Username)
			}
		}
		before := c.Clerks()
		detail := map[string]string{"role": string(in.Role), "new": string(in.Staff), "reason": in.Reason}
		switch in.Role {
		case models.ClerkPrimary:
			if in.Staff == c.ClerkID {
				return models.Errorf(models.EINVALID, "%s is already the case's primary clerk", in.Staff)
			}
			detail["old"] = string(c.ClerkID)
			if in.Staff == c.BackupID {
				c.BackupID, detail["backup_cleared"] = "", "true"
			}
			c.ClerkID = in.Staff
		case models.ClerkBackup:
			if in.Staff == c.BackupID && in.Staff == "" {
				return models.Errorf(models.EINVALID, "the case has no backup clerk to clear")
			}
			if in.Staff == c.BackupID {
				return models.Errorf(models.EINVALID, "%s is already the case's backup clerk", in.Staff)
			}
			if in.Staff == c.ClerkID {
				return models.Errorf(models.EINVALID, "%s is the case's primary clerk: the backup is someone else", in.Staff)
			}
			detail["old"] = string(c.BackupID)
			c.BackupID = in.Staff
		}
		c.UpdatedAt = s.now().UTC()
		if err := tx.UpdateCase(ctx, c); err != nil {
			return err
		}
		for _, b := range before {
			if c.ClerkRoleOf(b) == "" {
				left = append(left, b)
			}
		}
		out = c
		return s.event(ctx, tx, a.Name, c.ID, "case.reassigned", detail)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reassign case %s: %w", id, err)
	}
	return out, left, nil
}

// Clerks lists the enabled members of staff with the clerk role, whom a
// supervisor may assign to a case, with their working hours.
func (s *Service) Clerks(ctx context.Context, a Actor) ([]*models.Staff, map[models.StaffID]models.WorkingHours, error) {
	if !a.has(models.RoleSupervisor) {
		return nil, nil, models.Errorf(models.EFORBIDDEN, "only supervisors assign clerks")
	}
	var out []*models.Staff
	hours := map[models.StaffID]models.WorkingHours{}
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		all, err := tx.ListStaff(ctx)
		if err != nil {
			return err
		}
		for _, st := range all {
			if !st.Has(models.RoleClerk) || !st.Active() {
				continue
			}
			if hours[st.ID], err = tx.WorkingHours(ctx, st.ID); err != nil {
				return err
			}
			out = append(out, st)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list clerks: %w", err)
	}
	return out, hours, nil
}

// BranchZone is the branch's time zone, in which working hours are read.
func (s *Service) BranchZone() *time.Location { return s.cfg.BranchTZ }
