package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"remoteidv/models"
)

func testAccountFlags(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s) // stf_clerk, account 6222000011112222, case_a
	const no = models.AccountNo("6222000011112222")
	tx(t, s, func(tx models.Tx) error {
		if err := tx.CreateStaff(ctx, staff("stf_sup", "sup", models.RoleSupervisor)); err != nil {
			return err
		}
		return tx.UpsertAccount(ctx, account("6222000099990000"))
	})
	f1 := &models.AccountFlag{ID: "flg_1", AccountNo: no, CaseID: "case_a", Category: models.FlagSuspectedImpostor,
		Reason: "another face", Actor: "stf_clerk", CreatedAt: t0}
	f2 := &models.AccountFlag{ID: "flg_2", AccountNo: no, CaseID: "case_a", Category: models.FlagCoercion,
		Reason: "someone prompting", Actor: "stf_sup", CreatedAt: t0.Add(time.Minute)}
	for _, f := range []*models.AccountFlag{f1, f2} {
		tx(t, s, func(tx models.Tx) error { return tx.CreateAccountFlag(ctx, f) })
	}
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateAccountFlag(ctx, f1) })
	wantCode(t, "CreateAccountFlag(same id)", err, models.ECONFLICT)

	for _, tc := range []struct {
		name string
		f    models.AccountFlag
	}{
		{"unknown category", models.AccountFlag{ID: "flg_x", AccountNo: no, CaseID: "case_a", Category: "rude", Reason: "r", Actor: "stf_clerk", CreatedAt: t0}},
		{"empty reason", models.AccountFlag{ID: "flg_x", AccountNo: no, CaseID: "case_a", Category: models.FlagOther, Actor: "stf_clerk", CreatedAt: t0}},
		{"unknown account", models.AccountFlag{ID: "flg_x", AccountNo: "6222000000000404", CaseID: "case_a", Category: models.FlagOther, Reason: "r", Actor: "stf_clerk", CreatedAt: t0}},
		{"unknown case", models.AccountFlag{ID: "flg_x", AccountNo: no, CaseID: "case_zz", Category: models.FlagOther, Reason: "r", Actor: "stf_clerk", CreatedAt: t0}},
		{"unknown actor", models.AccountFlag{ID: "flg_x", AccountNo: no, CaseID: "case_a", Category: models.FlagOther, Reason: "r", Actor: "stf_zz", CreatedAt: t0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateAccountFlag(ctx, &tc.f) }); err == nil {
				t.Errorf("CreateAccountFlag(%s) accepted", tc.name)
			}
		})
	}

	flags := func(open bool, no models.AccountNo) []*models.AccountFlag {
		t.Helper()
		var got []*models.AccountFlag
		tx(t, s, func(tx models.Tx) (err error) {
			if open {
				got, err = tx.OpenAccountFlags(ctx, no)
			} else {
				got, err = tx.AccountFlags(ctx, no)
			}
			return
		})
		return got
	}
	if diff := cmp.Diff([]*models.AccountFlag{f1, f2}, flags(true, no)); diff != "" {
		t.Errorf("OpenAccountFlags before clearing (-want +got):\n%s", diff)
	}
	if got := flags(true, "6222000099990000"); len(got) != 0 {
		t.Errorf("OpenAccountFlags(unflagged account) = %v, want none", got)
	}

	at := t0.Add(time.Hour)
	for _, tc := range []struct {
		name string
		id   models.FlagID
		by   models.StaffID
		want models.ErrorCode
	}{
		{"raiser clears", "flg_2", "stf_sup", models.EFORBIDDEN},
		{"unknown flag", "flg_zz", "stf_sup", models.ENOTFOUND},
		{"another clears", "flg_1", "stf_sup", ""},
		{"cleared twice", "flg_1", "stf_sup", models.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Transact(ctx, func(tx models.Tx) error { return tx.ClearAccountFlag(ctx, tc.id, tc.by, "checked by phone", at) })
			wantCode(t, "ClearAccountFlag("+string(tc.id)+", "+string(tc.by)+")", err, tc.want)
		})
	}
	cleared := *f1
	cleared.ClearedAt, cleared.ClearedBy, cleared.ClearReason = &at, "stf_sup", "checked by phone"
	if diff := cmp.Diff([]*models.AccountFlag{f2}, flags(true, no)); diff != "" {
		t.Errorf("OpenAccountFlags after clearing (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]*models.AccountFlag{&cleared, f2}, flags(false, no), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("AccountFlags after clearing (-want +got):\n%s", diff)
	}
	var one *models.AccountFlag
	tx(t, s, func(tx models.Tx) (err error) { one, err = tx.AccountFlagByID(ctx, "flg_1"); return })
	if diff := cmp.Diff(&cleared, one); diff != "" {
		t.Errorf("AccountFlagByID(flg_1) (-want +got):\n%s", diff)
	}
}
