package models

import "time"

// ImportRunID identifies a recorded run of the account import.
type ImportRunID string

// ImportRow is the outcome of one CSV line of an account import.
type ImportRow struct {
	Line      int       `json:"line"`
	AccountNo AccountNo `json:"account_no"`
	Error     string    `json:"error,omitempty"` // the row was skipped
	// Problems are images kept but flagged for the admin ("name: why").
	Problems []string `json:"problems,omitempty"`
}

// ImportRun is one run of the account import (idv accounts import, idv
// demo load): who ran it, on what, when, and every row's outcome. Admins
// read the runs on the admin page.
type ImportRun struct {
	ID         ImportRunID
	StartedAt  time.Time
	FinishedAt time.Time
	Actor      string
	Source     string // label of the input, e.g. the CSV file's name
	Imported   int
	Failed     int
	Flagged    int // imported rows with at least one flagged image
	Rows       []ImportRow
}

// AccountStatus is how ready an account is for remote verification: its
// reference photos, the flagged ones, its signature specimen and how many
// photos have a face descriptor for the running models.
type AccountStatus struct {
	No         AccountNo
	HolderName string
	ImportedAt time.Time
	Photos     int      // reference photos
	Flagged    int      // photos flagged at import (no single usable face)
	Problems   []string // the flagged photos' problems, oldest photo first
	Signature  bool     // a signature specimen is on file
	// Enrolled counts the usable (unflagged) photos with a stored
	// descriptor for the model hash asked for.
	Enrolled int
}

// Reasons an account needs an admin's attention, as AccountStatus.Attention
// lists them.
const (
	AttentionNoPhoto      = "no_photo"      // no reference photo
	AttentionFlaggedPhoto = "flagged_photo" // a photo has no single usable face
	AttentionNoSignature  = "no_signature"  // no signature specimen
	AttentionNotEnrolled  = "not_enrolled"  // a usable photo has no descriptor for the running models
)

// Attention lists why an admin should look at the account; none when it
// is ready for remote verification.
func (s AccountStatus) Attention() []string {
	var out []string
	if s.Photos == 0 {
		out = append(out, AttentionNoPhoto)
	}
	if s.Flagged > 0 {
		out = append(out, AttentionFlaggedPhoto)
	}
	if !s.Signature {
		out = append(out, AttentionNoSignature)
	}
	if s.Enrolled < s.Photos-s.Flagged {
		out = append(out, AttentionNotEnrolled)
	}
	return out
}

// NeedsAttention reports whether Attention lists anything. The store's
// attention filter applies the same rules in SQL.
func (s AccountStatus) NeedsAttention() bool { return len(s.Attention()) > 0 }

// AccountStatusFilter selects and pages account statuses.
type AccountStatusFilter struct {
	// ModelHash is the hash descriptors must have to count as enrolled.
	ModelHash string
	// Attention keeps only accounts whose NeedsAttention is true.
	Attention bool
	Limit     int // 1..200
	Offset    int
}

// Validate checks the paging bounds.
func (f AccountStatusFilter) Validate() error {
	if f.Limit < 1 || f.Limit > 200 {
		return Errorf(EINVALID, "limit %d out of range 1..200", f.Limit)
	}
	if f.Offset < 0 || f.Offset > 1_000_000 {
		return Errorf(EINVALID, "offset %d out of range", f.Offset)
	}
	return nil
}
