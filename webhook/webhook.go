package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"remoteidv/audit"
	"remoteidv/models"
)

// Config tunes delivery; zero fields take the defaults.
type Config struct {
	Timeout     time.Duration // one POST, connection to last byte read; default 10s
	RetryFor    time.Duration // how long a delivery is retried before it fails; default 24h
	MinBackoff  time.Duration // the wait after the first failure, doubled each time; default 30s
	MaxBackoff  time.Duration // the longest wait between attempts; default 1h
	Batch       int           // deliveries claimed (and posted at once) per round; default 8
	MaxResponse int64         // bytes of a receiver's answer read; default 64 KiB
}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.RetryFor <= 0 {
		c.RetryFor = 24 * time.Hour
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 30 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = time.Hour
	}
	if c.Batch <= 0 {
		c.Batch = 8
	}
	if c.MaxResponse <= 0 {
		c.MaxResponse = 64 << 10
	}
	return c
}

// Backoff is the wait after the nth failed attempt (n >= 1): MinBackoff
// doubled n-1 times, at most MaxBackoff.
func (c Config) Backoff(n int) time.Duration {
	c = c.withDefaults()
	d := c.MinBackoff
	for i := 1; i < n && d < c.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, c.MaxBackoff)
}

// Service manages endpoints and delivers events.
type Service struct {
	store    models.Store
	chain    audit.Chain
	now      func() time.Time
	rand     io.Reader
	log      *slog.Logger
	cfg      Config
	client   *http.Client
	failures prometheus.Counter
	gaveUp   prometheus.Counter
	pending  *pendingCollector
}

// New returns the service. client may be nil: one with cfg.Timeout that
// follows no redirects is made.
func New(store models.Store, chain audit.Chain, now func() time.Time, random io.Reader, log *slog.Logger, cfg Config, client *http.Client) *Service {
	cfg = cfg.withDefaults()
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout}
	}
	// A receiver's redirect is an answer (3xx, a failure), never followed:
	// the signed body goes only to the registered URL.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Service{store: store, chain: chain, now: now, rand: random, log: log, cfg: cfg, client: client,
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "idv_webhook_delivery_failures_total", Help: "Webhook delivery attempts that failed (no 2xx answer in time); each is retried until the delivery gives up."}),
		gaveUp:   prometheus.NewCounter(prometheus.CounterOpts{Name: "idv_webhook_deliveries_given_up_total", Help: "Webhook deliveries marked failed after retrying for the whole retry period."}),
		pending: &pendingCollector{store: store,
			depth:  prometheus.NewDesc("idv_webhook_pending_deliveries", "Webhook deliveries not yet delivered nor given up.", nil, nil),
			errors: prometheus.NewDesc("idv_webhook_pending_scrape_error", "1 when the webhook queue could not be read at scrape time.", nil, nil)}}
}

// Collectors returns the service's Prometheus metrics.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.failures, s.gaveUp, s.pending}
}

// NewEndpoint is what an admin registers.
type NewEndpoint struct {
	URL         string
	Description string
	Events      []string
	Secret      string // whsec_...; empty: a new random one
}

// Endpoint is an endpoint as shown to admins (never its secret, except
// once at creation).
type Endpoint struct {
	*models.WebhookEndpoint
	Secret string // only in CreateEndpoint's answer
}

func checkURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" || len(raw) > 2000 {
		return "", models.Errorf(models.EINVALID, "url must be an absolute http or https URL without credentials or fragment, at most 2000 characters")
	}
	return u.String(), nil
}

// auditURL is the URL without its query (which may carry a receiver's
// token).
func auditURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// CreateEndpoint registers an endpoint for actor (audited as
// webhook.endpoint_created). Events from this one on are delivered to it.
// The answer carries the secret: it is not shown again.
func (s *Service) CreateEndpoint(ctx context.Context, actor string, in NewEndpoint) (*Endpoint, error) {
	u, err := checkURL(in.URL)
	if err != nil {
		return nil, err
	}
	if len(in.Description) > 200 {
		return nil, models.Errorf(models.EINVALID, "description: at most 200 characters")
	}
	if len(in.Events) == 0 {
		return nil, models.Errorf(models.EINVALID, "events: name at least one of %s (or *)", strings.Join(Types, ", "))
	}
	seen := map[string]bool{}
	var events []string
	for _, t := range in.Events {
		if !knownType(t) {
			return nil, models.Errorf(models.EINVALID, "events: %q is not one of %s (or *)", t, strings.Join(Types, ", "))
		}
		if !seen[t] {
			seen[t] = true
			events = append(events, t)
		}
	}
	var key []byte
	if in.Secret != "" {
		if key, err = ParseSecret(in.Secret); err != nil {
			return nil, err
		}
	} else {
		key = make([]byte, newSecret)
		if _, err := io.ReadFull(s.rand, key); err != nil {
			return nil, fmt.Errorf("create webhook endpoint: secret: %w", err)
		}
	}
	id, err := models.NewID(s.rand, "whe")
	if err != nil {
		return nil, err
	}
	ep := &models.WebhookEndpoint{ID: id, URL: u, Description: in.Description, Events: events, Secret: key, CreatedBy: actor, CreatedAt: s.now().UTC()}
	err = s.store.Transact(ctx, func(tx models.Tx) error {
		if err := s.chain.Append(ctx, tx, &models.AuditEvent{Actor: actor, Action: "webhook.endpoint_created",
			Detail: map[string]string{"endpoint": id, "url": auditURL(u), "events": strings.Join(events, " ")}}); err != nil {
			return err
		}
		head, err := tx.AuditHeadForUpdate(ctx)
		if err != nil {
			return err
		}
		ep.FromSeq = head.Seq
		return tx.CreateWebhookEndpoint(ctx, ep)
	})
	if err != nil {
		return nil, fmt.Errorf("create webhook endpoint: %w", err)
	}
	return &Endpoint{WebhookEndpoint: ep, Secret: FormatSecret(key)}, nil
}

// Endpoints lists the endpoints that are not deleted.
func (s *Service) Endpoints(ctx context.Context) ([]*models.WebhookEndpoint, error) {
	var out []*models.WebhookEndpoint
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) { out, err = tx.WebhookEndpoints(ctx); return })
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	return out, nil
}

// Endpoint returns one endpoint (deleted ones too).
func (s *Service) Endpoint(ctx context.Context, id string) (*models.WebhookEndpoint, error) {
	var out *models.WebhookEndpoint
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) { out, err = tx.WebhookEndpointByID(ctx, id); return })
	if err != nil {
		return nil, fmt.Errorf("webhook endpoint %s: %w", id, err)
	}
	return out, nil
}

// SetDisabled disables or enables an endpoint (audited). A disabled
// endpoint gets no new deliveries and its pending ones wait.
func (s *Service) SetDisabled(ctx context.Context, actor, id string, disabled bool) error {
	action := "webhook.endpoint_enabled"
	var at *time.Time
	if disabled {
		now := s.now().UTC()
		at, action = &now, "webhook.endpoint_disabled"
	}
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		if err := tx.SetWebhookEndpointDisabled(ctx, id, at); err != nil {
			return err
		}
		return s.chain.Append(ctx, tx, &models.AuditEvent{Actor: actor, Action: action, Detail: map[string]string{"endpoint": id}})
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, id, err)
	}
	return nil
}

// Delete deletes an endpoint (audited): its secret is erased and its
// pending deliveries fail; its delivery log stays.
func (s *Service) Delete(ctx context.Context, actor, id string) error {
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		if err := tx.DeleteWebhookEndpoint(ctx, id, s.now().UTC()); err != nil {
			return err
		}
		return s.chain.Append(ctx, tx, &models.AuditEvent{Actor: actor, Action: "webhook.endpoint_deleted", Detail: map[string]string{"endpoint": id}})
	})
	if err != nil {
		return fmt.Errorf("delete webhook endpoint %s: %w", id, err)
	}
	return nil
}

// Deliveries lists deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, f models.WebhookDeliveryFilter) ([]*models.WebhookDelivery, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	switch f.State {
	case "", models.WebhookPending, models.WebhookDelivered, models.WebhookFailed:
	default:
		return nil, models.Errorf(models.EINVALID, "state must be pending, delivered or failed")
	}
	var out []*models.WebhookDelivery
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) { out, err = tx.WebhookDeliveries(ctx, f); return })
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	return out, nil
}

// Delivery returns a delivery with its attempts.
func (s *Service) Delivery(ctx context.Context, id string) (*models.WebhookDelivery, []*models.WebhookAttempt, error) {
	var d *models.WebhookDelivery
	var atts []*models.WebhookAttempt
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) {
		if d, err = tx.WebhookDeliveryByID(ctx, id); err != nil {
			return err
		}
		atts, err = tx.WebhookAttempts(ctx, id)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("webhook delivery %s: %w", id, err)
	}
	return d, atts, nil
}

// Redeliver queues a delivered or failed delivery again, due now and
// retried for RetryFor (audited as webhook.redelivered). It keeps its
// webhook-id and body; the signature is made anew at each attempt.
func (s *Service) Redeliver(ctx context.Context, actor, id string) error {
	now := s.now().UTC()
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		if err := tx.RedeliverWebhook(ctx, id, now, now.Add(s.cfg.RetryFor)); err != nil {
			return err
		}
		return s.chain.Append(ctx, tx, &models.AuditEvent{Actor: actor, Action: "webhook.redelivered", Detail: map[string]string{"delivery": id}})
	})
	if err != nil {
		return fmt.Errorf("redeliver webhook %s: %w", id, err)
	}
	return nil
}

// dispatchBatch is how many audit events one dispatch transaction reads.
const dispatchBatch = 500

// payload is the JSON body of a delivery.
type payload struct {
	Type      string         `json:"type"`
	Timestamp time.Time      `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

// Dispatch turns the audit events after the stored cursor into pending
// deliveries for the active endpoints that want them, moving the cursor
// in the same transaction: a crash repeats or loses nothing. It returns
// how many deliveries it queued.
func (s *Service) Dispatch(ctx context.Context) (int, error) {
	total := 0
	for {
		n, more, err := s.dispatchOnce(ctx)
		total += n
		if err != nil {
			return total, fmt.Errorf("dispatch webhooks: %w", err)
		}
		if !more {
			return total, nil
		}
	}
}

func (s *Service) dispatchOnce(ctx context.Context) (queued int, more bool, err error) {
	err = s.store.Transact(ctx, func(tx models.Tx) error {
		queued = 0
		cur, err := tx.WebhookCursor(ctx)
		if err != nil {
			return err
		}
		evs, err := tx.AuditEvents(ctx, models.AuditFilter{AfterSeq: cur, Limit: dispatchBatch})
		if err != nil || len(evs) == 0 {
			return err
		}
		more = len(evs) == dispatchBatch
		eps, err := tx.WebhookEndpoints(ctx)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		for _, e := range evs {
			for _, ev := range Events(e) {
				var body []byte
				for _, ep := range eps {
					if !ep.Active() || !ep.Wants(ev.Type) || e.Seq <= ep.FromSeq {
						continue
					}
					if body == nil {
						if body, err = json.Marshal(payload{Type: ev.Type, Timestamp: e.At.UTC(), Data: ev.Data}); err != nil {
							return fmt.Errorf("payload of audit event %d: %w", e.Seq, err)
						}
					}
					id, err := models.NewID(s.rand, "msg")
					if err != nil {
						return err
					}
					if err := tx.EnqueueWebhookDelivery(ctx, &models.WebhookDelivery{ID: id, EndpointID: ep.ID, Type: ev.Type, AuditSeq: e.Seq, CaseID: e.CaseID,
						Payload: body, CreatedAt: now, NextAttemptAt: now, GiveUpAt: now.Add(s.cfg.RetryFor)}); err != nil {
						return err
					}
					queued++
				}
			}
		}
		return tx.SetWebhookCursor(ctx, evs[len(evs)-1].Seq)
	})
	return queued, more, err
}

// Deliver dispatches new events, then posts the due deliveries under the
// lease owner, at most Batch at once, and returns how many were
// delivered. A lease outlasts the whole round (every POST ends within
// Timeout), so another worker never posts the same attempt.
func (s *Service) Deliver(ctx context.Context, owner string) (int, error) {
	if _, err := s.Dispatch(ctx); err != nil {
		return 0, err
	}
	now := s.now().UTC()
	var batch []*models.WebhookDelivery
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) {
		batch, err = tx.ClaimWebhookDeliveries(ctx, owner, now, now.Add(2*s.cfg.Timeout+time.Minute), s.cfg.Batch)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("deliver webhooks: %w", err)
	}
	// An endpoint whose secret cannot be read (another staging key) fails
	// its own attempts, with that error; the others' go out.
	type target struct {
		ep  *models.WebhookEndpoint
		err error
	}
	eps := map[string]target{}
	for _, d := range batch {
		if _, ok := eps[d.EndpointID]; !ok {
			ep, err := s.Endpoint(ctx, d.EndpointID)
			eps[d.EndpointID] = target{ep, err}
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	delivered := 0
	for _, d := range batch {
		wg.Go(func() {
			if s.attempt(ctx, owner, eps[d.EndpointID].ep, eps[d.EndpointID].err, d) {
				mu.Lock()
				delivered++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return delivered, nil
}

// attempt posts d once and records the outcome; it reports a 2xx answer.
func (s *Service) attempt(ctx context.Context, owner string, ep *models.WebhookEndpoint, eperr error, d *models.WebhookDelivery) bool {
	log := s.log.With("delivery", d.ID, "endpoint", d.EndpointID, "type", d.Type)
	start := s.now().UTC()
	status, perr := 0, eperr
	if perr == nil {
		status, perr = s.post(ctx, ep, d, start)
	}
	a := &models.WebhookAttempt{DeliveryID: d.ID, N: d.Attempts + 1, At: start, Status: status, Duration: s.now().Sub(start)}
	state, next := models.WebhookDelivered, time.Time{}
	if perr != nil {
		s.failures.Inc()
		a.Error = perr.Error()
		end := s.now().UTC()
		state, next = models.WebhookPending, end.Add(s.cfg.Backoff(a.N))
		if next.After(d.GiveUpAt) {
			next = d.GiveUpAt // one last attempt at the end of the retry period
		}
		if !end.Before(d.GiveUpAt) {
			state, next = models.WebhookFailed, time.Time{}
			s.gaveUp.Inc()
		}
	}
	if ctx.Err() != nil && perr != nil {
		return false // shutting down: the lease runs out and the attempt is made again
	}
	rctx := context.WithoutCancel(ctx)
	err := s.store.Transact(rctx, func(tx models.Tx) error { return tx.RecordWebhookAttempt(rctx, owner, a, state, next) })
	if err != nil {
		log.ErrorContext(ctx, "record webhook attempt", "err", err)
		return false
	}
	switch state {
	case models.WebhookFailed:
		log.WarnContext(ctx, "webhook delivery failed: gave up", "attempts", a.N, "status", status, "err", perr)
	case models.WebhookPending:
		log.InfoContext(ctx, "webhook delivery failed; will retry", "attempt", a.N, "retry_at", next, "status", status, "err", perr)
	}
	return perr == nil
}

// post sends the signed request; a nil error means a 2xx answer.
func (s *Service) post(ctx context.Context, ep *models.WebhookEndpoint, d *models.WebhookDelivery, at time.Time) (int, error) {
	if ep == nil || len(ep.Secret) == 0 {
		return 0, errors.New("endpoint has no secret")
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, strings.NewReader(string(d.Payload)))
	if err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	ts := at.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "remoteidv-webhooks/1")
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(ep.Secret, d.ID, ts, d.Payload))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, shortError(err)
	}
	defer resp.Body.Close()
	_, rerr := io.Copy(io.Discard, io.LimitReader(resp.Body, s.cfg.MaxResponse))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %s", resp.Status)
	}
	if rerr != nil {
		// The receiver answered 2xx: its body does not matter.
		s.log.DebugContext(ctx, "webhook answer body", "delivery", d.ID, "err", rerr)
	}
	return resp.StatusCode, nil
}

// shortError keeps a transport error readable and short, without the
// URL's query.
func shortError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("timeout: no answer in time")
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return errors.New(msg)
}

// pendingCollector reads the pending count at scrape time.
type pendingCollector struct {
	store         models.Store
	depth, errors *prometheus.Desc
}

func (c *pendingCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.errors
}

func (c *pendingCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var n int
	if err := c.store.Transact(ctx, func(tx models.Tx) (err error) { n, err = tx.PendingWebhookDeliveries(ctx); return }); err != nil {
		ch <- prometheus.MustNewConstMetric(c.errors, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.errors, prometheus.GaugeValue, 0)
}
