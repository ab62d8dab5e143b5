package pades

import (
	"testing"
	"time"

	"remoteidv/statement"
)

// TestCertificateValidatesWithPdfsig: a balance certificate is signed the
// way a statement is, and poppler's pdfsig finds the signature valid over
// the whole file, the demo root trusted; a byte changed after signing is
// a digest mismatch.
func TestCertificateValidatesWithPdfsig(t *testing.T) {
	in, err := statement.RenderCertificate(&statement.Certificate{
		Bank: statement.Bank{Name: "Example Bank"}, HolderName: "Liu Yang", AccountNo: "6222000011112222", Date: "2026-11-30",
		Balances:    []statement.Balance{{Currency: "USD", Amount: 250000}, {Currency: "CNY", Amount: 1234567}},
		StatementID: "stm_0002", VerifyURL: "https://idv.example-bank.test/v/stm_0002", IssuedAt: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatalf("statement.RenderCertificate: %v", err)
	}
	s := load(t, demo(t))
	out := mustSign(t, s, in, time.Now().Truncate(time.Second))
	mustContain(t, "pdfsig (certificate)", pdfsig(t, out, s.Chain()[0]),
		"Signature Validation: Signature is Valid.", "Total document signed", "Certificate Validation: Certificate is Trusted.")
	tampered := append([]byte(nil), out...)
	tampered[len(in)/2] ^= 0x01
	mustContain(t, "pdfsig (certificate, a byte changed)", pdfsig(t, tampered, s.Chain()[0]), "Digest Mismatch")
}
