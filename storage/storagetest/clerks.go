package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/models"
)

// testClerks: a case's backup clerk is stored, changed and cleared with
// UpdateCase, ListCases' AssignedTo finds a case by either clerk, and the
// schema refuses a backup who is the primary or no member of staff.
func testClerks(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s) // stf_clerk, account 6222000011112222, case_a
	tx(t, s, func(tx models.Tx) error {
		for _, st := range []*models.Staff{staff("stf_b", "bob", models.RoleClerk), staff("stf_c", "carol", models.RoleClerk)} {
			if err := tx.CreateStaff(ctx, st); err != nil {
				return err
			}
		}
		c := newCase("case_b", "6222000011112222", "stf_b", t0.Add(2*time.Hour))
		c.BackupID = "stf_clerk"
		return tx.CreateCase(ctx, c)
	})
	get := func(id models.CaseID) *models.Case {
		t.Helper()
		var c *models.Case
		tx(t, s, func(tx models.Tx) (err error) { c, err = tx.CaseByID(ctx, id); return })
		return c
	}
	if c := get("case_a"); c.BackupID != "" {
		t.Errorf("CaseByID(case_a).BackupID = %q, want none", c.BackupID)
	}
	if c := get("case_b"); c.ClerkID != "stf_b" || c.BackupID != "stf_clerk" {
		t.Errorf("CaseByID(case_b) clerks = %s, %s; want stf_b, stf_clerk", c.ClerkID, c.BackupID)
	}

	c := get("case_a")
	c.ClerkID, c.BackupID = "stf_c", "stf_b"
	tx(t, s, func(tx models.Tx) error { return tx.UpdateCase(ctx, c) })
	if got := get("case_a"); got.ClerkID != "stf_c" || got.BackupID != "stf_b" || got.Version != 2 {
		t.Errorf("after UpdateCase: clerks %s, %s version %d; want stf_c, stf_b version 2", got.ClerkID, got.BackupID, got.Version)
	}

	ids := func(f models.CaseFilter) []models.CaseID {
		t.Helper()
		f.Limit = 100
		var got []*models.Case
		tx(t, s, func(tx models.Tx) (err error) { got, _, err = tx.ListCases(ctx, f); return })
		out := []models.CaseID{}
		for _, c := range got {
			out = append(out, c.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    models.CaseFilter
		want []models.CaseID
	}{
		{"assigned primary or backup", models.CaseFilter{AssignedTo: "stf_b"}, []models.CaseID{"case_a", "case_b"}},
		{"assigned backup only", models.CaseFilter{AssignedTo: "stf_clerk"}, []models.CaseID{"case_b"}},
		{"assigned and primary", models.CaseFilter{AssignedTo: "stf_b", ClerkID: "stf_c"}, []models.CaseID{"case_a"}},
		{"primary only", models.CaseFilter{ClerkID: "stf_b"}, []models.CaseID{"case_b"}},
		{"nobody", models.CaseFilter{AssignedTo: "stf_zz"}, []models.CaseID{}},
	} {
		if diff := cmp.Diff(tc.want, ids(tc.f)); diff != "" {
			t.Errorf("ListCases(%s) (-want +got):\n%s", tc.name, diff)
		}
	}

	// Clearing the backup stores NULL (the foreign key holds).
	c = get("case_a")
	c.BackupID = ""
	tx(t, s, func(tx models.Tx) error { return tx.UpdateCase(ctx, c) })
	if got := get("case_a"); got.BackupID != "" {
		t.Errorf("after clearing: BackupID = %q", got.BackupID)
	}
	for _, tc := range []struct{ name, primary, backup string }{
		{"backup is the primary", "stf_c", "stf_c"},
		{"unknown backup", "stf_c", "stf_zz"},
		{"unknown primary", "stf_zz", "stf_b"},
	} {
		c := get("case_a")
		c.ClerkID, c.BackupID = models.StaffID(tc.primary), models.StaffID(tc.backup)
		if err := s.Transact(ctx, func(tx models.Tx) error { return tx.UpdateCase(ctx, c) }); err == nil {
			t.Errorf("UpdateCase(%s) accepted", tc.name)
		}
	}
}

// testWorkingHours: hours round-trip, replace, clear, and refuse bad spans
// and unknown members.
func testWorkingHours(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	read := func() models.WorkingHours {
		t.Helper()
		var h models.WorkingHours
		tx(t, s, func(tx models.Tx) (err error) { h, err = tx.WorkingHours(ctx, "stf_clerk"); return })
		return h
	}
	if h := read(); len(h) != 0 {
		t.Errorf("WorkingHours(new member) = %v, want none", h)
	}
	week, err := models.ParseWorkingHours("mon-fri 09:00-17:30, sat 20:00-02:00")
	if err != nil {
		t.Fatal(err)
	}
	tx(t, s, func(tx models.Tx) error { return tx.SetWorkingHours(ctx, "stf_clerk", week) })
	if diff := cmp.Diff(week, read()); diff != "" {
		t.Errorf("WorkingHours (-want +got):\n%s", diff)
	}
	sun := models.WorkingHours{{Day: time.Sunday, Start: 0, End: 1440}}
	tx(t, s, func(tx models.Tx) error { return tx.SetWorkingHours(ctx, "stf_clerk", sun) })
	if diff := cmp.Diff(sun, read()); diff != "" {
		t.Errorf("WorkingHours after replace (-want +got):\n%s", diff)
	}
	tx(t, s, func(tx models.Tx) error { return tx.SetWorkingHours(ctx, "stf_clerk", nil) })
	if h := read(); len(h) != 0 {
		t.Errorf("WorkingHours after clearing = %v, want none", h)
	}
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.SetWorkingHours(ctx, "stf_zz", sun) })
	wantCode(t, "SetWorkingHours(unknown member)", err, models.ENOTFOUND)
	for _, h := range []models.WorkingHours{
		{{Day: time.Monday, Start: 600, End: 600}},
		{{Day: time.Monday, Start: 600, End: 1441}},
		{{Day: 7, Start: 0, End: 60}},
		{{Day: time.Monday, Start: 0, End: 60}, {Day: time.Monday, Start: 120, End: 180}},
	} {
		err := s.Transact(ctx, func(tx models.Tx) error { return tx.SetWorkingHours(ctx, "stf_clerk", h) })
		wantCode(t, "SetWorkingHours("+h.String()+")", err, models.EINVALID)
	}
}
