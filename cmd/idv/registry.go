package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"remoteidv/registry"
)

func runRegistry(ctx context.Context, e *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "serve" {
		return usageError("usage: idv registry serve --records FILE [--listen 127.0.0.1:8090] [--api-key KEY]")
	}
	fs := subFlags("registry serve", e)
	records := fs.String("records", "", "records file: JSON array or CSV (id_number,name,status,photo_file,updated_at); idv demo load writes var/demo/registry.json")
	listen := fs.String("listen", "127.0.0.1:8090", "address to listen on")
	key := fs.String("api-key", e.getenv("IDV_REGISTRY_KEY"), "bearer key callers must send (default IDV_REGISTRY_KEY; empty accepts any)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *records == "" {
		return usageError("registry serve needs --records")
	}
	recs, err := registry.LoadRecords(*records)
	if err != nil {
		return err
	}
	cfg := defaultConfig()
	log := newLogger(cfg, e.stderr)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("registry serve: %w", err)
	}
	hs := &http.Server{Handler: registry.NewServer(recs, *key, log), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	log.Info("reference registry serving (development only)", "listen", ln.Addr().String(), "records", len(recs))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("registry serve: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("registry serve: %w", err)
	}
	return nil
}
