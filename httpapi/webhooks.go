package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/webhook"
)

// Webhook endpoints and their deliveries, for admins.

type webhookEndpointView struct {
	ID          string     `json:"id"`
	URL         string     `json:"url"`
	Description string     `json:"description"`
	Events      []string   `json:"events"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	DisabledAt  *time.Time `json:"disabled_at,omitempty"`
	DeletedAt   *time.Time `json:"deleted_at,omitempty"`
	// Secret is in the creation's answer only.
	Secret string `json:"secret,omitempty"`
}

func viewEndpoint(e *models.WebhookEndpoint) webhookEndpointView {
	return webhookEndpointView{ID: e.ID, URL: e.URL, Description: e.Description, Events: e.Events, CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt,
		DisabledAt: e.DisabledAt, DeletedAt: e.DeletedAt}
}

type webhookDeliveryView struct {
	ID            string          `json:"id"`
	EndpointID    string          `json:"endpoint_id"`
	Type          string          `json:"type"`
	AuditSeq      int64           `json:"audit_seq"`
	CaseID        models.CaseID   `json:"case_id,omitempty"`
	State         string          `json:"state"`
	Attempts      int             `json:"attempts"`
	CreatedAt     time.Time       `json:"created_at"`
	NextAttemptAt *time.Time      `json:"next_attempt_at,omitempty"`
	GiveUpAt      time.Time       `json:"give_up_at"`
	LastStatus    int             `json:"last_status"`
	LastError     string          `json:"last_error,omitempty"`
	DoneAt        *time.Time      `json:"done_at,omitempty"`
	Payload       json.RawMessage `json:"payload,omitempty"`
	Log           []attemptView   `json:"attempts_log,omitempty"`
}

type attemptView struct {
	N          int       `json:"n"`
	At         time.Time `json:"at"`
	Status     int       `json:"status"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

func viewDelivery(d *models.WebhookDelivery) webhookDeliveryView {
	v := webhookDeliveryView{ID: d.ID, EndpointID: d.EndpointID, Type: d.Type, AuditSeq: d.AuditSeq, CaseID: d.CaseID, State: string(d.State),
		Attempts: d.Attempts, CreatedAt: d.CreatedAt, GiveUpAt: d.GiveUpAt, LastStatus: d.LastStatus, LastError: d.LastError, DoneAt: d.DoneAt}
	if d.State == models.WebhookPending {
		next := d.NextAttemptAt
		v.NextAttemptAt = &next
	}
	return v
}

func (s *Server) webhookService() (*webhook.Service, error) {
	if s.webhooks == nil {
		return nil, models.Errorf(models.EUNAVAILABLE, "webhooks are not configured on this server")
	}
	return s.webhooks, nil
}

func (s *Server) listWebhooks(c *gin.Context) error {
	wh, err := s.webhookService()
	if err != nil {
		return err
	}
	eps, err := wh.Endpoints(c.Request.Context())
	if err != nil {
		return err
	}
	out := make([]webhookEndpointView, 0, len(eps))
	for _, e := range eps {
		out = append(out, viewEndpoint(e))
	}
	c.JSON(http.StatusOK, gin.H{"endpoints": out, "event_types": webhook.Types})
	return nil
}

type newWebhookRequest struct {
	URL         string   `json:"url"`
	Description string   `json:"description"`
	Events      []string `json:"events"`
	Secret      string   `json:"secret"`
}

func (s *Server) createWebhook(c *gin.Context) error {
	wh, err := s.webhookService()
	if err != nil {
		return err
	}
	var req newWebhookRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ep, err := wh.CreateEndpoint(c.Request.Context(), principal(c).Actor(), webhook.NewEndpoint{URL: req.URL, Description: req.Description, Events: req.Events, Secret: req.Secret})
	if err != nil {
		return err
	}
	v := viewEndpoint(ep.WebhookEndpoint)
	v.Secret = ep.Secret
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, v)
	return nil
}

func (s *Server) getWebhook(c *gin.Context) error {
	wh, err := s.webhookService()
	if err != nil {
		return err
	}
	ep, err := wh.Endpoint(c.Request.Context(), c.Param("endpoint"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, viewEndpoint(ep))
	return nil
}

func (s *Server) setWebhookDisabled(disabled bool) func(*gin.Context) error {
	return func(c *gin.Context) error {
		wh, err := s.webhookService()
		if err != nil {
			return err
		}
		if err := wh.SetDisabled(c.Request.Context(), principal(c).Actor(), c.Param("endpoint"), disabled); err != nil {
			return err
		}
		return s.getWebhook(c)
	}
}

func (s *Server) deleteWebhook(c *gin.Context) error {
	wh, err := s.webhookService()
	if err != nil {
		return err
	}
	if err := wh.Delete(c.Request.Context(), principal(c).Actor(), c.Param("endpoint")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) listWebhookDeliveries(c *gin.Context) error {
	wh, err := s.webhookService()
	if err != nil {
		return err
	}
	limit, err := intQuery(c, "limit", 100, 1, 500)
	if err != nil {
		return err
	}
	ds, err := wh.Deliveries(c.Request.Context(), models.WebhookDeliveryFilter{EndpointID: c.Query("endpoint"), State: models.WebhookState(c.Query("state")), Limit: limit})
	if err != nil {
		return err
	}
	out := make([]webhookDeliveryView, 0, len(ds))
	for _, d := range ds {
		out = append(out, viewDelivery(d))
	}
	c.JSON(http.StatusOK, gin.H{"deliveries": out})
	return nil
}

func (s *Server) getWebhookDelivery(c *gin.Context) error {
	wh, err := s.webhookService()
	if err != nil {
		return err
	}
	d, atts, err := wh.Delivery(c.Request.Context(), c.Param("delivery"))
	if err != nil {
		return err
	}
	v := viewDelivery(d)
	v.Payload = json.RawMessage(d.Payload)
	v.Log = make([]attemptView, 0, len(atts))
	for _, a := range atts {
		v.Log = append(v.Log, attemptView{N: a.N, At: a.At, Status: a.Status, Error: a.Error, DurationMS: a.Duration.Milliseconds()})
	}
	c.JSON(http.StatusOK, v)
	return nil
}

func (s *Server) redeliverWebhook(c *gin.Context) error {
	wh, err := s.webhookService()
	if err != nil {
		return err
	}
	if err := wh.Redeliver(c.Request.Context(), principal(c).Actor(), c.Param("delivery")); err != nil {
		return err
	}
	return s.getWebhookDelivery(c)
}
