// Package pades signs the bank's statement PDFs with a PAdES signature
// (ETSI EN 319 142-1 baseline B-B, and B-T where a time-stamping authority
// is configured) made with the bank's X.509 signing certificate, and
// verifies such signatures offline against the bank's certificate.
//
// The PDF side (the incremental update with the signature field, its
// dictionary, the byte range and the cross-reference section) is written by
// github.com/digitorus/pdfsign. Its own CMS is not PAdES baseline (it names
// the SubFilter adbe.pkcs7.detached and puts a signing-time attribute in the
// CMS), so this package builds the CAdES-detached CMS itself (encoding/asn1,
// signed attributes content-type, message-digest and signing-certificate-v2,
// no signing-time: the claimed time is the dictionary's M) and writes it into
// the space pdfsign reserved. pdfsign also leaves the catalog without the
// /Perms /DocMDP entry its certification signature needs; Sign adds it. Verification parses with github.com/digitorus/pdf
// and github.com/digitorus/pkcs7, an implementation independent of the CMS
// writer here.
package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"
)

// Config names the bank's signing material and what the signature says.
type Config struct {
	// CertFile is the PEM signing certificate (the leaf).
	CertFile string
	// KeyFile is its PEM private key: PKCS#8, SEC 1 (EC) or PKCS#1 (RSA).
	// RSA (2048 bits or more) and ECDSA P-256/P-384 keys are accepted.
	KeyFile string
	// ChainFile holds the PEM certificates that issue the leaf: any
	// intermediates and the root (self-signed). The chain must verify.
	ChainFile string
	// TSAURL is an RFC 3161 time-stamping authority; when set, signatures
	// carry a signature time-stamp (PAdES B-T).
	TSAURL string
	// Name, Location, Reason and ContactInfo are written into the signature
	// dictionary.
	Name        string
	Location    string
	Reason      string
	ContactInfo string
	// HTTPClient talks to the TSA (nil: a client with a 30 s timeout).
	HTTPClient *http.Client
	// Now is the clock for the validity checks at Load (nil: time.Now).
	Now func() time.Time
}

// Signer signs PDFs with the bank's certificate. It is safe for concurrent
// use.
type Signer struct {
	cfg   Config
	key   crypto.Signer
	leaf  *x509.Certificate
	chain []*x509.Certificate // issuers, leaf's issuer first where found
	http  *http.Client
}

// Certificate is the signing certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.leaf }

// Chain is the configured issuing chain (intermediates and root).
func (s *Signer) Chain() []*x509.Certificate { return append([]*x509.Certificate(nil), s.chain...) }

// Roots is a pool of the self-signed certificates of the configured chain,
// what Verify needs to check this signer's statements.
func (s *Signer) Roots() *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range s.chain {
		if selfSigned(c) {
			p.AddCert(c)
		}
	}
	return p
}

// Load reads and checks the signing material: the key must be the
// certificate's, the certificate must allow digitalSignature or
// nonRepudiation (contentCommitment) in its key usage, must not be a CA,
// must carry no extended key usage but emailProtection, documentSigning
// (RFC 9336), Adobe's authenticDocumentsTrust or anyExtendedKeyUsage (none
// at all is best: poppler's pdfsig checks the signer through NSS as an
// email signer, which refuses a certificate whose extended key usage lacks
// emailProtection), must be valid now, and must chain to a root (a
// self-signed certificate) in ChainFile. Errors name the file.
func Load(ctx context.Context, cfg Config) (*Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.CertFile == "" || cfg.KeyFile == "" || cfg.ChainFile == "" {
		return nil, errors.New("load statement signer: certificate, key and chain files are all required")
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	certs, err := readCerts(cfg.CertFile)
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("load statement signer: %s: want exactly one certificate (the signing certificate), found %d; put its issuers in the chain file", cfg.CertFile, len(certs))
	}
	leaf := certs[0]
	key, err := readKey(cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	if !publicEqual(key.Public(), leaf.PublicKey) {
		return nil, fmt.Errorf("load statement signer: key %s does not belong to certificate %s", cfg.KeyFile, cfg.CertFile)
	}
	if err := checkLeaf(leaf, now()); err != nil {
		return nil, fmt.Errorf("load statement signer: %s: %w", cfg.CertFile, err)
	}
	chain, err := readCerts(cfg.ChainFile)
	if err != nil {
		return nil, err
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("load statement signer: %s: no certificates", cfg.ChainFile)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	nroots := 0
	for _, c := range chain {
		if selfSigned(c) {
			roots.AddCert(c)
			nroots++
		} else {
			inter.AddCert(c)
		}
	}
	if nroots == 0 {
		return nil, fmt.Errorf("load statement signer: %s: no root (self-signed) certificate: the chain file must end at the bank's root", cfg.ChainFile)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("load statement signer: %s does not chain to a root in %s: %w", cfg.CertFile, cfg.ChainFile, err)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &Signer{cfg: cfg, key: key, leaf: leaf, chain: orderChain(leaf, chain), http: client}, nil
}

// checkLeaf says why c cannot sign statements at now, if it cannot.
func checkLeaf(c *x509.Certificate, now time.Time) error {
	if c.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return errors.New("key usage has neither digitalSignature nor nonRepudiation (contentCommitment)")
	}
	for _, u := range c.ExtKeyUsage {
		if u != x509.ExtKeyUsageEmailProtection && u != x509.ExtKeyUsageAny {
			return fmt.Errorf("extended key usage %d is not for document signing (allowed: none, emailProtection, anyExtendedKeyUsage, documentSigning, Adobe authenticDocumentsTrust)", u)
		}
	}
	for _, u := range c.UnknownExtKeyUsage {
		if !u.Equal(oidEKUDocumentSigning) && !u.Equal(oidEKUAdobeAuthenticDocuments) {
			return fmt.Errorf("extended key usage %s is not for document signing (allowed: none, emailProtection, anyExtendedKeyUsage, documentSigning, Adobe authenticDocumentsTrust)", u)
		}
	}
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return fmt.Errorf("not valid now (%s): valid %s to %s", now.UTC().Format(time.RFC3339), c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
	}
	if c.IsCA {
		return errors.New("is a CA certificate: sign with an end-entity certificate issued for signing")
	}
	return nil
}

var (
	oidEKUDocumentSigning         = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}
	oidEKUAdobeAuthenticDocuments = asn1.ObjectIdentifier{1, 2, 840, 113583, 1, 1, 5}
)

func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// orderChain returns chain from the leaf's issuer up, then whatever does
// not belong to the path.
func orderChain(leaf *x509.Certificate, chain []*x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	used := make([]bool, len(chain))
	cur := leaf
	for {
		found := false
		for i, c := range chain {
			if !used[i] && bytes.Equal(cur.RawIssuer, c.RawSubject) && cur.CheckSignatureFrom(c) == nil {
				used[i], found = true, true
				out = append(out, c)
				cur = c
				break
			}
		}
		if !found || selfSigned(cur) {
			break
		}
	}
	for i, c := range chain {
		if !used[i] {
			out = append(out, c)
		}
	}
	return out
}

func readCerts(path string) ([]*x509.Certificate, error) {
	out, err := readPEMCerts(path)
	if err != nil {
		return nil, fmt.Errorf("load statement signer: %w", err)
	}
	return out, nil
}

// ReadRoots reads the certificates of a PEM file (the bank's statement
// root, as the bank publishes it) into a pool for Verify.
func ReadRoots(path string) (*x509.CertPool, error) {
	certs, err := readPEMCerts(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// readPEMCerts reads every CERTIFICATE block of a PEM file; none is an
// error.
func readPEMCerts(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PEM CERTIFICATE block", path)
	}
	return out, nil
}

func readKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load statement signer: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("load statement signer: %s: no PEM block", path)
	}
	var k any
	switch blk.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("load statement signer: %s: PEM block %q is not a private key (want PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY; encrypted keys are not read)", path, blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("load statement signer: %s: %w", path, err)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("load statement signer: %s: RSA key of %d bits: want 2048 or more", path, k.N.BitLen())
		}
		return k, nil
	case *ecdsa.PrivateKey:
		if n := k.Curve.Params().Name; n != "P-256" && n != "P-384" {
			return nil, fmt.Errorf("load statement signer: %s: ECDSA curve %s: want P-256 or P-384", path, n)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("load statement signer: %s: key type %T: want RSA or ECDSA", path, k)
	}
}

func publicEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}
