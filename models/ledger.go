package models

import (
	"context"
	"time"
)

// LedgerEntry is one booked transaction of an account. Amount is in minor
// units (cents); negative amounts are debits.
type LedgerEntry struct {
	ID          int64
	AccountNo   AccountNo
	BookedAt    time.Time
	Description string
	Amount      int64
	Currency    string
}

// LedgerRepo stores the accounts' booked transactions, from which
// statements are made.
type LedgerRepo interface {
	// AddLedgerEntries inserts entries, skipping exact duplicates (same
	// account, time, description, amount and currency); it returns how many
	// were new.
	AddLedgerEntries(ctx context.Context, es []*LedgerEntry) (int, error)
	// LedgerEntries lists an account's entries booked in [from, to), in
	// booking order.
	LedgerEntries(ctx context.Context, no AccountNo, from, to time.Time) ([]*LedgerEntry, error)
	// LedgerBalance sums an account's entries booked before t, per currency.
	LedgerBalance(ctx context.Context, no AccountNo, before time.Time) (map[string]int64, error)
}
