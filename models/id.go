package models

import (
	"encoding/base32"
	"fmt"
	"io"
	"strings"
)

// CaseID identifies a case, e.g. "case_k3v9...". Case IDs appear in evidence
// keys (cases/<case-id>/...), so they use only lower-case letters and digits.
type CaseID string

// StaffID identifies a staff member.
type StaffID string

// AccountNo is the bank's account number: the key of an account.
type AccountNo string

// InviteID identifies an invite.
type InviteID string

// EvidenceID identifies one evidence item.
type EvidenceID string

// TokenID identifies an API token.
type TokenID string

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns prefix + "_" + 26 characters drawn from 128 random bits of r
// (crypto/rand.Reader in production, a seeded reader in tests).
func NewID(r io.Reader, prefix string) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("new %s id: %w", prefix, err)
	}
	return prefix + "_" + idEncoding.EncodeToString(b[:]), nil
}

// ValidID reports whether s looks like an ID made by NewID with the prefix;
// used to reject junk in URLs before it reaches storage.
func ValidID(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix+"_")
	if !ok || len(rest) != 26 {
		return false
	}
	_, err := idEncoding.DecodeString(rest)
	return err == nil
}
