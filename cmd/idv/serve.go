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
	"remoteidv/verify/face"
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
	if err := a.enableCaptures(eng); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	a.verify.ReadBLAS = face.ReadBLASInfo
	if a.verify.Cfg.Face, err = faceConfig(cfg, eng); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	arc, err := a.startArchiver(ctx)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer func() {
		if err := arc.Close(); err != nil {
			log.Error("stop evidence archiver", "err", err)
		}
	}()
	srv, err := httpapi.New(httpapi.Config{TLS: cfg.TLSCert != "", TrustedProxies: cfg.proxies(), MaxBodyBytes: cfg.MaxBody,
		BankName: cfg.BankName, AuditKey: a.key.Public().(ed25519.PublicKey)}, a.access, a.verify, a.store, log, arc.Collectors()...)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	hub, err := a.enableCalls(ctx, cfg, eng, srv, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer hub.Close()
	desk, err := a.enableReview(srv)
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
	cp := audit.Checkpointer{Store: a.store, Key: a.key, Now: time.Now, Publish: a.verify.Evidence}
	wg.Go(func() {
		cp.Run(bg, cfg.CheckpointInterval, func(err error) { log.Error("audit checkpoint", "err", err) })
	})
	wg.Go(func() { a.runSealer(bg, cfg.SealInterval) })
	wg.Go(func() { a.runExpiry(bg, cfg.ExpiryInterval) })
	wg.Go(func() { desk.RunMailOutbox(bg, "mail/"+ln.Addr().String(), cfg.Review.MailInterval) })
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
