package models

import (
	"context"
	"log/slog"
	"time"
)

// WebhookEndpoint is a receiver an admin registered: the URL deliveries are
// posted to, the secret that signs them (Standard Webhooks: HMAC-SHA256)
// and the event types it wants. FromSeq is the audit sequence number at
// registration: only later events are delivered to it.
type WebhookEndpoint struct {
	ID          string
	URL         string
	Description string
	Events      []string
	Secret      []byte // raw key bytes; nil once deleted
	FromSeq     int64
	CreatedBy   string
	CreatedAt   time.Time
	DisabledAt  *time.Time
	DeletedAt   *time.Time
}

// Active reports whether deliveries go to the endpoint.
func (e *WebhookEndpoint) Active() bool { return e.DisabledAt == nil && e.DeletedAt == nil }

// Wants reports whether the endpoint subscribed to event type typ.
func (e *WebhookEndpoint) Wants(typ string) bool {
	for _, t := range e.Events {
		if t == typ || t == "*" {
			return true
		}
	}
	return false
}

// LogValue leaves the secret out.
func (e *WebhookEndpoint) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", e.ID), slog.String("url", e.URL))
}

// WebhookState is where a delivery stands.
type WebhookState string

// Delivery states: pending until the receiver answers 2xx (delivered) or
// the retries run out (failed).
const (
	WebhookPending   WebhookState = "pending"
	WebhookDelivered WebhookState = "delivered"
	WebhookFailed    WebhookState = "failed"
)

// WebhookDelivery is one event to post to one endpoint. ID is the
// webhook-id header, the same on every attempt; Payload is the exact JSON
// body that is signed.
type WebhookDelivery struct {
	ID            string
	EndpointID    string
	Type          string // e.g. "case.state_changed"
	AuditSeq      int64
	CaseID        CaseID
	Payload       []byte
	CreatedAt     time.Time
	State         WebhookState
	Attempts      int
	NextAttemptAt time.Time
	GiveUpAt      time.Time
	LeaseOwner    string
	LeaseUntil    *time.Time
	LastStatus    int // the receiver's HTTP status at the last attempt; 0: no answer
	LastError     string
	DoneAt        *time.Time
}

// WebhookAttempt is one POST of a delivery and what came back.
type WebhookAttempt struct {
	DeliveryID string
	N          int // 1, 2, ...
	At         time.Time
	Status     int // HTTP status; 0 when there was no answer
	Error      string
	Duration   time.Duration
}

// WebhookDeliveryFilter selects deliveries, newest first.
type WebhookDeliveryFilter struct {
	EndpointID string
	State      WebhookState
	Limit      int
}

// WebhookRepo stores endpoints, the dispatcher's cursor over the audit log,
// deliveries and their attempts.
type WebhookRepo interface {
	CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	// WebhookEndpointByID returns an endpoint (deleted ones too, without
	// their secret); ENOTFOUND when there is none.
	WebhookEndpointByID(ctx context.Context, id string) (*WebhookEndpoint, error)
	// WebhookEndpoints lists the endpoints that are not deleted, oldest
	// first, without their secrets (only WebhookEndpointByID opens one).
	WebhookEndpoints(ctx context.Context) ([]*WebhookEndpoint, error)
	// SetWebhookEndpointDisabled disables (at non-nil) or enables an
	// endpoint; ENOTFOUND when there is none or it is deleted.
	SetWebhookEndpointDisabled(ctx context.Context, id string, at *time.Time) error
	// DeleteWebhookEndpoint erases the secret, marks the endpoint deleted
	// and fails its pending deliveries; ENOTFOUND when there is none or it
	// is already deleted.
	DeleteWebhookEndpoint(ctx context.Context, id string, at time.Time) error
	// WebhookCursor returns the last audit sequence number the dispatcher
	// handled, locking it for the transaction.
	WebhookCursor(ctx context.Context) (int64, error)
	// SetWebhookCursor moves it forward; ECONFLICT if seq is behind.
	SetWebhookCursor(ctx context.Context, seq int64) error
	// EnqueueWebhookDelivery stores a pending delivery; ECONFLICT when the
	// endpoint already has this audit event as this type.
	EnqueueWebhookDelivery(ctx context.Context, d *WebhookDelivery) error
	// ClaimWebhookDeliveries leases up to limit pending, due deliveries of
	// active endpoints whose lease (if any) has run out to owner.
	ClaimWebhookDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*WebhookDelivery, error)
	// RecordWebhookAttempt stores attempt a of a delivery owner holds and
	// moves it to state (next is when to retry a pending one), releasing
	// the lease; ECONFLICT if owner lost the lease.
	RecordWebhookAttempt(ctx context.Context, owner string, a *WebhookAttempt, state WebhookState, next time.Time) error
	// WebhookDeliveryByID returns a delivery; ENOTFOUND when there is none.
	WebhookDeliveryByID(ctx context.Context, id string) (*WebhookDelivery, error)
	WebhookDeliveries(ctx context.Context, f WebhookDeliveryFilter) ([]*WebhookDelivery, error)
	// WebhookAttempts lists a delivery's attempts in order.
	WebhookAttempts(ctx context.Context, deliveryID string) ([]*WebhookAttempt, error)
	// RedeliverWebhook makes a delivery pending again, due at now, until
	// giveUp; ENOTFOUND when there is none, ECONFLICT when it is pending or
	// its endpoint is deleted.
	RedeliverWebhook(ctx context.Context, id string, now, giveUp time.Time) error
	// PendingWebhookDeliveries counts the pending deliveries.
	PendingWebhookDeliveries(ctx context.Context) (int, error)
}
