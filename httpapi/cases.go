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
	ClerkID    models.StaffID   `json:"clerk_id"`
	Slot       verify.SlotView  `json:"slot"`
	Reason     string           `json:"reason,omitempty"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
	Version    int64            `json:"version"`
	Invites    []inviteView     `json:"invites,omitempty"`
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
		PeriodTo: c.PeriodTo, State: c.State, ClerkID: c.ClerkID, Slot: s.verify.ViewSlot(c.SlotAt, c.CustomerTZ),
		Reason: c.Reason, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Version: c.Version}
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
	v := s.view(cs)
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
	out := make([]caseView, 0, len(cases))
	for _, cs := range cases {
		out = append(out, s.view(cs))
	}
	c.JSON(http.StatusOK, gin.H{"cases": out, "total": total, "limit": f.Limit, "offset": f.Offset})
	return nil
}

func (s *Server) getCase(c *gin.Context) error {
	cs, invs, err := s.verify.CaseInvites(c.Request.Context(), actor(c), models.CaseID(c.Param("id")))
	if err != nil {
		return err
	}
	v := s.view(cs)
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
	c.JSON(http.StatusOK, s.view(cs))
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
	s.call.hub.End(cs.ID, "case aborted")
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
	s.call.hub.End(cs.ID, why)
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
	c.JSON(http.StatusOK, gin.H{"case_id": cs.ID, "events": eventViews(evs)})
	return nil
}
