package storagetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/models"
)

func testCustomerComms(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s) // stf_clerk, account 6222000011112222, case_a
	tx(t, s, func(tx models.Tx) error {
		return tx.CreateCase(ctx, newCase("case_b", "6222000011112222", "stf_clerk", t0.Add(2*time.Hour)))
	})

	t.Run("calendar", func(t *testing.T) {
		err := s.Transact(ctx, func(tx models.Tx) error { _, err := tx.CaseCalendar(ctx, "case_a"); return err })
		wantCode(t, "CaseCalendar(never sent)", err, models.ENOTFOUND)
		for i, uid := range []string{"inv_first@remoteidv", "inv_second@remoteidv", "inv_third@remoteidv"} {
			at := t0.Add(time.Duration(i) * time.Minute)
			var got string
			var seq int
			tx(t, s, func(tx models.Tx) (err error) {
				got, seq, err = tx.NextCalendarSequence(ctx, "case_a", uid, at)
				return
			})
			if got != "inv_first@remoteidv" || seq != i {
				t.Errorf("NextCalendarSequence #%d = %q, %d, want inv_first@remoteidv, %d", i, got, seq, i)
			}
		}
		var c *models.CaseCalendar
		tx(t, s, func(tx models.Tx) (err error) { c, err = tx.CaseCalendar(ctx, "case_a"); return })
		want := &models.CaseCalendar{CaseID: "case_a", UID: "inv_first@remoteidv", Sequence: 2, UpdatedAt: t0.Add(2 * time.Minute)}
		if diff := cmp.Diff(want, c); diff != "" {
			t.Errorf("CaseCalendar (-want +got):\n%s", diff)
		}
		// Another case has its own entry.
		var seq int
		tx(t, s, func(tx models.Tx) (err error) {
			_, seq, err = tx.NextCalendarSequence(ctx, "case_b", "inv_b@remoteidv", t0)
			return
		})
		if seq != 0 {
			t.Errorf("NextCalendarSequence(case_b) = %d, want 0", seq)
		}
		err = s.Transact(ctx, func(tx models.Tx) error {
			_, _, err := tx.NextCalendarSequence(ctx, "case_zz", "x@remoteidv", t0)
			return err
		})
		if err == nil {
			t.Error("NextCalendarSequence(unknown case) accepted")
		}
	})

	t.Run("calendar concurrent", func(t *testing.T) {
		// Writers racing on one case each get their own sequence.
		var wg sync.WaitGroup
		var mu sync.Mutex
		seen := map[int]bool{}
		for range 4 {
			wg.Go(func() {
				var seq int
				err := s.Transact(ctx, func(tx models.Tx) (err error) {
					_, seq, err = tx.NextCalendarSequence(ctx, "case_b", "ignored@remoteidv", t0)
					return
				})
				if err != nil {
					// SQLite may answer "busy" under contention; a lost
					// writer is not a duplicate.
					t.Logf("NextCalendarSequence: %v", err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if seen[seq] {
					t.Errorf("sequence %d handed out twice", seq)
				}
				seen[seq] = true
			})
		}
		wg.Wait()
	})

	t.Run("reminders", func(t *testing.T) {
		slot := t0.Add(time.Hour)
		r1 := &models.Reminder{CaseID: "case_a", SlotAt: slot, Kind: models.Reminder24h, MailID: "mail_1", SentAt: t0.Add(-23 * time.Hour)}
		r2 := &models.Reminder{CaseID: "case_a", SlotAt: slot, Kind: models.Reminder1h, MailID: "mail_2", SentAt: t0.Add(time.Minute)}
		// A rescheduled slot has its own reminders.
		r3 := &models.Reminder{CaseID: "case_a", SlotAt: slot.Add(48 * time.Hour), Kind: models.Reminder24h, MailID: "mail_3", SentAt: t0.Add(2 * time.Minute)}
		for _, r := range []*models.Reminder{r1, r2, r3} {
			tx(t, s, func(tx models.Tx) error { return tx.RecordReminder(ctx, r) })
		}
		dup := *r1
		dup.MailID, dup.SentAt = "mail_9", t0
		err := s.Transact(ctx, func(tx models.Tx) error { return tx.RecordReminder(ctx, &dup) })
		wantCode(t, "RecordReminder(same case, slot and kind)", err, models.ECONFLICT)
		bad := &models.Reminder{CaseID: "case_a", SlotAt: slot, Kind: "2h", MailID: "mail_x", SentAt: t0}
		if err := s.Transact(ctx, func(tx models.Tx) error { return tx.RecordReminder(ctx, bad) }); err == nil {
			t.Error("RecordReminder(kind 2h) accepted")
		}
		var got []*models.Reminder
		tx(t, s, func(tx models.Tx) (err error) { got, err = tx.RemindersByCase(ctx, "case_a"); return })
		if diff := cmp.Diff([]*models.Reminder{r1, r2, r3}, got); diff != "" {
			t.Errorf("RemindersByCase (-want +got):\n%s", diff)
		}
		tx(t, s, func(tx models.Tx) (err error) { got, err = tx.RemindersByCase(ctx, "case_b"); return })
		if len(got) != 0 {
			t.Errorf("RemindersByCase(case_b) = %d rows, want 0", len(got))
		}
	})

	t.Run("intake", func(t *testing.T) {
		err := s.Transact(ctx, func(tx models.Tx) error { _, err := tx.CaseIntake(ctx, "case_a"); return err })
		wantCode(t, "CaseIntake(none)", err, models.ENOTFOUND)
		in := &models.CaseIntake{CaseID: "case_a", Channel: models.IntakePhone, ReceivedAt: t0.Add(-2 * time.Hour),
			Notes: "Called from New York; 中文 ok", RecordedBy: "stf_clerk", CreatedAt: t0}
		tx(t, s, func(tx models.Tx) error { return tx.CreateCaseIntake(ctx, in) })
		var got *models.CaseIntake
		tx(t, s, func(tx models.Tx) (err error) { got, err = tx.CaseIntake(ctx, "case_a"); return })
		if diff := cmp.Diff(in, got); diff != "" {
			t.Errorf("CaseIntake (-want +got):\n%s", diff)
		}
		err = s.Transact(ctx, func(tx models.Tx) error { return tx.CreateCaseIntake(ctx, in) })
		wantCode(t, "CreateCaseIntake(twice)", err, models.ECONFLICT)
		for _, tc := range []struct {
			name string
			in   models.CaseIntake
		}{
			{"unknown channel", models.CaseIntake{CaseID: "case_b", Channel: "fax", ReceivedAt: t0, RecordedBy: "stf_clerk", CreatedAt: t0}},
			{"unknown case", models.CaseIntake{CaseID: "case_zz", Channel: models.IntakeEmail, ReceivedAt: t0, RecordedBy: "stf_clerk", CreatedAt: t0}},
			{"unknown clerk", models.CaseIntake{CaseID: "case_b", Channel: models.IntakeEmail, ReceivedAt: t0, RecordedBy: "stf_zz", CreatedAt: t0}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateCaseIntake(ctx, &tc.in) }); err == nil {
					t.Errorf("CreateCaseIntake(%s) accepted", tc.name)
				}
			})
		}
	})
}
