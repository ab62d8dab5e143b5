package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/models"
)

// testStats: the counts the domain metrics read follow what is stored.
func testStats(t *testing.T, s models.Store) {
	ctx := context.Background()
	counts := func() map[models.CaseState]int {
		t.Helper()
		var got map[models.CaseState]int
		tx(t, s, func(tx models.Tx) (err error) { got, err = tx.CaseCountsByState(ctx); return })
		return got
	}
	backlog := func() (int, time.Time) {
		t.Helper()
		var n int
		var oldest time.Time
		tx(t, s, func(tx models.Tx) (err error) { n, oldest, err = tx.MailBacklog(ctx); return })
		return n, oldest
	}
	if got := counts(); len(got) != 0 {
		t.Errorf("CaseCountsByState() on an empty store = %v, want none", got)
	}
	if n, oldest := backlog(); n != 0 || !oldest.IsZero() {
		t.Errorf("MailBacklog() on an empty store = %d, %v; want 0, zero", n, oldest)
	}
	seed(t, s) // case_a, scheduled
	tx(t, s, func(tx models.Tx) error {
		for _, c := range []struct {
			id    string
			state models.CaseState
		}{{"case_b", models.StateScheduled}, {"case_c", models.StateInSession}, {"case_d", models.StateCancelled}} {
			k := newCase(c.id, "6222000011112222", "stf_clerk", t0.Add(2*time.Hour))
			k.State = c.state
			if err := tx.CreateCase(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	want := map[models.CaseState]int{models.StateScheduled: 2, models.StateInSession: 1, models.StateCancelled: 1}
	if diff := cmp.Diff(want, counts()); diff != "" {
		t.Errorf("CaseCountsByState() (-want +got):\n%s", diff)
	}
	var c *models.Case
	tx(t, s, func(tx models.Tx) (err error) { c, err = tx.CaseByID(ctx, "case_b"); return })
	c.State = models.StateInSession
	tx(t, s, func(tx models.Tx) error { return tx.UpdateCase(ctx, c) })
	want = map[models.CaseState]int{models.StateScheduled: 1, models.StateInSession: 2, models.StateCancelled: 1}
	if diff := cmp.Diff(want, counts()); diff != "" {
		t.Errorf("CaseCountsByState() after a move (-want +got):\n%s", diff)
	}

	for i, m := range []*models.OutboundMail{
		{ID: "mail_1", CreatedAt: t0.Add(time.Minute)},
		{ID: "mail_2", CreatedAt: t0.Add(2 * time.Minute)},
		{ID: "mail_3", CreatedAt: t0.Add(3 * time.Minute)},
	} {
		m.CaseID, m.Kind, m.To, m.From, m.MessageID, m.Raw, m.NextAttemptAt = "case_a", "statement", "li.wei@example.com", "noreply@bank.example", m.ID+"@bank.example", []byte("raw"), m.CreatedAt
		m.EnvelopeID = "env_" + string(rune('a'+i))
		tx(t, s, func(tx models.Tx) error { return tx.EnqueueMail(ctx, m) })
	}
	if n, oldest := backlog(); n != 3 || !oldest.Equal(t0.Add(time.Minute)) {
		t.Errorf("MailBacklog() = %d, %v; want 3, %v", n, oldest, t0.Add(time.Minute))
	}
	claimed := func() []*models.OutboundMail {
		var got []*models.OutboundMail
		tx(t, s, func(tx models.Tx) (err error) {
			got, err = tx.ClaimMail(ctx, "w", t0.Add(time.Hour), t0.Add(2*time.Hour), 1)
			return
		})
		return got
	}()
	if len(claimed) != 1 || claimed[0].ID != "mail_1" {
		t.Fatalf("ClaimMail(limit 1) = %v, want mail_1", claimed)
	}
	tx(t, s, func(tx models.Tx) error {
		return tx.MarkMailSent(ctx, "mail_1", "w", models.MailReceipt{Reply: "250"}, hashB, t0.Add(time.Hour))
	})
	if n, oldest := backlog(); n != 2 || !oldest.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("MailBacklog() after one was sent = %d, %v; want 2, %v", n, oldest, t0.Add(2*time.Minute))
	}

	// Last seen: the latest of each member of staff's sessions.
	lastSeen := func() map[models.StaffID]time.Time {
		t.Helper()
		var got map[models.StaffID]time.Time
		tx(t, s, func(tx models.Tx) (err error) { got, err = tx.StaffLastSeen(ctx); return })
		return got
	}
	if got := lastSeen(); len(got) != 0 {
		t.Errorf("StaffLastSeen() without sessions = %v, want none", got)
	}
	tx(t, s, func(tx models.Tx) error {
		if err := tx.CreateStaff(ctx, staff("stf_sup", "sup", models.RoleSupervisor)); err != nil {
			return err
		}
		for i, se := range []struct {
			staff string
			seen  time.Time
		}{{"stf_clerk", t0.Add(time.Minute)}, {"stf_clerk", t0.Add(5 * time.Minute)}, {"stf_sup", t0.Add(2 * time.Minute)}} {
			hash := fmt.Sprintf("%064d", i+1)
			if err := tx.CreateSession(ctx, &models.StaffSession{IDHash: hash, StaffID: models.StaffID(se.staff), CSRFToken: "csrf", CreatedAt: t0, LastSeen: t0}); err != nil {
				return err
			}
			if err := tx.TouchSession(ctx, hash, se.seen); err != nil {
				return err
			}
		}
		return nil
	})
	wantSeen := map[models.StaffID]time.Time{"stf_clerk": t0.Add(5 * time.Minute), "stf_sup": t0.Add(2 * time.Minute)}
	if diff := cmp.Diff(wantSeen, lastSeen()); diff != "" {
		t.Errorf("StaffLastSeen() (-want +got):\n%s", diff)
	}
}
