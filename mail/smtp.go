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
// DATA, without asking for delivery status notifications. Errors as
// SendEnvelope's.
func (s *SMTP) Send(ctx context.Context, from string, to []string, raw []byte) (string, error) {
	r, err := s.SendEnvelope(ctx, models.MailEnvelope{From: from, To: to}, raw)
	if err != nil {
		return "", err
	}
	return r.Reply, nil
}

// SendEnvelope delivers raw to every recipient of env and returns the
// server's answers. When env has an EnvelopeID and the server's EHLO
// offers DSN (RFC 3461), it asks for delivery status notifications:
// MAIL FROM with RET=HDRS (a report returns the headers only, never the
// body, which may hold a statement or a code) and ENVID, each RCPT with
// NOTIFY=SUCCESS,FAILURE,DELAY and ORCPT (DELAY too: a statement stuck
// for hours on the way is what staff must learn of, and without it a
// server sends no delay warning); otherwise it sends without and the
// receipt says DSN was not offered. go-smtp's client does not hand back
// the text of an accepted RCPT, so an accepted recipient's answer reads
// "2xx accepted". Connection failures and 4xx answers are EUNAVAILABLE
// (retry later); 5xx answers are EINVALID (refused for good).
func (s *SMTP) SendEnvelope(ctx context.Context, env models.MailEnvelope, raw []byte) (*models.MailReceipt, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return nil, classify(fmt.Errorf("smtp dial %s: %w", s.cfg.Addr, err))
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
			return nil, classify(fmt.Errorf("smtp starttls: %w", err))
		}
	default:
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.LocalName); err != nil {
		return nil, classify(fmt.Errorf("smtp hello: %w", err))
	}
	if s.cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password)); err != nil {
			return nil, classify(fmt.Errorf("smtp auth: %w", err))
		}
	}
	r := &models.MailReceipt{DSN: models.DSNNotOffered}
	var mo *smtp.MailOptions
	if dsn, _ := c.Extension("DSN"); dsn && env.EnvelopeID != "" {
		r.DSN = models.DSNRequested
		mo = &smtp.MailOptions{Return: smtp.DSNReturnHeaders, EnvelopeID: env.EnvelopeID}
	}
	if err := c.Mail(env.From, mo); err != nil {
		return nil, classify(fmt.Errorf("smtp mail from: %w", err))
	}
	for _, to := range env.To {
		var ro *smtp.RcptOptions
		if mo != nil {
			ro = &smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifySuccess, smtp.DSNNotifyFailure, smtp.DSNNotifyDelayed},
				OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: to}
			if !isASCII(to) {
				ro.OriginalRecipientType = smtp.DSNAddressTypeUTF8
			}
		}
		if err := c.Rcpt(to, ro); err != nil {
			return nil, classify(fmt.Errorf("smtp rcpt %s: %w", to, err))
		}
		r.Rcpt = append(r.Rcpt, "<"+to+">: 2xx accepted")
	}
	w, err := c.Data()
	if err != nil {
		return nil, classify(fmt.Errorf("smtp data: %w", err))
	}
	if _, err := w.Write(raw); err != nil {
		return nil, classify(fmt.Errorf("smtp data: %w", err))
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return nil, classify(fmt.Errorf("smtp data: %w", err))
	}
	_ = c.Quit()
	r.Reply = "250 " + resp.StatusText
	return r, nil
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

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
