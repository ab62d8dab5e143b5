// Package archiver is the evidence outbox worker. Evidence rows are written
// in the same transaction as the event that produced them (see Stager); an
// Archiver claims due rows with a lease, streams each staged file to the
// models.EvidenceStore, verifies it by reading back what the store holds
// (size, SHA-256 and, where the store reports one, COMPLIANCE retention),
// marks the row archived and deletes the staged file. Failures are retried
// with capped exponential backoff and jitter; an item is never dropped.
//
// Two workers, in one process or several, never upload the same item at
// once: each worker claims under its own lease owner and renews the lease
// while its upload runs, and the stores' Put is idempotent and
// conditional, so an item whose lease expired mid-upload anyway (its
// worker cut off from the database) is at worst confirmed twice, never
// stored twice. After a crash the leases run out and another worker (or
// the restarted process) resumes.
//
// A row may have no staged file (Staged == ""): its producer wrote the
// bytes to the store itself (the sealed case manifest). The archiver then
// only confirms it by read-back.
package archiver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"remoteidv/models"
	"remoteidv/storage/encfile"
)

// Defaults used when the Config fields are zero.
const (
	DefaultLease      = 60 * time.Second
	DefaultWorkers    = 2
	DefaultPoll       = 2 * time.Second
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
)

// Config configures an Archiver.
type Config struct {
	// Owner names this archiver in lease columns; each worker appends
	// "/<n>". Default: host name, process id and random bits.
	Owner string
	// Lease is how long a claim lasts without renewal. A worker renews
	// it every third of it while its upload runs, so the lease bounds the
	// delay after a crash, not the length of an upload.
	Lease time.Duration
	// Workers is how many items upload at once.
	Workers int
	// Poll is how long an idle worker waits before looking again (Kick
	// wakes them sooner).
	Poll time.Duration
	// MinBackoff is the wait after the first failure; it doubles with each
	// further failure up to MaxBackoff, then jitter takes 0-50 % off.
	MinBackoff, MaxBackoff time.Duration
	// Now is the clock (time.Now in production).
	Now func() time.Time
	// Rand is the jitter source (crypto/rand.Reader in production).
	Rand io.Reader
	// Key decrypts staged files (the Stager's key); nil reads only files
	// staged without encryption.
	Key *encfile.Key
}

func (c Config) withDefaults() Config {
	if c.Lease == 0 {
		c.Lease = DefaultLease
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.Poll == 0 {
		c.Poll = DefaultPoll
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Archiver moves staged evidence into the evidence store. Start runs its
// workers; Close stops them.
type Archiver struct {
	cfg   Config
	db    models.Store
	store models.EvidenceStore
	log   *slog.Logger

	kick    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	start   sync.Once
	close   sync.Once
	randMu  sync.Mutex
	failed  prometheus.Counter
	stored  prometheus.Counter
	backlog *backlogCollector
}

// New returns an Archiver over the database db and the evidence store. It
// does not start working until Start.
func New(db models.Store, store models.EvidenceStore, cfg Config, log *slog.Logger) (*Archiver, error) {
	cfg = cfg.withDefaults()
	if cfg.Rand == nil {
		return nil, errors.New("new archiver: Config.Rand is required")
	}
	if cfg.Lease < time.Second || cfg.Workers < 1 || cfg.Poll <= 0 || cfg.MinBackoff <= 0 || cfg.MaxBackoff < cfg.MinBackoff {
		return nil, fmt.Errorf("new archiver: bad config (lease %s, workers %d, poll %s, backoff %s-%s)", cfg.Lease, cfg.Workers, cfg.Poll, cfg.MinBackoff, cfg.MaxBackoff)
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		var b [6]byte
		if _, err := io.ReadFull(cfg.Rand, b[:]); err != nil {
			return nil, fmt.Errorf("new archiver: %w", err)
		}
		cfg.Owner = fmt.Sprintf("%s:%d:%x", host, os.Getpid(), b)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &Archiver{cfg: cfg, db: db, store: store, log: log.With("archiver", cfg.Owner), kick: make(chan struct{}, 1),
		ctx: ctx, cancel: cancel,
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "idv_evidence_archive_failures_total", Help: "Evidence upload or verification attempts that failed (each is retried)."}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{Name: "idv_evidence_archived_total", Help: "Evidence items archived and verified by this process."}),
	}
	a.backlog = &backlogCollector{db: db, now: cfg.Now,
		depth:  prometheus.NewDesc("idv_evidence_queue_depth", "Evidence items not yet archived.", nil, nil),
		oldest: prometheus.NewDesc("idv_evidence_oldest_pending_seconds", "Age of the oldest evidence item not yet archived (0 when none).", nil, nil),
		errors: prometheus.NewDesc("idv_evidence_queue_scrape_error", "1 when the queue could not be read at scrape time.", nil, nil),
	}
	return a, nil
}

// Owner returns the lease owner prefix of this archiver.
func (a *Archiver) Owner() string { return a.cfg.Owner }

// Collectors returns the archiver's Prometheus metrics: queue depth, oldest
// pending age (both read from the database at scrape time), failures and
// items archived.
func (a *Archiver) Collectors() []prometheus.Collector {
	return []prometheus.Collector{a.backlog, a.failed, a.stored}
}

// Start runs the workers until Close. Calling it again does nothing.
func (a *Archiver) Start() {
	a.start.Do(func() {
		for i := range a.cfg.Workers {
			owner := a.cfg.Owner + "/" + strconv.Itoa(i)
			a.wg.Go(func() { a.work(owner) })
		}
	})
}

// Run is the archiver as a background job of the server: it starts the
// workers, works until ctx ends, then stops them and releases their leases
// (Close). A failure to release them is logged, not returned: the leases
// run out by themselves (Config.Lease), so it is not fatal; Run returns
// nil.
func (a *Archiver) Run(ctx context.Context) error {
	a.Start()
	<-ctx.Done()
	if err := a.Close(); err != nil {
		a.log.Error("stop evidence archiver", "err", err)
	}
	return nil
}

// Kick wakes an idle worker now (for example after a transaction added
// evidence). It never blocks.
func (a *Archiver) Kick() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// Close stops the workers, waits for them (an upload in flight is
// cancelled), and releases their leases so another process can continue at
// once. It is idempotent.
func (a *Archiver) Close() error {
	var err error
	a.close.Do(func() {
		a.cancel()
		a.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for i := range a.cfg.Workers {
			owner := a.cfg.Owner + "/" + strconv.Itoa(i)
			if e := a.db.Transact(ctx, func(tx models.Tx) error { return tx.ReleaseLeases(ctx, owner) }); e != nil {
				err = errors.Join(err, fmt.Errorf("close archiver: %w", e))
			}
		}
	})
	return err
}

func (a *Archiver) work(owner string) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		n, err := a.RunOnce(a.ctx, owner)
		if a.ctx.Err() != nil {
			return
		}
		if err != nil {
			a.log.Warn("evidence claim failed", "owner", owner, "err", err)
		}
		if n > 0 && err == nil {
			continue // more may be due
		}
		t.Reset(a.cfg.Poll)
		select {
		case <-a.ctx.Done():
			return
		case <-a.kick:
		case <-t.C:
		}
	}
}

// RunOnce claims at most one due item under owner and archives it. It
// returns how many items it handled (0 or 1) and the error of claiming;
// an item's own failure is recorded on its row (MarkFailed), not returned.
// Tests and tools drive the archiver with it; Start's workers loop on it.
func (a *Archiver) RunOnce(ctx context.Context, owner string) (int, error) {
	now := a.cfg.Now().UTC()
	var items []*models.Evidence
	err := a.db.Transact(ctx, func(tx models.Tx) (err error) {
		items, err = tx.ClaimEvidence(ctx, owner, now, now.Add(a.cfg.Lease), 1)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("claim evidence for %s: %w", owner, err)
	}
	for _, e := range items {
		a.archive(ctx, owner, e)
	}
	return len(items), nil
}

// Drain runs RunOnce under owner until nothing is due, and returns how many
// items it handled. Items that fail are retried only once due again.
func (a *Archiver) Drain(ctx context.Context, owner string) (int, error) {
	total := 0
	for {
		n, err := a.RunOnce(ctx, owner)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

func (a *Archiver) archive(ctx context.Context, owner string, e *models.Evidence) {
	log := a.log.With("evidence_id", e.ID, "case_id", e.CaseID, "key", e.Key, "attempt", e.Attempts+1)
	stop := a.keepLease(ctx, owner, e.ID, log)
	info, err := a.upload(ctx, e)
	stop()
	if err == nil {
		err = a.db.Transact(ctx, func(tx models.Tx) error { return tx.MarkArchived(ctx, e.ID, owner, info, a.cfg.Now().UTC()) })
		if err == nil {
			a.stored.Inc()
			log.Info("evidence archived", "version_id", info.VersionID, "size", info.Size)
			if e.Staged != "" {
				if rerr := os.Remove(e.Staged); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
					log.Warn("remove staged file", "err", rerr)
				}
			}
			return
		}
		if models.ErrorCodeOf(err) == models.ECONFLICT {
			// The lease ran out and another worker took the item; it will
			// find the object stored and confirm it.
			log.Warn("evidence lease lost before marking archived", "err", err)
			return
		}
	}
	a.failed.Inc()
	next := a.cfg.Now().UTC().Add(a.Backoff(e.Attempts))
	if ctx.Err() != nil {
		// Shutting down: leave the item due at once for whoever comes next.
		next = a.cfg.Now().UTC()
	}
	log.Warn("evidence archive attempt failed", "err", err, "retry_at", next)
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if merr := a.db.Transact(mctx, func(tx models.Tx) error { return tx.MarkFailed(mctx, e.ID, owner, err.Error(), next) }); merr != nil {
		// The lease expires by itself; the item stays in the queue.
		log.Error("record evidence failure", "err", merr)
	}
}

// keepLease renews owner's lease of item id every third of the lease while
// its upload runs, so that an upload longer than the lease (a large
// recording, a slow store) is not started again by another worker. The
// returned function stops it. A renewal that finds the lease taken stops
// renewing (the other worker finds the object stored and confirms it); one
// that fails is tried again at the next tick.
func (a *Archiver) keepLease(ctx context.Context, owner string, id models.EvidenceID, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(a.cfg.Lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			until := a.cfg.Now().UTC().Add(a.cfg.Lease)
			err := a.db.Transact(ctx, func(tx models.Tx) error { return tx.RenewEvidenceLease(ctx, id, owner, until) })
			switch {
			case err == nil:
			case models.ErrorCodeOf(err) == models.ECONFLICT:
				log.Warn("evidence lease lost during the upload", "err", err)
				return
			case ctx.Err() == nil:
				log.Warn("renew the evidence lease", "err", err)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// upload makes sure the store holds e's bytes and returns what it holds,
// verified by read-back.
func (a *Archiver) upload(ctx context.Context, e *models.Evidence) (models.ObjectInfo, error) {
	info, err := a.store.Stat(ctx, e.Key)
	switch {
	case err == nil:
		// Already stored (a retry after a crash, or written by its producer).
	case models.ErrorCodeOf(err) != models.ENOTFOUND:
		return models.ObjectInfo{}, fmt.Errorf("archive %s: %w", e.Key, err)
	case e.Staged == "":
		return models.ObjectInfo{}, fmt.Errorf("archive %s: not in the store and nothing staged", e.Key)
	default:
		f, err := encfile.Open(e.Staged, a.cfg.Key)
		if err != nil {
			return models.ObjectInfo{}, fmt.Errorf("archive %s: staged file: %w", e.Key, err)
		}
		_, err = a.store.Put(ctx, e.Key, f, e.Size, e.SHA256, e.ContentType)
		f.Close()
		if err != nil {
			return models.ObjectInfo{}, fmt.Errorf("archive %s: %w", e.Key, err)
		}
		if info, err = a.store.Stat(ctx, e.Key); err != nil {
			return models.ObjectInfo{}, fmt.Errorf("archive %s: read back: %w", e.Key, err)
		}
	}
	if err := Check(e, info); err != nil {
		return models.ObjectInfo{}, fmt.Errorf("archive %s: read back: %w", e.Key, err)
	}
	return info, nil
}

// Check compares what the store reports for an item with its row: size and
// SHA-256 must match, and a store that reports a retention mode must report
// COMPLIANCE with a retain-until date. It returns an ECONFLICT error naming
// the first difference.
func Check(e *models.Evidence, info models.ObjectInfo) error {
	switch {
	case info.Size != e.Size:
		return models.Errorf(models.ECONFLICT, "%s: stored size %d, expected %d", e.Key, info.Size, e.Size)
	case info.SHA256 != e.SHA256:
		return models.Errorf(models.ECONFLICT, "%s: stored SHA-256 %s, expected %s", e.Key, info.SHA256, e.SHA256)
	case info.Mode != models.RetentionNone && info.Mode != models.RetentionCompliance:
		return models.Errorf(models.ECONFLICT, "%s: stored with retention %s, expected COMPLIANCE", e.Key, info.Mode)
	case info.Mode == models.RetentionCompliance && info.RetainUntil.IsZero():
		return models.Errorf(models.ECONFLICT, "%s: COMPLIANCE retention without a retain-until date", e.Key)
	}
	return nil
}

// Backoff returns the wait after a failure when attempts earlier attempts
// had failed: MinBackoff doubled per attempt, capped at MaxBackoff, less a
// random 0-50 % so that many items failing together do not retry together.
func (a *Archiver) Backoff(attempts int) time.Duration {
	d := a.cfg.MaxBackoff
	if attempts < 40 {
		d = min(a.cfg.MaxBackoff, a.cfg.MinBackoff*time.Duration(1<<attempts))
		if d <= 0 {
			d = a.cfg.MaxBackoff
		}
	}
	var b [8]byte
	a.randMu.Lock()
	_, err := io.ReadFull(a.cfg.Rand, b[:])
	a.randMu.Unlock()
	if err != nil {
		return d
	}
	frac := float64(binary.BigEndian.Uint64(b[:])>>11) / (1 << 53) // [0, 1)
	return d - time.Duration(math.Floor(float64(d)*0.5*frac))
}

// backlogCollector reads the queue at scrape time.
type backlogCollector struct {
	db                    models.Store
	now                   func() time.Time
	depth, oldest, errors *prometheus.Desc
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.oldest
	ch <- c.errors
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var n int
	var oldest time.Time
	err := c.db.Transact(ctx, func(tx models.Tx) (err error) { n, oldest, err = tx.EvidenceBacklog(ctx); return })
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.errors, prometheus.GaugeValue, 1)
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(0, c.now().Sub(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(c.errors, prometheus.GaugeValue, 0)
}
