package storagetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/models"
)

func testStaffNotifications(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s) // stf_clerk, account, case_a
	tx(t, s, func(tx models.Tx) error { return tx.CreateStaff(ctx, staff("stf_sup", "sup", models.RoleSupervisor)) })

	t.Run("contact", func(t *testing.T) {
		var st *models.Staff
		tx(t, s, func(tx models.Tx) (err error) { st, err = tx.StaffByID(ctx, "stf_clerk"); return })
		if st.Email != "" || st.Language != "" {
			t.Errorf("new staff email, language = %q, %q, want empty", st.Email, st.Language)
		}
		st.Email, st.Language = "clerk@bank.example", "zh-CN"
		tx(t, s, func(tx models.Tx) error { return tx.UpdateStaff(ctx, st) })
		tx(t, s, func(tx models.Tx) (err error) { st, err = tx.StaffByUsername(ctx, "clerk"); return })
		if st.Email != "clerk@bank.example" || st.Language != "zh-CN" {
			t.Errorf("after update email, language = %q, %q", st.Email, st.Language)
		}
		st.Language = "fr"
		err := s.Transact(ctx, func(tx models.Tx) error { return tx.UpdateStaff(ctx, st) })
		if err == nil {
			t.Error("UpdateStaff(language fr) accepted")
		}
		n := staff("stf_new", "newbie", models.RoleClerk)
		n.Email = "new@bank.example"
		tx(t, s, func(tx models.Tx) error { return tx.CreateStaff(ctx, n) })
		tx(t, s, func(tx models.Tx) (err error) { st, err = tx.StaffByID(ctx, "stf_new"); return })
		if st.Email != "new@bank.example" || st.Language != "" {
			t.Errorf("created staff email, language = %q, %q", st.Email, st.Language)
		}
	})

	t.Run("prefs", func(t *testing.T) {
		var got []models.NotifyPref
		tx(t, s, func(tx models.Tx) (err error) { got, err = tx.NotifyPrefs(ctx, "stf_clerk"); return })
		if len(got) != 0 {
			t.Errorf("NotifyPrefs(none set) = %v, want none", got)
		}
		tx(t, s, func(tx models.Tx) error {
			if err := tx.SetNotifyPref(ctx, "stf_clerk", models.NotifyPref{Kind: models.NotifyLetterUploaded, Enabled: true, Email: false}); err != nil {
				return err
			}
			if err := tx.SetNotifyPref(ctx, "stf_clerk", models.NotifyPref{Kind: models.NotifyCustomerConsented, Enabled: true, Email: true}); err != nil {
				return err
			}
			// A second choice for the same kind replaces the first.
			return tx.SetNotifyPref(ctx, "stf_clerk", models.NotifyPref{Kind: models.NotifyCustomerConsented, Enabled: false, Email: false})
		})
		tx(t, s, func(tx models.Tx) (err error) { got, err = tx.NotifyPrefs(ctx, "stf_clerk"); return })
		want := []models.NotifyPref{{Kind: models.NotifyCustomerConsented}, {Kind: models.NotifyLetterUploaded, Enabled: true}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("NotifyPrefs (-want +got):\n%s", diff)
		}
		tx(t, s, func(tx models.Tx) (err error) { got, err = tx.NotifyPrefs(ctx, "stf_sup"); return })
		if len(got) != 0 {
			t.Errorf("NotifyPrefs(another member) = %v, want none", got)
		}
		err := s.Transact(ctx, func(tx models.Tx) error {
			return tx.SetNotifyPref(ctx, "stf_nobody", models.NotifyPref{Kind: models.NotifyLetterUploaded, Enabled: true})
		})
		wantCode(t, "SetNotifyPref(unknown member)", err, models.ENOTFOUND)
	})

	t.Run("notifications", func(t *testing.T) {
		ns := []*models.StaffNotification{
			{ID: "ntf_1", StaffID: "stf_clerk", Kind: models.NotifyCustomerConsented, CaseID: "case_a", Channel: models.ChannelWebhook, Ref: "audit:7", AuditSeq: 7, CreatedAt: t0},
			{ID: "ntf_2", StaffID: "stf_clerk", Kind: models.NotifyCustomerConsented, CaseID: "case_a", Channel: models.ChannelEmail, Ref: "mail_x", AuditSeq: 7, CreatedAt: t0.Add(time.Second)},
			{ID: "ntf_3", StaffID: "stf_sup", Kind: models.NotifyCaseSubmitted, CaseID: "case_a", Channel: models.ChannelWebhook, Ref: "audit:9", AuditSeq: 9, CreatedAt: t0.Add(2 * time.Second)},
		}
		tx(t, s, func(tx models.Tx) error {
			for _, n := range ns {
				if err := tx.RecordNotification(ctx, n); err != nil {
					return err
				}
			}
			return nil
		})
		var got []*models.StaffNotification
		tx(t, s, func(tx models.Tx) (err error) {
			got, err = tx.Notifications(ctx, models.NotificationFilter{StaffID: "stf_clerk"})
			return
		})
		if diff := cmp.Diff([]*models.StaffNotification{ns[1], ns[0]}, got); diff != "" {
			t.Errorf("Notifications(stf_clerk) (-want +got):\n%s", diff)
		}
		tx(t, s, func(tx models.Tx) (err error) {
			got, err = tx.Notifications(ctx, models.NotificationFilter{Limit: 2})
			return
		})
		if diff := cmp.Diff([]*models.StaffNotification{ns[2], ns[1]}, got); diff != "" {
			t.Errorf("Notifications(limit 2) (-want +got):\n%s", diff)
		}
		tx(t, s, func(tx models.Tx) (err error) {
			got, err = tx.Notifications(ctx, models.NotificationFilter{CaseID: "case_zz"})
			return
		})
		if len(got) != 0 {
			t.Errorf("Notifications(other case) = %d rows, want 0", len(got))
		}
		err := s.Transact(ctx, func(tx models.Tx) error { return tx.RecordNotification(ctx, ns[0]) })
		wantCode(t, "RecordNotification(same id)", err, models.ECONFLICT)
		bad := *ns[0]
		bad.ID, bad.Channel = "ntf_4", "sms"
		if err := s.Transact(ctx, func(tx models.Tx) error { return tx.RecordNotification(ctx, &bad) }); err == nil {
			t.Error("RecordNotification(channel sms) accepted")
		}
	})

	t.Run("slot alerts", func(t *testing.T) {
		slot := t0.Add(time.Hour)
		// Two processes claim the same alert at once: exactly one wins.
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, lost := 0, 0
		for range 4 {
			wg.Go(func() {
				err := s.Transact(ctx, func(tx models.Tx) error { return tx.ClaimSlotAlert(ctx, "case_a", slot, t0) })
				mu.Lock()
				defer mu.Unlock()
				switch models.ErrorCodeOf(err) {
				case "":
					won++
				case models.ECONFLICT:
					lost++
				default:
					t.Errorf("ClaimSlotAlert: %v", err)
				}
			})
		}
		wg.Wait()
		if won != 1 || lost != 3 {
			t.Errorf("ClaimSlotAlert x4: won %d, lost %d, want 1, 3", won, lost)
		}
		// A new slot (a reschedule) has its own alert.
		tx(t, s, func(tx models.Tx) error { return tx.ClaimSlotAlert(ctx, "case_a", slot.Add(24*time.Hour), t0) })
	})

	t.Run("cursor", func(t *testing.T) {
		var cur int64
		tx(t, s, func(tx models.Tx) (err error) { cur, err = tx.NotifyCursor(ctx); return })
		tx(t, s, func(tx models.Tx) error { return tx.SetNotifyCursor(ctx, cur+5) })
		tx(t, s, func(tx models.Tx) (err error) { cur, err = tx.NotifyCursor(ctx); return })
		err := s.Transact(ctx, func(tx models.Tx) error { return tx.SetNotifyCursor(ctx, cur-1) })
		wantCode(t, "SetNotifyCursor(behind)", err, models.ECONFLICT)
	})
}
