package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"remoteidv/access"
	"remoteidv/models"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type meResponse struct {
	ID          models.StaffID `json:"id"`
	Username    string         `json:"username"`
	DisplayName string         `json:"display_name"`
	Roles       []models.Role  `json:"roles"`
	CSRFToken   string         `json:"csrf_token,omitempty"`
	Via         string         `json:"via"` // "session" or "token"
	// Notice (login only) tells of failed attempts since the last login.
	Notice *access.Notice `json:"notice,omitempty"`
}

func meOf(p *access.Principal) meResponse {
	m := meResponse{ID: p.Staff.ID, Username: p.Staff.Username, DisplayName: p.Staff.DisplayName, Roles: p.Staff.Roles, Via: "token"}
	if p.Session != nil {
		m.CSRFToken, m.Via = p.Session.CSRFToken, "session"
	}
	return m
}

// login signs a member of staff in. The limits (failures per name and
// per address, password checks at once) are the access service's, kept in
// the database: a refusal is a 429 with Retry-After.
func (s *Server) login(c *gin.Context) error {
	var req loginRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	old, _ := c.Cookie(s.cookieName())
	cookie, p, err := s.access.Login(c.Request.Context(), req.Username, req.Password, old, clientIP(c))
	if err != nil {
		return err
	}
	if old != "" {
		s.tell(c.Request.Context(), nodeSignal{Op: sigEndSession, Session: access.HashToken(old), Reason: "signed in again"})
	}
	s.setSessionCookie(c, cookie, int(s.access.Absolute.Seconds()))
	m := meOf(p)
	m.Notice = p.Notice
	c.JSON(http.StatusOK, m)
	return nil
}

func (s *Server) logout(c *gin.Context) error {
	p := principal(c)
	if err := s.access.Logout(c.Request.Context(), p); err != nil {
		return err
	}
	s.tell(c.Request.Context(), nodeSignal{Op: sigEndSession, Session: p.Session.IDHash, Reason: "logged out"})
	s.setSessionCookie(c, "", -1)
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) me(c *gin.Context) error {
	c.JSON(http.StatusOK, meOf(principal(c)))
	return nil
}

type stepUpRequest struct {
	Password string `json:"password"`
}

func (s *Server) stepUp(c *gin.Context) error {
	var req stepUpRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p := principal(c)
	var old string
	if p.Session != nil {
		old = p.Session.IDHash
	}
	cookie, err := s.access.StepUp(c.Request.Context(), p, req.Password)
	if err != nil {
		return err
	}
	s.tell(c.Request.Context(), nodeSignal{Op: sigRotateSession, Session: old, New: p.Session.IDHash}) // the call sockets of this login stay
	s.setSessionCookie(c, cookie, int(s.access.Absolute.Seconds()))
	c.JSON(http.StatusOK, meOf(p))
	return nil
}
