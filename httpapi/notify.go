package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/notify"
)

// Staff notifications: each member reads their own notifications and
// sets their own preferences (/api/me/...); admins do both for anyone
// (/api/staff/{username}/...) and set a member's address and language.

func (s *Server) notifier() (*notify.Service, error) {
	if s.notify == nil {
		return nil, models.Errorf(models.EUNAVAILABLE, "staff notifications are not configured on this server")
	}
	return s.notify, nil
}

type notifyPrefView struct {
	Kind    models.NotifyKind `json:"kind"`
	Enabled bool              `json:"enabled"` // told at all (by webhook)
	Email   bool              `json:"email"`   // by email too
}

type notifyPrefsView struct {
	Username    string           `json:"username"`
	Email       string           `json:"email"` // where mail goes; "" for none
	Language    string           `json:"language"`
	Preferences []notifyPrefView `json:"preferences"`
}

type notifyPrefsRequest struct {
	Preferences []notifyPrefView `json:"preferences"`
}

type notificationView struct {
	ID        string            `json:"id"`
	StaffID   models.StaffID    `json:"staff_id"`
	Kind      models.NotifyKind `json:"kind"`
	CaseID    models.CaseID     `json:"case_id"`
	Channel   string            `json:"channel"`
	Ref       string            `json:"ref"` // the outbox mail's ID or audit:<seq> of the staff.notified event
	CreatedAt time.Time         `json:"created_at"`
}

// member is the staff member a route is about: the caller on /api/me/...,
// the one named on /api/staff/{username}/... (an admin's route).
func (s *Server) member(c *gin.Context) (*models.Staff, error) {
	if name := c.Param("username"); name != "" {
		return s.access.StaffByUsername(c.Request.Context(), name)
	}
	return principal(c).Staff, nil
}

func (s *Server) renderPrefs(c *gin.Context, st *models.Staff, prefs []models.NotifyPref) {
	out := notifyPrefsView{Username: st.Username, Email: st.Email, Language: st.Language, Preferences: make([]notifyPrefView, 0, len(prefs))}
	for _, p := range prefs {
		out.Preferences = append(out.Preferences, notifyPrefView{Kind: p.Kind, Enabled: p.Enabled, Email: p.Email})
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) getNotifyPrefs(c *gin.Context) error {
	n, err := s.notifier()
	if err != nil {
		return err
	}
	st, err := s.member(c)
	if err != nil {
		return err
	}
	prefs, err := n.Prefs(c.Request.Context(), st.ID)
	if err != nil {
		return err
	}
	s.renderPrefs(c, st, prefs)
	return nil
}

func (s *Server) setNotifyPrefs(c *gin.Context) error {
	n, err := s.notifier()
	if err != nil {
		return err
	}
	var req notifyPrefsRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	st, err := s.member(c)
	if err != nil {
		return err
	}
	in := make([]models.NotifyPref, 0, len(req.Preferences))
	for _, p := range req.Preferences {
		in = append(in, models.NotifyPref{Kind: p.Kind, Enabled: p.Enabled, Email: p.Email})
	}
	prefs, err := n.SetPrefs(c.Request.Context(), principal(c).Actor(), st.ID, in)
	if err != nil {
		return err
	}
	s.renderPrefs(c, st, prefs)
	return nil
}

func (s *Server) listNotifications(c *gin.Context) error {
	n, err := s.notifier()
	if err != nil {
		return err
	}
	st, err := s.member(c)
	if err != nil {
		return err
	}
	limit, _ := strconv.Atoi(c.Query("limit"))
	ns, err := n.List(c.Request.Context(), models.NotificationFilter{StaffID: st.ID, CaseID: models.CaseID(c.Query("case_id")), Limit: limit})
	if err != nil {
		return err
	}
	out := make([]notificationView, 0, len(ns))
	for _, x := range ns {
		out = append(out, notificationView{ID: x.ID, StaffID: x.StaffID, Kind: x.Kind, CaseID: x.CaseID, Channel: x.Channel, Ref: x.Ref, CreatedAt: x.CreatedAt})
	}
	c.JSON(http.StatusOK, gin.H{"username": st.Username, "notifications": out})
	return nil
}

type contactRequest struct {
	Email    string `json:"email"`
	Language string `json:"language"`
}

func (s *Server) setContact(c *gin.Context) error {
	var req contactRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	st, err := s.access.SetContact(c.Request.Context(), principal(c).Actor(), c.Param("username"), req.Email, req.Language)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"username": st.Username, "email": st.Email, "language": st.Language})
	return nil
}
