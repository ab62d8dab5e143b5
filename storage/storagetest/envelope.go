package storagetest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/models"
)

// testEnvelopePasswords covers EnvelopePasswordRepo: one per case,
// replaced by a second put, deleted once, a known case required, and the
// value redacted when printed or logged.
func testEnvelopePasswords(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	c := models.CaseID("case_a")
	err := s.Transact(ctx, func(tx models.Tx) error { _, err := tx.EnvelopePasswordOf(ctx, c); return err })
	wantCode(t, "EnvelopePasswordOf(none set)", err, models.ENOTFOUND)

	first := &models.EnvelopePassword{CaseID: c, Password: "first password", SetAt: t0}
	second := &models.EnvelopePassword{CaseID: c, Password: "Second-Password-2", SetAt: t0.Add(time.Minute)}
	for _, p := range []*models.EnvelopePassword{first, second} {
		tx(t, s, func(tx models.Tx) error { return tx.PutEnvelopePassword(ctx, p) })
		var got *models.EnvelopePassword
		tx(t, s, func(tx models.Tx) (err error) { got, err = tx.EnvelopePasswordOf(ctx, c); return })
		if diff := cmp.Diff(p, got); diff != "" {
			t.Fatalf("EnvelopePasswordOf after put (-want +got):\n%s", diff)
		}
	}

	err = s.Transact(ctx, func(tx models.Tx) error {
		return tx.PutEnvelopePassword(ctx, &models.EnvelopePassword{CaseID: "case_missing", Password: "password-1", SetAt: t0})
	})
	if err == nil {
		t.Error("PutEnvelopePassword for a case that does not exist succeeded")
	}
	err = s.Transact(ctx, func(tx models.Tx) error {
		return tx.PutEnvelopePassword(ctx, &models.EnvelopePassword{CaseID: c, Password: "short", SetAt: t0})
	})
	if err == nil {
		t.Error("PutEnvelopePassword of 5 characters succeeded; the schema allows 8 to 128")
	}

	for i, want := range []bool{true, false} {
		var gone bool
		tx(t, s, func(tx models.Tx) (err error) { gone, err = tx.DeleteEnvelopePassword(ctx, c); return })
		if gone != want {
			t.Errorf("DeleteEnvelopePassword #%d = %v, want %v", i+1, gone, want)
		}
	}
	err = s.Transact(ctx, func(tx models.Tx) error { _, err := tx.EnvelopePasswordOf(ctx, c); return err })
	wantCode(t, "EnvelopePasswordOf(after delete)", err, models.ENOTFOUND)

	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "p", second)
	for what, out := range map[string]string{"fmt %v": fmt.Sprintf("%v %+v %s", second, *second, second), "slog": logged.String()} {
		if strings.Contains(out, second.Password) {
			t.Errorf("%s shows the password: %s", what, out)
		}
	}
}
