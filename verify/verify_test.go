package verify_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"remoteidv/models"
	"remoteidv/verify"
	"remoteidv/verify/verifytest"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

type fixture struct {
	g        *verifytest.Graph
	svc      *verify.Service
	accounts *verify.Accounts
	clock    *clock
	clerk    verify.Actor
	other    verify.Actor
	sup      verify.Actor
}

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	img.Set(0, 0, color.Gray{Y: 3})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const csvHead = "account_no,holder_name,national_id,email,phone,time_zone,language,photos,signature\n"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, verifytest.Options{})
}

// newFixtureWith builds the fixture's service graph from o (its clock is
// the fixture's), with two clerks and Li Wei's account.
func newFixtureWith(t *testing.T, o verifytest.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)}
	o.Now = c.Now
	g := verifytest.New(t, o)
	db := g.Store
	err := db.Transact(ctx, func(tx models.Tx) error {
		for _, st := range []*models.Staff{
			{ID: "stf_c1", Username: "c1", DisplayName: "Clerk Wang", Roles: []models.Role{models.RoleClerk}, PasswordHash: "$argon2id$x", CreatedAt: c.t},
			{ID: "stf_c2", Username: "c2", DisplayName: "Clerk Zhao", Roles: []models.Role{models.RoleClerk}, PasswordHash: "$argon2id$x", CreatedAt: c.t},
		} {
			if err := tx.CreateStaff(ctx, st); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	images := fstest.MapFS{"p.png": {Data: pngBytes(t, 64, 64)}, "s.png": {Data: pngBytes(t, 80, 30)}}
	rep, err := g.Accounts.Import(ctx, "system", strings.NewReader(csvHead+
		"6222000011112222,Li Wei,110101199003071234,li.wei@example.com,+1 212 555 0100,America/New_York,zh-CN,p.png,s.png\n"), images, nil)
	if err != nil || rep.Imported != 1 {
		t.Fatalf("Import = %+v, %v", rep, err)
	}
	return &fixture{g: g, svc: g.Service, accounts: g.Accounts, clock: c,
		clerk: verify.Actor{Name: "staff:stf_c1", StaffID: "stf_c1", Roles: []models.Role{models.RoleClerk}},
		other: verify.Actor{Name: "staff:stf_c2", StaffID: "stf_c2", Roles: []models.Role{models.RoleClerk}},
		sup:   verify.Actor{Name: "staff:stf_s", StaffID: "stf_s", Roles: []models.Role{models.RoleSupervisor}},
	}
}

func goodCase() verify.NewCase {
	return verify.NewCase{AccountNo: "6222000011112222", Purpose: models.PurposeStatement, PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31",
		Slot: verify.Slot{Local: "2026-12-01T09:00", TimeZone: "America/New_York"}}
}

func TestCreateCaseSlotInBothZones(t *testing.T) {
	f := newFixture(t)
	c, err := f.svc.CreateCase(context.Background(), f.clerk, goodCase())
	if err != nil {
		t.Fatal(err)
	}
	// 09:00 in New York on 1 December (EST, UTC-5) is 14:00 UTC, 22:00 in Beijing.
	if want := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC); !c.SlotAt.Equal(want) {
		t.Fatalf("SlotAt = %v, want %v", c.SlotAt, want)
	}
	v := f.svc.ViewSlot(c.SlotAt, c.CustomerTZ)
	if v.Customer != "2026-12-01T09:00:00-05:00 America/New_York" || v.Branch != "2026-12-01T22:00:00+08:00 Asia/Shanghai" {
		t.Fatalf("ViewSlot = %+v", v)
	}
	if len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "07:30-19:00") {
		t.Fatalf("ViewSlot warnings = %v, want the registry-hours warning (22:00 Beijing)", v.Warnings)
	}
	// 20:00 in New York is 09:00 in Beijing: inside registry hours.
	if v := f.svc.ViewSlot(time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC), "America/New_York"); len(v.Warnings) != 0 {
		t.Fatalf("ViewSlot(09:00 Beijing) warnings = %v, want none", v.Warnings)
	}
}

func TestCreateCaseRejects(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		edit func(*verify.NewCase)
		code models.ErrorCode
	}{
		{"unknown account", func(n *verify.NewCase) { n.AccountNo = "99999999" }, models.EINVALID},
		{"bad zone", func(n *verify.NewCase) { n.Slot.TimeZone = "Mars/Olympus" }, models.EINVALID},
		{"Local zone", func(n *verify.NewCase) { n.Slot.TimeZone = "Local" }, models.EINVALID},
		{"past slot", func(n *verify.NewCase) { n.Slot.Local = "2026-11-26T09:00" }, models.EINVALID},
		{"far slot", func(n *verify.NewCase) { n.Slot.Local = "2027-06-01T09:00" }, models.EINVALID},
		{"valid: other zone", func(n *verify.NewCase) { n.Slot.Local = "2027-02-14T02:30"; n.Slot.TimeZone = "America/Sao_Paulo" }, ""},
		{"valid: night slot", func(n *verify.NewCase) { n.Slot.Local = "2027-02-21T02:30" }, ""},
		{"bad slot format", func(n *verify.NewCase) { n.Slot.Local = "tomorrow 9am" }, models.EINVALID},
		{"bad purpose", func(n *verify.NewCase) { n.Purpose = "loan" }, models.EINVALID},
		{"reversed period", func(n *verify.NewCase) { n.PeriodFrom, n.PeriodTo = n.PeriodTo, n.PeriodFrom }, models.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := goodCase()
			tt.edit(&in)
			_, err := f.svc.CreateCase(context.Background(), f.clerk, in)
			if tt.code == "" { // valid variants, to show the table is not all failures
				if err != nil {
					t.Fatalf("CreateCase(%s) = %v, want success", tt.name, err)
				}
				return
			}
			if got := models.ErrorCodeOf(err); got != tt.code {
				t.Fatalf("CreateCase(%s) error = %v, want %s", tt.name, err, tt.code)
			}
		})
	}
	if _, n, _ := f.svc.ListCases(context.Background(), f.sup, models.CaseFilter{Limit: 50}); n != 2 {
		t.Fatalf("cases stored = %d, want only the 2 valid ones", n)
	}
}

func TestSpringForwardGap(t *testing.T) {
	f := newFixture(t)
	in := goodCase()
	// 2027-03-14 02:30 does not exist in New York (clocks jump 02:00 -> 03:00).
	f.clock.t = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	in.Slot.Local = "2027-03-14T02:30"
	if _, err := f.svc.CreateCase(context.Background(), f.clerk, in); models.ErrorCodeOf(err) != models.EINVALID || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("CreateCase(DST gap) = %v, want invalid: does not exist", err)
	}
}

func TestInviteLifecycle(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c, err := f.svc.CreateCase(ctx, f.clerk, goodCase())
	if err != nil {
		t.Fatal(err)
	}
	inv, err := f.svc.IssueInvite(ctx, f.clerk, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	tok := inv.Link[strings.LastIndex(inv.Link, "/")+1:]
	if !strings.HasPrefix(inv.Link, "https://idv.bank.example/join/iv1_") || len(tok) != 47 {
		t.Fatalf("link = %q", inv.Link)
	}
	ics := string(inv.ICS)
	for _, want := range []string{"BEGIN:VCALENDAR\r\n", "DTSTART:20261201T140000Z\r\n", "DTEND:20261201T143000Z\r\n", "END:VCALENDAR\r\n", "mailto:li.wei@example.com"} {
		if !strings.Contains(ics, want) {
			t.Errorf("ICS lacks %q:\n%s", want, ics)
		}
	}
	for _, l := range strings.Split(ics, "\r\n") {
		if len(l) > 75 {
			t.Errorf("ICS line longer than 75 octets: %q", l)
		}
	}
	if !strings.Contains(strings.ReplaceAll(ics, "\r\n ", ""), tok) {
		t.Errorf("ICS does not carry the link")
	}
	// Before the window the holder of a live link learns when it opens;
	// past it, the single gone error.
	tests := []struct {
		name  string
		at    time.Time
		ok    bool
		early bool
	}{
		{"16 min early", time.Date(2026, 12, 1, 13, 44, 0, 0, time.UTC), false, true},
		{"15 min early", time.Date(2026, 12, 1, 13, 45, 0, 0, time.UTC), true, false},
		{"30 min late", time.Date(2026, 12, 1, 14, 30, 0, 0, time.UTC), true, false},
		{"31 min late", time.Date(2026, 12, 1, 14, 31, 0, 0, time.UTC), false, false},
	}
	for _, tt := range tests {
		f.clock.t = tt.at
		_, _, err := f.svc.ResolveInvite(ctx, tok)
		if (err == nil) != tt.ok {
			t.Errorf("ResolveInvite at %s = %v, want ok=%v", tt.name, err, tt.ok)
		}
		var early *verify.NotYetOpenError
		switch {
		case tt.early && (!errors.As(err, &early) || !early.Opens.Equal(time.Date(2026, 12, 1, 13, 45, 0, 0, time.UTC)) || early.Case.ID != c.ID):
			t.Errorf("ResolveInvite at %s error = %v, want not yet open until 13:45 UTC for %s", tt.name, err, c.ID)
		case tt.early && models.ErrorCodeOf(err) != models.EPRECONDITION:
			t.Errorf("ResolveInvite at %s error kind = %s, want %s", tt.name, models.ErrorCodeOf(err), models.EPRECONDITION)
		case !tt.early && err != nil && err != models.ErrInviteGone:
			t.Errorf("ResolveInvite at %s error = %v, want the single gone error", tt.name, err)
		}
	}
	f.clock.t = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	// Reissuing revokes the first link; rescheduling revokes the second.
	inv2, err := f.svc.IssueInvite(ctx, f.clerk, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.t = time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	if _, _, err := f.svc.ResolveInvite(ctx, tok); err != models.ErrInviteGone {
		t.Fatalf("ResolveInvite(first link after reissue) = %v, want gone", err)
	}
	tok2 := inv2.Link[strings.LastIndex(inv2.Link, "/")+1:]
	if _, _, err := f.svc.ResolveInvite(ctx, tok2); err != nil {
		t.Fatalf("ResolveInvite(second link) = %v", err)
	}
	f.clock.t = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	if _, err := f.svc.Reschedule(ctx, f.clerk, c.ID, verify.Slot{Local: "2026-12-02T20:00", TimeZone: "America/New_York"}); err != nil {
		t.Fatal(err)
	}
	f.clock.t = time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	if _, _, err := f.svc.ResolveInvite(ctx, tok2); err != models.ErrInviteGone {
		t.Fatalf("ResolveInvite(after reschedule) = %v, want gone", err)
	}
	for _, bad := range []string{"", "iv1_", "iv1_" + strings.Repeat("A", 43), tok + "x", "iv2_" + tok[4:]} {
		if _, _, err := f.svc.ResolveInvite(ctx, bad); err != models.ErrInviteGone {
			t.Errorf("ResolveInvite(%q) = %v, want gone", bad, err)
		}
	}
}

func TestOtherClerkSeesNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c, err := f.svc.CreateCase(ctx, f.clerk, goodCase())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Case(ctx, f.other, c.ID); models.ErrorCodeOf(err) != models.ENOTFOUND {
		t.Fatalf("Case(other clerk) = %v, want not found", err)
	}
	if _, err := f.svc.Cancel(ctx, f.other, c.ID, "mine now"); models.ErrorCodeOf(err) != models.ENOTFOUND {
		t.Fatalf("Cancel(other clerk) = %v, want not found", err)
	}
	if _, n, _ := f.svc.ListCases(ctx, f.other, models.CaseFilter{Limit: 10}); n != 0 {
		t.Fatalf("ListCases(other clerk) total = %d, want 0", n)
	}
	if _, err := f.svc.Case(ctx, f.sup, c.ID); err != nil {
		t.Fatalf("Case(supervisor) = %v", err)
	}
	got, err := f.svc.Cancel(ctx, f.clerk, c.ID, "customer asked")
	if err != nil || got.State != models.StateCancelled {
		t.Fatalf("Cancel = %v, %v", got, err)
	}
	if _, err := f.svc.Cancel(ctx, f.clerk, c.ID, "again"); models.ErrorCodeOf(err) != models.ECONFLICT || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("Cancel(cancelled) = %v, want conflict naming the state", err)
	}
}

func TestImportAccountsReportsBadRows(t *testing.T) {
	f := newFixture(t)
	images := fstest.MapFS{"p.png": {Data: pngBytes(t, 64, 64)}, "s.png": {Data: pngBytes(t, 80, 30)}, "x.txt": {Data: []byte("not an image")}}
	rows := csvHead +
		"12345678,Ann Lee,A1234567,ann@example.com,+44,Europe/London,en,p.png,s.png\n" +
		"12345679,Bad Zone,A1234567,b@example.com,+44,Nowhere/City,en,p.png,s.png\n" +
		"12345680,Bad Image,A1234567,c@example.com,+44,Europe/London,en,x.txt,s.png\n" +
		"12345681,Escape,A1234567,d@example.com,+44,Europe/London,en,../etc/passwd,s.png\n" +
		"12345682,Bad Mail,A1234567,not-an-email,+44,Europe/London,en,p.png,s.png\n"
	rep, err := f.accounts.Import(context.Background(), "system", strings.NewReader(rows), images, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 1 || rep.Failed != 4 {
		t.Fatalf("Import = %+v, want 1 imported and 4 failed", rep)
	}
	if _, err := f.accounts.Import(context.Background(), "system", strings.NewReader("a,b\n"), images, nil); models.ErrorCodeOf(err) != models.EINVALID {
		t.Fatalf("Import(bad header) = %v, want invalid", err)
	}
}

func TestAbort(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c, err := f.svc.CreateCase(ctx, f.clerk, goodCase())
	if err != nil {
		t.Fatal(err)
	}
	inv, err := f.svc.IssueInvite(ctx, f.clerk, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Abort(ctx, f.clerk, c.ID, " "); models.ErrorCodeOf(err) != models.EINVALID {
		t.Fatalf("Abort(no reason) = %v, want invalid", err)
	}
	got, err := f.svc.Abort(ctx, f.sup, c.ID, "the face on camera is a printed photo")
	if err != nil || got.State != models.StateAborted || got.Reason == "" {
		t.Fatalf("Abort = %+v, %v; want aborted with the reason", got, err)
	}
	f.clock.t = time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	if _, _, err := f.svc.ResolveInvite(ctx, inv.Link[strings.LastIndex(inv.Link, "/")+1:]); err != models.ErrInviteGone {
		t.Fatalf("ResolveInvite(after abort) = %v, want gone", err)
	}
	if _, err := f.svc.Abort(ctx, f.clerk, c.ID, "again"); models.ErrorCodeOf(err) != models.ECONFLICT {
		t.Fatalf("Abort(aborted) = %v, want conflict", err)
	}
}

// A new invite replaces the earlier ones: each earlier link that still
// worked is audited as revoked, with the reason and the invite that
// replaced it; a link already revoked is not named again.
func TestReissueAuditsRevokedInvite(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c, err := f.svc.CreateCase(ctx, f.clerk, goodCase())
	if err != nil {
		t.Fatal(err)
	}
	type revoked struct{ invite, reason, replacedBy string }
	// revokedSince returns the invite.revoked events after seq, and the last seq.
	revokedSince := func(seq int64) ([]revoked, int64) {
		t.Helper()
		evs, err := f.svc.AuditEvents(ctx, models.AuditFilter{CaseID: c.ID, AfterSeq: seq, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []revoked
		for _, e := range evs {
			seq = e.Seq
			if e.Action == "invite.revoked" {
				out = append(out, revoked{e.Detail["invite"], e.Detail["reason"], e.Detail["replaced_by"]})
			}
		}
		return out, seq
	}
	issue := func() string {
		t.Helper()
		inv, err := f.svc.IssueInvite(ctx, f.clerk, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return string(inv.Invite.ID)
	}
	first := issue()
	got, seq := revokedSince(0)
	if len(got) != 0 {
		t.Fatalf("first invite: revoked events %v, want none", got)
	}
	second := issue()
	got, seq = revokedSince(seq)
	if want := []revoked{{first, verify.InviteReplaced, second}}; !slices.Equal(got, want) {
		t.Fatalf("second invite: revoked events %v, want %v", got, want)
	}
	// Revoked by hand: the next invite replaces nothing that still worked.
	if err := f.svc.RevokeInvites(ctx, f.clerk, c.ID); err != nil {
		t.Fatal(err)
	}
	_, seq = revokedSince(seq)
	issue()
	if got, _ = revokedSince(seq); len(got) != 0 {
		t.Fatalf("invite after a revocation: revoked events %v, want none", got)
	}
}
