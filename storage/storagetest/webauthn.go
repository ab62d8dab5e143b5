package storagetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/models"
)

func testWebAuthn(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	tx(t, s, func(tx models.Tx) error { return tx.CreateStaff(ctx, staff("stf_sup", "sup", models.RoleSupervisor)) })

	// Keys: stored, listed oldest first, used, removed one by one or all.
	k1 := &models.WebAuthnKey{ID: "AAEC", StaffID: "stf_sup", Name: "blue key", Credential: []byte(`{"id":"AAEC"}`), CreatedAt: t0}
	k2 := &models.WebAuthnKey{ID: "AwQF", StaffID: "stf_sup", Name: "phone", Credential: []byte(`{"id":"AwQF"}`), CreatedAt: t0.Add(time.Minute)}
	tx(t, s, func(tx models.Tx) error {
		if err := tx.CreateWebAuthnKey(ctx, k2); err != nil {
			return err
		}
		return tx.CreateWebAuthnKey(ctx, k1)
	})
	dup := *k1
	dup.StaffID = "stf_clerk"
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateWebAuthnKey(ctx, &dup) })
	wantCode(t, "CreateWebAuthnKey(same credential ID, another member)", err, models.ECONFLICT)
	var got []*models.WebAuthnKey
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.WebAuthnKeys(ctx, "stf_sup"); return })
	if diff := cmp.Diff([]*models.WebAuthnKey{k1, k2}, got); diff != "" {
		t.Fatalf("WebAuthnKeys(stf_sup) (-want +got):\n%s", diff)
	}
	used := t0.Add(time.Hour)
	tx(t, s, func(tx models.Tx) error {
		return tx.UpdateWebAuthnKeyUse(ctx, "AAEC", []byte(`{"id":"AAEC","n":2}`), used)
	})
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.WebAuthnKeys(ctx, "stf_sup"); return })
	want := *k1
	want.Credential, want.LastUsedAt = []byte(`{"id":"AAEC","n":2}`), &used
	if diff := cmp.Diff(&want, got[0]); diff != "" {
		t.Fatalf("WebAuthnKeys after a use (-want +got):\n%s", diff)
	}
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.UpdateWebAuthnKeyUse(ctx, "none", nil, used) })
	wantCode(t, "UpdateWebAuthnKeyUse(unknown)", err, models.ENOTFOUND)
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.DeleteWebAuthnKey(ctx, "stf_clerk", "AAEC") })
	wantCode(t, "DeleteWebAuthnKey(another member's key)", err, models.ENOTFOUND)
	tx(t, s, func(tx models.Tx) error { return tx.DeleteWebAuthnKey(ctx, "stf_sup", "AAEC") })
	var n int
	tx(t, s, func(tx models.Tx) (err error) { n, err = tx.DeleteWebAuthnKeys(ctx, "stf_sup"); return })
	if n != 1 {
		t.Fatalf("DeleteWebAuthnKeys(stf_sup) = %d, want 1 (the phone)", n)
	}
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.WebAuthnKeys(ctx, "stf_sup"); return })
	if len(got) != 0 {
		t.Fatalf("WebAuthnKeys after DeleteWebAuthnKeys = %d keys, want none", len(got))
	}
	bad := *k1
	bad.Name = ""
	if err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateWebAuthnKey(ctx, &bad) }); err == nil {
		t.Errorf("CreateWebAuthnKey(empty name) = nil, want the schema's refusal")
	}

	// Sessions: whether role work waits for a key and when one was shown.
	hash := fmt.Sprintf("%064x", 11)
	sess := &models.StaffSession{IDHash: hash, StaffID: "stf_sup", CSRFToken: "csrf", CreatedAt: t0, LastSeen: t0, KeyRequired: true}
	tx(t, s, func(tx models.Tx) error { return tx.CreateSession(ctx, sess) })
	var gs *models.StaffSession
	tx(t, s, func(tx models.Tx) (err error) { gs, err = tx.SessionByHash(ctx, hash); return })
	if !gs.KeyPending() {
		t.Fatalf("SessionByHash(new, key required).KeyPending() = false, want true")
	}
	tx(t, s, func(tx models.Tx) error { return tx.SetSessionKey(ctx, hash, t0.Add(time.Minute)) })
	tx(t, s, func(tx models.Tx) (err error) { gs, err = tx.SessionByHash(ctx, hash); return })
	ws := *sess
	ws.KeyAt = t0.Add(time.Minute)
	if diff := cmp.Diff(&ws, gs); diff != "" || gs.KeyPending() {
		t.Fatalf("SessionByHash after SetSessionKey (-want +got):\n%s", diff)
	}
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.SetSessionKey(ctx, fmt.Sprintf("%064x", 12), t0) })
	wantCode(t, "SetSessionKey(unknown session)", err, models.ENOTFOUND)

	// Challenges are taken once: of many takers at once exactly one gets it.
	ch := &models.WebAuthnChallenge{Hash: fmt.Sprintf("%064x", 21), StaffID: "stf_sup", SessionHash: hash, Purpose: models.KeyDecision,
		Binding: "case_a|approve|abc", Ceremony: []byte(`{"challenge":"x"}`), ExpiresAt: t0.Add(5 * time.Minute)}
	tx(t, s, func(tx models.Tx) error { return tx.CreateWebAuthnChallenge(ctx, ch) })
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.CreateWebAuthnChallenge(ctx, ch) })
	wantCode(t, "CreateWebAuthnChallenge(twice)", err, models.ECONFLICT)
	var (
		mu    sync.Mutex
		taken []*models.WebAuthnChallenge
		wg    sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			var c *models.WebAuthnChallenge
			err := s.Transact(ctx, func(tx models.Tx) (err error) { c, err = tx.TakeWebAuthnChallenge(ctx, ch.Hash); return })
			if err != nil && models.ErrorCodeOf(err) != models.ENOTFOUND {
				t.Errorf("TakeWebAuthnChallenge = %v, want the challenge or ENOTFOUND", err)
			}
			if err == nil {
				mu.Lock()
				taken = append(taken, c)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(taken) != 1 {
		t.Fatalf("TakeWebAuthnChallenge by 4 at once: %d got it, want 1", len(taken))
	}
	if diff := cmp.Diff(ch, taken[0]); diff != "" {
		t.Fatalf("TakeWebAuthnChallenge (-want +got):\n%s", diff)
	}
	// Creating a challenge sweeps those that expired long before it.
	old := *ch
	old.Hash, old.ExpiresAt = fmt.Sprintf("%064x", 22), t0
	tx(t, s, func(tx models.Tx) error { return tx.CreateWebAuthnChallenge(ctx, &old) })
	next := *ch
	next.Hash, next.ExpiresAt = fmt.Sprintf("%064x", 23), t0.Add(2*time.Hour)
	tx(t, s, func(tx models.Tx) error { return tx.CreateWebAuthnChallenge(ctx, &next) })
	err = s.Transact(ctx, func(tx models.Tx) error { _, err := tx.TakeWebAuthnChallenge(ctx, old.Hash); return err })
	wantCode(t, "TakeWebAuthnChallenge(swept)", err, models.ENOTFOUND)
	bp := next
	bp.Hash, bp.Purpose = fmt.Sprintf("%064x", 24), "login"
	if err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateWebAuthnChallenge(ctx, &bp) }); err == nil {
		t.Errorf("CreateWebAuthnChallenge(purpose login) = nil, want the schema's refusal")
	}
}

// testWebAuthnEnrolment: enrolment codes for a first key are stored by
// hash, one live code per member (a new one replaces the unused one, not
// the used ones), and used once: of 4 users at once exactly one succeeds.
func testWebAuthnEnrolment(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	tx(t, s, func(tx models.Tx) error { return tx.CreateStaff(ctx, staff("stf_sup", "sup", models.RoleSupervisor)) })
	e1 := &models.WebAuthnEnrolment{Hash: fmt.Sprintf("%064x", 31), StaffID: "stf_sup", IssuedBy: "staff:stf_admin", CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	e2 := *e1
	e2.Hash, e2.CreatedAt = fmt.Sprintf("%064x", 32), t0.Add(time.Minute)
	tx(t, s, func(tx models.Tx) error { return tx.CreateWebAuthnEnrolment(ctx, e1) })
	tx(t, s, func(tx models.Tx) error { return tx.CreateWebAuthnEnrolment(ctx, &e2) })
	err := s.Transact(ctx, func(tx models.Tx) error { _, err := tx.WebAuthnEnrolment(ctx, e1.Hash); return err })
	wantCode(t, "WebAuthnEnrolment(replaced)", err, models.ENOTFOUND)
	var got *models.WebAuthnEnrolment
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.WebAuthnEnrolment(ctx, e2.Hash); return })
	if diff := cmp.Diff(&e2, got); diff != "" {
		t.Fatalf("WebAuthnEnrolment (-want +got):\n%s", diff)
	}
	var (
		mu   sync.Mutex
		wins int
		wg   sync.WaitGroup
	)
	used := t0.Add(time.Hour)
	for range 4 {
		wg.Go(func() {
			err := s.Transact(ctx, func(tx models.Tx) error { return tx.UseWebAuthnEnrolment(ctx, e2.Hash, used) })
			if err != nil && models.ErrorCodeOf(err) != models.ECONFLICT {
				t.Errorf("UseWebAuthnEnrolment = %v, want nil or ECONFLICT", err)
			}
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("UseWebAuthnEnrolment by 4 at once: %d succeeded, want 1", wins)
	}
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.WebAuthnEnrolment(ctx, e2.Hash); return })
	if got.UsedAt == nil || !got.UsedAt.Equal(used) {
		t.Fatalf("WebAuthnEnrolment after use: used at %v, want %v", got.UsedAt, used)
	}
	// A new code does not remove the used one (it stays as the record).
	e3 := *e1
	e3.Hash = fmt.Sprintf("%064x", 33)
	tx(t, s, func(tx models.Tx) error { return tx.CreateWebAuthnEnrolment(ctx, &e3) })
	tx(t, s, func(tx models.Tx) (err error) { _, err = tx.WebAuthnEnrolment(ctx, e2.Hash); return })
	bad := e3
	bad.Hash = "short"
	if err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateWebAuthnEnrolment(ctx, &bad) }); err == nil {
		t.Errorf("CreateWebAuthnEnrolment(hash not 64 characters) = nil, want the schema's refusal")
	}
}
