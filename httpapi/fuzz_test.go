package httpapi

import (
	"strings"
	"testing"

	"remoteidv/models"
)

// FuzzDecodeNewCase feeds arbitrary bodies to the case-creation decoder: it
// must never panic, and anything it accepts must be one well-typed object.
func FuzzDecodeNewCase(f *testing.F) {
	for _, seed := range []string{
		`{"account_no":"6222020200112233","purpose":"transaction_statement","period_from":"2025-01-01","period_to":"2025-12-31","slot":{"local":"2026-12-01T09:00","time_zone":"America/New_York"}}`,
		`{}`, `[]`, `null`, `{"account_no":1}`, `{"slot":{"local":null}}`, `{"a":1}`, `{} {}`, `{"account_no":"\u0000"}`,
		`{"account_no":"` + strings.Repeat("9", 100) + `"`, "\xff\xfe{}", `{"slot":{"time_zone":"../../etc/passwd"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req newCaseRequest
		err := decodeJSON(strings.NewReader(string(body)), &req)
		if err == nil {
			return
		}
		if code := models.ErrorCodeOf(err); code != models.EINVALID {
			t.Fatalf("decodeJSON(%q) error kind %s (%v), want invalid", body, code, err)
		}
	})
}
