package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyID names a public key: the first 16 hex characters of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// Fingerprint is how an auditor pins the bank's key: the hex SHA-256 of
// the raw 32-byte Ed25519 public key, all 64 characters. KeyID is its first
// 16 characters: enough to name a key, too short to trust one.
// `idv audit key`, GET /api/audit/verify, the auditor's page, the bundle's
// README and `idv evidence verify -fingerprint` all use this form.
func Fingerprint(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:])
}

// ParseFingerprint reads a fingerprint as a person may copy it: in upper
// or lower case, with a "SHA256:" prefix, spaces or colons between groups.
// It returns the Fingerprint form, or an error for anything that is not
// 64 hex digits (a 16-digit key id included).
func ParseFingerprint(s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimPrefix(t, "sha256:")
	t = strings.NewReplacer(" ", "", ":", "", "-", "").Replace(t)
	if b, err := hex.DecodeString(t); err != nil || len(b) != sha256.Size {
		if len(t) == 16 {
			return "", fmt.Errorf("fingerprint %q: that is a key id (16 hex digits); give the full 64-digit fingerprint the bank publishes", s)
		}
		return "", fmt.Errorf("fingerprint %q: want the 64 hex digits of the key's SHA-256", s)
	}
	return t, nil
}

// LoadOrCreateKey reads the Ed25519 private key (PKCS #8 PEM) at path, or
// generates one from random and writes it there with mode 0600 when the file
// does not exist.
func LoadOrCreateKey(path string, random io.Reader) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path, random)
	}
	if err != nil {
		return nil, fmt.Errorf("load signing key %s: %w", path, err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("load signing key %s: not a PEM PRIVATE KEY", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("load signing key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("load signing key %s: not an Ed25519 key", path)
	}
	return priv, nil
}

func createKey(path string, random io.Reader) (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(random)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("write signing key %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write signing key %s: %w", path, err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("write signing key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write signing key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write signing key %s: %w", path, err)
	}
	return priv, nil
}

// MarshalPublicKey encodes a public key as PKIX PEM, as auditors receive it.
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKey decodes a PKIX PEM Ed25519 public key.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("parse public key: not a PEM PUBLIC KEY")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("parse public key: not an Ed25519 key")
	}
	return pub, nil
}
