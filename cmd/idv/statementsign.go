package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"remoteidv/statement/pades"
)

// loadStatementSigner loads the bank's statement signing certificate
// (IDV_STATEMENT_SIGN_CERT, _KEY, _CHAIN; IDV_STATEMENT_TSA_URL for B-T).
// In demo mode without them it makes (once) a demo CA and certificate
// under <data-dir>/keys/statement. Outside demo mode without them it
// refuses: a bank must not send unsigned statements because a setting was
// forgotten.
func loadStatementSigner(ctx context.Context, cfg Config, log *slog.Logger) (*pades.Signer, error) {
	st := cfg.Statement
	var pc pades.Config
	switch {
	case st.SignCert != "":
		pc = pades.Config{CertFile: st.SignCert, KeyFile: st.SignKey, ChainFile: st.SignChain}
	case cfg.Demo:
		var err error
		if pc, err = demoStatementSigning(cfg); err != nil {
			return nil, err
		}
		pc.Now = nil
	default:
		return nil, errors.New("statement signing is not configured: set IDV_STATEMENT_SIGN_CERT, IDV_STATEMENT_SIGN_KEY and IDV_STATEMENT_SIGN_CHAIN to the bank's signing certificate, its key and its chain (docs/configuration.md, Statement signing); statements are never sent unsigned")
	}
	pc.TSAURL = st.TSAURL
	if pc.Name == "" {
		pc.Name = cfg.BankName
	}
	if pc.Reason == "" {
		pc.Reason = "Transaction statement issued by " + cfg.BankName
	}
	s, err := pades.Load(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("statement signing: %w", err)
	}
	level := "B-B"
	if pc.TSAURL != "" {
		level = "B-T"
	}
	c := s.Certificate()
	log.Info("statement signing certificate loaded", "subject", c.Subject.String(), "issuer", c.Issuer.String(),
		"not_after", c.NotAfter.UTC().Format(time.RFC3339), "pades", level, "demo", st.SignCert == "")
	if left := time.Until(c.NotAfter); left < 30*24*time.Hour {
		log.Warn("statement signing certificate expires soon: renew it", "not_after", c.NotAfter.UTC().Format(time.RFC3339), "left", left.Round(time.Hour).String())
	}
	return s, nil
}
