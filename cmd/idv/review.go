package main

import (
	"fmt"
	"net/http"
	"os"

	idvmail "remoteidv/mail"
	"remoteidv/registry"
	"remoteidv/verify"
)

// deskDeps are the review desk's registry client, mail sender and
// statement font as configured; without a registry or a mail server they
// are verify.NoRegistry and verify.NoMailer.
func (a *app) deskDeps() (verify.DeskDeps, error) {
	mc, rc := a.cfg.Mail, a.cfg.Registry
	d := verify.DeskDeps{Registry: verify.NoRegistry{}, Mailer: verify.NoMailer{}, MailFrom: mc.From, ReturnPath: mc.ReturnPath,
		RegistryCaptureMaxAge: rc.CaptureMaxAge, RegistryMaxDataAge: rc.MaxDataAge}
	if rc.URL != "" {
		d.Registry = &registry.Client{BaseURL: rc.URL, APIKey: rc.Key, Timeout: rc.Timeout, AllowHTTP: rc.AllowHTTP, HTTP: &http.Client{Timeout: rc.Timeout}}
	} else if a.cfg.Demo {
		reg, err := demoRegistry(a.cfg, a.log)
		if err != nil {
			return d, err
		}
		d.Registry = reg
	} else {
		a.log.Warn("no national ID registry configured (IDV_REGISTRY_URL): registry checks answer unavailable")
	}
	if a.meter != nil {
		d.Registry = a.meter.Registry(d.Registry)
	}
	if mc.SMTPAddr != "" {
		s, err := idvmail.NewSMTP(idvmail.SMTPConfig{Addr: mc.SMTPAddr, TLS: mc.SMTPTLS, Username: mc.SMTPUsername, Password: mc.SMTPPassword})
		if err != nil {
			return d, err
		}
		d.Mailer = s
	} else if a.cfg.Demo {
		md, err := idvmail.NewMaildir(demoMailDir(a.cfg))
		if err != nil {
			return d, err
		}
		d.Mailer = md
	} else {
		a.log.Warn("no mail server configured (IDV_SMTP_ADDR): mail stays queued in the outbox; invites and codes are dropped when they expire")
	}
	if font := a.cfg.Statement.Font; font != "" {
		font, err := os.ReadFile(font)
		if err != nil {
			return d, fmt.Errorf("IDV_STATEMENT_FONT: %w (install Debian's fonts-droid-fallback, or set it empty to print Chinese as placeholders)", err)
		}
		d.StatementFont = font
	}
	return d, nil
}
