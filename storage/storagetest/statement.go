package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"remoteidv/models"
)

// testStatements covers StatementRepo: one row per file, found by ID and by
// hash, released once, revoked once after its release.
func testStatements(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	sum := func(i int) string { return fmt.Sprintf("%064x", 0x5a0+i) }
	tx(t, s, func(tx models.Tx) error {
		for i := range 3 {
			e := evidence(fmt.Sprintf("ev_st%d", i), fmt.Sprintf("cases/case_a/statement/%s", sum(i)))
			e.Kind, e.SHA256, e.ContentType = models.EvidenceStatement, sum(i), "application/pdf"
			if err := tx.AddEvidence(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	first := &models.StatementRecord{ID: "stm_first", CaseID: "case_a", EvidenceID: "ev_st0", SHA256: sum(0), CreatedAt: t0}
	second := &models.StatementRecord{ID: "stm_second", CaseID: "case_a", EvidenceID: "ev_st1", SHA256: sum(1), CreatedAt: t0.Add(time.Minute)}
	tx(t, s, func(tx models.Tx) error {
		if err := tx.CreateStatement(ctx, second); err != nil {
			return err
		}
		return tx.CreateStatement(ctx, first)
	})
	for _, tc := range []struct {
		name string
		row  models.StatementRecord
	}{
		{"same id", models.StatementRecord{ID: "stm_first", CaseID: "case_a", EvidenceID: "ev_st2", SHA256: sum(2), CreatedAt: t0}},
		{"same hash", models.StatementRecord{ID: "stm_third", CaseID: "case_a", EvidenceID: "ev_st2", SHA256: sum(0), CreatedAt: t0}},
		{"same evidence", models.StatementRecord{ID: "stm_third", CaseID: "case_a", EvidenceID: "ev_st0", SHA256: sum(2), CreatedAt: t0}},
	} {
		err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateStatement(ctx, &tc.row) })
		wantCode(t, "CreateStatement("+tc.name+")", err, models.ECONFLICT)
	}
	at := t0.Add(time.Hour)
	tx(t, s, func(tx models.Tx) error { return tx.ReleaseStatement(ctx, "stm_first", at) })
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.ReleaseStatement(ctx, "stm_first", at) })
	wantCode(t, "ReleaseStatement twice", err, models.ECONFLICT)
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.ReleaseStatement(ctx, "stm_none", at) })
	wantCode(t, "ReleaseStatement(none)", err, models.ECONFLICT)
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.RevokeStatement(ctx, "stm_second", at, "never released") })
	wantCode(t, "RevokeStatement(unreleased)", err, models.ECONFLICT)
	revoked := at.Add(time.Hour)
	tx(t, s, func(tx models.Tx) error {
		return tx.RevokeStatement(ctx, "stm_first", revoked, "issued on a wrong ledger")
	})
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.RevokeStatement(ctx, "stm_first", revoked, "again") })
	wantCode(t, "RevokeStatement twice", err, models.ECONFLICT)
	tx(t, s, func(tx models.Tx) error {
		got, err := tx.StatementByID(ctx, "stm_first")
		if err != nil {
			return err
		}
		if got.ReleasedAt == nil || !got.ReleasedAt.Equal(at) || got.SHA256 != sum(0) || got.EvidenceID != "ev_st0" || !got.CreatedAt.Equal(t0) ||
			got.RevokedAt == nil || !got.RevokedAt.Equal(revoked) || got.RevokeReason != "issued on a wrong ledger" {
			t.Errorf("StatementByID = %+v, want the released, then revoked first statement", got)
		}
		byHash, err := tx.StatementBySHA256(ctx, sum(1))
		if err != nil {
			return err
		}
		if byHash.ID != "stm_second" || byHash.ReleasedAt != nil {
			t.Errorf("StatementBySHA256 = %+v, want stm_second unreleased", byHash)
		}
		list, err := tx.StatementsByCase(ctx, "case_a")
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].ID != "stm_first" || list[1].ID != "stm_second" {
			t.Errorf("StatementsByCase = %v, want first then second", list)
		}
		_, err = tx.StatementByID(ctx, "stm_none")
		wantCode(t, "StatementByID(none)", err, models.ENOTFOUND)
		_, err = tx.StatementBySHA256(ctx, sum(9))
		wantCode(t, "StatementBySHA256(none)", err, models.ENOTFOUND)
		return nil
	})
}
