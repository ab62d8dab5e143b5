// Package metrics owns the domain metrics: cases by state, the mail
// outbox's backlog and the running calls (read at scrape time), face-check
// and registry latency and outcomes (counted as they happen). It talks to
// the rest only through models; cmd/idv wires it.
package metrics

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"remoteidv/models"
)

// Config configures a Domain.
type Config struct {
	Store models.Store
	// Now is the wall clock the ages are measured with.
	Now func() time.Time
	// ScrapeTimeout bounds the store reads of one scrape (0: 2 seconds).
	ScrapeTimeout time.Duration
	Log           *slog.Logger
}

// Domain holds the domain metrics. It is a models.FaceCheckObserver; wrap
// the registry with Registry to count its lookups.
type Domain struct {
	faceDuration     prometheus.Histogram
	faceChecks       *prometheus.CounterVec
	registryDuration prometheus.Histogram
	registryLookups  prometheus.Counter
	registryErrors   prometheus.Counter
	store            *storeCollector
}

// Latency buckets in seconds: a face match takes about a second on two
// cores; the registry answers in well under one.
var (
	faceBuckets     = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32}
	registryBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
)

// New returns the domain metrics over cfg.
func New(cfg Config) (*Domain, error) {
	if cfg.Store == nil || cfg.Now == nil {
		return nil, errors.New("new domain metrics: Store and Now are required")
	}
	if cfg.ScrapeTimeout <= 0 {
		cfg.ScrapeTimeout = 2 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	d := &Domain{
		faceDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "idv_face_check_duration_seconds",
			Help: "Time from the face engine's start to the face check recorded (live captures and uploads).", Buckets: faceBuckets}),
		faceChecks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "idv_face_checks_total",
			Help: "Face checks the engine ran, by outcome: match, no_match, no_face, error."}, []string{"outcome"}),
		registryDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "idv_registry_lookup_duration_seconds",
			Help: "Latency of national ID registry lookups, failed ones included.", Buckets: registryBuckets}),
		registryLookups: prometheus.NewCounter(prometheus.CounterOpts{Name: "idv_registry_lookups_total", Help: "National ID registry lookups."}),
		registryErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "idv_registry_lookup_errors_total",
			Help: "National ID registry lookups that returned no answer (timeout, unreachable, refused)."}),
		store: &storeCollector{db: cfg.Store, now: cfg.Now, timeout: cfg.ScrapeTimeout, log: cfg.Log,
			cases:  prometheus.NewDesc("idv_cases", "Cases by state.", []string{"state"}, nil),
			depth:  prometheus.NewDesc("idv_mail_outbox_depth", "Messages in the mail outbox neither sent nor expired.", nil, nil),
			oldest: prometheus.NewDesc("idv_mail_outbox_oldest_pending_seconds", "Age of the oldest message in the mail outbox neither sent nor expired (0 when none).", nil, nil),
			errors: prometheus.NewDesc("idv_domain_scrape_error", "1 when the cases or the mail outbox could not be read at scrape time.", nil, nil),
		},
	}
	for _, o := range models.FaceOutcomes { // every outcome is exported from the start, at 0
		d.faceChecks.WithLabelValues(string(o))
	}
	return d, nil
}

// Collectors returns every domain metric, for the server's registry.
func (d *Domain) Collectors() []prometheus.Collector {
	return []prometheus.Collector{d.faceDuration, d.faceChecks, d.registryDuration, d.registryLookups, d.registryErrors, d.store}
}

// ObserveFaceCheck counts a face check and its latency.
func (d *Domain) ObserveFaceCheck(outcome models.FaceOutcome, took time.Duration) {
	d.faceDuration.Observe(took.Seconds())
	d.faceChecks.WithLabelValues(string(outcome)).Inc()
}

// Registry returns r counting its lookups, their latency and their errors.
func (d *Domain) Registry(r models.Registry) models.Registry { return &registry{r: r, d: d} }

type registry struct {
	r models.Registry
	d *Domain
}

func (r *registry) Lookup(ctx context.Context, q models.RegistryQuery) (*models.RegistryAnswer, error) {
	start := time.Now()
	ans, err := r.r.Lookup(ctx, q)
	r.d.registryDuration.Observe(time.Since(start).Seconds())
	r.d.registryLookups.Inc()
	if err != nil {
		r.d.registryErrors.Inc()
	}
	return ans, err
}

// storeCollector reads cases by state and the mail outbox at scrape time.
type storeCollector struct {
	db                           models.Store
	now                          func() time.Time
	timeout                      time.Duration
	log                          *slog.Logger
	cases, depth, oldest, errors *prometheus.Desc
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.cases
	ch <- c.depth
	ch <- c.oldest
	ch <- c.errors
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	var counts map[models.CaseState]int
	var n int
	var oldest time.Time
	err := c.db.Transact(ctx, func(tx models.Tx) (err error) {
		if counts, err = tx.CaseCountsByState(ctx); err != nil {
			return err
		}
		n, oldest, err = tx.MailBacklog(ctx)
		return err
	})
	if err != nil {
		c.log.Warn("domain metrics scrape", "err", err)
		ch <- prometheus.MustNewConstMetric(c.errors, prometheus.GaugeValue, 1)
		return
	}
	for _, s := range models.CaseStates {
		ch <- prometheus.MustNewConstMetric(c.cases, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(0, c.now().Sub(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(c.errors, prometheus.GaugeValue, 0)
}

// CallCollectors returns a collector of the running calls that live lists
// (signaling.Hub.Live) at scrape time: how many, how many customers wait
// alone, and the worst loss and jitter of the customers' video in the
// latest quality samples.
func CallCollectors(live func() []models.LiveCall) []prometheus.Collector {
	return []prometheus.Collector{&callCollector{live: live,
		running: prometheus.NewDesc("idv_calls_running", "Calls running on this process's media server.", nil, nil),
		waiting: prometheus.NewDesc("idv_calls_customer_waiting", "Running calls whose customer is connected and no clerk is.", nil, nil),
		loss:    prometheus.NewDesc("idv_call_video_loss_ratio_max", "Worst packet loss (0-1) of the customer's video over the running calls' latest quality samples.", nil, nil),
		jitter:  prometheus.NewDesc("idv_call_video_jitter_seconds_max", "Worst interarrival jitter (RFC 3550) of the customer's video over the running calls' latest quality samples.", nil, nil),
	}}
}

// callCollector reads the running calls at scrape time.
type callCollector struct {
	live                           func() []models.LiveCall
	running, waiting, loss, jitter *prometheus.Desc
}

func (c *callCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.running
	ch <- c.waiting
	ch <- c.loss
	ch <- c.jitter
}

func (c *callCollector) Collect(ch chan<- prometheus.Metric) {
	calls := c.live()
	var waiting int
	var loss, jitter float64
	for _, k := range calls {
		if k.Customer && len(k.Clerks) == 0 {
			waiting++
		}
		if k.Sampled {
			loss = max(loss, k.LossPercent/100)
			jitter = max(jitter, k.JitterMS/1000)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.running, prometheus.GaugeValue, float64(len(calls)))
	ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(waiting))
	ch <- prometheus.MustNewConstMetric(c.loss, prometheus.GaugeValue, loss)
	ch <- prometheus.MustNewConstMetric(c.jitter, prometheus.GaugeValue, jitter)
}
