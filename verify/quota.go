package verify

import (
	"context"
	"fmt"
	"time"

	"remoteidv/models"
)

// Quotas bound what one case may keep in write-once storage, where the
// bank pays for it for years (COMPLIANCE retention): an invite holder or a
// misbehaving client must not be able to fill it. Letters and captures are
// checked before anything is staged (and again in the transaction that
// keeps them, for two uploads racing); recordings are capped by the media
// layer while they are written, with the allowance RecordingAllowance
// gives it. A zero field takes its default (DefaultQuotas).
type Quotas struct {
	// LetterCount is how many letters a case may hold.
	LetterCount int
	// LetterBytes is the stored size all of a case's letters may add up to.
	LetterBytes int64
	// LetterGrowth is how much larger than the upload a re-encoded image
	// letter may be stored (stored <= LetterGrowth x uploaded bytes).
	LetterGrowth float64
	// Captures is how many frames a case may keep from face captures,
	// liveness challenges and the clerk's photo uploads together.
	Captures int
	// RecordingBytes and RecordingDuration bound the recordings of all of
	// a case's calls together; a call's own length is bounded by the call
	// duration (signaling's MaxDuration).
	RecordingBytes    int64
	RecordingDuration time.Duration
}

// DefaultQuotas are the limits in force where none are configured. A
// genuine liveness challenge takes about 60 frames (at most 18.4 s of
// steps at Chromium's roughly 3 key frames a second), so 500 captures
// leave room for six full challenges and fifty face captures on one case.
var DefaultQuotas = Quotas{
	LetterCount:       5,
	LetterBytes:       30 << 20,
	LetterGrowth:      1.5,
	Captures:          500,
	RecordingBytes:    6 << 30,
	RecordingDuration: 3 * time.Hour,
}

// WithDefaults returns q with every zero field set to DefaultQuotas'.
func (q Quotas) WithDefaults() Quotas {
	d := DefaultQuotas
	if q.LetterCount <= 0 {
		q.LetterCount = d.LetterCount
	}
	if q.LetterBytes <= 0 {
		q.LetterBytes = d.LetterBytes
	}
	if q.LetterGrowth <= 0 {
		q.LetterGrowth = d.LetterGrowth
	}
	if q.Captures <= 0 {
		q.Captures = d.Captures
	}
	if q.RecordingBytes <= 0 {
		q.RecordingBytes = d.RecordingBytes
	}
	if q.RecordingDuration <= 0 {
		q.RecordingDuration = d.RecordingDuration
	}
	return q
}

// Message keys (web/i18n) of the quota refusals, sent as the error's
// first detail so the customer's page can say it in their language.
const (
	quotaLetterCount = "quota.letter_count"
	quotaLetterBytes = "quota.letter_bytes"
	quotaLetterGrow  = "quota.letter_growth"
	quotaCaptures    = "quota.captures"
	quotaRecording   = "quota.recording"
)

func quotaError(key, format string, args ...any) error {
	e := models.Errorf(models.ETOOLARGE, format, args...)
	e.Details = []string{key}
	return e
}

// usage is what a case keeps, per quota.
type usage struct {
	letters     int
	letterBytes int64
	captures    int
	recBytes    int64
	recDuration time.Duration
}

// caseUsage is what case id's evidence and calls use of its quotas at now.
func caseUsage(ctx context.Context, tx models.Tx, id models.CaseID, now time.Time) (usage, error) {
	var u usage
	evs, err := tx.EvidenceByCase(ctx, id)
	if err != nil {
		return u, fmt.Errorf("usage of %s: %w", id, err)
	}
	for _, e := range evs {
		switch e.Kind {
		case models.EvidenceLetter:
			u.letters++
			u.letterBytes += e.Size
		case models.EvidenceCapture, models.EvidenceUpload:
			u.captures++
		case models.EvidenceRecording:
			u.recBytes += e.Size
		}
	}
	calls, err := tx.CallsByCase(ctx, id)
	if err != nil {
		return u, fmt.Errorf("usage of %s: %w", id, err)
	}
	for _, c := range calls {
		u.recDuration += callTime(c, now)
	}
	return u, nil
}

// callTime is how long call c ran, counted against the case's recording
// time: to its end; to its suspension while no node runs it; to now while
// it is open (running, or lost and about to be continued: its earlier
// legs count). The time between two legs (at most
// CallsConfig.ContinueWithin) counts too.
func callTime(c *models.Call, now time.Time) time.Duration {
	end := now
	switch {
	case c.EndedAt != nil:
		end = *c.EndedAt
	case c.SuspendedAt != nil:
		end = *c.SuspendedAt
	}
	return max(end.Sub(c.StartedAt), 0)
}

// admit returns a quota error when keeping arts would take the case past
// its quotas (u is what it keeps now). Recordings are streamed and capped
// while recorded, so they are not refused here: what was recorded is kept.
func (q Quotas) admit(u usage, arts []artifact) error {
	for _, a := range arts {
		switch a.Kind {
		case models.EvidenceLetter:
			if u.letters+1 > q.LetterCount {
				return quotaError(quotaLetterCount, "the case already holds %d letters, the most it may hold", u.letters)
			}
			if u.letterBytes+int64(len(a.Data)) > q.LetterBytes {
				return quotaError(quotaLetterBytes, "the case's letters would take %d bytes, over its %d-byte allowance", u.letterBytes+int64(len(a.Data)), q.LetterBytes)
			}
			u.letters++
			u.letterBytes += int64(len(a.Data))
		case models.EvidenceCapture, models.EvidenceUpload:
			if u.captures+1 > q.Captures {
				return quotaError(quotaCaptures, "the case keeps %d captured frames and %d more would take it past its %d", u.captures, countKind(arts, models.EvidenceCapture, models.EvidenceUpload), q.Captures)
			}
			u.captures++
		}
	}
	return nil
}

func countKind(arts []artifact, kinds ...models.EvidenceKind) int {
	n := 0
	for _, a := range arts {
		for _, k := range kinds {
			if a.Kind == k {
				n++
			}
		}
	}
	return n
}

// admitEvidence checks arts against the case's quotas in tx. With lock
// set it first takes the audit head's lock, which every transaction that
// keeps evidence takes anyway to append its event: two uploads to one case
// then cannot both pass the check on what the other has not committed.
func (s *Service) admitEvidence(ctx context.Context, tx models.Tx, id models.CaseID, arts []artifact, lock bool) error {
	if countKind(arts, models.EvidenceLetter, models.EvidenceCapture, models.EvidenceUpload) == 0 {
		return nil
	}
	if lock {
		if _, err := tx.AuditHeadForUpdate(ctx); err != nil {
			return fmt.Errorf("quota of %s: %w", id, err)
		}
	}
	u, err := caseUsage(ctx, tx, id, s.now())
	if err != nil {
		return err
	}
	return s.quotas().admit(u, arts)
}

// admitCaptures checks, before any costly work, that n more captured
// frames fit the case's quota.
func (s *Service) admitCaptures(ctx context.Context, id models.CaseID, n int) error {
	arts := make([]artifact, n)
	for i := range arts {
		arts[i].Kind = models.EvidenceCapture
	}
	return s.store.Transact(ctx, func(tx models.Tx) error { return s.admitEvidence(ctx, tx, id, arts, false) })
}

func (s *Service) quotas() Quotas { return s.cfg.Quotas.WithDefaults() }

// RecordingAllowance is how much more the case's calls may record (bytes
// and time) before the case's recording quota is used up; the media layer
// stops recording, and ends the call, when a call reaches it. A case with
// nothing left answers ETOOLARGE (quota.recording), so no call starts.
func (c *Calls) RecordingAllowance(ctx context.Context, id models.CaseID) (models.RecordingAllowance, error) {
	var u usage
	err := c.svc.store.Transact(ctx, func(tx models.Tx) (err error) { u, err = caseUsage(ctx, tx, id, c.svc.now()); return })
	if err != nil {
		return models.RecordingAllowance{}, err
	}
	q := c.svc.quotas()
	a := models.RecordingAllowance{Bytes: q.RecordingBytes - u.recBytes, Duration: q.RecordingDuration - u.recDuration}
	if a.Bytes <= 0 || a.Duration <= 0 {
		return a, quotaError(quotaRecording, "the case's calls have recorded %d bytes over %s, its whole recording allowance (%d bytes, %s)",
			u.recBytes, u.recDuration.Round(time.Second), q.RecordingBytes, q.RecordingDuration)
	}
	return a, nil
}

// RecordingCapped records that a call stopped recording (and ended) at
// the case's recording allowance or the call's byte cap: what was recorded
// is kept and complete, and the audit trail says why the call ended.
func (c *Calls) RecordingCapped(ctx context.Context, id models.CaseID, call models.CallID, limit string, bytes int64, took time.Duration) error {
	err := c.svc.store.Transact(ctx, func(tx models.Tx) error {
		return c.svc.event(ctx, tx, "system:signaling", id, "call.recording_capped", map[string]string{"call": string(call), "limit": limit,
			"bytes": fmt.Sprint(bytes), "duration_ms": fmt.Sprint(took.Milliseconds())})
	})
	if err != nil {
		return fmt.Errorf("record cap of call %s: %w", call, err)
	}
	return nil
}
