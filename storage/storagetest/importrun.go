package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"remoteidv/models"
)

func testImportRuns(t *testing.T, s models.Store) {
	ctx := context.Background()
	runs := []*models.ImportRun{
		{ID: "imp_1", StartedAt: t0, FinishedAt: t0.Add(time.Second), Actor: "cli", Source: "accounts.csv", Imported: 1, Failed: 1, Flagged: 1,
			Rows: []models.ImportRow{
				{Line: 2, AccountNo: "6222000011112222", Problems: []string{"a.jpg: face image rejected: NO_FACE"}},
				{Line: 3, AccountNo: "12", Error: "account_no must be 4 to 34 digits"},
			}},
		{ID: "imp_2", StartedAt: t0.Add(time.Hour), FinishedAt: t0.Add(time.Hour), Actor: "demo", Source: "demo load"},
		{ID: "imp_3", StartedAt: t0.Add(2 * time.Hour), FinishedAt: t0.Add(2*time.Hour + time.Minute), Actor: "cli", Source: "more.csv", Imported: 2,
			Rows: []models.ImportRow{{Line: 2, AccountNo: "6222000011113333"}, {Line: 3, AccountNo: "6222000011114444"}}},
	}
	for _, r := range runs {
		tx(t, s, func(tx models.Tx) error { return tx.CreateImportRun(ctx, r) })
	}
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateImportRun(ctx, runs[0]) })
	wantCode(t, "CreateImportRun(same id)", err, models.ECONFLICT)
	bad := *runs[1]
	bad.ID, bad.Flagged = "imp_bad", 1 // more flagged rows than imported ones
	if err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateImportRun(ctx, &bad) }); err == nil {
		t.Error("CreateImportRun(flagged > imported) accepted")
	}

	for _, tc := range []struct {
		name          string
		limit, offset int
		want          []*models.ImportRun
	}{
		{"all, newest first", 10, 0, []*models.ImportRun{runs[2], runs[1], runs[0]}},
		{"first page", 2, 0, []*models.ImportRun{runs[2], runs[1]}},
		{"second page", 2, 2, []*models.ImportRun{runs[0]}},
		{"past the end", 2, 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []*models.ImportRun
			var total int
			tx(t, s, func(tx models.Tx) (err error) { got, total, err = tx.ImportRuns(ctx, tc.limit, tc.offset); return })
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ImportRuns(%d, %d) (-want +got):\n%s", tc.limit, tc.offset, diff)
			}
			if total != len(runs) {
				t.Errorf("ImportRuns(%d, %d) total = %d, want %d", tc.limit, tc.offset, total, len(runs))
			}
		})
	}
}

func testAccountStatuses(t *testing.T, s models.Store) {
	ctx := context.Background()
	current, old := fmt.Sprintf("%064x", 1), fmt.Sprintf("%064x", 2)
	type image struct {
		kind    models.ImageKind
		problem string
		hashes  []string // model hashes with a stored descriptor
	}
	photo := func(problem string, hashes ...string) image { return image{models.ImagePhoto, problem, hashes} }
	signature := image{kind: models.ImageSignature}
	const noFace, twoFaces = "face image rejected: NO_FACE", "face image rejected: MULTIPLE_FACES"
	accounts := []struct {
		no     string
		images []image
	}{
		{"6222000000000001", []image{photo("", current), photo("", current, old), signature}},        // ready
		{"6222000000000002", []image{photo(noFace), photo("", current), photo(twoFaces), signature}}, // flagged photos
		{"6222000000000003", []image{photo("", current)}},                                            // no signature
		{"6222000000000004", []image{photo("", old), signature}},                                     // enrolled for other models only
		{"6222000000000005", nil}, // no photo at all
		{"6222000000000006", []image{photo("", current), photo("", current), photo("", current), signature}}, // ready
	}
	desc := make([]byte, 512)
	n := 0
	for i, a := range accounts {
		tx(t, s, func(tx models.Tx) error {
			acct := account(a.no)
			acct.ImportedAt = t0.Add(time.Duration(i) * time.Minute)
			if err := tx.UpsertAccount(ctx, acct); err != nil {
				return err
			}
			for _, im := range a.images {
				n++
				img := &models.AccountImage{AccountNo: acct.No, Kind: im.kind, ContentType: "image/png", SHA256: fmt.Sprintf("%064x", n),
					Data: []byte{byte(n)}, CreatedAt: t0, Problem: im.problem}
				if err := tx.AddAccountImage(ctx, img); err != nil {
					return err
				}
				for _, h := range im.hashes {
					if err := tx.PutFaceReference(ctx, &models.FaceReference{ImageID: img.ID, ModelHash: h, Descriptor: desc, CreatedAt: t0}); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	var all []*models.AccountStatus
	tx(t, s, func(tx models.Tx) (err error) {
		all, _, err = tx.AccountStatuses(ctx, models.AccountStatusFilter{ModelHash: current, Limit: 100})
		return
	})
	if len(all) != len(accounts) {
		t.Fatalf("AccountStatuses(all) = %d accounts, want %d", len(all), len(accounts))
	}
	flagged := &models.AccountStatus{No: "6222000000000002", HolderName: "Li Wei 6222000000000002", ImportedAt: t0.Add(time.Minute),
		Photos: 3, Flagged: 2, Problems: []string{noFace, twoFaces}, Signature: true, Enrolled: 1}
	if diff := cmp.Diff(flagged, all[1]); diff != "" {
		t.Errorf("AccountStatuses: account with flagged photos (-want +got):\n%s", diff)
	}
	for i, want := range []bool{false, true, true, true, true, false} {
		if got := all[i].NeedsAttention(); got != want {
			t.Errorf("%+v.NeedsAttention() = %v, want %v", *all[i], got, want)
		}
	}

	for _, tc := range []struct {
		name      string
		f         models.AccountStatusFilter
		want      []string // account numbers' last digit
		wantTotal int
	}{
		{"all", models.AccountStatusFilter{ModelHash: current, Limit: 100}, []string{"1", "2", "3", "4", "5", "6"}, 6},
		{"page", models.AccountStatusFilter{ModelHash: current, Limit: 2, Offset: 2}, []string{"3", "4"}, 6},
		{"attention", models.AccountStatusFilter{ModelHash: current, Attention: true, Limit: 100}, []string{"2", "3", "4", "5"}, 4},
		{"attention page", models.AccountStatusFilter{ModelHash: current, Attention: true, Limit: 2, Offset: 1}, []string{"3", "4"}, 4},
		{"attention past the end", models.AccountStatusFilter{ModelHash: current, Attention: true, Limit: 2, Offset: 10}, nil, 4},
		{"other models", models.AccountStatusFilter{ModelHash: old, Attention: true, Limit: 100}, []string{"1", "2", "3", "5", "6"}, 5},
		{"unknown models", models.AccountStatusFilter{ModelHash: fmt.Sprintf("%064x", 9), Attention: true, Limit: 100}, []string{"1", "2", "3", "4", "5", "6"}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []*models.AccountStatus
			var total int
			tx(t, s, func(tx models.Tx) (err error) { got, total, err = tx.AccountStatuses(ctx, tc.f); return })
			var nos []string
			for _, a := range got {
				nos = append(nos, string(a.No[len(a.No)-1:]))
			}
			if diff := cmp.Diff(tc.want, nos); diff != "" || total != tc.wantTotal {
				t.Errorf("AccountStatuses(%+v) total %d, want %d; accounts (-want +got):\n%s", tc.f, total, tc.wantTotal, diff)
			}
		})
	}
}
