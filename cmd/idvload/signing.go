package main

import (
	"fmt"
	"time"

	"remoteidv/statement/pades"
)

// statementSigning makes a throwaway statement signing PKI in dir (the
// demo root and signing certificate of statement/pades, as demo mode does)
// and returns the settings that give it to idv serve, which refuses to
// start without one outside demo mode.
func statementSigning(dir string, now time.Time) ([]string, error) {
	cfg, err := pades.GenerateDemo(dir, "idvload", now)
	if err != nil {
		return nil, fmt.Errorf("statement signing certificate: %w", err)
	}
	return []string{"IDV_STATEMENT_SIGN_CERT=" + cfg.CertFile, "IDV_STATEMENT_SIGN_KEY=" + cfg.KeyFile, "IDV_STATEMENT_SIGN_CHAIN=" + cfg.ChainFile}, nil
}
