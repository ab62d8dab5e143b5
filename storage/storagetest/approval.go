package storagetest

import (
	"context"
	"testing"
	"time"

	"remoteidv/models"
)

// testApprovals covers ApprovalRepo: one decision per case, used once.
func testApprovals(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	c := models.CaseID("case_a")
	at := t0.Add(time.Hour)

	apr := &models.Approval{ID: "apr_1", CaseID: c, Supervisor: "stf_clerk", Actor: "staff:stf_c", Decision: models.DecisionApprove, Reason: "all checks pass",
		Action: models.ApprovalAction{Purpose: models.PurposeStatement, AccountNo: "6222000011112222", PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", Email: "li.wei@example.com"}, CreatedAt: at}
	tx(t, s, func(tx models.Tx) error { return tx.CreateApproval(ctx, apr) })
	second := *apr
	second.ID = "apr_2"
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateApproval(ctx, &second) })
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
}
