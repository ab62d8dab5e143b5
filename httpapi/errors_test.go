package httpapi

import (
	"testing"

	"remoteidv/models"
)

// Every error code has its HTTP status; none falls through to 500.
func TestStatusOfEveryCode(t *testing.T) {
	for _, code := range models.ErrorCodes() {
		if _, ok := statusOf[code]; !ok {
			t.Errorf("no HTTP status for %s", code)
		}
	}
	if len(statusOf) != len(models.ErrorCodes()) {
		t.Errorf("statusOf has %d codes, models.ErrorCodes %d", len(statusOf), len(models.ErrorCodes()))
	}
}
