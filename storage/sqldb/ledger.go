package sqldb

import (
	"context"
	"fmt"
	"time"

	"remoteidv/models"
)

const insertLedger = `INSERT INTO ledger_entries (account_no, booked_at, description, amount, currency) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (account_no, booked_at, description, amount, currency) DO NOTHING`

// AddLedgerEntries inserts entries, skipping exact duplicates.
func (t *Tx) AddLedgerEntries(ctx context.Context, es []*models.LedgerEntry) (int, error) {
	added := 0
	for _, e := range es {
		r, err := t.exec(ctx, insertLedger, e.AccountNo, us(e.BookedAt), e.Description, e.Amount, e.Currency)
		if err != nil {
			return added, fmt.Errorf("add ledger entry of %s: %w", models.MaskAccountNo(e.AccountNo), err)
		}
		if n, _ := r.RowsAffected(); n > 0 {
			added++
		}
	}
	return added, nil
}

// LedgerEntries lists an account's entries booked in [from, to).
func (t *Tx) LedgerEntries(ctx context.Context, no models.AccountNo, from, to time.Time) ([]*models.LedgerEntry, error) {
	rows, err := t.query(ctx, `SELECT id, account_no, booked_at, description, amount, currency FROM ledger_entries
WHERE account_no = ? AND booked_at >= ? AND booked_at < ? ORDER BY booked_at, id`, no, us(from), us(to))
	if err != nil {
		return nil, fmt.Errorf("ledger of %s: %w", models.MaskAccountNo(no), err)
	}
	defer rows.Close()
	var out []*models.LedgerEntry
	for rows.Next() {
		var e models.LedgerEntry
		var booked int64
		if err := rows.Scan(&e.ID, &e.AccountNo, &booked, &e.Description, &e.Amount, &e.Currency); err != nil {
			return nil, fmt.Errorf("ledger of %s: %w", models.MaskAccountNo(no), err)
		}
		e.BookedAt = fromUS(booked)
		out = append(out, &e)
	}
	return out, rows.Err()
}

// LedgerBalance sums an account's entries booked before t, per currency.
func (t *Tx) LedgerBalance(ctx context.Context, no models.AccountNo, before time.Time) (map[string]int64, error) {
	rows, err := t.query(ctx, `SELECT currency, sum(amount) FROM ledger_entries WHERE account_no = ? AND booked_at < ? GROUP BY currency`, no, us(before))
	if err != nil {
		return nil, fmt.Errorf("balance of %s: %w", models.MaskAccountNo(no), err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var cur string
		var sum int64
		if err := rows.Scan(&cur, &sum); err != nil {
			return nil, fmt.Errorf("balance of %s: %w", models.MaskAccountNo(no), err)
		}
		out[cur] = sum
	}
	return out, rows.Err()
}

// RecordLedgerImport records an import and how far it covers.
func (t *Tx) RecordLedgerImport(ctx context.Context, imp *models.LedgerImport) error {
	if _, err := t.exec(ctx, `INSERT INTO ledger_imports (imported_at, through, actor, source, read_rows, added_rows) VALUES (?, ?, ?, ?, ?, ?)`,
		us(imp.ImportedAt), us(imp.Through), imp.Actor, imp.Source, imp.Read, imp.Added); err != nil {
		return fmt.Errorf("record ledger import %s: %w", imp.Source, err)
	}
	return nil
}

// LedgerCoveredThrough returns the latest recorded import's Through, or the
// zero time.
func (t *Tx) LedgerCoveredThrough(ctx context.Context) (time.Time, error) {
	var v *int64
	if err := t.queryRow(ctx, `SELECT max(through) FROM ledger_imports`).Scan(&v); err != nil {
		return time.Time{}, fmt.Errorf("ledger coverage: %w", err)
	}
	if v == nil {
		return time.Time{}, nil
	}
	return fromUS(*v), nil
}
