package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"remoteidv/httpapi"
	idvmail "remoteidv/mail"
	"remoteidv/registry"
	"remoteidv/statement/pades"
)

// Demo mode (IDV_DEMO, turned on by `make run`): what it changes is wired
// here, so that nothing else in the service knows about it.

// demoMailDir is the Maildir demo mode delivers mail to.
func demoMailDir(cfg Config) string { return filepath.Join(cfg.DataDir, "mail") }

// demoStatementSigning is the demo's statement signing certificate: a demo
// root CA and a signing certificate it issued, made once under
// <data-dir>/keys/statement and reused while valid.
func demoStatementSigning(cfg Config) (pades.Config, error) {
	pc, err := pades.GenerateDemo(filepath.Join(cfg.DataDir, "keys", "statement"), cfg.BankName, time.Now())
	if err != nil {
		return pades.Config{}, fmt.Errorf("demo mode: %w", err)
	}
	return pc, nil
}

// demoRegistry is the reference registry over the demo records
// (`idv demo load` writes them), answering in-process through the same
// HTTP client and server code a deployment uses, without a port.
func demoRegistry(cfg Config, log *slog.Logger) (*registry.Client, error) {
	path := filepath.Join(cfg.DataDir, "demo", "registry.json")
	recs, err := registry.LoadRecords(path)
	if err != nil {
		return nil, fmt.Errorf("demo mode: the reference registry's records (run idv demo load first): %w", err)
	}
	srv := registry.NewServer(recs, "", log.With("component", "demo registry"))
	return &registry.Client{BaseURL: "http://demo-registry.invalid", AllowHTTP: true, Timeout: cfg.Registry.Timeout,
		HTTP: &http.Client{Timeout: cfg.Registry.Timeout, Transport: handlerTransport{srv}}}, nil
}

// handlerTransport answers HTTP requests with a handler in the process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// demoMailbox lets the demo mailbox page read the Maildir.
type demoMailbox struct{ md *idvmail.Maildir }

func (m demoMailbox) List(ctx context.Context) ([]httpapi.DemoMail, error) {
	list, err := m.md.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]httpapi.DemoMail, len(list))
	for i, s := range list {
		out[i] = demoMail(s)
	}
	return out, nil
}

func (m demoMailbox) Get(ctx context.Context, id string) (*httpapi.DemoMail, error) {
	s, err := m.md.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	d := demoMail(s)
	return &d, nil
}

func demoMail(s *idvmail.Stored) httpapi.DemoMail {
	return httpapi.DemoMail{ID: s.ID, From: s.From, To: s.To, Subject: s.Subject, Date: s.Date, Text: s.Text, Links: s.Links, Attachments: s.Attachments}
}

// demoBanner tells whoever started `idv serve` in demo mode where to go
// and what to do next.
func demoBanner(w io.Writer, cfg Config) {
	base := strings.TrimSuffix(cfg.PublicURL, "/")
	var b strings.Builder
	fmt.Fprintf(&b, "\n  DEMO MODE (IDV_DEMO): demonstration data, mail to a local mailbox, reference registry. Never use it in production.\n\n")
	fmt.Fprintf(&b, "  Open        %s/login\n", base)
	fmt.Fprintf(&b, "  Mailbox     %s/demo/mailbox   (every mail the service sends, links included)\n", base)
	if pw, err := os.ReadFile(filepath.Join(cfg.DataDir, "demo", "passwords.txt")); err == nil {
		fmt.Fprintf(&b, "  Logins      (user password, from %s)\n", filepath.Join(cfg.DataDir, "demo", "passwords.txt"))
		for _, line := range strings.Split(strings.TrimSpace(string(pw)), "\n") {
			fmt.Fprintf(&b, "              %s\n", line)
		}
	}
	fmt.Fprintf(&b, "\n  Next:\n")
	fmt.Fprintf(&b, "   1. Log in as clerk, find \"Li Wei\", schedule a call a few minutes from now and email the invite.\n")
	fmt.Fprintf(&b, "   2. In another terminal: bin/idv demo customer --case <case id>   (the account holder joins the call)\n")
	fmt.Fprintf(&b, "   3. Join the call on the case page: capture, liveness, letter, signature, registry, submit; then log in as supervisor and approve.\n")
	fmt.Fprintf(&b, "  Or all of it at once: bin/idv demo story\n\n")
	_, _ = io.WriteString(w, b.String())
}
