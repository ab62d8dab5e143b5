package verify

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"remoteidv/models"
)

// CustomerActor is the audit actor of a customer session.
func CustomerActor(id models.CustomerSessionID) string { return "customer:" + string(id) }

func secretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// StartCustomerSession spends an invite token and opens the customer's
// session; the returned secret goes into the customer's cookie (only its
// hash is stored). Every failure, including losing a race for the same
// invite, is the one EGONE answer.
func (c *Calls) StartCustomerSession(ctx context.Context, tok string) (*models.CustomerSession, string, error) {
	hash, err := ParseInviteToken(tok)
	if err != nil {
		return nil, "", err
	}
	b := make([]byte, 32)
	if _, err := io.ReadFull(c.svc.rand, b); err != nil {
		return nil, "", fmt.Errorf("start customer session: %w", err)
	}
	secret := "cs1_" + base64.RawURLEncoding.EncodeToString(b)
	id, err := models.NewID(c.svc.rand, "cus")
	if err != nil {
		return nil, "", err
	}
	var out *models.CustomerSession
	err = c.svc.store.Transact(ctx, func(tx models.Tx) error {
		inv, err := tx.InviteByHash(ctx, hash)
		if models.ErrorCodeOf(err) == models.ENOTFOUND {
			return models.ErrInviteGone
		}
		if err != nil {
			return err
		}
		now := c.svc.now().UTC()
		if err := inv.Usable(now); err != nil {
			return notYetOpen(ctx, tx, inv, now, err)
		}
		cs, err := tx.CaseByID(ctx, inv.CaseID)
		if err != nil {
			return err
		}
		if !cs.State.TakesChecks() {
			return models.ErrInviteGone
		}
		if err := tx.MarkInviteUsed(ctx, inv.ID, now); err != nil {
			if models.ErrorCodeOf(err) == models.ECONFLICT {
				return models.ErrInviteGone
			}
			return err
		}
		out = &models.CustomerSession{ID: models.CustomerSessionID(id), CaseID: cs.ID, InviteID: inv.ID, SecretHash: secretHash(secret),
			CreatedAt: now, ExpiresAt: inv.NotAfter.Add(c.sessionTTL)}
		if err := tx.CreateCustomerSession(ctx, out); err != nil {
			if models.ErrorCodeOf(err) == models.ECONFLICT {
				return models.ErrInviteGone
			}
			return err
		}
		return c.svc.event(ctx, tx, CustomerActor(out.ID), cs.ID, "customer.session_started",
			map[string]string{"invite": string(inv.ID), "session": id, "token_sha256_prefix": hash[:12]})
	})
	if err != nil {
		return nil, "", fmt.Errorf("start customer session: %w", err)
	}
	return out, secret, nil
}

// ReopenedLink reports whether secret, a customer cookie, is a live
// session of the case that the invite token tok belongs to: the customer
// reopening their (now used) link in the browser that spent it. Any other
// combination, including an unknown token or a dead session, is false.
func (c *Calls) ReopenedLink(ctx context.Context, tok, secret string) (bool, error) {
	hash, err := ParseInviteToken(tok)
	if err != nil || secret == "" {
		return false, nil
	}
	sess, _, err := c.CustomerSession(ctx, secret)
	if models.ErrorCodeOf(err) == models.EGONE {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reopened link: %w", err)
	}
	var same bool
	err = c.svc.store.Transact(ctx, func(tx models.Tx) error {
		inv, err := tx.InviteByHash(ctx, hash)
		if models.ErrorCodeOf(err) == models.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		same = inv.CaseID == sess.CaseID
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("reopened link: %w", err)
	}
	return same, nil
}

// CustomerSession returns the live session whose cookie secret is secret
// and its case. It is EGONE when the session is unknown or expired, its
// invite was revoked, or the case is no longer awaiting or in its call.
func (c *Calls) CustomerSession(ctx context.Context, secret string) (*models.CustomerSession, *models.Case, error) {
	if !strings.HasPrefix(secret, "cs1_") || len(secret) != 47 {
		return nil, nil, models.ErrInviteGone
	}
	var sess *models.CustomerSession
	var cs *models.Case
	err := c.svc.store.Transact(ctx, func(tx models.Tx) error {
		found, err := tx.CustomerSessionByHash(ctx, secretHash(secret))
		if models.ErrorCodeOf(err) == models.ENOTFOUND {
			return models.ErrInviteGone
		}
		if err != nil {
			return err
		}
		if cs, err = c.liveCustomer(ctx, tx, found); err != nil {
			return err
		}
		sess = found
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return sess, cs, nil
}

func (c *Calls) liveCustomer(ctx context.Context, tx models.Tx, sess *models.CustomerSession) (*models.Case, error) {
	if c.svc.now().After(sess.ExpiresAt) {
		return nil, models.ErrInviteGone
	}
	invs, err := tx.InvitesByCase(ctx, sess.CaseID)
	if err != nil {
		return nil, err
	}
	revoked := true
	for _, inv := range invs {
		if inv.ID == sess.InviteID {
			revoked = inv.RevokedAt != nil
		}
	}
	if revoked {
		return nil, models.ErrInviteGone
	}
	cs, err := tx.CaseByID(ctx, sess.CaseID)
	if err != nil {
		return nil, err
	}
	if !cs.State.TakesChecks() {
		return nil, models.ErrInviteGone
	}
	return cs, nil
}

// CustomerAllowed returns nil while the customer session may stay in the
// call (the media layer polls it: a revoked invite ends the call).
func (c *Calls) CustomerAllowed(ctx context.Context, id models.CustomerSessionID, caseID models.CaseID) error {
	return c.svc.store.Transact(ctx, func(tx models.Tx) error {
		all, err := tx.CustomerSessionsByCase(ctx, caseID)
		if err != nil {
			return err
		}
		for _, s := range all {
			if s.ID == id {
				_, err := c.liveCustomer(ctx, tx, s)
				return err
			}
		}
		return models.ErrInviteGone
	})
}

// RecordConsent stores the customer's acceptance of the consent text of
// version and locale; the text's hash is kept with it, and the consent is
// audited. Accepting again is harmless.
func (c *Calls) RecordConsent(ctx context.Context, sess *models.CustomerSession, version, locale string) error {
	want := ConsentText(locale)
	if version != want.Version || locale != want.Locale {
		return models.Errorf(models.EINVALID, "consent version %q (%s) is not the current text %q (%s); reload the page", version, locale, want.Version, want.Locale)
	}
	err := c.svc.store.Transact(ctx, func(tx models.Tx) error {
		now := c.svc.now().UTC()
		if err := tx.RecordConsent(ctx, sess.ID, want.Version, want.SHA256, want.Locale, now); err != nil {
			return err
		}
		return c.svc.event(ctx, tx, CustomerActor(sess.ID), sess.CaseID, "customer.consent",
			map[string]string{"version": want.Version, "locale": want.Locale, "text_sha256": want.SHA256})
	})
	if models.ErrorCodeOf(err) == models.ECONFLICT {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record consent of %s: %w", sess.ID, err)
	}
	return nil
}

// ConsentRecorded reports whether the case's customer accepted the consent
// text (a requirement for captures and for submission).
func (c *Calls) ConsentRecorded(ctx context.Context, id models.CaseID) (bool, error) {
	var ok bool
	err := c.svc.store.Transact(ctx, func(tx models.Tx) error {
		all, err := tx.CustomerSessionsByCase(ctx, id)
		for _, s := range all {
			ok = ok || s.ConsentAt != nil
		}
		return err
	})
	return ok, err
}
