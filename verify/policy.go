package verify

import (
	"context"
	"time"

	"remoteidv/models"
)

// This file is the object-level policy: who may do what to which case.
// The route table (httpapi/routes.go) only checks that the caller holds one
// of a route's roles; every rule that looks at the case is here, and every
// workflow method goes through one of them. Staff may hold several roles;
// a rule never lets one role lend its powers to another role's work:
//
// "The case's assigned clerk" is either of its clerks: the primary and the
// backup (assignedClerks).
//
//   - See a case (read it, its checks, letters, calls, timeline, what it
//     still lacks): its assigned clerk, every supervisor and every auditor.
//     Anyone else is told the case does not exist (ENOTFOUND), so case IDs
//     leak nothing.
//   - Run a case (reschedule, issue or mail an invite, face checks and their
//     confirmation, captures and liveness in the call, letters and their
//     scope, signature and registry checks, submission): only an assigned
//     clerk holding the clerk role (runsCase). A clerk who also holds the
//     supervisor or auditor role sees every case but runs only their own.
//   - Stop a case (cancel, abort, revoke its invites): its assigned clerk,
//     or any supervisor. Stopping produces no approval; it is how a
//     supervisor ends a call that goes wrong or a link that leaked. A
//     supervisor who revokes a case's invites has acted on it and may no
//     longer decide it (below).
//   - View the identity documents (the letter, the signature specimen, the
//     account's reference photos) and print the released statement: the
//     assigned clerk or a supervisor. Auditors read evidence items instead
//     (canReadEvidence), never the live documents.
//   - Observe the call (receive-only): a supervisor.
//   - Reassign its primary or backup clerk, before submission: a
//     supervisor. Reassigning is not observing: a supervisor who reassigns
//     a case has acted on it and may no longer decide it (below).
//   - Release an approved, sealed case's statement: its assigned clerk or a
//     supervisor. The approval names the exact statement, account, period
//     and address and is used once, so the release adds no judgement of
//     its own; the four eyes are the clerk's work and the decision.
//   - Decide (approve or reject): a supervisor who is not an assigned clerk
//     of the case and whose every action in the case's audit trail, in
//     person or through one of their API tokens, is in observing. This
//     holds even if the case changed hands since.
//   - The auditor role never grants a change; the admin role grants no case
//     action (the one admin act on a case's evidence, the legal hold,
//     changes its retention, not the case).
//
// API tokens act as their staff member: the actor has the member's ID and
// the roles of the token's scope that the member still holds (access
// narrows them), so every rule treats a token as that person holding only
// those roles. A token's scope is a subset of its member's roles when
// minted, so an admin cannot mint a token that reads evidence.

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

// assignedClerks lists the staff who run case c: its primary clerk and its
// backup clerk, if any. Both count the same everywhere: either runs the
// call and the checks, neither decides.
func assignedClerks(c *models.Case) []models.StaffID { return c.Clerks() }

// assigned reports whether staff member id is one of c's assigned clerks,
// whatever roles they hold now.
func assigned(id models.StaffID, c *models.Case) bool {
	for _, x := range assignedClerks(c) {
		if x == id {
			return true
		}
	}
	return false
}

// seesAllCases: supervisors and auditors see every case; clerks see the
// cases they run.
func (a Actor) seesAllCases() bool {
	return a.has(models.RoleSupervisor) || a.has(models.RoleAuditor)
}

// canSee is who may read a case.
func (a Actor) canSee(c *models.Case) bool { return a.seesAllCases() || a.runsCase(c) }

// runsCase is the rule of every clerk action: the actor holds the clerk
// role and is an assigned clerk of the case.
func (a Actor) runsCase(c *models.Case) bool {
	return a.has(models.RoleClerk) && assigned(a.StaffID, c)
}

// mayStop is who may cancel or abort a case or revoke its invites.
func (a Actor) mayStop(c *models.Case) bool { return a.runsCase(c) || a.has(models.RoleSupervisor) }

// mayViewDocuments is who may look at the case's letter, the account's
// signature specimen and reference photos, and the released statement.
func (a Actor) mayViewDocuments(c *models.Case) bool {
	return a.runsCase(c) || a.has(models.RoleSupervisor)
}

// mayJoinCall is who may join the case's call: its clerk runs it, a
// supervisor observes.
func (a Actor) mayJoinCall(c *models.Case) bool { return a.runsCase(c) || a.has(models.RoleSupervisor) }

// mayRelease is who may release an approved case's statement.
func (a Actor) mayRelease(c *models.Case) bool { return a.runsCase(c) || a.has(models.RoleSupervisor) }

// canReadEvidence: supervisors and auditors read evidence items (every
// case's, as they see every case); admins do not unless they also hold one
// of those roles.
func (a Actor) canReadEvidence() bool {
	return a.has(models.RoleSupervisor) || a.has(models.RoleAuditor)
}

// rule is one object-level permission: who it lets act (for the refusal)
// and the test.
type rule struct {
	who   string
	allow func(a Actor, c *models.Case) bool
}

var (
	clerkRule    = rule{"the case's assigned clerk", Actor.runsCase}
	stopRule     = rule{"the case's assigned clerk or a supervisor", Actor.mayStop}
	documentRule = rule{"the case's assigned clerk or a supervisor", Actor.mayViewDocuments}
	callRule     = rule{"the case's assigned clerk (to run it) or a supervisor (to observe)", Actor.mayJoinCall}
	releaseRule  = rule{"the case's assigned clerk or a supervisor", Actor.mayRelease}
	decideRule   = rule{"a supervisor", func(a Actor, _ *models.Case) bool { return a.has(models.RoleSupervisor) }}
	reassignRule = rule{"a supervisor", func(a Actor, _ *models.Case) bool { return a.has(models.RoleSupervisor) }}
)

// authorize returns case id if a may see it and r lets a do what: a case a
// may not see is ENOTFOUND, one a sees but may not act on EFORBIDDEN
// ("only <who> may <what>").
func (s *Service) authorize(ctx context.Context, tx models.Tx, a Actor, id models.CaseID, r rule, what string) (*models.Case, error) {
	c, err := s.visibleCase(ctx, tx, a, id)
	if err != nil {
		return nil, err
	}
	if !r.allow(a, c) {
		return nil, models.Errorf(models.EFORBIDDEN, "only %s may %s", r.who, what)
	}
	return c, nil
}

// authorized is authorize in a transaction of its own.
func (s *Service) authorized(ctx context.Context, a Actor, id models.CaseID, r rule, what string) (*models.Case, error) {
	var c *models.Case
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) { c, err = s.authorize(ctx, tx, a, id, r, what); return })
	return c, err
}

// observing lists the audit actions that only look at a case. A supervisor
// whose every action in a case is one of these has only observed it and
// may decide it; any other action (an invite, a check, a letter, a
// revocation, a legal hold, creating the case, ...) makes them a party to
// it. A new way of looking at a case must be added here on purpose.
var observing = map[string]bool{
	"evidence.listed":            true, // the evidence list (verify/evidence.go)
	"evidence.downloaded":        true, // one item
	"evidence.played":            true, // a recording, remuxed for the browser
	"evidence.bundle_downloaded": true, // the sealed case's bundle
	"letter.viewed":              true, // the letter, for the signature comparison (signature.go)
	"specimen.viewed":            true, // the account's signature specimen
	"reference.viewed":           true, // an account reference photo, for the face comparison
	"statement.viewed":           true, // the statement the submission generated, before the decision (release.go)
	// Joining the call. Only the case's clerk joins to run it (and the
	// assigned clerk never decides); anyone else joins receive-only as an
	// observer, and the first to join opens the call.
	"case.join": true,
	// A supervisor's observer socket opening and closing on a running call.
	"call.observe_started": true,
	"call.observe_stopped": true,
	// The supervisor's security key signing (or failing to sign) the
	// decision itself (access/webauthn.go).
	"auth.webauthn_stepup": true,
	"auth.webauthn_failed": true,
}

// mayDecide is the decider rule (four eyes), checked in the deciding
// transaction: a supervisor, not an assigned clerk of the case, who took no
// action in the case other than observing it, in person or through any of
// their API tokens (revoked ones included).
func (s *Service) mayDecide(ctx context.Context, tx models.Tx, a Actor, c *models.Case) error {
	if !a.has(models.RoleSupervisor) {
		return models.Errorf(models.EFORBIDDEN, "only supervisors decide cases")
	}
	if assigned(a.StaffID, c) {
		return models.Errorf(models.EFORBIDDEN, "you are this case's clerk: another supervisor must decide (four eyes)")
	}
	names := map[string]bool{a.Name: true, models.StaffActor(a.StaffID): true}
	toks, err := tx.APITokensByStaff(ctx, a.StaffID)
	if err != nil {
		return err
	}
	for _, t := range toks {
		names[models.TokenActor(t.ID)] = true
	}
	trail, err := tx.AuditEvents(ctx, models.AuditFilter{CaseID: c.ID})
	if err != nil {
		return err
	}
	for _, e := range trail {
		if names[e.Actor] && !observing[e.Action] {
			return models.Errorf(models.EFORBIDDEN, "you took part in this case (%s as %s at %s): another supervisor must decide (four eyes)",
				e.Action, e.Actor, e.At.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// callClerk is the actor of captures taken in the call on the clerk's
// request (the media layer sends only the clerk's requests): the named
// member of staff, who must still run the case (runsCase) and still be
// enabled (a disabled clerk takes none: EFORBIDDEN).
func (c *Calls) callClerk(ctx context.Context, id models.CaseID, actor string) (Actor, error) {
	var a Actor
	err := c.svc.store.Transact(ctx, func(tx models.Tx) error {
		cs, err := tx.CaseByID(ctx, id)
		if err != nil {
			return err
		}
		for _, sid := range assignedClerks(cs) {
			if actor != models.StaffActor(sid) {
				continue
			}
			st, err := tx.StaffByID(ctx, sid)
			if err != nil {
				return err
			}
			if !st.Active() {
				return models.Errorf(models.EFORBIDDEN, "the case's clerk is disabled: no capture is taken")
			}
			a = Actor{Name: actor, StaffID: st.ID, Roles: st.Roles}
		}
		if !a.runsCase(cs) {
			return models.Errorf(models.EFORBIDDEN, "only %s may take captures", clerkRule.who)
		}
		return nil
	})
	return a, err
}

// visibleCase returns case id if a may see it (canSee); a case a may not
// see is ENOTFOUND, as one that does not exist.
func (s *Service) visibleCase(ctx context.Context, tx models.Tx, a Actor, id models.CaseID) (*models.Case, error) {
	if !models.ValidID("case", string(id)) {
		return nil, models.Errorf(models.ENOTFOUND, "case %s not found", id)
	}
	c, err := tx.CaseByID(ctx, id)
	if models.ErrorCodeOf(err) == models.ENOTFOUND || (err == nil && !a.canSee(c)) {
		return nil, models.Errorf(models.ENOTFOUND, "case %s not found", id)
	}
	return c, err
}

// clerkCase returns the case if a runs it (clerkRule) and it still takes
// checks.
func (d *Desk) clerkCase(ctx context.Context, tx models.Tx, a Actor, id models.CaseID) (*models.Case, error) {
	c, err := d.svc.authorize(ctx, tx, a, id, clerkRule, "record letters and checks")
	if err != nil {
		return nil, err
	}
	if !c.State.TakesChecks() {
		return nil, models.Errorf(models.ECONFLICT, "case is %s: checks are recorded before submission", c.State)
	}
	return c, nil
}

// evidenceCase returns case id if a may read its evidence items
// (canReadEvidence) and see it.
func (s *Service) evidenceCase(ctx context.Context, tx models.Tx, a Actor, id models.CaseID) (*models.Case, error) {
	if !a.canReadEvidence() {
		return nil, models.Errorf(models.EFORBIDDEN, "only supervisors and auditors read evidence")
	}
	return s.visibleCase(ctx, tx, a, id)
}

// visibleCases narrows a case list to what a sees: the cases a is a clerk
// of (primary or backup), unless a also sees every case.
func (a Actor) visibleCases(f models.CaseFilter) models.CaseFilter {
	if !a.seesAllCases() {
		f.AssignedTo = a.StaffID
	}
	return f
}
