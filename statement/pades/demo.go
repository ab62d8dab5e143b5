package pades

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Demo file names in GenerateDemo's folder.
const (
	DemoCAFile   = "statement-demo-ca.pem"   // the demo root certificate (also the chain)
	DemoCertFile = "statement-demo-sign.pem" // the signing certificate
	DemoKeyFile  = "statement-demo-sign.key" // its PKCS #8 key, mode 0600
)

// demoKeyBits is RSA-3072: NSS (poppler's pdfsig), Adobe and the Go
// verifier all accept it, and PKCS #1 v1.5 signatures are deterministic.
const demoKeyBits = 3072

// GenerateDemo makes, in dir, a demo root CA named after the bank and a
// signing certificate it issues (RSA-3072, key usage digitalSignature and
// nonRepudiation, no extended key usage, valid two years), and returns the
// Config that loads them. Files already there that still load at now are
// reused: the demo keeps one certificate across restarts. The CA's private
// key is not kept: the demo CA issues exactly one certificate.
func GenerateDemo(dir string, bankName string, now time.Time) (Config, error) {
	cfg := Config{
		CertFile:  filepath.Join(dir, DemoCertFile),
		KeyFile:   filepath.Join(dir, DemoKeyFile),
		ChainFile: filepath.Join(dir, DemoCAFile),
		Name:      bankName,
		Reason:    "Transaction statement issued by " + bankName + " (demo certificate)",
		Now:       func() time.Time { return now },
	}
	// Missing, expired or damaged files are all made anew.
	if _, err := Load(context.Background(), cfg); err == nil {
		return cfg, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Config{}, fmt.Errorf("generate demo statement certificate: %w", err)
	}
	caKey, err := rsa.GenerateKey(rand.Reader, demoKeyBits)
	if err != nil {
		return Config{}, fmt.Errorf("generate demo statement certificate: CA key: %w", err)
	}
	ca := &x509.Certificate{
		SerialNumber:          serial(now, 1),
		Subject:               pkix.Name{CommonName: bankName + " Demo Statement Root CA", Organization: []string{bankName}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return Config{}, fmt.Errorf("generate demo statement certificate: CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return Config{}, fmt.Errorf("generate demo statement certificate: CA: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, demoKeyBits)
	if err != nil {
		return Config{}, fmt.Errorf("generate demo statement certificate: key: %w", err)
	}
	leaf := &x509.Certificate{
		SerialNumber:          serial(now, 2),
		Subject:               pkix.Name{CommonName: bankName + " Statements (demo)", Organization: []string{bankName}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(2, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		return Config{}, fmt.Errorf("generate demo statement certificate: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Config{}, fmt.Errorf("generate demo statement certificate: %w", err)
	}
	// The key first, so that a crash leaves no certificate without it.
	for _, f := range []struct {
		path, typ string
		der       []byte
		mode      os.FileMode
	}{
		{cfg.KeyFile, "PRIVATE KEY", pk, 0o600},
		{cfg.ChainFile, "CERTIFICATE", caDER, 0o644},
		{cfg.CertFile, "CERTIFICATE", leafDER, 0o644},
	} {
		if err := writePEM(f.path, f.typ, f.der, f.mode); err != nil {
			return Config{}, fmt.Errorf("generate demo statement certificate: %w", err)
		}
	}
	if _, err := Load(context.Background(), cfg); err != nil {
		return Config{}, fmt.Errorf("generate demo statement certificate: %w", err)
	}
	return cfg, nil
}

// writePEM replaces path atomically with one PEM block.
func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := pem.Encode(tmp, &pem.Block{Type: typ, Bytes: der}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// serial numbers the demo certificates by the time they were made, so a
// regenerated pair never repeats one.
func serial(now time.Time, n int64) *big.Int {
	return new(big.Int).Add(new(big.Int).Mul(big.NewInt(now.UnixNano()), big.NewInt(10)), big.NewInt(n))
}
