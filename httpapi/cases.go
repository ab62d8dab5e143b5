package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/verify"
)

type slotJSON struct {
	Local    string `json:"local"`     // 2026-12-01T09:00, the customer's wall clock
	TimeZone string `json:"time_zone"` // IANA, e.g. America/New_York
}

type newCaseRequest struct {
	AccountNo  string         `json:"account_no"`
	Purpose    models.Purpose `json:"purpose"`
	PeriodFrom string         `json:"period_from"`
	PeriodTo   string         `json:"period_to"`
	Slot       slotJSON       `json:"slot"`
	Intake     *intakeJSON    `json:"intake,omitempty"`
}

// intakeJSON is how the request came in, as the clerk enters it with the
// case and as GET /api/cases/{id} shows it.
type intakeJSON struct {
	Channel    models.IntakeChannel `json:"channel"`
	ReceivedAt string               `json:"received_at,omitempty"` // RFC 3339; empty: now
	Notes      string               `json:"notes,omitempty"`
	RecordedBy models.StaffID       `json:"recorded_by,omitempty"`
}

// intake turns the request's intake into the workflow's (nil: none).
func (j *intakeJSON) intake() (*models.CaseIntake, error) {
	if j == nil {
		return nil, nil
	}
	in := &models.CaseIntake{Channel: j.Channel, Notes: j.Notes}
	if j.ReceivedAt != "" {
		t, err := time.Parse(time.RFC3339, j.ReceivedAt)
		if err != nil {
			return nil, models.Errorf(models.EINVALID, "intake received_at must be an RFC 3339 time such as 2026-12-01T14:05:00+08:00")
		}
		in.ReceivedAt = t
	}
	return in, nil
}

type caseView struct {
	ID         models.CaseID    `json:"id"`
	AccountNo  string           `json:"account_no"` // masked
	Purpose    models.Purpose   `json:"purpose"`
	PeriodFrom string           `json:"period_from"`
	PeriodTo   string           `json:"period_to"`
	State      models.CaseState `json:"state"`
	ClerkID    models.StaffID   `json:"clerk_id"` // the primary clerk
	// BackupClerkID is the backup clerk, who runs the case as the primary
	// does; absent when there is none.
	BackupClerkID models.StaffID `json:"backup_clerk_id,omitempty"`
	// MyRole is the caller's role on the case (primary or backup) when
	// they are one of its clerks.
	MyRole models.ClerkRole `json:"my_role,omitempty"`
	// Clerks names both clerks, in single-case answers (create, read,
	// reschedule, reassign); their slot warnings then also say when
	// neither clerk works at the slot's branch time.
	Clerks *clerksView `json:"clerks,omitempty"`
	// Clerk is the primary clerk as people read it (display name and
	// role), in the case list; the narrator (record.go) names them.
	Clerk     string          `json:"clerk,omitempty"`
	Slot      verify.SlotView `json:"slot"`
	Reason    string          `json:"reason,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	Version   int64           `json:"version"`
	Invites   []inviteView    `json:"invites,omitempty"`
	// Statement is the file the submission generated: what the supervisor
	// reviews and approves by its SHA-256.
	Statement *statementView `json:"statement,omitempty"`
	// StatementPassword: the customer chose a password for the emailed
	// statement during the call and the release has not used it yet
	// (never the password itself). Only in GET /api/cases/{id}.
	StatementPassword *bool `json:"statement_password,omitempty"`
	// RegisteredEmail is the account's registered address, masked
	// ("l***@example.com"): where the invite and the statement go, named
	// in the release's confirmation. Only in GET /api/cases/{id}.
	RegisteredEmail string `json:"registered_email,omitempty"`
	// AccountFlags are the open fraud flags of the case's account: in the
	// answers of POST /api/cases (what the clerk was shown), GET
	// /api/cases/{id} and the abort; absent when there are none.
	AccountFlags []flagView `json:"account_flags,omitempty"`
	// Intake is how the request came in, when the clerk recorded it. Only
	// in POST /api/cases and GET /api/cases/{id}.
	Intake *intakeJSON `json:"intake,omitempty"`
}

type statementView struct {
	ID         models.StatementID `json:"id"`
	SHA256     string             `json:"sha256"`
	CreatedAt  time.Time          `json:"created_at"`
	ReleasedAt *time.Time         `json:"released_at,omitempty"`
}

type inviteView struct {
	ID        models.InviteID `json:"id"`
	NotBefore time.Time       `json:"not_before"`
	NotAfter  time.Time       `json:"not_after"`
	UsedAt    *time.Time      `json:"used_at,omitempty"`
	RevokedAt *time.Time      `json:"revoked_at,omitempty"`
}

func (s *Server) view(c *models.Case) caseView {
	return caseView{ID: c.ID, AccountNo: models.MaskAccountNo(c.AccountNo), Purpose: c.Purpose, PeriodFrom: c.PeriodFrom,
		PeriodTo: c.PeriodTo, State: c.State, ClerkID: c.ClerkID, BackupClerkID: c.BackupID, Slot: s.verify.ViewSlot(c.SlotAt, c.CustomerTZ),
		Reason: c.Reason, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Version: c.Version}
}

// staffRef names a member of staff.
type staffRef struct {
	ID          models.StaffID `json:"id"`
	Username    string         `json:"username"`
	DisplayName string         `json:"display_name"`
}

type clerksView struct {
	Primary staffRef  `json:"primary"`
	Backup  *staffRef `json:"backup,omitempty"`
}

func refOf(st *models.Staff) staffRef {
	return staffRef{ID: st.ID, Username: st.Username, DisplayName: st.DisplayName}
}

// caseAnswer is the single-case view for the caller: the case with its
// clerks' names, the caller's role on it and the working-hours warning.
func (s *Server) caseAnswer(c *gin.Context, cs *models.Case) (caseView, error) {
	v := s.view(cs)
	v.MyRole = cs.ClerkRoleOf(actor(c).StaffID)
	st, err := s.verify.Staffing(c.Request.Context(), cs)
	if err != nil {
		return caseView{}, err
	}
	v.Clerks = &clerksView{Primary: refOf(st.Primary)}
	if st.Backup != nil {
		b := refOf(st.Backup)
		v.Clerks.Backup = &b
	}
	v.Slot.Warnings = append(v.Slot.Warnings, st.Warnings...)
	return v, nil
}

func (s *Server) createCase(c *gin.Context) error {
	var req newCaseRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	intake, err := req.Intake.intake()
	if err != nil {
		return err
	}
	cs, flags, err := s.verify.CreateCaseWithFlags(c.Request.Context(), actor(c), verify.NewCase{AccountNo: models.AccountNo(req.AccountNo), Purpose: req.Purpose,
		PeriodFrom: req.PeriodFrom, PeriodTo: req.PeriodTo, Slot: verify.Slot(req.Slot), Intake: intake})
	if err != nil {
		return err
	}
	v, err := s.caseAnswer(c, cs)
	if err != nil {
		return err
	}
	if intake != nil {
		v.Intake = viewIntake(intake, cs.CreatedAt, actor(c).StaffID)
	}
	v.AccountFlags = viewFlags(flags)
	c.Header("Location", "/api/cases/"+string(cs.ID))
	c.JSON(http.StatusCreated, v)
	return nil
}

func (s *Server) listCases(c *gin.Context) error {
	f := models.CaseFilter{AccountNo: models.AccountNo(c.Query("account_no")), ClerkID: models.StaffID(c.Query("clerk_id"))}
	var err error
	switch c.Query("assigned") {
	case "":
	case "me": // the caller's cases, as primary or backup clerk
		f.AssignedTo = actor(c).StaffID
	default:
		return models.Errorf(models.EINVALID, "assigned must be \"me\"")
	}
	if st := c.Query("state"); st != "" {
		if f.State, err = models.ParseCaseState(st); err != nil {
			return err
		}
	}
	for _, q := range []struct {
		name string
		dst  *time.Time
	}{{"slot_from", &f.SlotFrom}, {"slot_to", &f.SlotTo}} {
		if v := c.Query(q.name); v != "" {
			if *q.dst, err = time.Parse(time.RFC3339, v); err != nil {
				return models.Errorf(models.EINVALID, "%s must be an RFC 3339 time such as 2026-12-01T00:00:00Z", q.name)
			}
		}
	}
	if f.Limit, err = intQuery(c, "limit", 50, 1, 200); err != nil {
		return err
	}
	if f.Offset, err = intQuery(c, "offset", 0, 0, 1_000_000); err != nil {
		return err
	}
	cases, total, err := s.verify.ListCases(c.Request.Context(), actor(c), f)
	if err != nil {
		return err
	}
	n := s.narrator(c.Request.Context(), s.pageLang(c))
	out := make([]caseView, 0, len(cases))
	me := actor(c).StaffID
	for _, cs := range cases {
		v := s.view(cs)
		v.MyRole = cs.ClerkRoleOf(me)
		v.Clerk = n.party(models.StaffActor(cs.ClerkID), "case.created").Name
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"cases": out, "total": total, "limit": f.Limit, "offset": f.Offset})
	return nil
}

func (s *Server) getCase(c *gin.Context) error {
	cs, invs, err := s.verify.CaseInvites(c.Request.Context(), actor(c), models.CaseID(c.Param("id")))
	if err != nil {
		return err
	}
	v, err := s.caseAnswer(c, cs)
	if err != nil {
		return err
	}
	for _, inv := range invs {
		v.Invites = append(v.Invites, inviteView{ID: inv.ID, NotBefore: inv.NotBefore, NotAfter: inv.NotAfter, UsedAt: inv.UsedAt, RevokedAt: inv.RevokedAt})
	}
	st, err := s.verify.CaseStatement(c.Request.Context(), actor(c), cs.ID)
	if err != nil {
		return err
	}
	if st != nil {
		v.Statement = &statementView{ID: st.ID, SHA256: st.SHA256, CreatedAt: st.CreatedAt, ReleasedAt: st.ReleasedAt}
	}
	chosen, err := s.verify.StatementPasswordChosen(c.Request.Context(), actor(c), cs.ID)
	if err != nil {
		return err
	}
	v.StatementPassword = &chosen
	acct, err := s.verify.Account(c.Request.Context(), cs.AccountNo)
	if err != nil {
		return err
	}
	v.RegisteredEmail = models.MaskEmail(acct.Email)
	flags, err := s.verify.CaseFlags(c.Request.Context(), actor(c), cs.ID)
	if err != nil {
		return err
	}
	v.AccountFlags = viewFlags(flags)
	in, err := s.verify.CaseIntake(c.Request.Context(), actor(c), cs.ID)
	if err != nil {
		return err
	}
	if in != nil {
		v.Intake = viewIntake(in, in.CreatedAt, in.RecordedBy)
	}
	c.JSON(http.StatusOK, v)
	return nil
}

// viewIntake shows an intake record; a received time left empty was the
// case's creation.
func viewIntake(in *models.CaseIntake, created time.Time, by models.StaffID) *intakeJSON {
	at := in.ReceivedAt
	if at.IsZero() {
		at = created
	}
	return &intakeJSON{Channel: in.Channel, ReceivedAt: at.UTC().Format(time.RFC3339), Notes: in.Notes, RecordedBy: by}
}

type rescheduleRequest struct {
	Slot slotJSON `json:"slot"`
}

func (s *Server) reschedule(c *gin.Context) error {
	var req rescheduleRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	cs, err := s.verify.Reschedule(c.Request.Context(), actor(c), models.CaseID(c.Param("id")), verify.Slot(req.Slot))
	if err != nil {
		return err
	}
	v, err := s.caseAnswer(c, cs)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}

type reassignRequest struct {
	Role    models.ClerkRole `json:"role"`     // primary or backup
	StaffID models.StaffID   `json:"staff_id"` // the new clerk; "" clears the backup
	Reason  string           `json:"reason"`
}

// reassign sets a case's primary or backup clerk; a clerk who left the case
// leaves its call at once.
func (s *Server) reassign(c *gin.Context) error {
	var req reassignRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	cs, left, err := s.verify.Reassign(c.Request.Context(), actor(c), models.CaseID(c.Param("id")),
		verify.Reassignment{Role: req.Role, Staff: req.StaffID, Reason: req.Reason})
	if err != nil {
		return err
	}
	for _, id := range left {
		s.tell(c.Request.Context(), nodeSignal{Op: sigEndClerk, Case: cs.ID, Staff: id, Reason: "no longer a clerk of this case"})
	}
	v, err := s.caseAnswer(c, cs)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}

type clerkView struct {
	staffRef
	// Hours are the clerk's weekly working hours in the branch's zone
	// ("mon-fri 09:00-17:00" style; empty when none are recorded).
	Hours string `json:"hours"`
}

// listClerks is the supervisor's choice of clerks for a reassignment.
func (s *Server) listClerks(c *gin.Context) error {
	all, hours, err := s.verify.Clerks(c.Request.Context(), actor(c))
	if err != nil {
		return err
	}
	out := make([]clerkView, 0, len(all))
	for _, st := range all {
		out = append(out, clerkView{staffRef: refOf(st), Hours: hours[st.ID].String()})
	}
	c.JSON(http.StatusOK, gin.H{"clerks": out, "time_zone": s.verify.BranchZone().String()})
	return nil
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) cancel(c *gin.Context) error {
	return s.stopCase(c, s.verify.Cancel, "case cancelled")
}

type abortRequest struct {
	Reason string `json:"reason"`
	// FraudCategory, when set, raises a fraud flag against the account.
	FraudCategory models.FlagCategory `json:"fraud_category"`
}

func (s *Server) abort(c *gin.Context) error {
	var req abortRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ctx, a := c.Request.Context(), actor(c)
	cs, _, err := s.verify.AbortFlagged(ctx, a, models.CaseID(c.Param("id")), req.Reason, req.FraudCategory)
	if err != nil {
		return err
	}
	s.tell(ctx, nodeSignal{Op: sigEndCall, Case: cs.ID, Reason: "case aborted"})
	v := s.view(cs)
	flags, err := s.verify.CaseFlags(ctx, a, cs.ID)
	if err != nil {
		return err
	}
	v.AccountFlags = viewFlags(flags)
	c.JSON(http.StatusOK, v)
	return nil
}

// stopCase cancels or aborts a case and ends its live call, if any.
func (s *Server) stopCase(c *gin.Context, stop func(context.Context, verify.Actor, models.CaseID, string) (*models.Case, error), why string) error {
	var req reasonRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	cs, err := stop(c.Request.Context(), actor(c), models.CaseID(c.Param("id")), req.Reason)
	if err != nil {
		return err
	}
	s.tell(c.Request.Context(), nodeSignal{Op: sigEndCall, Case: cs.ID, Reason: why})
	c.JSON(http.StatusOK, s.view(cs))
	return nil
}

func (s *Server) issueInvite(c *gin.Context) error {
	inv, err := s.verify.IssueInvite(c.Request.Context(), actor(c), models.CaseID(c.Param("id")))
	if err != nil {
		return err
	}
	if c.Query("format") == "ics" {
		c.Header("Content-Disposition", `attachment; filename="remoteidv-call.ics"`)
		c.Data(http.StatusCreated, "text/calendar; charset=utf-8", inv.ICS)
		return nil
	}
	c.JSON(http.StatusCreated, gin.H{"invite_id": inv.Invite.ID, "link": inv.Link, "not_before": inv.Invite.NotBefore,
		"not_after": inv.Invite.NotAfter, "ics": string(inv.ICS)})
	return nil
}

func (s *Server) revokeInvites(c *gin.Context) error {
	if err := s.verify.RevokeInvites(c.Request.Context(), actor(c), models.CaseID(c.Param("id"))); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) mailInvite(c *gin.Context) error {
	d := s.desk
	inv, m, err := d.MailInvite(c.Request.Context(), actor(c), caseID(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"invite_id": inv.ID, "not_before": inv.NotBefore, "not_after": inv.NotAfter,
		"mail": gin.H{"id": m.ID, "to": m.To, "message_id": m.MessageID}})
	return nil
}

func (s *Server) timeline(c *gin.Context) error {
	cs, evs, err := s.verify.Timeline(c.Request.Context(), actor(c), models.CaseID(c.Param("id")))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"case_id": cs.ID, "events": s.narrator(c.Request.Context(), s.pageLang(c)).views(evs, cs.CustomerTZ)})
	return nil
}
