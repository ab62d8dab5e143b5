package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/access"
	"remoteidv/models"
)

// Staff members, for admins, and API tokens, for every member of staff.

type staffView struct {
	ID          models.StaffID `json:"id"`
	Username    string         `json:"username"`
	DisplayName string         `json:"display_name"`
	Roles       []models.Role  `json:"roles"`
	Email       string         `json:"email"`    // where staff notifications are mailed; "" for none
	Language    string         `json:"language"` // of those mails; "" for English
	Disabled    bool           `json:"disabled"`
	// Source is where the member signs in: local (a password kept here),
	// ldap (the bank's directory) or oidc (the bank's identity provider).
	Source    models.StaffSource `json:"source"`
	CreatedAt time.Time          `json:"created_at"`
}

func (s *Server) listStaff(c *gin.Context) error {
	all, err := s.access.ListStaff(c.Request.Context())
	if err != nil {
		return err
	}
	out := make([]staffView, 0, len(all))
	for _, st := range all {
		out = append(out, staffView{ID: st.ID, Username: st.Username, DisplayName: st.DisplayName, Roles: st.Roles, Email: st.Email, Language: st.Language,
			Disabled: !st.Active(), Source: st.Source, CreatedAt: st.CreatedAt})
	}
	c.JSON(http.StatusOK, gin.H{"staff": out})
	return nil
}

type newStaffRequest struct {
	Username    string   `json:"username"`
	DisplayName string   `json:"display_name"`
	Password    string   `json:"password"`
	Roles       []string `json:"roles"`
	Email       string   `json:"email"`    // optional: where staff notifications are mailed
	Language    string   `json:"language"` // optional: en, zh-CN
}

func (s *Server) createStaff(c *gin.Context) error {
	var req newStaffRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var roles []models.Role
	for _, r := range req.Roles {
		role, err := models.ParseRole(r)
		if err != nil {
			return err
		}
		roles = append(roles, role)
	}
	if err := access.CheckContact(req.Email, req.Language); err != nil {
		return err
	}
	st, err := s.access.CreateStaff(c.Request.Context(), principal(c).Actor(), req.Username, req.DisplayName, req.Password, roles)
	if err != nil {
		return err
	}
	if req.Email != "" || req.Language != "" {
		if st, err = s.access.SetContact(c.Request.Context(), principal(c).Actor(), st.Username, req.Email, req.Language); err != nil {
			return err
		}
	}
	c.JSON(http.StatusCreated, staffView{ID: st.ID, Username: st.Username, DisplayName: st.DisplayName, Roles: st.Roles, Email: st.Email, Language: st.Language,
		Source: st.Source, CreatedAt: st.CreatedAt})
	return nil
}

func (s *Server) setDisabled(disabled bool) func(*gin.Context) error {
	return func(c *gin.Context) error {
		p := principal(c)
		if disabled && c.Param("username") == p.Staff.Username {
			return models.Errorf(models.ECONFLICT, "you cannot disable yourself")
		}
		ctx := c.Request.Context()
		if err := s.access.SetDisabled(ctx, p.Actor(), c.Param("username"), disabled); err != nil {
			return err
		}
		if disabled {
			// Their sessions are gone; their live call sockets go now too.
			st, err := s.access.StaffByUsername(ctx, c.Param("username"))
			if err != nil {
				return err
			}
			s.tell(ctx, nodeSignal{Op: sigEndStaff, Staff: st.ID, Reason: "staff member disabled"})
		}
		c.Status(http.StatusNoContent)
		return nil
	}
}

type newTokenRequest struct {
	Username      string   `json:"username"` // optional: the caller's own
	Name          string   `json:"name"`
	Scope         []string `json:"scope"`
	ExpiresInDays int      `json:"expires_in_days"` // 0: the configured lifetime
}

// createToken mints a token acting as the caller, within their own roles,
// after a step-up: a token outlives the session, so it takes the password.
func (s *Server) createToken(c *gin.Context) error {
	p := principal(c)
	if p.Token != nil {
		return models.Errorf(models.EFORBIDDEN, "an API token cannot mint tokens: sign in to mint one")
	}
	var req newTokenRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Username != "" && req.Username != p.Staff.Username {
		return models.Errorf(models.EFORBIDDEN, "a token acts as the staff member who mints it: sign in as %s (or use idv tokens create)", req.Username)
	}
	if req.ExpiresInDays < 0 {
		return models.Errorf(models.EINVALID, "expires_in_days must be positive")
	}
	tr := access.TokenRequest{Name: req.Name, Lifetime: time.Duration(req.ExpiresInDays) * 24 * time.Hour}
	for _, r := range req.Scope {
		role, err := models.ParseRole(r)
		if err != nil {
			return err
		}
		tr.Scope = append(tr.Scope, role)
	}
	if strings.TrimSpace(req.Name) == "" || len(tr.Scope) == 0 {
		return models.Errorf(models.EINVALID, "name and scope (one or more of your roles) are required")
	}
	if !s.access.SteppedUp(p) {
		return models.Errorf(models.EPRECONDITION, "re-enter your password (POST /api/auth/step-up) within 5 minutes before minting a token")
	}
	raw, tok, err := s.access.MintToken(c.Request.Context(), p, tr)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"id": tok.ID, "name": tok.Name, "scope": tok.Scope, "expires_at": tok.ExpiresAt, "token": raw,
		"note": "shown once; only its hash is kept"})
	return nil
}

type tokenView struct {
	ID        models.TokenID `json:"id"`
	Name      string         `json:"name"`
	StaffID   models.StaffID `json:"staff_id"`
	Username  string         `json:"username"`
	Scope     []models.Role  `json:"scope"`
	Roles     []models.Role  `json:"roles"` // what it may do now
	State     string         `json:"state"` // live, expired or revoked
	CreatedAt time.Time      `json:"created_at"`
	ExpiresAt time.Time      `json:"expires_at"`
	LastUsed  *time.Time     `json:"last_used"`
	RevokedAt *time.Time     `json:"revoked_at"`
}

// listTokens: the caller's own tokens; an admin's list has everyone's.
func (s *Server) listTokens(c *gin.Context) error {
	ls, err := s.access.ListTokens(c.Request.Context(), principal(c))
	if err != nil {
		return err
	}
	now := s.access.Now()
	out := make([]tokenView, 0, len(ls))
	for _, l := range ls {
		t := l.Token
		state := t.State(now)
		roles := l.Roles
		if state != "live" || roles == nil {
			roles = []models.Role{}
		}
		out = append(out, tokenView{ID: t.ID, Name: t.Name, StaffID: t.StaffID, Username: l.Username, Scope: t.Scope, Roles: roles, State: state,
			CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsed: t.LastUsed, RevokedAt: t.RevokedAt})
	}
	c.JSON(http.StatusOK, gin.H{"tokens": out})
	return nil
}

// revokeToken: the token's owner or an admin.
func (s *Server) revokeToken(c *gin.Context) error {
	if err := s.access.RevokeToken(c.Request.Context(), principal(c), models.TokenID(c.Param("token_id"))); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// hoursView is a staff member's weekly working hours, in the branch's zone.
type hoursView struct {
	Username string `json:"username"`
	// Hours reads like "mon-fri 09:00-17:00, sat 20:00-02:00" (an end at or
	// before the start runs past midnight); empty when none are recorded.
	Hours    string `json:"hours"`
	TimeZone string `json:"time_zone"`
}

type hoursRequest struct {
	Hours string `json:"hours"`
}

func (s *Server) getHours(c *gin.Context) error {
	st, h, err := s.access.WorkingHours(c.Request.Context(), c.Param("username"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, hoursView{Username: st.Username, Hours: h.String(), TimeZone: s.verify.BranchZone().String()})
	return nil
}

func (s *Server) setHours(c *gin.Context) error {
	var req hoursRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	h, err := models.ParseWorkingHours(req.Hours)
	if err != nil {
		return err
	}
	st, err := s.access.SetWorkingHours(c.Request.Context(), principal(c).Actor(), c.Param("username"), h)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, hoursView{Username: st.Username, Hours: h.String(), TimeZone: s.verify.BranchZone().String()})
	return nil
}
