package verify

import (
	"context"
	"fmt"

	"remoteidv/models"
)

// The reads below serve staff whose role the HTTP route table has already
// checked (accounts: clerks and supervisors; import runs and account
// statuses: admins); they record nothing.

// SearchAccounts finds at most limit accounts whose number starts with q or
// whose holder's name contains it.
func (s *Service) SearchAccounts(ctx context.Context, q string, limit int) ([]*models.Account, error) {
	var out []*models.Account
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { out, err = tx.SearchAccounts(ctx, q, limit); return }); err != nil {
		return nil, fmt.Errorf("search accounts: %w", err)
	}
	return out, nil
}

// Account returns one account (ENOTFOUND when there is none).
func (s *Service) Account(ctx context.Context, no models.AccountNo) (*models.Account, error) {
	var a *models.Account
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { a, err = tx.AccountByNo(ctx, no); return }); err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	return a, nil
}

// ImportRuns returns one page of account import runs, newest first, and
// how many there are.
func (s *Service) ImportRuns(ctx context.Context, limit, offset int) ([]*models.ImportRun, int, error) {
	var runs []*models.ImportRun
	var total int
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { runs, total, err = tx.ImportRuns(ctx, limit, offset); return }); err != nil {
		return nil, 0, fmt.Errorf("import runs: %w", err)
	}
	return runs, total, nil
}

// AccountStatuses returns one page of accounts with their photos,
// signature and enrolment state, and how many match f.
func (s *Service) AccountStatuses(ctx context.Context, f models.AccountStatusFilter) ([]*models.AccountStatus, int, error) {
	var list []*models.AccountStatus
	var total int
	if err := s.store.Transact(ctx, func(tx models.Tx) (err error) { list, total, err = tx.AccountStatuses(ctx, f); return }); err != nil {
		return nil, 0, fmt.Errorf("account statuses: %w", err)
	}
	return list, total, nil
}
