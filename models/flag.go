package models

import (
	"context"
	"time"
)

// FlagCategory is the kind of fraud an aborted case raised against its
// account.
type FlagCategory string

// Fraud flag categories.
const (
	FlagSuspectedImpostor FlagCategory = "suspected_impostor" // someone else posed as the holder
	FlagCoercion          FlagCategory = "coercion"           // the holder seemed to act under pressure
	FlagDocumentForgery   FlagCategory = "document_forgery"   // the letter or an ID document looked forged
	FlagOther             FlagCategory = "other"              // the reason says what
)

// FlagCategories lists every category, in the order forms offer them.
var FlagCategories = []FlagCategory{FlagSuspectedImpostor, FlagCoercion, FlagDocumentForgery, FlagOther}

func (c FlagCategory) String() string { return string(c) }

// ParseFlagCategory returns the category named s (EINVALID otherwise).
func ParseFlagCategory(s string) (FlagCategory, error) {
	for _, c := range FlagCategories {
		if string(c) == s {
			return c, nil
		}
	}
	return "", Errorf(EINVALID, "fraud_category must be one of suspected_impostor, coercion, document_forgery, other")
}

// FlagID identifies an account flag.
type FlagID string

// AccountFlag is a suspicion of fraud kept against an account: raised by
// the staff member who aborted one of its cases, shown to whoever opens a
// new case for it, until a supervisor other than the raiser clears it.
type AccountFlag struct {
	ID        FlagID
	AccountNo AccountNo
	CaseID    CaseID // the aborted case that raised it
	Category  FlagCategory
	Reason    string
	Actor     StaffID // who raised it
	CreatedAt time.Time
	// ClearedAt, ClearedBy and ClearReason are set together when a
	// supervisor clears the flag; ClearedAt is nil while it is open.
	ClearedAt   *time.Time
	ClearedBy   StaffID
	ClearReason string
}

// Open reports whether the flag still stands.
func (f *AccountFlag) Open() bool { return f.ClearedAt == nil }

// AccountFlagRepo stores fraud flags against accounts (flag.go).
type AccountFlagRepo interface {
	// CreateAccountFlag stores an open flag (ECONFLICT when the ID
	// exists; an error when the account, case or actor is unknown).
	CreateAccountFlag(ctx context.Context, f *AccountFlag) error
	// AccountFlagByID returns one flag (ENOTFOUND).
	AccountFlagByID(ctx context.Context, id FlagID) (*AccountFlag, error)
	// OpenAccountFlags lists the account's open flags, oldest first.
	OpenAccountFlags(ctx context.Context, no AccountNo) ([]*AccountFlag, error)
	// AccountFlags lists every flag of the account, cleared ones
	// included, oldest first.
	AccountFlags(ctx context.Context, no AccountNo) ([]*AccountFlag, error)
	// ClearAccountFlag clears an open flag (ENOTFOUND when it does not
	// exist, ECONFLICT when it is already cleared, EFORBIDDEN when by
	// raised it: the schema refuses that too).
	ClearAccountFlag(ctx context.Context, id FlagID, by StaffID, reason string, at time.Time) error
}
