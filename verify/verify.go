// Package verify is the verification service: the case workflow from
// creation and scheduling through the invite to the decision, and the
// account import it needs. It talks only to models interfaces; HTTP, SQL and
// media live elsewhere.
package verify

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/verify/facematch"
)

// Config is the part of the service configuration the workflow needs.
type Config struct {
	PublicURL     string         // base of invite links, e.g. https://idv.bank.example
	BankName      string         // shown in invites
	BranchTZ      *time.Location // the branch's zone, e.g. Asia/Shanghai
	RegistryTZ    *time.Location // the zone the registry's hours are given in
	RegistryOpen  time.Duration  // since local midnight, e.g. 7h30m
	RegistryClose time.Duration  // since local midnight, e.g. 19h
	MaxLead       time.Duration  // how far ahead a slot may be (default 90 days)
	CallLength    time.Duration  // calendar entry length (default 30 min)
	Face          FaceConfig     // as configured, for the admin's report
}

// Service runs the case workflow.
type Service struct {
	Store models.Store
	Chain audit.Chain
	Cfg   Config
	Now   func() time.Time
	Rand  io.Reader
	Log   *slog.Logger
	// Face is the face engine; nil where no models are loaded (face
	// checks then answer "unavailable").
	Face FaceEngine
	// Stager keeps artifacts until archived.
	Stager Stager
	// Evidence is the write-once evidence store (sealing, auditor reads).
	Evidence models.EvidenceStore
	// Key signs case manifests (the same key signs audit checkpoints).
	Key ed25519.PrivateKey
	// ReadBLAS tells which BLAS and LAPACK the process loaded, for the
	// admin's face report (verify/face.ReadBLASInfo).
	ReadBLAS func() (facematch.BLASInfo, error)
}

// Actor is who asks, as the HTTP layer knows it.
type Actor struct {
	Name    string // audit actor, e.g. "staff:stf_..."
	StaffID models.StaffID
	Roles   []models.Role
}

func (a Actor) has(r models.Role) bool {
	for _, x := range a.Roles {
		if x == r {
			return true
		}
	}
	return false
}

func (s *Service) event(ctx context.Context, tx models.Tx, actor string, c models.CaseID, action string, detail map[string]string) error {
	return s.Chain.Append(ctx, tx, &models.AuditEvent{Actor: actor, Action: action, CaseID: c, Detail: detail})
}

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
	now := s.Now()
	if !t.After(now) {
		return time.Time{}, models.Errorf(models.EINVALID, "slot %s %s is in the past", sl.Local, sl.TimeZone)
	}
	if t.Sub(now) > s.Cfg.MaxLead {
		return time.Time{}, models.Errorf(models.EINVALID, "slot %s %s is more than %d days ahead", sl.Local, sl.TimeZone, int(s.Cfg.MaxLead.Hours()/24))
	}
	return t.UTC(), nil
}

// ViewSlot renders a stored slot for people on both sides.
func (s *Service) ViewSlot(at time.Time, customerTZ string) SlotView {
	v := SlotView{UTC: at.UTC(), Branch: at.In(s.Cfg.BranchTZ).Format(time.RFC3339) + " " + s.Cfg.BranchTZ.String()}
	if loc, err := time.LoadLocation(customerTZ); err == nil {
		v.Customer = at.In(loc).Format(time.RFC3339) + " " + customerTZ
	}
	local := at.In(s.Cfg.RegistryTZ)
	since := time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute
	if since < s.Cfg.RegistryOpen || since >= s.Cfg.RegistryClose {
		v.Warnings = append(v.Warnings, fmt.Sprintf("outside the national ID registry's service hours (%s-%s %s): the registry check may be unavailable during the call",
			clock(s.Cfg.RegistryOpen), clock(s.Cfg.RegistryClose), s.Cfg.RegistryTZ))
	}
	return v
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60)
}
