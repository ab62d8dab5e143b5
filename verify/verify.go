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

// Service runs the case workflow. Desk (review, decision, release) and
// Calls (the customer's session and the video call) are built on it.
type Service struct {
	store    models.Store
	chain    audit.Chain
	cfg      Config
	now      func() time.Time
	rand     io.Reader
	log      *slog.Logger
	face     FaceEngine
	stager   Stager
	evidence models.EvidenceStore
	key      ed25519.PrivateKey
	readBLAS func() (facematch.BLASInfo, error)
}

// New returns the workflow service over d, whose every field is required
// (see Deps): the error names what is missing.
func New(d Deps) (*Service, error) {
	missing := d.Core.missing()
	if d.Config.BranchTZ == nil {
		missing = append(missing, "Config.BranchTZ")
	}
	if d.Config.RegistryTZ == nil {
		missing = append(missing, "Config.RegistryTZ")
	}
	if d.Face == nil {
		missing = append(missing, "Face (NoFaceEngine{} without face models)")
	}
	if d.Stager == nil {
		missing = append(missing, "Stager")
	}
	if d.Evidence == nil {
		missing = append(missing, "Evidence")
	}
	if len(d.Key) != ed25519.PrivateKeySize {
		missing = append(missing, "Key")
	}
	if d.ReadBLAS == nil {
		missing = append(missing, "ReadBLAS")
	}
	if err := missingError("new verify service", missing); err != nil {
		return nil, err
	}
	return &Service{store: d.Store, chain: d.Chain, cfg: d.Config, now: d.Now, rand: d.Rand, log: d.Log,
		face: d.Face, stager: d.Stager, evidence: d.Evidence, key: d.Key, readBLAS: d.ReadBLAS}, nil
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Config is the configuration the service was built with.
func (s *Service) Config() Config { return s.cfg }

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
	return s.chain.Append(ctx, tx, &models.AuditEvent{Actor: actor, Action: action, CaseID: c, Detail: detail})
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
