package models

import (
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"
)

// Account is the read-only projection of the bank's customer record that
// verification needs.
type Account struct {
	No         AccountNo
	HolderName string
	// HolderNameAlt is the holder's name in the other script, when the
	// bank has it: the Chinese name of a holder whose HolderName is in
	// Latin letters, or the reverse; "" when unknown.
	HolderNameAlt string
	NationalID    string // stored in full; shown masked
	Email         string
	Phone         string
	TimeZone      string // IANA name, e.g. America/New_York
	Language      string // customer's language for mail: "en" or "zh-CN"
	ImportedAt    time.Time
}

// LogValue keeps personal data out of logs.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(slog.String("account", MaskAccountNo(a.No)))
}

// ImageKind says what an account image is.
type ImageKind string

// Account image kinds.
const (
	ImagePhoto     ImageKind = "photo"     // reference photo from account opening
	ImageSignature ImageKind = "signature" // signature specimen
)

// AccountImage is a reference photo or signature specimen of an account.
type AccountImage struct {
	ID          int64
	AccountNo   AccountNo
	Kind        ImageKind
	ContentType string
	SHA256      string
	Data        []byte
	CreatedAt   time.Time
	// Problem is set at import when the image is unusable (for photos: not
	// exactly one usable face). Admins see it in the import report.
	Problem string
}

// MaskNationalID shows only the first 3 and last 4 characters.
func MaskNationalID(id string) string { return mask(id, 3, 4) }

// MaskAccountNo shows only the last 4 digits.
func MaskAccountNo(no AccountNo) string { return mask(string(no), 0, 4) }

// MaskEmail shows an address as its mailbox's first character and its
// domain ("l***@example.com"): enough for a clerk to tell which address a
// message goes to, not enough to write to it. A value without "@" is
// masked whole.
func MaskEmail(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" {
		return mask(addr, 0, 0)
	}
	first, _ := utf8.DecodeRuneInString(local)
	return string(first) + "***@" + domain
}

func mask(s string, head, tail int) string {
	r := []rune(s)
	if len(r) <= head+tail {
		out := make([]rune, len(r))
		for i := range out {
			out[i] = '*'
		}
		return string(out)
	}
	for i := head; i < len(r)-tail; i++ {
		r[i] = '*'
	}
	return string(r)
}
