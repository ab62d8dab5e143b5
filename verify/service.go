// Package verify is the verification service: the case workflow from
// creation and scheduling through the invite to the decision, and the
// account import it needs. It talks only to models interfaces; HTTP, SQL and
// media live elsewhere.
//
// Service runs cases, invites, face checks, evidence reads and sealing;
// Desk (review, decision, release) and Calls (the customer's session and
// the video call) are built on it, and Accounts imports accounts. Each is
// built by its constructor from the dependencies deps.go lists. Every
// object-level rule (who may do what to which case) is in policy.go, and
// evidence is kept only through evidencebatch.go.
package verify

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/verify/facematch"
)

// Config is the part of the service configuration the workflow needs.
type Config struct {
	PublicURL     string         // base of invite links, e.g. https://idv.bank.example
	BankName      string         // shown in invites and on statements
	BankNameZH    string         // the bank's Chinese name, on statements
	BankAddress   string         // on statements
	BranchName    string         // the account's branch, on statements
	BranchAddress string         // on statements
	BranchTZ      *time.Location // the branch's zone, e.g. Asia/Shanghai
	RegistryTZ    *time.Location // the zone the registry's hours are given in
	RegistryOpen  time.Duration  // since local midnight, e.g. 7h30m
	RegistryClose time.Duration  // since local midnight, e.g. 19h
	MaxLead       time.Duration  // how far ahead a slot may be (default 90 days)
	CallLength    time.Duration  // calendar entry length (default 30 min)
	Face          FaceConfig     // as configured, for the admin's report
	Quotas        Quotas         // per-case storage limits (zero fields: DefaultQuotas)
	// LeaseOwner names this process in the job leases of the sealer and
	// the expiry job (idv serve: the node ID, so that a node restarted
	// after a crash takes its own leases back at once); "": host, process
	// and random bits.
	LeaseOwner string
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
	calib    *Calibrator
	faceObs  models.FaceCheckObserver // nil: not observed
	// notify tells the customer about a change of their case (set by
	// NewDesk, which owns the mail outbox; nil: nobody is told).
	notify func(ctx context.Context, tx models.Tx, c *models.Case, ev models.CaseEvent) error
	// owner names this service in the job leases it takes (lease.go);
	// leases holds the names this process holds now.
	owner  string
	leases sync.Map
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
	calib, err := NewCalibrator(d.Core, d.Config.Face, d.Face.ModelHash())
	if err != nil {
		return nil, err
	}
	owner := d.Config.LeaseOwner
	if owner == "" {
		if owner, err = leaseOwner(d.Rand); err != nil {
			return nil, fmt.Errorf("new verify service: %w", err)
		}
	}
	return &Service{store: d.Store, chain: d.Chain, cfg: d.Config, now: d.Now, rand: d.Rand, log: d.Log,
		face: d.Face, stager: d.Stager, evidence: d.Evidence, key: d.Key, readBLAS: d.ReadBLAS, calib: calib, faceObs: d.FaceChecks, owner: owner}, nil
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Config is the configuration the service was built with.
func (s *Service) Config() Config { return s.cfg }

func (s *Service) event(ctx context.Context, tx models.Tx, actor string, c models.CaseID, action string, detail map[string]string) error {
	return s.chain.Append(ctx, tx, &models.AuditEvent{Actor: actor, Action: action, CaseID: c, Detail: detail})
}
