package verify_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"remoteidv/internal/testenv"
	"remoteidv/mail"
	"remoteidv/mail/mailtest"
	"remoteidv/models"
	"remoteidv/storage/postgres"
	"remoteidv/verify"
	"remoteidv/verify/verifytest"
)

// slotUTC is goodCase's slot: 09:00 in New York on 1 December is 14:00 UTC
// (22:00 in Beijing).
var slotUTC = time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)

// invited opens goodCase (at the fixture's clock, four days ahead) and
// mails its invite.
func invited(t *testing.T, f *fixture, in verify.NewCase) *models.Case {
	t.Helper()
	c, err := f.svc.CreateCase(context.Background(), f.clerk, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.g.Desk.MailInvite(context.Background(), f.clerk, c.ID); err != nil {
		t.Fatalf("MailInvite: %v", err)
	}
	return c
}

// caseMail returns the case's queued or sent mail, oldest first, parsed.
func caseMail(t *testing.T, f *fixture, id models.CaseID) ([]*models.OutboundMail, []*mailtest.Parsed) {
	t.Helper()
	var ms []*models.OutboundMail
	if err := f.g.Store.Transact(context.Background(), func(tx models.Tx) (err error) { ms, err = tx.MailByCase(context.Background(), id); return }); err != nil {
		t.Fatal(err)
	}
	var ps []*mailtest.Parsed
	for _, m := range ms {
		if m.Raw == nil { // delivered or dropped (a revoked invite's link)
			ps = append(ps, nil)
			continue
		}
		p, err := mailtest.Parse(m.Raw)
		if err != nil {
			t.Fatalf("parse mail %s: %v", m.ID, err)
		}
		ps = append(ps, p)
	}
	return ms, ps
}

func sendReminders(t *testing.T, d *verify.Desk) int {
	t.Helper()
	n, err := d.SendReminders(context.Background())
	if err != nil {
		t.Fatalf("SendReminders: %v", err)
	}
	return n
}

// TestCustomerReminders steps the injected clock through a slot's life:
// a reminder 24 hours and one hour before, each once, none before, after
// or for a case that is not scheduled.
func TestCustomerReminders(t *testing.T) {
	ctx := context.Background()
	t.Run("24h and 1h, once each", func(t *testing.T) {
		f := newFixture(t)
		c := invited(t, f, goodCase())
		d := f.g.Desk
		steps := []struct {
			name string
			at   time.Time
			want int
		}{
			{"24h01m before", slotUTC.Add(-24*time.Hour - time.Minute), 0},
			{"23h59m before", slotUTC.Add(-23*time.Hour - 59*time.Minute), 1},
			{"23h59m before, again", slotUTC.Add(-23*time.Hour - 59*time.Minute), 0},
			{"2h before", slotUTC.Add(-2 * time.Hour), 0},
			{"59m before", slotUTC.Add(-59 * time.Minute), 1},
			{"1m before", slotUTC.Add(-time.Minute), 0},
			{"1m after", slotUTC.Add(time.Minute), 0},
		}
		for _, st := range steps {
			f.clock.t = st.at
			if got := sendReminders(t, d); got != st.want {
				t.Errorf("SendReminders at %s = %d, want %d", st.name, got, st.want)
			}
		}
		ms, ps := caseMail(t, f, c.ID)
		if len(ms) != 3 || ms[1].Kind != mail.KindNotice || ms[2].Kind != mail.KindNotice {
			t.Fatalf("case mail = %d messages, want the invite and two notices", len(ms))
		}
		// Li Wei reads Chinese and lives in New York.
		for i, want := range []string{"24小时后开始", "1小时后开始"} {
			p := ps[i+1]
			if !strings.Contains(p.Subject, want) || ms[i+1].To != "li.wei@example.com" ||
				!strings.Contains(p.Text, "2026-12-01 09:00 America/New_York") || !strings.Contains(p.Text, "2026-12-01 22:00 Asia/Shanghai") {
				t.Errorf("reminder %d: subject %q, to %v, text %q; want %q, the registered address and the slot in both zones", i, p.Subject, ms[i+1].To, p.Text, want)
			}
		}
		if ms[1].ExpiresAt == nil || !ms[1].ExpiresAt.Equal(slotUTC) {
			t.Errorf("reminder expires at %v, want the slot %v", ms[1].ExpiresAt, slotUTC)
		}
		var rs []*models.Reminder
		if err := f.g.Store.Transact(ctx, func(tx models.Tx) (err error) { rs, err = tx.RemindersByCase(ctx, c.ID); return }); err != nil {
			t.Fatal(err)
		}
		if len(rs) != 2 || rs[0].Kind != models.Reminder24h || rs[1].Kind != models.Reminder1h || rs[0].MailID != ms[1].ID {
			t.Errorf("reminders recorded = %+v, want 24h (mail %s) then 1h", rs, ms[1].ID)
		}
	})

	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run("two processes send once on "+kind, func(t *testing.T) {
			o := verifytest.Options{}
			if kind == "postgres" {
				db, err := postgres.Open(ctx, testenv.PostgresURL(t), slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				o.Store = db
			}
			twoProcesses(t, newFixtureWith(t, o))
		})
	}
	t.Run("rescheduled slot gets its own", func(t *testing.T) {
		f := newFixture(t)
		c := invited(t, f, goodCase())
		f.clock.t = slotUTC.Add(-23*time.Hour - 59*time.Minute)
		if got := sendReminders(t, f.g.Desk); got != 1 {
			t.Fatalf("SendReminders before the reschedule = %d, want 1", got)
		}
		// Two days later, same time of day.
		if _, err := f.svc.Reschedule(ctx, f.clerk, c.ID, verify.Slot{Local: "2026-12-03T09:00", TimeZone: "America/New_York"}); err != nil {
			t.Fatal(err)
		}
		if got := sendReminders(t, f.g.Desk); got != 0 {
			t.Errorf("SendReminders right after the reschedule = %d, want 0", got)
		}
		f.clock.t = slotUTC.Add(48*time.Hour - 23*time.Hour - 59*time.Minute)
		if got := sendReminders(t, f.g.Desk); got != 1 {
			t.Errorf("SendReminders 23h59m before the new slot = %d, want 1", got)
		}
		if got := sendReminders(t, f.g.Desk); got != 0 {
			t.Errorf("SendReminders again = %d, want 0", got)
		}
	})

	t.Run("moved within the window: the notice is the reminder", func(t *testing.T) {
		f := newFixture(t)
		c := invited(t, f, goodCase())
		f.clock.t = slotUTC.Add(-30 * time.Hour)
		if _, err := f.svc.Reschedule(ctx, f.clerk, c.ID, verify.Slot{Local: "2026-11-30T20:00", TimeZone: "America/New_York"}); err != nil {
			t.Fatal(err)
		}
		// The new slot is 12 hours away: its 24h window began before the
		// reschedule notice, so no 24h reminder; the 1h one still goes.
		f.clock.t = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).Add(-10 * time.Hour)
		if got := sendReminders(t, f.g.Desk); got != 0 {
			t.Errorf("SendReminders 10h before the moved slot = %d, want 0", got)
		}
		f.clock.t = time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC).Add(-30 * time.Minute)
		if got := sendReminders(t, f.g.Desk); got != 1 {
			t.Errorf("SendReminders 30m before the moved slot = %d, want 1", got)
		}
	})

	t.Run("none for cancelled, decided-away or never invited cases", func(t *testing.T) {
		f := newFixture(t)
		cancelled := invited(t, f, goodCase())
		if _, err := f.svc.Cancel(ctx, f.clerk, cancelled.ID, "customer asked"); err != nil {
			t.Fatal(err)
		}
		aborted := invited(t, f, goodCase())
		if _, err := f.svc.Abort(ctx, f.clerk, aborted.ID, "poor video"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CreateCase(ctx, f.clerk, goodCase()); err != nil { // never invited
			t.Fatal(err)
		}
		for _, at := range []time.Duration{-23*time.Hour - 59*time.Minute, -59 * time.Minute} {
			f.clock.t = slotUTC.Add(at)
			if got := sendReminders(t, f.g.Desk); got != 0 {
				t.Errorf("SendReminders %v before the slot = %d, want 0", -at, got)
			}
		}
	})
}

// ics is a parsed calendar file: its properties by name (parameters
// dropped), in the order they came, after unfolding.
type ics map[string][]string

// parseICS unfolds and parses an RFC 5545 file, checking its line ends,
// line lengths and that every BEGIN has its END.
func parseICS(t *testing.T, b []byte) ics {
	t.Helper()
	s := string(b)
	if !strings.HasSuffix(s, "\r\n") || strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") {
		t.Fatalf("calendar lines must end with CRLF:\n%q", s)
	}
	var stack []string
	out := ics{}
	for _, l := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("calendar line longer than 75 octets: %q", l)
		}
	}
	for _, l := range strings.Split(strings.ReplaceAll(strings.TrimSuffix(s, "\r\n"), "\r\n ", ""), "\r\n") {
		name, value, ok := strings.Cut(l, ":")
		if !ok || name == "" {
			t.Fatalf("calendar line %q is not NAME:VALUE", l)
		}
		name, _, _ = strings.Cut(name, ";")
		switch name {
		case "BEGIN":
			stack = append(stack, value)
		case "END":
			if len(stack) == 0 || stack[len(stack)-1] != value {
				t.Fatalf("END:%s does not close %v", value, stack)
			}
			stack = stack[:len(stack)-1]
		}
		out[name] = append(out[name], value)
	}
	if len(stack) != 0 {
		t.Fatalf("calendar leaves %v open", stack)
	}
	return out
}

func (c ics) one(t *testing.T, name string) string {
	t.Helper()
	if len(c[name]) != 1 {
		t.Fatalf("calendar has %d %s properties, want 1", len(c[name]), name)
	}
	return c[name][0]
}

// TestCalendarUpdates follows a case's calendar entry through its invite,
// a reschedule and a cancellation: one UID, a rising SEQUENCE, the right
// METHOD, DTSTART in UTC at the slot, and the new times in both zones in
// the customer's language.
func TestCalendarUpdates(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := invited(t, f, goodCase())
	// The invite's body leaves the outbox when the reschedule revokes its
	// link: read it now.
	_, first := caseMail(t, f, c.ID)
	f.clock.t = time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	if _, err := f.svc.Reschedule(ctx, f.clerk, c.ID, verify.Slot{Local: "2026-12-04T20:30", TimeZone: "America/New_York"}); err != nil {
		t.Fatal(err)
	}
	f.clock.t = f.clock.t.Add(time.Minute)
	if _, err := f.svc.Cancel(ctx, f.clerk, c.ID, "customer asked"); err != nil {
		t.Fatal(err)
	}
	ms, ps := caseMail(t, f, c.ID)
	if len(ms) != 3 || len(first) != 1 {
		t.Fatalf("case mail = %d messages, want invite, reschedule and cancel notices", len(ms))
	}
	ps[0] = first[0]
	newSlot := time.Date(2026, 12, 5, 1, 30, 0, 0, time.UTC) // 20:30 EST
	tests := []struct {
		name    string
		method  string
		seq     string
		start   time.Time
		ctype   string
		subject string
		text    []string
	}{
		{"invite", "PUBLISH", "0", slotUTC, "text/calendar", "视频核验通话", []string{"2026-12-01 09:00 America/New_York"}},
		{"reschedule", "REQUEST", "1", newSlot, "text/calendar; method=REQUEST", "时间已变更", []string{"2026-12-04 20:30 America/New_York", "2026-12-05 09:30 Asia/Shanghai"}},
		{"cancel", "CANCEL", "2", newSlot, "text/calendar; method=CANCEL", "已取消", []string{"2026-12-04 20:30 America/New_York", string(c.ID)}},
	}
	var uid string
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ps[i]
			if !strings.Contains(p.Subject, tt.subject) || ms[i].To != "li.wei@example.com" || p.Header.Get("To") != "<li.wei@example.com>" && p.Header.Get("To") != "li.wei@example.com" {
				t.Errorf("subject %q to %v (%q), want %q to the registered address", p.Subject, ms[i].To, p.Header.Get("To"), tt.subject)
			}
			for _, w := range tt.text {
				if !strings.Contains(p.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, p.Text)
				}
			}
			if ct := p.AttachTypes["call.ics"]; ct != "text/calendar" || ms[i].Raw != nil && !strings.Contains(string(ms[i].Raw), "Content-Type: "+tt.ctype+"; name=call.ics") {
				t.Errorf("call.ics content type %q, want %q with the method parameter", ct, tt.ctype)
			}
			cal := parseICS(t, p.Attachments["call.ics"])
			if got := cal.one(t, "METHOD"); got != tt.method {
				t.Errorf("METHOD = %s, want %s", got, tt.method)
			}
			if got := cal.one(t, "SEQUENCE"); got != tt.seq {
				t.Errorf("SEQUENCE = %s, want %s", got, tt.seq)
			}
			start, err := time.Parse("20060102T150405Z", cal.one(t, "DTSTART"))
			if err != nil || !start.Equal(tt.start) {
				t.Errorf("DTSTART = %s (%v), want %s in UTC", cal.one(t, "DTSTART"), err, tt.start)
			}
			if i == 0 {
				uid = cal.one(t, "UID")
				return
			}
			if got := cal.one(t, "UID"); got != uid || uid == "" {
				t.Errorf("UID = %q, want the invite's %q", got, uid)
			}
			if got := cal.one(t, "ORGANIZER"); got != "mailto:noreply@bank.example" {
				t.Errorf("ORGANIZER = %q, want the bank's sender", got)
			}
			if tt.method == "CANCEL" && cal.one(t, "STATUS") != "CANCELLED" {
				t.Errorf("STATUS = %s, want CANCELLED", cal.one(t, "STATUS"))
			}
		})
	}
	// A later invite updates the same entry again.
	var cal *models.CaseCalendar
	if err := f.g.Store.Transact(ctx, func(tx models.Tx) (err error) { cal, err = tx.CaseCalendar(ctx, c.ID); return }); err != nil {
		t.Fatal(err)
	}
	if cal.UID != uid || cal.Sequence != 2 {
		t.Errorf("CaseCalendar = %+v, want UID %s, sequence 2", cal, uid)
	}

	t.Run("never invited: no notice", func(t *testing.T) {
		c2, err := f.svc.CreateCase(ctx, f.clerk, goodCase())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Cancel(ctx, f.clerk, c2.ID, "entered twice"); err != nil {
			t.Fatal(err)
		}
		if ms, _ := caseMail(t, f, c2.ID); len(ms) != 0 {
			t.Errorf("a never invited customer got %d mails on cancellation, want 0", len(ms))
		}
	})
}

// TestCreateCaseIntake: the intake record is optional, validated, stored
// and audited (its notes only by length).
func TestCreateCaseIntake(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	now := f.clock.t
	tests := []struct {
		name   string
		intake *models.CaseIntake
		code   models.ErrorCode
	}{
		{"none", nil, ""},
		{"phone call from abroad", &models.CaseIntake{Channel: models.IntakePhone, ReceivedAt: now.Add(-3 * time.Hour), Notes: "Called from New York, 客户来电"}, ""},
		{"letter, time left empty", &models.CaseIntake{Channel: models.IntakeLetter}, ""},
		{"unknown channel", &models.CaseIntake{Channel: "fax", ReceivedAt: now}, models.EINVALID},
		{"empty channel", &models.CaseIntake{ReceivedAt: now, Notes: "n"}, models.EINVALID},
		{"in the future", &models.CaseIntake{Channel: models.IntakeEmail, ReceivedAt: now.Add(time.Hour)}, models.EINVALID},
		{"over a year ago", &models.CaseIntake{Channel: models.IntakeCounter, ReceivedAt: now.AddDate(-1, 0, -1)}, models.EINVALID},
		{"notes too long", &models.CaseIntake{Channel: models.IntakeEmail, ReceivedAt: now, Notes: strings.Repeat("长", models.MaxIntakeNotes+1)}, models.EINVALID},
		{"control characters", &models.CaseIntake{Channel: models.IntakeEmail, ReceivedAt: now, Notes: "a\x1b[31mb"}, models.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := goodCase()
			in.Intake = tt.intake
			c, err := f.svc.CreateCase(ctx, f.clerk, in)
			if tt.code != "" {
				if got := models.ErrorCodeOf(err); got != tt.code {
					t.Fatalf("CreateCase(%s) = %v, want %s", tt.name, err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateCase(%s) = %v", tt.name, err)
			}
			got, err := f.svc.CaseIntake(ctx, f.clerk, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			_, evs, err := f.svc.Timeline(ctx, f.clerk, c.ID)
			if err != nil || len(evs) == 0 || evs[0].Action != "case.created" {
				t.Fatalf("Timeline = %v, %v", evs, err)
			}
			det := evs[0].Detail
			if tt.intake == nil {
				if got != nil || det["intake_channel"] != "" {
					t.Errorf("CaseIntake = %+v, audit %v; want none", got, det)
				}
				return
			}
			wantAt := tt.intake.ReceivedAt
			if wantAt.IsZero() {
				wantAt = now
			}
			if got == nil || got.Channel != tt.intake.Channel || !got.ReceivedAt.Equal(wantAt) || got.Notes != tt.intake.Notes || got.RecordedBy != "stf_c1" {
				t.Errorf("CaseIntake = %+v, want %+v received %v by stf_c1", got, tt.intake, wantAt)
			}
			if det["intake_channel"] != string(tt.intake.Channel) || det["intake_received_at"] != wantAt.UTC().Format(time.RFC3339) ||
				(tt.intake.Notes != "" && strings.Contains(strings.Join(mapValues(det), " "), tt.intake.Notes)) {
				t.Errorf("case.created detail = %v, want the channel and time, not the notes", det)
			}
		})
	}
	// Another clerk does not see the intake of a case that is not theirs.
	in := goodCase()
	in.Intake = &models.CaseIntake{Channel: models.IntakePhone, ReceivedAt: now}
	c, err := f.svc.CreateCase(ctx, f.clerk, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CaseIntake(ctx, f.other, c.ID); models.ErrorCodeOf(err) != models.ENOTFOUND {
		t.Errorf("CaseIntake(other clerk) = %v, want not found", err)
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// twoProcesses has two desks on one database (two processes) race for
// the same reminder: exactly one is queued.
func twoProcesses(t *testing.T, f *fixture) {
	t.Helper()
	invited(t, f, goodCase())
	d1 := f.g.Desk
	d2 := f.g.EditDesk(t, func(*verify.DeskDeps) {}) // another process's desk, same database
	f.clock.t = slotUTC.Add(-23*time.Hour - 59*time.Minute)
	var wg sync.WaitGroup
	got := make([]int, 4)
	for i := range got {
		d := d1
		if i%2 == 1 {
			d = d2
		}
		wg.Go(func() { got[i] = sendReminders(t, d) })
	}
	wg.Wait()
	if sum := got[0] + got[1] + got[2] + got[3]; sum != 1 {
		t.Errorf("SendReminders in four concurrent runs = %v, want exactly one reminder", got)
	}
}
