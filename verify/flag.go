package verify

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"remoteidv/models"
)

// Fraud flags (issue 16, point 6). An abort may name a category of
// suspected fraud; the flag then stays against the account, in the abort's
// transaction, and everyone who looks the account up or opens or reads a
// case for it is shown it until a supervisor other than the one who raised
// it clears it with a reason (four eyes). A flag never blocks a new case:
// the bank may well have to serve a customer who was once impersonated;
// it makes the clerk look twice, and the creation event records that they
// were shown it.

// Flag is an account's fraud flag as staff see it, with the display names
// of who raised it and who cleared it.
type Flag struct {
	*models.AccountFlag
	RaisedByName  string
	ClearedByName string // "" while open
}

// flagRule is who may raise a flag: whoever may abort the case.
var flagRule = stopRule

// AbortFlagged aborts the case like Abort and, when category is not
// empty, raises a fraud flag of that category against the case's account
// in the same transaction (audited as account.flagged). EINVALID for an
// unknown category, before anything changes.
func (s *Service) AbortFlagged(ctx context.Context, a Actor, id models.CaseID, reason string, category models.FlagCategory) (*models.Case, *models.AccountFlag, error) {
	if category == "" {
		c, err := s.Abort(ctx, a, id, reason)
		return c, nil, err
	}
	if _, err := models.ParseFlagCategory(string(category)); err != nil {
		return nil, nil, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 1000 {
		return nil, nil, models.Errorf(models.EINVALID, "a reason of 1 to 1000 characters is required")
	}
	fid, err := models.NewID(s.rand, "flg")
	if err != nil {
		return nil, nil, err
	}
	var out *models.Case
	var flag *models.AccountFlag
	err = s.store.Transact(ctx, func(tx models.Tx) error {
		detail := map[string]string{"reason": reason, "fraud_category": string(category)}
		c, err := s.changeIn(ctx, tx, a, id, models.EventAbort, flagRule, detail, func(tx models.Tx, c *models.Case) error {
			c.Reason = reason
			return tx.RevokeInvites(ctx, c.ID, s.now().UTC())
		})
		if err != nil {
			return err
		}
		flag = &models.AccountFlag{ID: models.FlagID(fid), AccountNo: c.AccountNo, CaseID: c.ID, Category: category,
			Reason: reason, Actor: a.StaffID, CreatedAt: s.now().UTC()}
		if err := tx.CreateAccountFlag(ctx, flag); err != nil {
			return err
		}
		out = c
		return s.event(ctx, tx, a.Name, c.ID, "account.flagged", map[string]string{
			"flag": fid, "category": string(category), "account": models.MaskAccountNo(c.AccountNo), "reason": reason,
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("abort case %s with a %s flag: %w", id, category, err)
	}
	return out, flag, nil
}

// OpenFlags returns the open flags of each account asked for, oldest
// first; an account without open flags has no entry. Staff who may look
// accounts up see them (the route decides who).
func (s *Service) OpenFlags(ctx context.Context, nos ...models.AccountNo) (map[models.AccountNo][]Flag, error) {
	out := map[models.AccountNo][]Flag{}
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		names := map[models.StaffID]string{}
		for _, no := range nos {
			fs, err := s.openFlags(ctx, tx, no, names)
			if err != nil {
				return err
			}
			if len(fs) > 0 {
				out[no] = fs
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open flags: %w", err)
	}
	return out, nil
}

// CaseFlags returns the open flags of the account of a case the actor may
// see (ENOTFOUND otherwise), for the warning on the case page.
func (s *Service) CaseFlags(ctx context.Context, a Actor, id models.CaseID) ([]Flag, error) {
	var out []Flag
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		c, err := s.visibleCase(ctx, tx, a, id)
		if err != nil {
			return err
		}
		out, err = s.openFlags(ctx, tx, c.AccountNo, map[models.StaffID]string{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("flags of case %s: %w", id, err)
	}
	return out, nil
}

// openFlags reads an account's open flags with the raisers' names, which
// names caches.
func (s *Service) openFlags(ctx context.Context, tx models.Tx, no models.AccountNo, names map[models.StaffID]string) ([]Flag, error) {
	fs, err := tx.OpenAccountFlags(ctx, no)
	if err != nil {
		return nil, err
	}
	out := make([]Flag, 0, len(fs))
	for _, f := range fs {
		n, err := staffName(ctx, tx, f.Actor, names)
		if err != nil {
			return nil, err
		}
		out = append(out, Flag{AccountFlag: f, RaisedByName: n})
	}
	return out, nil
}

func staffName(ctx context.Context, tx models.Tx, id models.StaffID, names map[models.StaffID]string) (string, error) {
	if n, ok := names[id]; ok {
		return n, nil
	}
	st, err := tx.StaffByID(ctx, id)
	if err != nil {
		return "", err
	}
	names[id] = st.DisplayName
	return st.DisplayName, nil
}

// flagsShown is the audit detail naming the flags a clerk was shown, e.g.
// "flg_a:coercion,flg_b:other".
func flagsShown(fs []Flag) string {
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		parts = append(parts, string(f.ID)+":"+string(f.Category))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// ClearFlag clears an open flag of account no with a reason (audited as
// account.flag_cleared on the case that raised it). Only a supervisor
// clears, and never the one who raised the flag (EFORBIDDEN): clearing a
// suspicion of fraud takes a second person. ENOTFOUND when the account has
// no such flag, ECONFLICT when it is already cleared.
func (s *Service) ClearFlag(ctx context.Context, a Actor, no models.AccountNo, id models.FlagID, reason string) (*Flag, error) {
	if !a.has(models.RoleSupervisor) {
		return nil, models.Errorf(models.EFORBIDDEN, "only a supervisor may clear a fraud flag")
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 1000 {
		return nil, models.Errorf(models.EINVALID, "a reason of 1 to 1000 characters is required")
	}
	var out *Flag
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		f, err := tx.AccountFlagByID(ctx, id)
		if models.ErrorCodeOf(err) == models.ENOTFOUND || (err == nil && f.AccountNo != no) {
			return models.Errorf(models.ENOTFOUND, "account %s has no flag %s", models.MaskAccountNo(no), id)
		}
		if err != nil {
			return err
		}
		if f.Actor == a.StaffID {
			return models.Errorf(models.EFORBIDDEN, "you raised this flag: another supervisor must clear it (four eyes)")
		}
		now := s.now().UTC()
		if err := tx.ClearAccountFlag(ctx, id, a.StaffID, reason, now); err != nil {
			return err
		}
		f.ClearedAt, f.ClearedBy, f.ClearReason = &now, a.StaffID, reason
		names := map[models.StaffID]string{}
		raised, err := staffName(ctx, tx, f.Actor, names)
		if err != nil {
			return err
		}
		cleared, err := staffName(ctx, tx, a.StaffID, names)
		if err != nil {
			return err
		}
		out = &Flag{AccountFlag: f, RaisedByName: raised, ClearedByName: cleared}
		return s.event(ctx, tx, a.Name, f.CaseID, "account.flag_cleared", map[string]string{
			"flag": string(id), "category": string(f.Category), "account": models.MaskAccountNo(no), "reason": reason,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("clear flag %s: %w", id, err)
	}
	return out, nil
}
