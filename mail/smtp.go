package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"remoteidv/models"
)

// TLS modes of the SMTP connection.
const (
	TLSNone     = "none"     // plain SMTP (a relay on localhost)
	TLSStartTLS = "starttls" // STARTTLS required (submission port 587)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
)

// SMTPConfig says how to reach the mail server.
type SMTPConfig struct {
	Addr      string // host:port
	TLS       string // none, starttls or tls
	Username  string // empty: no authentication
	Password  string
	LocalName string        // EHLO name; default "localhost"
	Timeout   time.Duration // per connection; default 30 s
	// TLSConfig overrides the TLS settings (tests trust their own CA);
	// by default the server's certificate is checked against Addr's host.
	TLSConfig *tls.Config
}

// SMTP sends mail through one server; it implements models.MailSender.
type SMTP struct {
	cfg SMTPConfig
}

// NewSMTP checks cfg and returns a sender.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtp address %q: %w", cfg.Addr, err)
	}
	switch cfg.TLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return nil, fmt.Errorf("smtp tls mode %q: want none, starttls or tls", cfg.TLS)
	}
	if cfg.Username != "" && cfg.TLS == TLSNone && host != "localhost" && host != "127.0.0.1" && host != "::1" {
		return nil, fmt.Errorf("smtp: refusing to send a password without TLS to %s", host)
	}
	if cfg.TLSConfig == nil {
		cfg.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	if cfg.LocalName == "" {
		cfg.LocalName = "localhost"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTP{cfg: cfg}, nil
}

// Send delivers raw to every recipient and returns the server's reply to
// DATA. Connection failures and 4xx answers are EUNAVAILABLE (retry later);
// 5xx answers are EINVALID (the server refuses for good).
func (s *SMTP) Send(ctx context.Context, from string, to []string, raw []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return "", classify(fmt.Errorf("smtp dial %s: %w", s.cfg.Addr, err))
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var c *smtp.Client
	switch s.cfg.TLS {
	case TLSImplicit:
		c = smtp.NewClient(tls.Client(conn, s.cfg.TLSConfig))
	case TLSStartTLS:
		c, err = smtp.NewClientStartTLS(conn, s.cfg.TLSConfig)
		if err != nil {
			conn.Close()
			return "", classify(fmt.Errorf("smtp starttls: %w", err))
		}
	default:
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.LocalName); err != nil {
		return "", classify(fmt.Errorf("smtp hello: %w", err))
	}
	if s.cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password)); err != nil {
			return "", classify(fmt.Errorf("smtp auth: %w", err))
		}
	}
	if err := c.Mail(from, nil); err != nil {
		return "", classify(fmt.Errorf("smtp mail from: %w", err))
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return "", classify(fmt.Errorf("smtp rcpt: %w", err))
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", classify(fmt.Errorf("smtp data: %w", err))
	}
	if _, err := w.Write(raw); err != nil {
		return "", classify(fmt.Errorf("smtp data: %w", err))
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", classify(fmt.Errorf("smtp data: %w", err))
	}
	_ = c.Quit()
	return "250 " + resp.StatusText, nil
}

// classify gives an SMTP failure its domain kind: permanent refusals are
// EINVALID, everything else may work later.
func classify(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		return fmt.Errorf("%w: %w", models.Errorf(models.EINVALID, "mail server refused the message (%d)", se.Code), err)
	}
	return fmt.Errorf("%w: %w", models.Errorf(models.EUNAVAILABLE, "mail server unavailable"), err)
}
