package storagetest

import (
	"context"
	"testing"
	"time"

	"remoteidv/models"
)

// testReview covers ReviewRepo: letters, email codes, approvals,
// idempotency keys, the ledger and the mail outbox.
func testReview(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	c := models.CaseID("case_a")
	at := t0.Add(time.Hour)

	// Letters and their scope, recorded once.
	l := &models.Letter{ID: "let_1", CaseID: c, Evidence: "evd_1", ContentType: "image/png", Width: 800, Height: 600, Source: "clerk", Actor: "staff:stf_c", CreatedAt: t0}
	tx(t, s, func(tx models.Tx) error { return tx.CreateLetter(ctx, l) })
	scope := models.LetterScope{AccountNo: "6222000011112222", Service: models.PurposeStatement, PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", RegisteredEmail: true}
	tx(t, s, func(tx models.Tx) error { return tx.SetLetterScope(ctx, "let_1", scope, "staff:stf_c", at) })
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.SetLetterScope(ctx, "let_1", scope, "staff:stf_c", at) })
	wantCode(t, "SetLetterScope twice", err, models.ECONFLICT)
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.SetLetterScope(ctx, "let_none", scope, "x", at) })
	wantCode(t, "SetLetterScope(unknown)", err, models.ENOTFOUND)
	tx(t, s, func(tx models.Tx) error {
		ls, err := tx.LettersByCase(ctx, c)
		if err != nil {
			return err
		}
		if len(ls) != 1 || ls[0].Scope == nil || *ls[0].Scope != scope || ls[0].ScopeAt == nil || !ls[0].ScopeAt.Equal(at) || ls[0].Width != 800 {
			t.Errorf("LettersByCase = %+v, want the letter with its scope", ls[0])
		}
		return nil
	})

	// Email codes: failures, single use.
	tx(t, s, func(tx models.Tx) error {
		if err := tx.CreateInvite(ctx, &models.Invite{ID: "inv_1", CaseID: c, TokenHash: "1111111111111111111111111111111111111111111111111111111111111111", NotBefore: t0, NotAfter: at, CreatedAt: t0}); err != nil {
			return err
		}
		for i, id := range []string{"otp_1", "otp_2"} {
			code := &models.EmailCode{ID: id, CaseID: c, InviteID: "inv_1", CodeHash: "0123456789012345678901234567890123456789012345678901234567890123",
				CreatedAt: t0.Add(time.Duration(i) * time.Minute), ExpiresAt: t0.Add(10 * time.Minute)}
			if err := tx.CreateEmailCode(ctx, code); err != nil {
				return err
			}
		}
		return tx.AddEmailCodeFailure(ctx, "otp_2")
	})
	tx(t, s, func(tx models.Tx) error {
		codes, err := tx.EmailCodesByInvite(ctx, "inv_1")
		if err != nil {
			return err
		}
		if len(codes) != 2 || codes[0].ID != "otp_2" || codes[0].Failures != 1 || codes[1].Failures != 0 {
			t.Errorf("EmailCodesByInvite = %+v %+v, want otp_2 (1 failure) first", codes[0], codes[1])
		}
		ok, err := tx.EmailCodeVerified(ctx, c)
		if ok || err != nil {
			t.Errorf("EmailCodeVerified before use = %v, %v; want false", ok, err)
		}
		return tx.UseEmailCode(ctx, "otp_2", at)
	})
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.UseEmailCode(ctx, "otp_2", at) })
	wantCode(t, "UseEmailCode twice", err, models.ECONFLICT)
	tx(t, s, func(tx models.Tx) error {
		if ok, err := tx.EmailCodeVerified(ctx, c); !ok || err != nil {
			t.Errorf("EmailCodeVerified after use = %v, %v; want true", ok, err)
		}
		return nil
	})

	// Approvals: one per case, used once.
	apr := &models.Approval{ID: "apr_1", CaseID: c, Supervisor: "stf_clerk", Actor: "staff:stf_c", Decision: models.DecisionApprove, Reason: "all checks pass",
		Action: models.ApprovalAction{Purpose: models.PurposeStatement, AccountNo: "6222000011112222", PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", Email: "li.wei@example.com"}, CreatedAt: at}
	tx(t, s, func(tx models.Tx) error { return tx.CreateApproval(ctx, apr) })
	second := *apr
	second.ID = "apr_2"
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.CreateApproval(ctx, &second) })
	wantCode(t, "CreateApproval twice for a case", err, models.ECONFLICT)
	tx(t, s, func(tx models.Tx) error { return tx.UseApproval(ctx, "apr_1", at) })
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.UseApproval(ctx, "apr_1", at) })
	wantCode(t, "UseApproval twice", err, models.ECONFLICT)
	tx(t, s, func(tx models.Tx) error {
		got, err := tx.ApprovalByCase(ctx, c)
		if err != nil {
			return err
		}
		if got.Action != apr.Action || got.UsedAt == nil || got.Decision != models.DecisionApprove {
			t.Errorf("ApprovalByCase = %+v, want the used approval", got)
		}
		_, err = tx.ApprovalByCase(ctx, "case_none")
		wantCode(t, "ApprovalByCase(none)", err, models.ENOTFOUND)
		return nil
	})

	// Idempotency keys.
	rec := &models.IdempotencyRecord{Key: "k1", RequestHash: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", CreatedAt: t0}
	tx(t, s, func(tx models.Tx) error { return tx.BeginIdempotent(ctx, rec) })
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.BeginIdempotent(ctx, rec) })
	wantCode(t, "BeginIdempotent twice", err, models.ECONFLICT)
	tx(t, s, func(tx models.Tx) error { return tx.CompleteIdempotent(ctx, "k1", 200, []byte(`{"ok":true}`), at) })
	tx(t, s, func(tx models.Tx) error {
		// A replay finds the key taken and reads it in the same transaction.
		wantCode(t, "BeginIdempotent(taken key)", tx.BeginIdempotent(ctx, rec), models.ECONFLICT)
		got, err := tx.IdempotencyByKey(ctx, "k1")
		if err != nil {
			return err
		}
		if got.Status != 200 || string(got.Response) != `{"ok":true}` || got.CompletedAt == nil {
			t.Errorf("IdempotencyByKey = %+v, want the completed answer", got)
		}
		if err := tx.DeleteIdempotent(ctx, "k1"); err != nil {
			return err
		}
		_, err = tx.IdempotencyByKey(ctx, "k1")
		wantCode(t, "IdempotencyByKey after delete", err, models.ENOTFOUND)
		return nil
	})

	// Ledger: duplicates skipped, range and balance.
	es := []*models.LedgerEntry{
		{AccountNo: "6222000011112222", BookedAt: t0.AddDate(0, 0, -10), Description: "Salary", Amount: 100000, Currency: "CNY"},
		{AccountNo: "6222000011112222", BookedAt: t0, Description: "Rent", Amount: -2500, Currency: "CNY"},
		{AccountNo: "6222000011112222", BookedAt: t0.Add(time.Hour), Description: "Card", Amount: -1234, Currency: "CNY"},
	}
	tx(t, s, func(tx models.Tx) error {
		n, err := tx.AddLedgerEntries(ctx, es)
		if n != 3 || err != nil {
			t.Errorf("AddLedgerEntries = %d, %v; want 3", n, err)
		}
		n, err = tx.AddLedgerEntries(ctx, es[:2])
		if n != 0 || err != nil {
			t.Errorf("AddLedgerEntries(again) = %d, %v; want 0", n, err)
		}
		got, err := tx.LedgerEntries(ctx, "6222000011112222", t0, t0.Add(2*time.Hour))
		if err != nil {
			return err
		}
		if len(got) != 2 || got[0].Description != "Rent" || got[1].Amount != -1234 || !got[1].BookedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("LedgerEntries = %+v, want Rent and Card", got)
		}
		bal, err := tx.LedgerBalance(ctx, "6222000011112222", t0)
		if err != nil {
			return err
		}
		if len(bal) != 1 || bal["CNY"] != 100000 {
			t.Errorf("LedgerBalance = %v, want CNY 100000", bal)
		}
		return nil
	})
	err = s.Transact(ctx, func(tx models.Tx) error {
		_, err := tx.AddLedgerEntries(ctx, []*models.LedgerEntry{{AccountNo: "999", BookedAt: t0, Description: "x", Amount: 1, Currency: "CNY"}})
		return err
	})
	if err == nil {
		t.Error("AddLedgerEntries(unknown account) = nil error, want a foreign key error")
	}

	testOutbox(t, s, c, at)
}
