package verify

import (
	"fmt"
	"time"

	"remoteidv/models"
)

// Slot is a call time as the clerk enters it: a wall-clock time in the
// customer's zone.
type Slot struct {
	Local    string // "2006-01-02T15:04"
	TimeZone string // IANA name
}

// SlotView shows a slot in UTC, the customer's zone and the branch's.
type SlotView struct {
	UTC      time.Time `json:"utc"`
	Customer string    `json:"customer"` // RFC 3339 with offset, then the zone name
	Branch   string    `json:"branch"`
	Warnings []string  `json:"warnings,omitempty"`
}

// LoadZone loads an IANA zone, rejecting "" and "Local", which time.LoadLocation
// accepts but which name no zone the customer can be in.
func LoadZone(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		return nil, models.Errorf(models.EINVALID, "time zone %q is not an IANA zone name such as America/New_York", name)
	}
	return loc, nil
}

// resolveSlot turns a wall-clock slot into UTC, refusing times that do not
// exist in the zone (a daylight-saving gap), the past, and the far future.
func (s *Service) resolveSlot(sl Slot) (time.Time, error) {
	loc, err := LoadZone(sl.TimeZone)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", sl.Local, loc)
	if err != nil {
		return time.Time{}, models.Errorf(models.EINVALID, "slot %q is not a local time like 2026-12-01T09:00", sl.Local)
	}
	if t.Format("2006-01-02T15:04") != sl.Local {
		return time.Time{}, models.Errorf(models.EINVALID, "slot %s does not exist in %s (daylight-saving change)", sl.Local, sl.TimeZone)
	}
	now := s.now()
	if !t.After(now) {
		return time.Time{}, models.Errorf(models.EINVALID, "slot %s %s is in the past", sl.Local, sl.TimeZone)
	}
	if t.Sub(now) > s.cfg.MaxLead {
		return time.Time{}, models.Errorf(models.EINVALID, "slot %s %s is more than %d days ahead", sl.Local, sl.TimeZone, int(s.cfg.MaxLead.Hours()/24))
	}
	return t.UTC(), nil
}

// ViewSlot renders a stored slot for people on both sides.
func (s *Service) ViewSlot(at time.Time, customerTZ string) SlotView {
	v := SlotView{UTC: at.UTC(), Branch: at.In(s.cfg.BranchTZ).Format(time.RFC3339) + " " + s.cfg.BranchTZ.String()}
	if loc, err := time.LoadLocation(customerTZ); err == nil {
		v.Customer = at.In(loc).Format(time.RFC3339) + " " + customerTZ
	}
	local := at.In(s.cfg.RegistryTZ)
	since := time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute
	if since < s.cfg.RegistryOpen || since >= s.cfg.RegistryClose {
		v.Warnings = append(v.Warnings, fmt.Sprintf("outside the national ID registry's service hours (%s-%s %s): the registry check may be unavailable during the call",
			clock(s.cfg.RegistryOpen), clock(s.cfg.RegistryClose), s.cfg.RegistryTZ))
	}
	return v
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60)
}
