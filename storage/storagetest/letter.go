package storagetest

import (
	"context"
	"testing"
	"time"

	"remoteidv/models"
)

// testLetters covers LetterRepo: letters and their scope, recorded once.
func testLetters(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	c := models.CaseID("case_a")
	at := t0.Add(time.Hour)

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
}
