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
}

func meOf(p *access.Principal) meResponse {
	m := meResponse{ID: p.Staff.ID, Username: p.Staff.Username, DisplayName: p.Staff.DisplayName, Roles: p.Staff.Roles, Via: "token"}
	if p.Session != nil {
		m.CSRFToken, m.Via = p.Session.CSRFToken, "session"
	}
	return m
}

func (s *Server) login(c *gin.Context) {
	ip := c.ClientIP()
	if s.limiter.Blocked("login:" + ip) {
		s.fail(c, models.Errorf(models.ERATELIMIT, "too many failed logins; wait a minute"))
		return
	}
	var req loginRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	old, _ := c.Cookie(s.cookieName())
	cookie, p, err := s.access.Login(c.Request.Context(), req.Username, req.Password, old, ip)
	if err != nil {
		if models.ErrorCodeOf(err) == models.EUNAUTHORIZED {
			s.limiter.Fail("login:" + ip)
		}
		s.fail(c, err)
		return
	}
	if old != "" {
		s.call.hub.EndSession(access.HashToken(old), "signed in again")
	}
	s.setSessionCookie(c, cookie, int(s.access.Absolute.Seconds()))
	c.JSON(http.StatusOK, meOf(p))
}

func (s *Server) logout(c *gin.Context) {
	p := principal(c)
	if err := s.access.Logout(c.Request.Context(), p); err != nil {
		s.fail(c, err)
		return
	}
	s.call.hub.EndSession(p.Session.IDHash, "logged out")
	s.setSessionCookie(c, "", -1)
	c.Status(http.StatusNoContent)
}

func (s *Server) me(c *gin.Context) { c.JSON(http.StatusOK, meOf(principal(c))) }

type stepUpRequest struct {
	Password string `json:"password"`
}

func (s *Server) stepUp(c *gin.Context) {
	var req stepUpRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	p := principal(c)
	var old string
	if p.Session != nil {
		old = p.Session.IDHash
	}
	cookie, err := s.access.StepUp(c.Request.Context(), p, req.Password)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.call.hub.RotateSession(old, p.Session.IDHash) // the call sockets of this login stay
	s.setSessionCookie(c, cookie, int(s.access.Absolute.Seconds()))
	c.JSON(http.StatusOK, meOf(p))
}
