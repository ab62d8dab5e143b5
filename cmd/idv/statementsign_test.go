package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// statementSigningEnv makes a test PKI in dir (an ECDSA P-256 root and a
// signing certificate it issued: quick to make, unlike the demo's RSA) and
// returns the settings that give it to idv serve.
func statementSigningEnv(t testing.TB, dir string) map[string]string {
	t.Helper()
	now := time.Now()
	mk := func(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, key
	}
	root, rootKey := mk(&x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "Test Bank Root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0), KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}, nil, nil)
	leaf, key := mk(&x509.Certificate{SerialNumber: big.NewInt(now.UnixNano() + 1), Subject: pkix.Name{CommonName: "Test Bank Statements"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment}, root, rootKey)
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return map[string]string{
		"IDV_STATEMENT_SIGN_CERT":  write("sign.pem", "CERTIFICATE", leaf.Raw),
		"IDV_STATEMENT_SIGN_KEY":   write("sign.key", "PRIVATE KEY", pk),
		"IDV_STATEMENT_SIGN_CHAIN": write("chain.pem", "CERTIFICATE", root.Raw),
	}
}

// TestLoadStatementSigner: a configured certificate loads; demo mode
// without one makes a demo CA and certificate under the data folder once
// and reuses it; outside demo mode without one, and with a chain that does
// not issue the certificate, idv refuses.
func TestLoadStatementSigner(t *testing.T) {
	dir := t.TempDir()
	good := statementSigningEnv(t, filepath.Join(dir, "pki"))
	other := statementSigningEnv(t, filepath.Join(dir, "other"))
	config := func(env map[string]string) Config {
		t.Helper()
		e := map[string]string{"IDV_DATA_DIR": filepath.Join(dir, "data"), "IDV_BANK_NAME": "Example Bank"}
		for k, v := range env {
			e[k] = v
		}
		c, _, err := loadConfig("serve", nil, func(k string) string { return e[k] }, io.Discard)
		if err != nil {
			t.Fatalf("loadConfig: %v", err)
		}
		return c
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range m {
			if a != k {
				out[a] = b
			}
		}
		return out
	}
	tests := []struct {
		name    string
		env     map[string]string
		subject string // "" : must fail
		wantErr []string
	}{
		{"configured", good, "CN=Test Bank Statements", nil},
		{"configured with a TSA", with(good, "IDV_STATEMENT_TSA_URL", "http://127.0.0.1:1/tsa"), "CN=Test Bank Statements", nil},
		{"demo mode without one", map[string]string{"IDV_DEMO": "true"}, "CN=Example Bank Statements (demo),O=Example Bank", nil},
		{"none outside demo mode", nil, "", []string{"IDV_STATEMENT_SIGN_CERT", "never sent unsigned"}},
		{"chain of another root", with(good, "IDV_STATEMENT_SIGN_CHAIN", other["IDV_STATEMENT_SIGN_CHAIN"]), "", []string{"does not chain", other["IDV_STATEMENT_SIGN_CHAIN"]}},
		{"key of another certificate", with(good, "IDV_STATEMENT_SIGN_KEY", other["IDV_STATEMENT_SIGN_KEY"]), "", []string{"does not belong", other["IDV_STATEMENT_SIGN_KEY"]}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := loadStatementSigner(context.Background(), config(tc.env), log)
			if tc.subject == "" {
				if err == nil {
					t.Fatal("loadStatementSigner passed")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("loadStatementSigner error = %v, want it to say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("loadStatementSigner: %v", err)
			}
			if got := s.Certificate().Subject.String(); got != tc.subject {
				t.Errorf("signing certificate = %q, want %q", got, tc.subject)
			}
		})
	}

	// The demo certificate is made once and kept.
	demoCert := filepath.Join(dir, "data", "keys", "statement", "statement-demo-sign.pem")
	first, err := os.ReadFile(demoCert)
	if err != nil {
		t.Fatalf("demo certificate not under the data folder: %v", err)
	}
	if _, err := loadStatementSigner(context.Background(), config(map[string]string{"IDV_DEMO": "true"}), log); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(demoCert); !bytes.Equal(first, again) {
		t.Error("demo mode made a new statement certificate at the second start")
	}
}

// TestServeRefusesWithoutStatementCertificate: outside demo mode, idv serve
// without a statement signing certificate stops before it opens the
// database.
func TestServeRefusesWithoutStatementCertificate(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"IDV_DATABASE_URL": "sqlite:" + filepath.Join(dir, "idv.db"), "IDV_SIGNING_KEY": filepath.Join(dir, "key.pem"),
		"IDV_DATA_DIR": dir, "IDV_EVIDENCE_DIR": filepath.Join(dir, "evidence"), "IDV_MODELS_DIR": filepath.Join(dir, "models"),
		"IDV_REQUIRE_MODELS": "false", "IDV_LISTEN": "127.0.0.1:0", "IDV_LOG_LEVEL": "error",
	}
	var out bytes.Buffer
	err := run(context.Background(), &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &out, getenv: func(k string) string { return env[k] }}, []string{"serve"})
	if err == nil || !strings.Contains(err.Error(), "IDV_STATEMENT_SIGN_CERT") {
		t.Fatalf("serve without a statement signing certificate = %v, want an error naming IDV_STATEMENT_SIGN_CERT", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "idv.db")); err == nil {
		t.Error("serve opened the database before refusing")
	}
}
