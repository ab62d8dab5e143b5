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
	// StaffLastSeen returns, for each member of staff with a session, the
	// latest activity of any of their sessions (the supervisors' board
	// shows who is online).
	StaffLastSeen(ctx context.Context) (map[StaffID]time.Time, error)
}

// FaceOutcome is how a face check ended, as the metrics count it.
type FaceOutcome string

// FaceOutcome values.
const (
	FaceOutcomeMatch   FaceOutcome = "match"    // the capture matched a reference photo
	FaceOutcomeNoMatch FaceOutcome = "no_match" // a usable face that matched none
	FaceOutcomeNoFace  FaceOutcome = "no_face"  // no usable face, or not an image at all
	FaceOutcomeError   FaceOutcome = "error"    // the engine failed or the check could not be recorded
)

// FaceOutcomes lists every FaceOutcome.
var FaceOutcomes = []FaceOutcome{FaceOutcomeMatch, FaceOutcomeNoMatch, FaceOutcomeNoFace, FaceOutcomeError}

// FaceCheckObserver learns of every face check the engine ran: how it
// ended and how long it took from the engine's start to the check
// recorded. It must not block.
type FaceCheckObserver interface {
	ObserveFaceCheck(outcome FaceOutcome, took time.Duration)
}
