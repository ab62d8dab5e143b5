package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"remoteidv/access"
	"remoteidv/models"
	"remoteidv/notify"
	"remoteidv/verify"
	"remoteidv/webhook"
)

// job is a background task of idv serve (the evidence archiver, the audit
// checkpointer, the sealer, the evidence expiry, the mail outbox, the
// webhooks). Run
// works until ctx ends and then returns nil; an error is fatal: it stops
// the server.
type job interface {
	Run(ctx context.Context) error
}

// every is a job that calls do every interval (and at once when atStart)
// until ctx ends. A failed round is logged under name and tried again at
// the next interval; it does not stop the job.
type every struct {
	name     string
	interval time.Duration
	atStart  bool
	do       func(ctx context.Context) error
	log      *slog.Logger
}

func (e every) Run(ctx context.Context) error {
	if e.interval <= 0 {
		return fmt.Errorf("%s: interval %v must be above 0", e.name, e.interval)
	}
	t := time.NewTicker(e.interval)
	defer t.Stop()
	if e.atStart {
		e.once(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			e.once(ctx)
		}
	}
}

func (e every) once(ctx context.Context) {
	if err := e.do(ctx); err != nil && ctx.Err() == nil {
		e.log.WarnContext(ctx, e.name, "err", err)
	}
}

// oneNodePerRound wraps do, a round of a job every node runs, so that one
// node does each round: the round's lease name is held for hold (the
// job's interval) from the start of the round and not given back, so the
// other nodes skip their rounds until it runs out. A node that dies
// mid-round leaves the lease to run out; then the next round runs
// elsewhere. For jobs whose rounds are whole (a directory check of every
// member) rather than made of items with leases of their own.
func oneNodePerRound(store models.Store, name, owner string, hold time.Duration, now func() time.Time, do func(ctx context.Context) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		at := now().UTC()
		// A little under the interval, so that the holder's own next tick
		// finds the lease run out despite timer jitter.
		until := at.Add(hold - hold/10)
		var held bool
		err := store.Transact(ctx, func(tx models.Tx) (err error) {
			held, err = tx.ClaimJobLease(ctx, "round:"+name, owner, at, until)
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: claim the round: %w", name, err)
		}
		if !held {
			return nil // another node does this round
		}
		return do(ctx)
	}
}

// directorySync checks every enabled directory member against the
// directory every interval, the first time at start: one gone, disabled
// or in no mapped group is disabled and its sessions end; a directory
// that is down disables nobody and is tried again at the next interval.
// Of several nodes, one checks each round (oneNodePerRound).
func directorySync(acc *access.Service, owner string, interval time.Duration, log *slog.Logger) job {
	return every{name: "staff directory check", interval: interval, atStart: true, log: log, do: oneNodePerRound(acc.Store, "directory-sync", owner, interval, time.Now, func(ctx context.Context) error {
		rep, err := acc.SyncDirectory(ctx)
		if rep.Updated+rep.Disabled > 0 {
			log.Info("staff directory check", "checked", rep.Checked, "updated", rep.Updated, "disabled", rep.Disabled, "failed", rep.Failed)
		}
		return err
	})}
}

// sealer seals approved cases whose evidence is all archived, every
// interval.
func sealer(svc *verify.Service, interval time.Duration, log *slog.Logger) job {
	return every{name: "seal pending cases", interval: interval, log: log, do: func(ctx context.Context) error {
		_, err := svc.SealPending(ctx)
		return err
	}}
}

// expiry deletes evidence past its retention every interval, the first
// time at start.
func expiry(svc *verify.Service, interval time.Duration, log *slog.Logger) job {
	return every{name: "expire evidence past retention", interval: interval, atStart: true, log: log, do: func(ctx context.Context) error {
		rep, err := svc.ExpireEvidence(ctx)
		if rep.Deleted+rep.Kept+rep.Failed > 0 {
			log.Info("evidence retention", "deleted", rep.Deleted, "kept_by_hold", rep.Kept, "failed", rep.Failed)
		}
		return err
	}}
}

// mailOutbox drops expired mail and delivers what is due, under the lease
// owner owner, every interval, the first time at start. It runs whether or
// not a mail server is configured, so that undelivered codes and links do
// not outlive their use.
func mailOutbox(d *verify.Desk, owner string, interval time.Duration, log *slog.Logger) job {
	return every{name: "mail outbox", interval: interval, atStart: true, log: log, do: func(ctx context.Context) error {
		_, err := d.DeliverMail(ctx, owner)
		return err
	}}
}

// webhooks turns new audit events into webhook deliveries and posts the
// due ones, under the lease owner owner, every interval, the first time
// at start.
func webhooks(s *webhook.Service, owner string, interval time.Duration, log *slog.Logger) job {
	return every{name: "webhooks", interval: interval, atStart: true, log: log, do: func(ctx context.Context) error {
		_, err := s.Deliver(ctx, owner)
		return err
	}}
}

// staffNotifications dispatches staff notifications from the audit log
// and raises the due slot alerts every interval, the first time at start.
// The cursor and the per-slot claim make every notification go once,
// however many processes run this.
func staffNotifications(n *notify.Service, interval time.Duration, log *slog.Logger) job {
	return every{name: "staff notifications", interval: interval, atStart: true, log: log, do: func(ctx context.Context) error {
		_, err := n.Dispatch(ctx)
		k, aerr := n.AlertSlots(ctx)
		if k > 0 {
			log.Info("slot alerts sent: no clerk has joined", "cases", k)
		}
		return errors.Join(err, aerr)
	}}
}

// reminders queues the customers' due reminders (24h and 1h before their
// call) every interval, the first time at start. Each reminder is recorded
// with its mail, once per case, slot and kind, so several processes (or a
// restart) never send one twice; the service's clock decides what is due.
func reminders(d *verify.Desk, interval time.Duration, log *slog.Logger) job {
	return every{name: "customer reminders", interval: interval, atStart: true, log: log, do: func(ctx context.Context) error {
		n, err := d.SendReminders(ctx)
		if n > 0 {
			log.Info("customer reminders queued", "count", n)
		}
		return err
	}}
}

// serveAndRun serves HTTP (serve returns when the server is shut down) and
// runs the jobs, all in one errgroup, until ctx ends or one of them fails.
// Shutdown keeps the order the service needs: HTTP requests drain first
// (at most 25s; the jobs still run, so what the requests did gets archived,
// mailed and checkpointed), then drained runs (the calls end and hand
// their recordings over), then the jobs stop: each finishes its round (the
// checkpointer signs a last checkpoint, the archiver releases its leases).
// A failure (of the listener or a job) shuts down in the same order. It
// returns the first error: the listener's, a job's, or the drain's.
func serveAndRun(ctx context.Context, log *slog.Logger, hs *http.Server, serve func() error, drained func(), jobs []job) error {
	g, gctx := errgroup.WithContext(context.WithoutCancel(ctx))
	// The jobs' context ends only after the drain, even when a failure
	// cancelled gctx.
	jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopJobs()
	for _, j := range jobs {
		g.Go(func() error { return j.Run(jobsCtx) })
	}
	g.Go(func() error {
		if err := serve(); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		defer stopJobs()
		select {
		case <-ctx.Done():
		case <-gctx.Done(): // the listener or a job failed
		}
		log.Info("shutting down: draining requests (at most 25s)")
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 25*time.Second)
		defer cancel()
		err := hs.Shutdown(shutdown)
		drained()
		if err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		return nil
	})
	return g.Wait()
}
