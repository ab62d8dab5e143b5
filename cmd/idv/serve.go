package main

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"remoteidv/audit"
	"remoteidv/httpapi"
	idvmail "remoteidv/mail"
	"remoteidv/metrics"
	"remoteidv/models"
	"remoteidv/notify"
	"remoteidv/verify"
	"remoteidv/webhook"
)

func runServe(ctx context.Context, e *cliEnv, args []string) error {
	cfg, _, err := loadConfig("serve", args, e.getenv, e.stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, e.stderr)
	crash, err := newCrasher(e.getenv("IDV_TEST_CRASH_AT"), log) // tests only: see crash.go
	if err != nil {
		return err
	}
	ctx = withCrasher(ctx, crash)
	if err := os.MkdirAll(cfg.EvidenceDir, 0o750); err != nil {
		return fmt.Errorf("serve: evidence folder: %w", err)
	}
	eng, err := loadEngine(ctx, cfg, log, 0)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if eng != nil {
		defer eng.Close()
	}
	signer, err := loadStatementSigner(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer a.Close()
	a.signer = signer
	if a.meter, err = metrics.New(metrics.Config{Store: a.store, Now: time.Now, Log: log}); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	nodeID, nodeURL, err := nodeIdentity(cfg, cfg.Listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	a.node = nodeID // the workflow's job leases are the node's
	wf, err := a.newWorkflow(ctx, eng)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer ln.Close() // hs.Serve closes it too; this covers a failed start
	arc, err := a.openArchiver(wf.evidence, wf.evidenceName, leaseOwner(nodeID, "archiver"))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	hub, err := startHub(ctx, cfg, a.staging, wf.calls, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer hub.Close()
	var mailbox httpapi.DemoMailbox
	if cfg.Demo {
		md, err := idvmail.NewMaildir(demoMailDir(cfg))
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		mailbox = demoMailbox{md}
	}
	branchTZ, err := time.LoadLocation(cfg.BranchTZ)
	if err != nil {
		return fmt.Errorf("serve: IDV_BRANCH_TZ: %w", err)
	}
	notifier := notify.New(a.store, a.chain, time.Now, rand.Reader, log, notify.Config{BankName: cfg.BankName, MailFrom: cfg.Mail.From,
		ReturnPath: cfg.Mail.ReturnPath, PublicURL: cfg.PublicURL, SlotLead: cfg.NotifySlotLead, BranchTZ: branchTZ})
	notifier.ClerkInCall = func(id models.CaseID) bool {
		for _, lc := range hub.Live() {
			if lc.CaseID == id && len(lc.Clerks) > 0 {
				return true
			}
		}
		return false
	}
	hooks := webhook.New(a.store, a.chain, time.Now, rand.Reader, log, webhook.Config{Timeout: cfg.Webhook.Timeout, RetryFor: cfg.Webhook.RetryFor}, nil)
	beat, err := newNodeBeat(a.store, nodeID, nodeURL, cfg.Node.Heartbeat, hub.Live, time.Now, rand.Reader, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// Calls are placed across nodes only with the cluster secret; the
	// leases are renewed with every heartbeat and last three of them.
	callNodes := &verify.CallNodes{Store: a.store, Self: nodeID, DeadAfter: deadAfter(cfg.Node.Heartbeat), TTL: deadAfter(cfg.Node.Heartbeat), Now: time.Now}
	var placer httpapi.CallPlacer
	if cfg.Node.Secret != "" {
		placer = callNodes
		beat.onBeat = func(ctx context.Context) error { return callBeat(ctx, callNodes, hub) }
	}
	srv, err := httpapi.New(httpapi.Config{NodeSecret: []byte(cfg.Node.Secret), TLS: cfg.TLSCert != "", TrustedProxies: cfg.proxies(), MaxBodyBytes: cfg.MaxBody,
		BankName: cfg.BankName, AuditKey: a.key.Public().(ed25519.PublicKey), Demo: cfg.Demo, NodeDeadAfter: deadAfter(cfg.Node.Heartbeat), NodeID: nodeID,
		SSONames: map[string]string{"en": cfg.OIDC.Name, "zh-CN": cmp.Or(cfg.OIDC.NameZH, cfg.OIDC.Name)}},
		// docs/prometheus-alerts.yml and docs/grafana-dashboard.json use
		// these metrics (TestMetricNamesInAlertsAndDashboard).
		httpapi.Services{Access: a.access, Verify: wf.verify, Desk: wf.desk, Calls: wf.calls, Hub: hub, Store: a.store, Log: log,
			Collectors: slices.Concat(arc.Collectors(), a.meter.Collectors(), metrics.CallCollectors(hub.Live), hooks.Collectors()), Mailbox: mailbox, Webhooks: hooks, Notify: notifier, Nodes: beat, CallNodes: placer,
			IdentityProvider: a.idp})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	hs := &http.Server{Addr: cfg.Listen, Handler: srv.Handler(), ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadTimeout,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	hs.RegisterOnShutdown(func() { hub.Close() }) // tell call peers (hijacked sockets) and hand recordings over
	if cfg.MetricsListen != "" {
		stop, err := serveMetrics(cfg.MetricsListen, srv.MetricsHandler(), log)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		defer stop()
	}
	if err := beat.Register(ctx); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	jobs := []job{
		beat,
		arc,
		audit.Checkpointer{Store: a.store, Key: a.key, Now: time.Now, Publish: wf.evidence, Interval: cfg.CheckpointInterval,
			OnError: func(err error) { log.Error("audit checkpoint", "err", err) }},
		sealer(wf.verify, cfg.SealInterval, log),
		expiry(wf.verify, cfg.ExpiryInterval, log),
		mailOutbox(wf.desk, leaseOwner(nodeID, "mail"), cfg.Mail.Interval, log),
		webhooks(hooks, leaseOwner(nodeID, "webhook"), cfg.Webhook.Interval, log),
		reminders(wf.desk, cfg.ReminderInterval, log),
		staffNotifications(notifier, cfg.NotifyInterval, log),
		every{name: "suppressed security events", interval: cfg.Auth.AuditWindow, log: log, do: func(ctx context.Context) error {
			_, err := a.access.FlushSuppressed(ctx)
			return err
		}},
	}
	if cfg.LDAP.URL != "" {
		jobs = append(jobs, directorySync(a.access, leaseOwner(nodeID, "directory"), cfg.LDAP.SyncInterval, log))
	}
	if cfg.Mail.BounceListen != "" {
		allow, err := cfg.Mail.bounceAllow()
		if err != nil {
			return fmt.Errorf("serve: IDV_BOUNCE_ALLOW: %w", err)
		}
		in, err := idvmail.NewBounceIntake(idvmail.BounceConfig{Addr: cfg.Mail.BounceListen, LMTP: cfg.Mail.BounceProtocol == "lmtp", Allow: allow,
			Log: log}, wf.desk.RecordDeliveryReport)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		log.Info("bounce intake listening", "listen", in.Addr(), "protocol", cfg.Mail.BounceProtocol, "allow", cfg.Mail.BounceAllow)
		jobs = append(jobs, in)
	}
	serve := func() error { return hs.Serve(ln) }
	if cfg.TLSCert != "" {
		serve = func() error { return hs.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey) }
	}
	log.Info("remoteidv serving", "url", cfg.PublicURL, "listen", ln.Addr().String(), "node", nodeID, "node_url", nodeURL, "database", mustKind(cfg), "demo", cfg.Demo)
	if cfg.Demo {
		log.Warn("DEMO MODE: demonstration data, mail to the local mailbox, reference registry; never in production",
			"mailbox", strings.TrimSuffix(cfg.PublicURL, "/")+"/demo/mailbox", "maildir", demoMailDir(cfg), "registry_in_process", cfg.Registry.URL == "", "smtp", cfg.Mail.SMTPAddr != "")
		demoBanner(e.stderr, cfg)
	}
	drained := func() {
		hub.Close()
		if placer == nil {
			return
		}
		// The calls have ended: their parties' rejoin goes to another
		// node now rather than after the leases' three heartbeats.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := callNodes.ReleaseAll(rctx); err != nil {
			log.Warn("release call leases", "err", err)
		}
	}
	if err := serveAndRun(ctx, log, hs, serve, drained, jobs); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// serveMetrics serves GET /metrics alone on addr, a listener apart from
// the public one (the proxy in front of the server does not reach it); stop
// closes it.
func serveMetrics(addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	ms := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := ms.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener", "err", err)
		}
	}()
	log.Info("metrics listening", "listen", ln.Addr().String())
	return func() { _ = ms.Close(); <-done }, nil
}

func mustKind(cfg Config) string {
	kind, _, _ := cfg.database()
	return kind
}
