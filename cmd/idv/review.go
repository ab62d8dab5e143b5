package main

import (
	"fmt"
	"net/http"
	"os"

	"remoteidv/httpapi"
	idvmail "remoteidv/mail"
	"remoteidv/registry"
	"remoteidv/verify"
)

// enableReview builds the review desk (registry client, mail sender) and
// turns on its endpoints.
func (a *app) enableReview(srv *httpapi.Server) (*verify.Desk, error) {
	c := a.cfg.Review
	d := &verify.Desk{Service: a.verify, MailFrom: c.MailFrom, RegistryCaptureMaxAge: c.RegistryCaptureMaxAge, RegistryMaxDataAge: c.RegistryMaxDataAge}
	if c.RegistryURL != "" {
		d.Registry = &registry.Client{BaseURL: c.RegistryURL, APIKey: c.RegistryKey, Timeout: c.RegistryTimeout, HTTP: &http.Client{Timeout: c.RegistryTimeout}}
	} else {
		a.log.Warn("no national ID registry configured (IDV_REGISTRY_URL): registry checks answer unavailable")
	}
	if c.SMTPAddr != "" {
		s, err := idvmail.NewSMTP(idvmail.SMTPConfig{Addr: c.SMTPAddr, TLS: c.SMTPTLS, Username: c.SMTPUsername, Password: c.SMTPPassword})
		if err != nil {
			return nil, err
		}
		d.Mailer = s
	} else {
		a.log.Warn("no mail server configured (IDV_SMTP_ADDR): mail stays queued in the outbox; invites and codes are dropped when they expire")
	}
	if c.StatementFont != "" {
		font, err := os.ReadFile(c.StatementFont)
		if err != nil {
			return nil, fmt.Errorf("IDV_STATEMENT_FONT: %w (install Debian's fonts-droid-fallback, or set it empty to print Chinese as placeholders)", err)
		}
		d.StatementFont = font
	}
	srv.EnableReview(d)
	return d, nil
}
