package storagetest

import (
	"context"
	"testing"
	"time"

	"remoteidv/models"
)

// testEmailCodes covers EmailCodeRepo: failures counted, single use.
func testEmailCodes(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	c := models.CaseID("case_a")
	at := t0.Add(time.Hour)

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
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.UseEmailCode(ctx, "otp_2", at) })
	wantCode(t, "UseEmailCode twice", err, models.ECONFLICT)
	tx(t, s, func(tx models.Tx) error {
		if ok, err := tx.EmailCodeVerified(ctx, c); !ok || err != nil {
			t.Errorf("EmailCodeVerified after use = %v, %v; want true", ok, err)
		}
		return nil
	})
}
