package verify

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"remoteidv/models"
)

// NewCase is what a clerk enters to open a case.
type NewCase struct {
	AccountNo  models.AccountNo
	Purpose    models.Purpose
	PeriodFrom string
	PeriodTo   string
	Slot       Slot
	// Intake, when set, records how the request came in (its Channel and
	// ReceivedAt are required then; CaseID, RecordedBy and CreatedAt are
	// filled in).
	Intake *models.CaseIntake
}

// CreateCase opens a case for an account and schedules its call. The clerk
// who creates it runs it.
func (s *Service) CreateCase(ctx context.Context, a Actor, in NewCase) (*models.Case, error) {
	c, _, err := s.CreateCaseWithFlags(ctx, a, in)
	return c, err
}

// CreateCaseWithFlags is CreateCase that also returns the account's open
// fraud flags (flag.go), which the clerk is shown with the new case: an
// open flag does not stop the case, and the creation event records the
// flags shown.
func (s *Service) CreateCaseWithFlags(ctx context.Context, a Actor, in NewCase) (*models.Case, []Flag, error) {
	svc, err := serviceOf(in.Purpose)
	if err != nil {
		return nil, nil, err
	}
	if in.PeriodFrom, in.PeriodTo, err = svc.period(in.PeriodFrom, in.PeriodTo, s.now()); err != nil {
		return nil, nil, err
	}
	slot, err := s.resolveSlot(in.Slot)
	if err != nil {
		return nil, nil, err
	}
	if in.Intake != nil {
		if in.Intake.ReceivedAt.IsZero() {
			it := *in.Intake
			it.ReceivedAt, in.Intake = s.now().UTC(), &it
		}
		if err := models.ValidateIntake(in.Intake, s.now()); err != nil {
			return nil, nil, err
		}
	}
	id, err := models.NewID(s.rand, "case")
	if err != nil {
		return nil, nil, err
	}
	var flags []Flag
	now := s.now().UTC()
	c := &models.Case{ID: models.CaseID(id), AccountNo: in.AccountNo, Purpose: in.Purpose, PeriodFrom: in.PeriodFrom,
		PeriodTo: in.PeriodTo, State: models.StateScheduled, ClerkID: a.StaffID, SlotAt: slot, CustomerTZ: in.Slot.TimeZone,
		CreatedAt: now, UpdatedAt: now}
	err = s.store.Transact(ctx, func(tx models.Tx) error {
		if _, err := tx.AccountByNo(ctx, in.AccountNo); err != nil {
			if models.ErrorCodeOf(err) == models.ENOTFOUND {
				return models.Errorf(models.EINVALID, "account %s is not known", models.MaskAccountNo(in.AccountNo))
			}
			return err
		}
		if err := tx.CreateCase(ctx, c); err != nil {
			return err
		}
		if flags, err = s.openFlags(ctx, tx, in.AccountNo, map[models.StaffID]string{}); err != nil {
			return err
		}
		detail := map[string]string{
			"account": string(c.AccountNo), "purpose": string(c.Purpose), "period": c.PeriodFrom + "/" + c.PeriodTo,
			"slot": slot.Format("2006-01-02T15:04:05Z"), "customer_tz": c.CustomerTZ,
		}
		if len(flags) > 0 {
			detail["account_flags_shown"] = flagsShown(flags)
		}
		if in.Intake != nil {
			it := *in.Intake
			it.CaseID, it.RecordedBy, it.CreatedAt, it.ReceivedAt = c.ID, a.StaffID, now, it.ReceivedAt.UTC()
			if err := tx.CreateCaseIntake(ctx, &it); err != nil {
				return err
			}
			// The notes stay in the case's record; the audit trail, which
			// is kept for good, says only how long they are.
			detail["intake_channel"], detail["intake_received_at"] = string(it.Channel), it.ReceivedAt.Format(time.RFC3339)
			detail["intake_notes_chars"] = fmt.Sprint(utf8.RuneCountInString(it.Notes))
		}
		return s.event(ctx, tx, a.Name, c.ID, "case.created", detail)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("create case: %w", err)
	}
	return c, flags, nil
}

// Case returns a case the actor may see (policy.go).
func (s *Service) Case(ctx context.Context, a Actor, id models.CaseID) (*models.Case, error) {
	var c *models.Case
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) { c, err = s.visibleCase(ctx, tx, a, id); return })
	return c, err
}

// ListCases returns a page of the cases the actor may see. Clerks see their
// own.
func (s *Service) ListCases(ctx context.Context, a Actor, f models.CaseFilter) ([]*models.Case, int, error) {
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	f = a.visibleCases(f)
	var out []*models.Case
	var total int
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) { out, total, err = tx.ListCases(ctx, f); return })
	if err != nil {
		return nil, 0, fmt.Errorf("list cases: %w", err)
	}
	return out, total, nil
}

// change applies event to a case the actor may see and r lets them change,
// lets edit adjust it, stores it and appends the audit event, all in one
// transaction.
func (s *Service) change(ctx context.Context, a Actor, id models.CaseID, ev models.CaseEvent, r rule, detail map[string]string, edit func(tx models.Tx, c *models.Case) error) (*models.Case, error) {
	var out *models.Case
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) {
		out, err = s.changeIn(ctx, tx, a, id, ev, r, detail, edit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s case %s: %w", ev, id, err)
	}
	return out, nil
}

// changeIn is change inside the caller's transaction.
func (s *Service) changeIn(ctx context.Context, tx models.Tx, a Actor, id models.CaseID, ev models.CaseEvent, r rule, detail map[string]string, edit func(tx models.Tx, c *models.Case) error) (*models.Case, error) {
	c, err := s.authorize(ctx, tx, a, id, r, string(ev)+" this case")
	if err != nil {
		return nil, err
	}
	from := c.State
	to, err := models.Transition(c.State, ev)
	if err != nil {
		return nil, err
	}
	c.State, c.UpdatedAt = to, s.now().UTC()
	if edit != nil {
		if err := edit(tx, c); err != nil {
			return nil, err
		}
	}
	if err := tx.UpdateCase(ctx, c); err != nil {
		return nil, err
	}
	d := map[string]string{"from": string(from), "to": string(to)}
	for k, v := range detail {
		d[k] = v
	}
	if err := dropEnvelopePassword(ctx, tx, c, d); err != nil {
		return nil, err
	}
	if err := s.event(ctx, tx, a.Name, c.ID, "case."+string(ev), d); err != nil {
		return nil, err
	}
	if s.notify != nil {
		// What the customer is told goes in the same transaction
		// (comms.go): a change is never without its notice, nor a notice
		// without its change.
		if err := s.notify(ctx, tx, c, ev); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Reschedule moves the call to a new slot; invites for the old slot stop
// working. Only the case's clerk reschedules.
func (s *Service) Reschedule(ctx context.Context, a Actor, id models.CaseID, sl Slot) (*models.Case, error) {
	slot, err := s.resolveSlot(sl)
	if err != nil {
		return nil, err
	}
	detail := map[string]string{"slot": slot.Format("2006-01-02T15:04:05Z"), "customer_tz": sl.TimeZone}
	return s.change(ctx, a, id, models.EventReschedule, clerkRule, detail, func(tx models.Tx, c *models.Case) error {
		c.SlotAt, c.CustomerTZ = slot, sl.TimeZone
		return tx.RevokeInvites(ctx, c.ID, s.now().UTC())
	})
}

// Cancel withdraws a case with a reason; its invites stop working. The
// case's clerk or a supervisor cancels.
func (s *Service) Cancel(ctx context.Context, a Actor, id models.CaseID, reason string) (*models.Case, error) {
	return s.stop(ctx, a, id, models.EventCancel, reason)
}

// Abort ends a case during verification for a reason the clerk or the
// supervisor gives (poor video, suspected fraud); its invites stop working.
// The case's clerk or a supervisor aborts.
func (s *Service) Abort(ctx context.Context, a Actor, id models.CaseID, reason string) (*models.Case, error) {
	return s.stop(ctx, a, id, models.EventAbort, reason)
}

// stop moves a case to cancelled or aborted with a mandatory reason and
// revokes its invites. The HTTP layer also ends a live call.
func (s *Service) stop(ctx context.Context, a Actor, id models.CaseID, ev models.CaseEvent, reason string) (*models.Case, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 1000 {
		return nil, models.Errorf(models.EINVALID, "a reason of 1 to 1000 characters is required")
	}
	return s.change(ctx, a, id, ev, stopRule, map[string]string{"reason": reason}, func(tx models.Tx, c *models.Case) error {
		c.Reason = reason
		return tx.RevokeInvites(ctx, c.ID, s.now().UTC())
	})
}

// Invite is an issued invite: the raw token exists only here, in the link
// and in the calendar file.
type Invite struct {
	Invite *models.Invite
	Link   string
	ICS    []byte
}

// InviteReplaced is the reason an invite.revoked event gives when a new
// invite of the case replaced the invite.
const InviteReplaced = "replaced by a new invite"

// inviteTokenPrefix marks remoteidv invite tokens (version 1).
const inviteTokenPrefix = "iv1_"

// ParseInviteToken checks an invite token's shape and returns the hash under
// which it is stored. Malformed tokens get the same answer as unknown ones.
func ParseInviteToken(tok string) (string, error) {
	raw, ok := strings.CutPrefix(tok, inviteTokenPrefix)
	if !ok || len(raw) != 43 {
		return "", models.ErrInviteGone
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) != 32 {
		return "", models.ErrInviteGone
	}
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:]), nil
}

// IssueInvite creates a single-use link valid from 15 minutes before to 30
// minutes after the slot, revoking earlier invites of the case (each one
// that still worked is audited as invite.revoked, reason InviteReplaced,
// with the invite that replaced it). Only the
// case's clerk issues invites (the answer holds the customer's raw link).
func (s *Service) IssueInvite(ctx context.Context, a Actor, id models.CaseID) (*Invite, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return nil, fmt.Errorf("issue invite: %w", err)
	}
	tok := inviteTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	hash, err := ParseInviteToken(tok)
	if err != nil {
		return nil, fmt.Errorf("issue invite: %w", err)
	}
	iid, err := models.NewID(s.rand, "inv")
	if err != nil {
		return nil, err
	}
	var out *Invite
	err = s.store.Transact(ctx, func(tx models.Tx) error {
		c, err := s.authorize(ctx, tx, a, id, clerkRule, "issue invites")
		if err != nil {
			return err
		}
		if c.State != models.StateScheduled {
			return models.Errorf(models.ECONFLICT, "case is %s: invites are issued for scheduled cases", c.State)
		}
		if _, notAfter := models.InviteWindow(c.SlotAt); notAfter.Before(s.now()) {
			return models.Errorf(models.ECONFLICT, "the slot has passed; reschedule first")
		}
		acct, err := tx.AccountByNo(ctx, c.AccountNo)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		earlier, err := tx.InvitesByCase(ctx, c.ID)
		if err != nil {
			return err
		}
		if err := tx.RevokeInvites(ctx, c.ID, now); err != nil {
			return err
		}
		// An earlier link that still worked (unused, or spent by a customer
		// whose session it keeps open) stops working now: the timeline says
		// so, and why, rather than letting the new invite revoke it silently.
		for _, old := range earlier {
			if old.RevokedAt != nil || now.After(old.NotAfter) {
				continue
			}
			if err := s.event(ctx, tx, a.Name, c.ID, "invite.revoked", map[string]string{
				"invite": string(old.ID), "reason": InviteReplaced, "replaced_by": iid,
			}); err != nil {
				return err
			}
		}
		nb, na := models.InviteWindow(c.SlotAt)
		inv := &models.Invite{ID: models.InviteID(iid), CaseID: c.ID, TokenHash: hash, NotBefore: nb, NotAfter: na, CreatedAt: now}
		if err := tx.CreateInvite(ctx, inv); err != nil {
			return err
		}
		clerk, err := tx.StaffByID(ctx, c.ClerkID)
		if err != nil {
			return err
		}
		// The case's first invite names its calendar entry; later ones
		// (and a reschedule or cancellation) update the same entry.
		uid, seq, err := tx.NextCalendarSequence(ctx, c.ID, iid+"@remoteidv", now)
		if err != nil {
			return err
		}
		link := strings.TrimRight(s.cfg.PublicURL, "/") + "/join/" + tok
		out = &Invite{Invite: inv, Link: link, ICS: s.calendar(c, inv, acct, clerk, link, uid, seq)}
		return s.event(ctx, tx, a.Name, c.ID, "invite.issued", map[string]string{
			"invite": iid, "token_sha256_prefix": hash[:12], "not_before": nb.Format("2006-01-02T15:04:05Z"), "not_after": na.Format("2006-01-02T15:04:05Z"),
		})
	})
	if err != nil {
		return nil, fmt.Errorf("issue invite for %s: %w", id, err)
	}
	return out, nil
}

// RevokeInvites stops every live link of the case (a live call ends within
// seconds once the media layer sees it). The case's clerk or a supervisor
// revokes.
func (s *Service) RevokeInvites(ctx context.Context, a Actor, id models.CaseID) error {
	return s.store.Transact(ctx, func(tx models.Tx) error {
		c, err := s.authorize(ctx, tx, a, id, stopRule, "revoke the case's invites")
		if err != nil {
			return err
		}
		if err := tx.RevokeInvites(ctx, c.ID, s.now().UTC()); err != nil {
			return err
		}
		return s.event(ctx, tx, a.Name, c.ID, "invite.revoked", nil)
	})
}

// ResolveInvite returns the invite and case of a usable token. Every
// failure (malformed, unknown, expired, used, revoked) is the same EGONE.
func (s *Service) ResolveInvite(ctx context.Context, tok string) (*models.Invite, *models.Case, error) {
	hash, err := ParseInviteToken(tok)
	if err != nil {
		return nil, nil, err
	}
	var inv *models.Invite
	var c *models.Case
	err = s.store.Transact(ctx, func(tx models.Tx) error {
		found, err := tx.InviteByHash(ctx, hash)
		if models.ErrorCodeOf(err) == models.ENOTFOUND {
			return models.ErrInviteGone
		}
		if err != nil {
			return err
		}
		if err := found.Usable(s.now()); err != nil {
			return notYetOpen(ctx, tx, found, s.now(), err)
		}
		inv = found
		c, err = tx.CaseByID(ctx, inv.CaseID)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return inv, c, nil
}

// NotYetOpenError is the answer for a link opened before its window: the
// invite is unused and unrevoked and its case still awaits the call, so
// the same link will work from Opens. Only the holder of the raw token
// learns this (its hash is 256 bits); every other refusal stays the one
// EGONE answer. It unwraps to an EPRECONDITION error.
type NotYetOpenError struct {
	Opens time.Time
	Case  *models.Case
}

func (e *NotYetOpenError) Error() string {
	return "this link opens at " + e.Opens.UTC().Format(time.RFC3339)
}

// Unwrap gives the error kind (EPRECONDITION) to models.ErrorCodeOf.
func (e *NotYetOpenError) Unwrap() error {
	return models.Errorf(models.EPRECONDITION, "this link opens at %s", e.Opens.UTC().Format(time.RFC3339))
}

// notYetOpen turns refused, an unusable invite's error, into a
// NotYetOpenError when the only reason is that its window has not opened
// and its case still awaits the call; otherwise it returns refused.
func notYetOpen(ctx context.Context, tx models.Tx, inv *models.Invite, now time.Time, refused error) error {
	if inv.UsedAt != nil || inv.RevokedAt != nil || !now.Before(inv.NotBefore) {
		return refused
	}
	c, err := tx.CaseByID(ctx, inv.CaseID)
	if err != nil {
		return fmt.Errorf("case of invite %s: %w", inv.ID, err)
	}
	if !c.State.TakesChecks() {
		return refused
	}
	return &NotYetOpenError{Opens: inv.NotBefore, Case: c}
}
