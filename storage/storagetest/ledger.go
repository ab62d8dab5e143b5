package storagetest

import (
	"context"
	"testing"
	"time"

	"remoteidv/models"
)

// testLedger covers LedgerRepo: duplicates skipped, range and balance.
func testLedger(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)

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
	err := s.Transact(ctx, func(tx models.Tx) error {
		_, err := tx.AddLedgerEntries(ctx, []*models.LedgerEntry{{AccountNo: "999", BookedAt: t0, Description: "x", Amount: 1, Currency: "CNY"}})
		return err
	})
	if err == nil {
		t.Error("AddLedgerEntries(unknown account) = nil error, want a foreign key error")
	}
	// Coverage: none until an import is recorded, then the latest Through
	// (not the latest import).
	tx(t, s, func(tx models.Tx) error {
		if got, err := tx.LedgerCoveredThrough(ctx); err != nil || !got.IsZero() {
			t.Errorf("LedgerCoveredThrough(no import) = %v, %v; want zero", got, err)
		}
		for _, imp := range []*models.LedgerImport{
			{ImportedAt: t0, Through: t0.Add(-time.Hour), Actor: "cli", Source: "a.csv", Read: 3, Added: 3},
			{ImportedAt: t0.Add(time.Hour), Through: t0.Add(-48 * time.Hour), Actor: "cli", Source: "old.csv", Read: 2, Added: 0},
		} {
			if err := tx.RecordLedgerImport(ctx, imp); err != nil {
				return err
			}
		}
		if got, err := tx.LedgerCoveredThrough(ctx); err != nil || !got.Equal(t0.Add(-time.Hour)) {
			t.Errorf("LedgerCoveredThrough = %v, %v; want %v", got, err, t0.Add(-time.Hour))
		}
		return nil
	})
	err = s.Transact(ctx, func(tx models.Tx) error {
		return tx.RecordLedgerImport(ctx, &models.LedgerImport{ImportedAt: t0, Through: t0, Actor: "cli", Source: "bad.csv", Read: 1, Added: 2})
	})
	if err == nil {
		t.Error("RecordLedgerImport(added > read) = nil error, want a check violation")
	}
}
