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
	mc, rc := a.cfg.Mail, a.cfg.Registry
	d := &verify.Desk{Service: a.verify, MailFrom: mc.From, RegistryCaptureMaxAge: rc.CaptureMaxAge, RegistryMaxDataAge: rc.MaxDataAge}
	if rc.URL != "" {
		d.Registry = &registry.Client{BaseURL: rc.URL, APIKey: rc.Key, Timeout: rc.Timeout, HTTP: &http.Client{Timeout: rc.Timeout}}
	} else {
		a.log.Warn("no national ID registry configured (IDV_REGISTRY_URL): registry checks answer unavailable")
	}
	if mc.SMTPAddr != "" {
		s, err := idvmail.NewSMTP(idvmail.SMTPConfig{Addr: mc.SMTPAddr, TLS: mc.SMTPTLS, Username: mc.SMTPUsername, Password: mc.SMTPPassword})
		if err != nil {
			return nil, err
		}
		d.Mailer = s
	} else {
		a.log.Warn("no mail server configured (IDV_SMTP_ADDR): mail stays queued in the outbox; invites and codes are dropped when they expire")
	}
	if font := a.cfg.Statement.Font; font != "" {
		font, err := os.ReadFile(font)
		if err != nil {
			return nil, fmt.Errorf("IDV_STATEMENT_FONT: %w (install Debian's fonts-droid-fallback, or set it empty to print Chinese as placeholders)", err)
		}
		d.StatementFont = font
	}
	srv.EnableReview(d)
	return d, nil
}
