package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"remoteidv/audit"
	"remoteidv/httpapi"
)

func runServe(ctx context.Context, e *cliEnv, args []string) error {
	cfg, _, err := loadConfig("serve", args, e.getenv, e.stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, e.stderr)
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
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer a.Close()
	wf, err := a.newWorkflow(ctx, eng)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	arc, err := a.startArchiver(wf.evidence, wf.evidenceName)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer func() {
		if err := arc.Close(); err != nil {
			log.Error("stop evidence archiver", "err", err)
		}
	}()
	hub, err := startHub(ctx, cfg, wf.calls, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer hub.Close()
	srv, err := httpapi.New(httpapi.Config{TLS: cfg.TLSCert != "", TrustedProxies: cfg.proxies(), MaxBodyBytes: cfg.MaxBody,
		BankName: cfg.BankName, AuditKey: a.key.Public().(ed25519.PublicKey)},
		httpapi.Services{Access: a.access, Verify: wf.verify, Desk: wf.desk, Calls: wf.calls, Hub: hub, Store: a.store, Chain: a.chain,
			Evidence: wf.evidence, Log: log, Collectors: arc.Collectors()})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	hs := &http.Server{Addr: cfg.Listen, Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	hs.RegisterOnShutdown(func() { hub.Close() }) // tell call peers (hijacked sockets) and hand recordings over
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	var wg sync.WaitGroup
	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	cp := audit.Checkpointer{Store: a.store, Key: a.key, Now: time.Now, Publish: wf.evidence}
	wg.Go(func() {
		cp.Run(bg, cfg.CheckpointInterval, func(err error) { log.Error("audit checkpoint", "err", err) })
	})
	wg.Go(func() { a.runSealer(bg, wf.verify, cfg.SealInterval) })
	wg.Go(func() { a.runExpiry(bg, wf.verify, cfg.ExpiryInterval) })
	wg.Go(func() { wf.desk.RunMailOutbox(bg, "mail/"+ln.Addr().String(), cfg.Review.MailInterval) })
	errc := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			errc <- hs.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	log.Info("remoteidv serving", "url", cfg.PublicURL, "listen", ln.Addr().String(), "database", mustKind(cfg))
	select {
	case err := <-errc:
		stopBG()
		wg.Wait()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests (at most 25s)")
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 25*time.Second)
	defer cancel()
	err = hs.Shutdown(shutdown)
	stopBG()
	wg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

func mustKind(cfg Config) string {
	kind, _, _ := cfg.database()
	return kind
}
