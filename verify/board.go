package verify

import (
	"context"
	"fmt"
	"slices"
	"time"

	"remoteidv/models"
)

// BoardDays is how many days the supervisors' board shows: today in the
// branch's zone and the next ones.
const BoardDays = 3

// BoardOnline is how recent a member of staff's last request must be for
// the board to show them online.
const BoardOnline = 5 * time.Minute

// BoardCase is one case on the supervisors' board.
type BoardCase struct {
	Case *models.Case
	// ClerkName is the assigned clerk's display name; ClerkSeen their
	// latest activity (zero: no session).
	ClerkName string
	ClerkSeen time.Time
	// BackupName and BackupSeen are the same for the backup clerk ("" and
	// zero without one).
	BackupName string
	BackupSeen time.Time
	// ConsentAt is when the customer first accepted the consent (nil: not
	// yet).
	ConsentAt *time.Time
}

// Board is what the supervisors' board shows, read in one transaction.
type Board struct {
	Now           time.Time
	From, To      time.Time // the slot window: midnight today in the branch's zone, BoardDays days
	BranchTZ      string
	Calls         []*BoardCase // cases with a slot in the window, or in extra, by slot
	PendingReview []*BoardCase // cases waiting for a supervisor, oldest first
	OnlineCutoff  time.Time    // staff seen after it count as online
}

// Board returns the supervisors' board: every case whose slot falls today
// or in the next days (branch time), plus the cases in extra (running
// calls whose slot lies elsewhere), with their clerk, whether the clerk is
// online and whether the customer has consented; and the cases pending
// review. Supervisors and admins only (EFORBIDDEN otherwise).
func (s *Service) Board(ctx context.Context, a Actor, extra []models.CaseID) (*Board, error) {
	if !a.has(models.RoleSupervisor) && !a.has(models.RoleAdmin) {
		return nil, models.Errorf(models.EFORBIDDEN, "only supervisors and admins see the board")
	}
	now := s.now().UTC()
	local := now.In(s.cfg.BranchTZ)
	from := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, s.cfg.BranchTZ).UTC()
	b := &Board{Now: now, From: from, To: from.AddDate(0, 0, BoardDays), BranchTZ: s.cfg.BranchTZ.String(), OnlineCutoff: now.Add(-BoardOnline)}
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		day, _, err := tx.ListCases(ctx, models.CaseFilter{SlotFrom: b.From, SlotTo: b.To, Limit: 200})
		if err != nil {
			return err
		}
		pending, _, err := tx.ListCases(ctx, models.CaseFilter{State: models.StatePendingReview, Limit: 200})
		if err != nil {
			return err
		}
		for _, id := range extra {
			if slices.ContainsFunc(day, func(c *models.Case) bool { return c.ID == id }) {
				continue
			}
			c, err := tx.CaseByID(ctx, id)
			if models.ErrorCodeOf(err) == models.ENOTFOUND {
				continue
			} else if err != nil {
				return err
			}
			day = append(day, c)
		}
		staff, err := tx.ListStaff(ctx)
		if err != nil {
			return err
		}
		names := make(map[models.StaffID]string, len(staff))
		for _, st := range staff {
			names[st.ID] = st.DisplayName
		}
		seen, err := tx.StaffLastSeen(ctx)
		if err != nil {
			return err
		}
		entry := func(c *models.Case) (*BoardCase, error) {
			bc := &BoardCase{Case: c, ClerkName: names[c.ClerkID], ClerkSeen: seen[c.ClerkID]}
			if c.BackupID != "" {
				bc.BackupName, bc.BackupSeen = names[c.BackupID], seen[c.BackupID]
			}
			if c.State == models.StateScheduled || c.State == models.StateInSession {
				at, err := consentAt(ctx, tx, c.ID)
				if err != nil {
					return nil, err
				}
				bc.ConsentAt = at
			}
			return bc, nil
		}
		for _, c := range day {
			bc, err := entry(c)
			if err != nil {
				return err
			}
			b.Calls = append(b.Calls, bc)
		}
		for _, c := range pending {
			bc, err := entry(c)
			if err != nil {
				return err
			}
			b.PendingReview = append(b.PendingReview, bc)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("board: %w", err)
	}
	slices.SortStableFunc(b.Calls, func(x, y *BoardCase) int { return x.Case.SlotAt.Compare(y.Case.SlotAt) })
	slices.SortStableFunc(b.PendingReview, func(x, y *BoardCase) int { return x.Case.UpdatedAt.Compare(y.Case.UpdatedAt) })
	return b, nil
}
