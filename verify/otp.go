package verify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"remoteidv/mail"
	"remoteidv/models"
)

// Email code rules: a code lives 10 minutes and is used once; five wrong
// tries lock the invite; codes are rate limited per invite.
const (
	CodeValidity    = 10 * time.Minute
	CodeMaxFailures = 5                // wrong tries per invite before it is locked
	codeMinInterval = time.Minute      // between two codes for one invite
	codeMaxPerHour  = 5                // codes sent per invite per hour
	codeHashLabel   = "idv-email-code" // domain separation of the code MAC key
)

// ErrCodeLocked is the answer once an invite is locked by wrong codes.
// Its detail names the call page's text for it (cust.locked): the
// customer learns that the bank sees the lock, that nothing will be sent,
// and to ask the bank for a new invite.
var ErrCodeLocked = &models.Error{Code: models.EGONE, Message: "too many wrong codes: this invite is locked; ask the bank for a new invite", Details: []string{"cust.locked"}}

// codeKey derives the MAC key of email codes from the service key, so a
// database dump alone cannot brute-force the 10^6 codes.
func (d *Desk) codeKey() []byte {
	h := sha256.New()
	h.Write([]byte(codeHashLabel))
	h.Write(d.svc.key.Seed())
	return h.Sum(nil)
}

func (d *Desk) codeHash(inv models.InviteID, code string) string {
	m := hmac.New(sha256.New, d.codeKey())
	m.Write([]byte(string(inv) + "\x00" + code))
	return hex.EncodeToString(m.Sum(nil))
}

// sixDigits draws a uniform code from r (crypto/rand in production).
func sixDigits(r io.Reader) (string, error) {
	const limit = 4294000000 // largest multiple of 10^6 below 2^32
	var b [4]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", fmt.Errorf("draw code: %w", err)
		}
		if v := binary.BigEndian.Uint32(b[:]); v < limit {
			return fmt.Sprintf("%06d", v%1_000_000), nil
		}
	}
}

// liveInvite returns the case's newest unrevoked invite.
func liveInvite(ctx context.Context, tx models.Tx, id models.CaseID) (*models.Invite, error) {
	invs, err := tx.InvitesByCase(ctx, id)
	if err != nil {
		return nil, err
	}
	var best *models.Invite
	for _, inv := range invs {
		if inv.RevokedAt == nil && (best == nil || inv.CreatedAt.After(best.CreatedAt)) {
			best = inv
		}
	}
	if best == nil {
		return nil, models.Errorf(models.EGONE, "this case has no live invite; ask the bank for a new one")
	}
	return best, nil
}

func failures(codes []*models.EmailCode) int {
	n := 0
	for _, c := range codes {
		n += c.Failures
	}
	return n
}

// RequestCode emails a new 6-digit code to the account's registered
// address (through the outbox). The customer session layer calls it for an
// authenticated customer. At most one code a minute and five an hour;
// an invite locked by wrong codes gets no more. Returns when it expires.
func (d *Desk) RequestCode(ctx context.Context, id models.CaseID) (time.Time, error) {
	code, err := sixDigits(d.svc.rand)
	if err != nil {
		return time.Time{}, err
	}
	cid, err := models.NewID(d.svc.rand, "otp")
	if err != nil {
		return time.Time{}, err
	}
	now := d.svc.now().UTC()
	exp := now.Add(CodeValidity)
	err = d.svc.store.Transact(ctx, func(tx models.Tx) error {
		c, err := tx.CaseByID(ctx, id)
		if err != nil {
			return err
		}
		if !c.State.TakesChecks() {
			return models.Errorf(models.ECONFLICT, "case is %s: no code needed", c.State)
		}
		inv, err := liveInvite(ctx, tx, id)
		if err != nil {
			return err
		}
		codes, err := tx.EmailCodesByInvite(ctx, inv.ID)
		if err != nil {
			return err
		}
		if failures(codes) >= CodeMaxFailures {
			return ErrCodeLocked
		}
		recent := 0
		for _, k := range codes {
			if k.UsedAt != nil {
				return models.Errorf(models.ECONFLICT, "the email code was already verified")
			}
			if now.Sub(k.CreatedAt) < codeMinInterval {
				return models.Errorf(models.ERATELIMIT, "a code was sent less than a minute ago; check your mailbox")
			}
			if now.Sub(k.CreatedAt) < time.Hour {
				recent++
			}
		}
		if recent >= codeMaxPerHour {
			return models.Errorf(models.ERATELIMIT, "too many codes this hour; try again later")
		}
		acct, err := tx.AccountByNo(ctx, c.AccountNo)
		if err != nil {
			return err
		}
		if err := tx.CreateEmailCode(ctx, &models.EmailCode{ID: cid, CaseID: id, InviteID: inv.ID, CodeHash: d.codeHash(inv.ID, code), CreatedAt: now, ExpiresAt: exp}); err != nil {
			return err
		}
		if _, err := d.enqueue(ctx, tx, c.ID, mail.KindCode, acct, mail.Data{Code: code, Minutes: int(CodeValidity.Minutes())}, nil, &exp); err != nil {
			return err
		}
		return d.svc.event(ctx, tx, "system", id, "code.sent", map[string]string{"code_id": cid, "invite": string(inv.ID), "expires_at": exp.Format(time.RFC3339)})
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("request code for %s: %w", id, err)
	}
	return exp, nil
}

// VerifyCode checks the customer's code. A wrong code counts against the
// invite; the fifth wrong try locks it (the invite is revoked). A used or
// expired code is refused. Every outcome is audited (never the code).
func (d *Desk) VerifyCode(ctx context.Context, id models.CaseID, code string) error {
	code = strings.TrimSpace(code)
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return models.Errorf(models.EINVALID, "the code is 6 digits")
	}
	var outcome error
	err := d.svc.store.Transact(ctx, func(tx models.Tx) error {
		outcome = nil
		c, err := tx.CaseByID(ctx, id)
		if err != nil {
			return err
		}
		inv, err := liveInvite(ctx, tx, id)
		if err != nil {
			return err
		}
		codes, err := tx.EmailCodesByInvite(ctx, inv.ID)
		if err != nil {
			return err
		}
		if failures(codes) >= CodeMaxFailures {
			return ErrCodeLocked
		}
		if len(codes) == 0 {
			return models.Errorf(models.ECONFLICT, "no code was sent; request one first")
		}
		newest := codes[0]
		now := d.svc.now().UTC()
		audit := func(action string, extra map[string]string) error {
			det := map[string]string{"code_id": newest.ID, "invite": string(inv.ID)}
			for k, v := range extra {
				det[k] = v
			}
			return d.svc.event(ctx, tx, "system", c.ID, action, det)
		}
		switch {
		case newest.UsedAt != nil:
			outcome = models.Errorf(models.EGONE, "this code was already used")
			return audit("code.replayed", nil)
		case !now.Before(newest.ExpiresAt):
			outcome = models.Errorf(models.EGONE, "this code has expired; request a new one")
			return audit("code.expired", nil)
		case !hmac.Equal([]byte(d.codeHash(inv.ID, code)), []byte(newest.CodeHash)):
			if err := tx.AddEmailCodeFailure(ctx, newest.ID); err != nil {
				return err
			}
			left := CodeMaxFailures - failures(codes) - 1
			if left <= 0 {
				outcome = ErrCodeLocked
				if err := tx.RevokeInvites(ctx, c.ID, now); err != nil {
					return err
				}
				return audit("code.locked", nil)
			}
			outcome = models.Errorf(models.EFORBIDDEN, "wrong code; %d tries left", left)
			return audit("code.wrong", map[string]string{"tries_left": fmt.Sprint(left)})
		}
		if err := tx.UseEmailCode(ctx, newest.ID, now); err != nil {
			return err
		}
		return audit("code.verified", nil)
	})
	if err != nil {
		return fmt.Errorf("verify code for %s: %w", id, err)
	}
	return outcome
}
