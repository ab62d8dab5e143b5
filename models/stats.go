package models

import (
	"context"
	"time"
)

// StatsRepo answers the counts the domain metrics read at scrape time.
// Both methods only read.
type StatsRepo interface {
	// CaseCountsByState returns how many cases are in each state; states
	// without cases are missing from the map.
	CaseCountsByState(ctx context.Context) (map[CaseState]int, error)
	// MailBacklog returns how many messages of the mail outbox are neither
	// sent nor expired, and when the oldest of them was queued (zero when
	// none is).
	MailBacklog(ctx context.Context) (queued int, oldest time.Time, err error)
}
