// Package audit owns the tamper-evident audit trail: the canonical encoding
// and hash chain of events (hash_i = SHA-256(hash_{i-1} || canonical(event_i))),
// the RFC 6962 Merkle log whose leaves are those hashes, the service's
// Ed25519 key, signed checkpoints (C2SP checkpoint notes) of the log, the
// evidence bundle, and the pure, offline verification of all of them.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"remoteidv/models"
)

// ZeroHash is the previous hash of the first event.
const ZeroHash = "0000000000000000000000000000000000000000000000000000000000000000"

// canonicalEvent fixes the field order (alphabetical) and the time format.
// encoding/json writes map keys sorted, so Detail is canonical too.
type canonicalEvent struct {
	Action string            `json:"action"`
	Actor  string            `json:"actor"`
	At     string            `json:"at"`
	CaseID string            `json:"case_id"`
	Detail map[string]string `json:"detail"`
	Seq    int64             `json:"seq"`
}

// Canonical returns the bytes of e that the chain hashes: a JSON object with
// sorted keys, the time in UTC with microseconds, and no insignificant space.
func Canonical(e *models.AuditEvent) []byte {
	d := e.Detail
	if d == nil {
		d = map[string]string{}
	}
	b, err := json.Marshal(canonicalEvent{
		Action: e.Action, Actor: e.Actor, At: e.At.UTC().Format("2006-01-02T15:04:05.000000Z"),
		CaseID: string(e.CaseID), Detail: d, Seq: e.Seq,
	})
	if err != nil {
		// Strings, an int and a map of strings always marshal.
		panic(fmt.Sprintf("canonical audit event: %v", err))
	}
	return b
}

// Hash returns hex(SHA-256(prev || Canonical(e))) where prev is the raw
// 32 bytes of the previous hash. A malformed prev hashes as its text, so a
// tampered row still yields a (wrong) hash rather than an error.
func Hash(prev string, e *models.AuditEvent) string {
	h := sha256.New()
	if p, err := hex.DecodeString(prev); err == nil && len(p) == sha256.Size {
		h.Write(p)
	} else {
		h.Write([]byte(prev))
	}
	h.Write(Canonical(e))
	return hex.EncodeToString(h.Sum(nil))
}

// Chain appends events. It holds only the clock.
type Chain struct {
	Now func() time.Time
}

// Append links e after the current head and stores it in the same
// transaction as the change it records, together with its leaf of the
// Merkle log (see log.go; events from before the log are added first). It
// fills Seq, At, PrevHash and Hash.
func (c Chain) Append(ctx context.Context, tx models.AuditRepo, e *models.AuditEvent) error {
	head, err := tx.AuditHeadForUpdate(ctx)
	if err != nil {
		return fmt.Errorf("append audit %s: %w", e.Action, err)
	}
	if _, err := SyncTree(ctx, tx, head); err != nil {
		return fmt.Errorf("append audit %s: %w", e.Action, err)
	}
	e.Seq = head.Seq + 1
	e.At = c.Now().UTC().Truncate(time.Microsecond)
	e.PrevHash = head.Hash
	e.Hash = Hash(head.Hash, e)
	if err := tx.InsertAuditEvent(ctx, e); err != nil {
		return fmt.Errorf("append audit %s: %w", e.Action, err)
	}
	if err := appendLeaf(ctx, tx, e); err != nil {
		return fmt.Errorf("append audit %s: %w", e.Action, err)
	}
	return nil
}
