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

func testCalls(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	nb, na := models.InviteWindow(t0.Add(time.Hour))
	inv := &models.Invite{ID: "inv_1", CaseID: "case_a", TokenHash: fmt.Sprintf("%064x", 7), NotBefore: nb, NotAfter: na, CreatedAt: t0}
	tx(t, s, func(tx models.Tx) error { return tx.CreateInvite(ctx, inv) })

	// One customer session per invite, even when two first uses race.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.Transact(ctx, func(tx models.Tx) error {
				return tx.CreateCustomerSession(ctx, &models.CustomerSession{ID: models.CustomerSessionID(fmt.Sprintf("cus_%d", i)), CaseID: "case_a",
					InviteID: "inv_1", SecretHash: fmt.Sprintf("%064x", 100+i), CreatedAt: t0, ExpiresAt: na})
			})
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch models.ErrorCodeOf(err) {
		case "":
			if won >= 0 {
				t.Fatalf("CreateCustomerSession race: sessions %d and %d both created", won, i)
			}
			won = i
		case models.ECONFLICT:
		default:
			t.Fatalf("CreateCustomerSession race: unexpected error %v", err)
		}
	}
	if won < 0 {
		t.Fatal("CreateCustomerSession race: no winner")
	}
	hash := fmt.Sprintf("%064x", 100+won)
	var got *models.CustomerSession
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.CustomerSessionByHash(ctx, hash); return })
	want := &models.CustomerSession{ID: models.CustomerSessionID(fmt.Sprintf("cus_%d", won)), CaseID: "case_a", InviteID: "inv_1", SecretHash: hash, CreatedAt: t0, ExpiresAt: na}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("CustomerSessionByHash (-want +got):\n%s", diff)
	}
	err := s.Transact(ctx, func(tx models.Tx) error { _, err := tx.CustomerSessionByHash(ctx, fmt.Sprintf("%064x", 1)); return err })
	wantCode(t, "CustomerSessionByHash(unknown)", err, models.ENOTFOUND)

	consentAt := t0.Add(time.Minute)
	sum := fmt.Sprintf("%064x", 5)
	tx(t, s, func(tx models.Tx) error { return tx.RecordConsent(ctx, want.ID, "v1", sum, "en", consentAt) })
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.RecordConsent(ctx, want.ID, "v1", sum, "en", consentAt) })
	wantCode(t, "RecordConsent(again)", err, models.ECONFLICT)
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.RecordConsent(ctx, "cus_none", "v1", sum, "en", consentAt) })
	wantCode(t, "RecordConsent(unknown)", err, models.ENOTFOUND)
	var all []*models.CustomerSession
	tx(t, s, func(tx models.Tx) (err error) { all, err = tx.CustomerSessionsByCase(ctx, "case_a"); return })
	want.ConsentVersion, want.ConsentSHA256, want.ConsentLocale, want.ConsentAt = "v1", sum, "en", &consentAt
	if diff := cmp.Diff([]*models.CustomerSession{want}, all); diff != "" {
		t.Fatalf("CustomerSessionsByCase (-want +got):\n%s", diff)
	}

	// Calls and their segments.
	call := &models.Call{ID: "call_1", CaseID: "case_a", StartedAt: t0, Recording: models.RecordingActive}
	tx(t, s, func(tx models.Tx) error { return tx.CreateCall(ctx, call) })
	seg := func(seq int, track string, from, to time.Time) *models.CallSegment {
		return &models.CallSegment{CallID: "call_1", Seq: seq, Participant: "customer", Track: track, Evidence: "evd_1",
			SHA256: fmt.Sprintf("%064x", seq), Size: 1000, StartedAt: from, EndedAt: to}
	}
	segs := []*models.CallSegment{seg(1, "audio", t0, t0.Add(time.Minute)), seg(1, "video", t0, t0.Add(time.Minute)), seg(2, "video", t0.Add(2*time.Minute), t0.Add(3*time.Minute))}
	for _, sg := range segs {
		tx(t, s, func(tx models.Tx) error { return tx.AddCallSegment(ctx, sg) })
	}
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.AddCallSegment(ctx, segs[0]) })
	wantCode(t, "AddCallSegment(repeat)", err, models.ECONFLICT)
	tx(t, s, func(tx models.Tx) error { return tx.MarkRecordingIncomplete(ctx, "call_1") })
	end := t0.Add(4 * time.Minute)
	tx(t, s, func(tx models.Tx) error { return tx.EndCall(ctx, "call_1", end, "left", models.RecordingComplete) })
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.EndCall(ctx, "call_1", end, "left", models.RecordingComplete) })
	wantCode(t, "EndCall(again)", err, models.ECONFLICT)
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.EndCall(ctx, "call_none", end, "left", models.RecordingComplete) })
	wantCode(t, "EndCall(unknown)", err, models.ENOTFOUND)
	var calls []*models.Call
	tx(t, s, func(tx models.Tx) (err error) { calls, err = tx.CallsByCase(ctx, "case_a"); return })
	wantCall := &models.Call{ID: "call_1", CaseID: "case_a", StartedAt: t0, EndedAt: &end, EndReason: "left",
		Recording: models.RecordingIncomplete, Segments: []*models.CallSegment{segs[0], segs[1], segs[2]}}
	if diff := cmp.Diff([]*models.Call{wantCall}, calls); diff != "" {
		t.Fatalf("CallsByCase (-want +got):\n%s", diff)
	}
}
