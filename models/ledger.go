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
	// RecordLedgerImport records that an import made the ledger complete
	// up to imp.Through.
	RecordLedgerImport(ctx context.Context, imp *LedgerImport) error
	// LedgerCoveredThrough returns the latest Through of the recorded
	// imports: every booking before it is in the ledger. It is the zero
	// time when no import was recorded.
	LedgerCoveredThrough(ctx context.Context) (time.Time, error)
}

// LedgerImport is one run of `idv ledger import` (or `idv demo load`):
// the bank's export it loaded holds every booking, of every account,
// made before Through.
type LedgerImport struct {
	ImportedAt time.Time
	Through    time.Time
	Actor      string
	Source     string // the file's name
	Read       int
	Added      int
}
