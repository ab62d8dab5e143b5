package verify

import (
	"strings"
	"testing"

	"remoteidv/models"
)

// FuzzParseInviteToken: any string either parses to a 64-hex-digit hash or
// is the one "gone" answer; nothing panics.
func FuzzParseInviteToken(f *testing.F) {
	for _, seed := range []string{
		"iv1_g5nffsHIEopTnbGZxqjdEHYGCpicPFRb34rDCAtuJek", "", "iv1_", "iv2_g5nffsHIEopTnbGZxqjdEHYGCpicPFRb34rDCAtuJek",
		"iv1_g5nffsHIEopTnbGZxqjdEHYGCpicPFRb34rDCAtuJe=", "iv1_" + strings.Repeat("/", 43), "iv1_\x00\x01", "IV1_abc",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		h, err := ParseInviteToken(tok)
		if err != nil {
			if err != models.ErrInviteGone {
				t.Fatalf("ParseInviteToken(%q) = %v, want the gone error", tok, err)
			}
			return
		}
		if !models.ValidSHA256(h) || !strings.HasPrefix(tok, "iv1_") || len(tok) != 47 {
			t.Fatalf("ParseInviteToken(%q) accepted: %q", tok, h)
		}
	})
}
