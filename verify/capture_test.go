package verify_test

import (
	"context"
	"testing"

	"remoteidv/models"
)

// TestCaptureByDisabledClerk: once the case's clerk is disabled, a capture
// taken in their call is refused before any frame is looked at.
func TestCaptureByDisabledClerk(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	f.callFacts() // consent recorded
	f.tx(func(tx models.Tx) error {
		st, err := tx.StaffByID(ctx, f.clerk.StaffID)
		if err != nil {
			return err
		}
		now := f.clock.Now()
		st.DisabledAt = &now
		return tx.UpdateStaff(ctx, st)
	})
	_, err := f.calls.FaceCapture(ctx, f.caseID, f.clerk.Name, models.LiveFrame{JPEG: jpegBytes(t)})
	wantErr(t, "FaceCapture(disabled clerk)", err, models.EFORBIDDEN)
}
