package models

import (
	"testing"
	"time"
)

func TestWorkingHoursCovers(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-12-01 14:00 UTC: Tuesday 22:00 in Shanghai, Tuesday 09:00 in New York.
	at := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		hours string
		loc   *time.Location
		want  bool
	}{
		{"", shanghai, true},
		{"mon-fri 09:00-17:00", shanghai, false},
		{"mon-fri 09:00-17:00", newYork, true},
		{"tue 22:00-23:00", shanghai, true},
		{"tue 21:00-22:00", shanghai, false}, // the end is exclusive
		{"tue 21:00-01:00", shanghai, true},
		{"mon 21:00-01:00", shanghai, false},
		{"mon 21:00-23:00, wed 00:00-24:00", shanghai, false},
		{"sun-sat 00:00-24:00", shanghai, true},
	} {
		h, err := ParseWorkingHours(tc.hours)
		if err != nil {
			t.Fatalf("ParseWorkingHours(%q): %v", tc.hours, err)
		}
		if got := h.Covers(at, tc.loc); got != tc.want {
			t.Errorf("ParseWorkingHours(%q).Covers(%s in %s) = %v, want %v", tc.hours, at, tc.loc, got, tc.want)
		}
	}
	// Monday 01:30 in Shanghai, reached from Sunday night.
	h, _ := ParseWorkingHours("sun 20:00-02:00")
	if !h.Covers(time.Date(2026, 11, 29, 17, 30, 0, 0, time.UTC), shanghai) {
		t.Error("sun 20:00-02:00 does not cover Monday 01:30")
	}
}

func TestParseWorkingHours(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" for an error
	}{
		{"mon-fri 09:00-17:00", "mon 09:00-17:00, tue 09:00-17:00, wed 09:00-17:00, thu 09:00-17:00, fri 09:00-17:00"},
		{"sat 20:00-02:00, sun 00:00-24:00", "sun 00:00-24:00, sat 20:00-02:00"},
		{"", ""},
		{"mon 9:00-17:00", ""},
		{"fri-mon 09:00-17:00", ""},
		{"mon 09:00-09:00", ""},
		{"mon 09:00-17:00, mon 18:00-19:00", ""},
		{"mon 24:30-01:00", ""},
		{"funday 09:00-17:00", ""},
	} {
		h, err := ParseWorkingHours(tc.in)
		if got := h.String(); (err != nil) != (tc.want == "" && tc.in != "") || got != tc.want {
			t.Errorf("ParseWorkingHours(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
