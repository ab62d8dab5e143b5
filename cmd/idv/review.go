package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"time"

	idvmail "remoteidv/mail"
	"remoteidv/models"
	"remoteidv/registry"
	"remoteidv/statement"
	"remoteidv/verify"
)

// ReviewConfig holds the settings of the review half of the workflow: the
// mail server and outbox, and the national ID registry.
type ReviewConfig struct {
	SMTPAddr        string
	SMTPTLS         string
	SMTPUsername    string
	SMTPPassword    string
	MailFrom        string
	MailInterval    time.Duration
	RegistryURL     string
	RegistryKey     string
	RegistryTimeout time.Duration
	// RegistryCaptureMaxAge is how recent the live capture the registry
	// photo is compared with must be; RegistryMaxDataAge the oldest
	// registry data (its data_as_of) that may pass.
	RegistryCaptureMaxAge time.Duration
	RegistryMaxDataAge    time.Duration
	StatementFont         string
}

func defaultReviewConfig() ReviewConfig {
	return ReviewConfig{SMTPTLS: idvmail.TLSStartTLS, MailFrom: "noreply@bank.example", MailInterval: 10 * time.Second, RegistryTimeout: 10 * time.Second,
		RegistryCaptureMaxAge: 30 * time.Minute, RegistryMaxDataAge: 10 * time.Minute,
		StatementFont: "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"}
}

func (c *ReviewConfig) settings() []setting {
	return []setting{
		{"smtp-addr", "IDV_SMTP_ADDR", "mail server host:port; empty keeps mail queued in the outbox until one is set", (*strValue)(&c.SMTPAddr)},
		{"smtp-tls", "IDV_SMTP_TLS", "none, starttls (required) or tls (implicit, port 465)", (*strValue)(&c.SMTPTLS)},
		{"smtp-username", "IDV_SMTP_USERNAME", "SMTP user for PLAIN authentication; empty for none", (*strValue)(&c.SMTPUsername)},
		{"smtp-password", "IDV_SMTP_PASSWORD", "SMTP password (never printed)", (*secretValue)(&c.SMTPPassword)},
		{"mail-from", "IDV_MAIL_FROM", "sender address of invites, codes and statements", (*strValue)(&c.MailFrom)},
		{"mail-interval", "IDV_MAIL_INTERVAL", "how often the mail outbox is worked (failed sends back off up to 30m)", (*durValue)(&c.MailInterval)},
		{"registry-url", "IDV_REGISTRY_URL", "base URL of the national ID registry (POST /v1/lookup); empty: registry checks are unavailable", (*strValue)(&c.RegistryURL)},
		{"registry-key", "IDV_REGISTRY_KEY", "bearer API key for the registry (never printed)", (*secretValue)(&c.RegistryKey)},
		{"registry-timeout", "IDV_REGISTRY_TIMEOUT", "registry lookups slower than this count as unavailable", (*durValue)(&c.RegistryTimeout)},
		{"registry-capture-max-age", "IDV_REGISTRY_CAPTURE_MAX_AGE", "the registry check needs a live capture of the case (taken in the recorded call) at most this old; the registry photo is compared with it", (*durValue)(&c.RegistryCaptureMaxAge)},
		{"registry-max-data-age", "IDV_REGISTRY_MAX_DATA_AGE", "a registry answer whose data_as_of is older than this is not a pass", (*durValue)(&c.RegistryMaxDataAge)},
		{"statement-font", "IDV_STATEMENT_FONT", "TrueType font for statement text the core PDF fonts lack (Chinese names; Debian fonts-droid-fallback); empty for none", (*strValue)(&c.StatementFont)},
	}
}

func (c *ReviewConfig) validate() []error {
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", env, fmt.Sprintf(format, args...)))
	}
	if c.SMTPAddr != "" {
		if _, err := idvmail.NewSMTP(idvmail.SMTPConfig{Addr: c.SMTPAddr, TLS: c.SMTPTLS, Username: c.SMTPUsername, Password: c.SMTPPassword}); err != nil {
			bad("IDV_SMTP_ADDR", "%v", err)
		}
	}
	if c.SMTPTLS != idvmail.TLSNone && c.SMTPTLS != idvmail.TLSStartTLS && c.SMTPTLS != idvmail.TLSImplicit {
		bad("IDV_SMTP_TLS", "%q is not none, starttls or tls", c.SMTPTLS)
	}
	if a, err := mail.ParseAddress(c.MailFrom); err != nil || a.Name != "" {
		bad("IDV_MAIL_FROM", "%q is not a plain email address", c.MailFrom)
	}
	if c.MailInterval < time.Second || c.MailInterval > time.Hour {
		bad("IDV_MAIL_INTERVAL", "%v must be from 1s to 1h", c.MailInterval)
	}
	if c.RegistryURL != "" {
		if u, err := url.Parse(c.RegistryURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("IDV_REGISTRY_URL", "%q is not an http(s) URL", c.RegistryURL)
		}
	}
	if c.RegistryTimeout < 100*time.Millisecond || c.RegistryTimeout > time.Minute {
		bad("IDV_REGISTRY_TIMEOUT", "%v must be from 100ms to 1m", c.RegistryTimeout)
	}
	if c.RegistryCaptureMaxAge < time.Minute || c.RegistryCaptureMaxAge > 2*time.Hour {
		bad("IDV_REGISTRY_CAPTURE_MAX_AGE", "%v must be from 1m to 2h (a call lasts at most 2h)", c.RegistryCaptureMaxAge)
	}
	if c.RegistryMaxDataAge < time.Second || c.RegistryMaxDataAge > 24*time.Hour {
		bad("IDV_REGISTRY_MAX_DATA_AGE", "%v must be from 1s to 24h", c.RegistryMaxDataAge)
	}
	return errs
}

// deskDeps are the review desk's registry client, mail sender and
// statement font as configured; without a registry or a mail server they
// are verify.NoRegistry and verify.NoMailer.
func (a *app) deskDeps() (verify.DeskDeps, error) {
	c := a.cfg.Review
	d := verify.DeskDeps{Registry: verify.NoRegistry{}, Mailer: verify.NoMailer{}, MailFrom: c.MailFrom,
		RegistryCaptureMaxAge: c.RegistryCaptureMaxAge, RegistryMaxDataAge: c.RegistryMaxDataAge}
	if c.RegistryURL != "" {
		d.Registry = &registry.Client{BaseURL: c.RegistryURL, APIKey: c.RegistryKey, Timeout: c.RegistryTimeout, HTTP: &http.Client{Timeout: c.RegistryTimeout}}
	} else {
		a.log.Warn("no national ID registry configured (IDV_REGISTRY_URL): registry checks answer unavailable")
	}
	if c.SMTPAddr != "" {
		s, err := idvmail.NewSMTP(idvmail.SMTPConfig{Addr: c.SMTPAddr, TLS: c.SMTPTLS, Username: c.SMTPUsername, Password: c.SMTPPassword})
		if err != nil {
			return d, err
		}
		d.Mailer = s
	} else {
		a.log.Warn("no mail server configured (IDV_SMTP_ADDR): mail stays queued in the outbox; invites and codes are dropped when they expire")
	}
	if c.StatementFont != "" {
		font, err := os.ReadFile(c.StatementFont)
		if err != nil {
			return d, fmt.Errorf("IDV_STATEMENT_FONT: %w (install Debian's fonts-droid-fallback, or set it empty to print Chinese as placeholders)", err)
		}
		d.StatementFont = font
	}
	return d, nil
}

func runLedger(ctx context.Context, e *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		return usageError("usage: idv ledger import --csv FILE")
	}
	fs := subFlags("ledger import", e)
	csvPath := fs.String("csv", "", "CSV file: account_no,booked_at,description,amount,currency (idv demo load writes var/demo/ledger.csv)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *csvPath == "" {
		return usageError("ledger import needs --csv")
	}
	return withApp(ctx, e, "ledger import", fs.Args(), func(a *app, _ []string) error {
		n, total, err := importLedger(ctx, a, "cli", *csvPath)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "ledger: %d new transactions of %d read\n", n, total)
		return nil
	})
}

// importLedger loads a ledger CSV in one transaction (rows already present
// are skipped) and audits the import.
func importLedger(ctx context.Context, a *app, actor, path string) (added, total int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("ledger import: %w", err)
	}
	defer f.Close()
	entries, err := statement.ReadLedgerCSV(f)
	if err != nil {
		return 0, 0, fmt.Errorf("ledger import %s: %w", path, err)
	}
	err = a.store.Transact(ctx, func(tx models.Tx) error {
		if added, err = tx.AddLedgerEntries(ctx, entries); err != nil {
			return err
		}
		return a.chain.Append(ctx, tx, &models.AuditEvent{Actor: actor, Action: "ledger.imported",
			Detail: map[string]string{"file": filepath.Base(path), "read": fmt.Sprint(len(entries)), "added": fmt.Sprint(added)}})
	})
	if err != nil {
		return 0, 0, fmt.Errorf("ledger import %s: %w", path, err)
	}
	return added, len(entries), nil
}

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

// writeDemoRegistry writes registry records for the demo accounts, with the
// first johns photo of each as the registry photo.
func writeDemoRegistry(dir string) (string, error) {
	type rec struct {
		IDNumber  string    `json:"id_number"`
		Name      string    `json:"name"`
		Status    string    `json:"status"`
		PhotoFile string    `json:"photo_file"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	var recs []rec
	for _, a := range demoAccounts {
		recs = append(recs, rec{IDNumber: a.nationalID, Name: a.name, Status: models.RegistryValid,
			PhotoFile: filepath.Join("images", a.no+"-photo-1.jpg"), UpdatedAt: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
	}
	b, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "registry.json")
	if err := os.WriteFile(path, b, 0o640); err != nil {
		return "", fmt.Errorf("demo registry: %w", err)
	}
	return path, nil
}
