package models

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// WorkSpan is one weekday's working time of a member of staff, in the
// branch's time zone: from Start to End, in minutes after midnight. An End
// at or before Start runs past midnight into the next day (a 20:00-02:00
// shift); 00:00-24:00 is the whole day.
type WorkSpan struct {
	Day   time.Weekday
	Start int // 0..1439
	End   int // 1..1440
}

// WorkingHours is a staff member's weekly working time, at most one span
// per weekday, ordered Sunday first. Empty means none recorded: the member
// is not known to be away at any time.
type WorkingHours []WorkSpan

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func hhmm(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// String writes the hours as ParseWorkingHours reads them, e.g.
// "mon 09:00-17:00, tue 09:00-17:00".
func (s WorkSpan) String() string {
	day := fmt.Sprintf("day%d", s.Day)
	if s.Day >= time.Sunday && s.Day <= time.Saturday {
		day = dayNames[s.Day]
	}
	return day + " " + hhmm(s.Start) + "-" + hhmm(s.End)
}

func (h WorkingHours) String() string {
	parts := make([]string, 0, len(h))
	for _, s := range h {
		parts = append(parts, s.String())
	}
	return strings.Join(parts, ", ")
}

// Validate checks each span's bounds and that no weekday has two spans.
func (h WorkingHours) Validate() error {
	seen := map[time.Weekday]bool{}
	for _, s := range h {
		if s.Day < time.Sunday || s.Day > time.Saturday {
			return Errorf(EINVALID, "working hours: weekday %d out of range", s.Day)
		}
		if s.Start < 0 || s.Start > 1439 || s.End < 1 || s.End > 1440 || s.Start == s.End {
			return Errorf(EINVALID, "working hours: %s is not a span of time", s)
		}
		if seen[s.Day] {
			return Errorf(EINVALID, "working hours: %s appears twice", dayNames[s.Day])
		}
		seen[s.Day] = true
	}
	return nil
}

func parseClock(s string) (int, bool) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	if _, err := fmt.Sscanf(s, "%2d:%2d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// ParseWorkingHours reads "mon 09:00-17:00, tue 20:00-02:00" (weekdays
// sun..sat, or mon-fri for a run of days, times in the branch's zone).
// The empty string is no hours.
func ParseWorkingHours(text string) (WorkingHours, error) {
	var out WorkingHours
	for _, part := range strings.Split(text, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		days, span, ok := strings.Cut(part, " ")
		from, to, ok2 := strings.Cut(strings.TrimSpace(span), "-")
		start, ok3 := parseClock(from)
		end, ok4 := parseClock(to)
		if !ok || !ok2 || !ok3 || !ok4 {
			return nil, Errorf(EINVALID, "working hours %q: want a weekday and a span such as \"mon 09:00-17:00\"", part)
		}
		first, last, _ := strings.Cut(strings.ToLower(days), "-")
		if last == "" {
			last = first
		}
		d0, d1 := slices.Index(dayNames, first), slices.Index(dayNames, last)
		if d0 < 0 || d1 < d0 {
			return nil, Errorf(EINVALID, "working hours %q: weekdays are sun, mon, tue, wed, thu, fri, sat (or a run such as mon-fri)", part)
		}
		for d := d0; d <= d1; d++ {
			out = append(out, WorkSpan{Day: time.Weekday(d), Start: start, End: end})
		}
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b WorkSpan) int { return int(a.Day) - int(b.Day) })
	return out, nil
}

// Covers reports whether the hours include the instant t, read in the
// branch's zone loc. Empty hours cover every instant (none recorded).
func (h WorkingHours) Covers(t time.Time, loc *time.Location) bool {
	if len(h) == 0 {
		return true
	}
	t = t.In(loc)
	m := t.Hour()*60 + t.Minute()
	day, prev := t.Weekday(), (t.Weekday()+6)%7
	for _, s := range h {
		overnight := s.End <= s.Start
		switch {
		case s.Day == day && !overnight && m >= s.Start && m < s.End:
			return true
		case s.Day == day && overnight && m >= s.Start:
			return true
		case s.Day == prev && overnight && m < s.End:
			return true
		}
	}
	return false
}
