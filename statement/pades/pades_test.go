package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"

	"remoteidv/statement"
)

// The demo pair is RSA-3072, slow to make: one per test binary.
var (
	demoOnce sync.Once
	demoDir  string
	demoErr  error
)

// demo returns a Config for the demo certificate, made once in a folder
// removed by TestMain. Times are real: pdfsig checks certificates at the
// current time.
func demo(t testing.TB) Config {
	t.Helper()
	demoOnce.Do(func() {
		demoDir, demoErr = os.MkdirTemp("", "pades-demo-")
		if demoErr == nil {
			_, demoErr = GenerateDemo(demoDir, "Example Bank", time.Now())
		}
	})
	if demoErr != nil {
		t.Fatalf("GenerateDemo: %v", demoErr)
	}
	cfg, err := GenerateDemo(demoDir, "Example Bank", time.Now())
	if err != nil {
		t.Fatalf("GenerateDemo (reuse): %v", err)
	}
	cfg.Location = "Shanghai"
	cfg.ContactInfo = "statements@example-bank.test"
	return cfg
}

func TestMain(m *testing.M) {
	code := m.Run()
	if demoDir != "" {
		os.RemoveAll(demoDir)
	}
	os.Exit(code)
}

// statementPDF is a real statement from the renderer.
func statementPDF(t testing.TB) []byte {
	t.Helper()
	gen := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	b, err := statement.Render(&statement.Statement{
		Bank: statement.Bank{Name: "Example Bank"}, HolderName: "Liu Yang", AccountNo: "6222000011112222",
		PeriodFrom: "2026-11-01", PeriodTo: "2026-11-30", Sections: []statement.Section{{Currency: "CNY", Opening: 1234567}},
		StatementID: "stm_0001", VerifyURL: "https://idv.example-bank.test/v/stm_0001", IssuedAt: gen,
	})
	if err != nil {
		t.Fatalf("statement.Render: %v", err)
	}
	return b
}

func load(t testing.TB, cfg Config) *Signer {
	t.Helper()
	s, err := Load(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}

func mustSign(t testing.TB, s *Signer, in []byte, at time.Time) []byte {
	t.Helper()
	out, err := s.Sign(context.Background(), in, at)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return out
}

// testCA is a certificate authority made in the test (ECDSA P-256).
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

var serialN int64

func nextSerial() *big.Int {
	serialN++
	return big.NewInt(time.Now().UnixNano() + serialN)
}

func newCA(t testing.TB, name string, parent *testCA) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: pkix.Name{CommonName: name, Organization: []string{"Test"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	issuer, signer := tmpl, crypto.Signer(key)
	if parent != nil {
		issuer, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: key}
}

// issue makes an end-entity ECDSA P-256 certificate; edit changes the
// template first.
func (ca *testCA) issue(t testing.TB, name string, edit func(*x509.Certificate)) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: pkix.Name{CommonName: name, Organization: []string{"Test"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment, BasicConstraintsValid: true,
	}
	if edit != nil {
		edit(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func writeFile(t testing.TB, dir, name string, blocks ...*pem.Block) string {
	t.Helper()
	var b bytes.Buffer
	for _, blk := range blocks {
		pem.Encode(&b, blk)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func certBlock(c *x509.Certificate) *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw} }

func keyBlock(t testing.TB, k crypto.Signer) *pem.Block {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
}

// ecdsaChain is a bank PKI with an intermediate: root -> issuing CA ->
// ECDSA P-256 signing certificate, written as the three files.
func ecdsaChain(t testing.TB) (Config, *testCA) {
	t.Helper()
	root := newCA(t, "Test Bank Root", nil)
	inter := newCA(t, "Test Bank Issuing CA", root)
	leaf, key := inter.issue(t, "Test Bank Statements", nil)
	dir := t.TempDir()
	return Config{
		CertFile:  writeFile(t, dir, "sign.pem", certBlock(leaf)),
		KeyFile:   writeFile(t, dir, "sign.key", keyBlock(t, key)),
		ChainFile: writeFile(t, dir, "chain.pem", certBlock(inter.cert), certBlock(root.cert)),
		Name:      "Test Bank", Reason: "Statement",
	}, root
}

// pdfsig runs poppler's pdfsig on pdf; trust lists the CA certificates an
// NSS database (made with certutil from libnss3-tools) trusts, nil for
// none. A missing tool fails the test.
func pdfsig(t testing.TB, pdfBytes []byte, trust ...*x509.Certificate) string {
	t.Helper()
	bin, err := exec.LookPath("pdfsig")
	if err != nil {
		t.Fatal("pdfsig not found: install the Debian package poppler-utils (scripts/setup.sh does)")
	}
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		t.Fatal("certutil not found: install the Debian package libnss3-tools (scripts/setup.sh does)")
	}
	dir := t.TempDir()
	nss := filepath.Join(dir, "nss")
	if err := os.Mkdir(nss, 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
		}
		return string(out)
	}
	run(certutil, "-N", "-d", "sql:"+nss, "--empty-password")
	for i, c := range trust {
		p := writeFile(t, dir, fmt.Sprintf("ca%d.pem", i), certBlock(c))
		run(certutil, "-A", "-d", "sql:"+nss, "-n", fmt.Sprintf("ca%d", i), "-t", "CT,C,C", "-i", p)
	}
	f := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(f, pdfBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	// Not -no-ocsp: with it poppler 22.12 reports every certificate as
	// "Unknown issue with Certificate or corrupted data". No certificate
	// made here names an OCSP responder, so nothing is asked of the network.
	return run(bin, "-nssdir", "sql:"+nss, f)
}

func mustContain(t testing.TB, what, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

func mustNotContain(t testing.TB, what, text string, bad ...string) {
	t.Helper()
	for _, w := range bad {
		if strings.Contains(text, w) {
			t.Errorf("%s has %q:\n%s", what, w, text)
		}
	}
}

// parseCMS returns the one signature's CMS.
func parseCMS(t testing.TB, signed []byte) *pkcs7.PKCS7 {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(signed), int64(len(signed)))
	if err != nil {
		t.Fatal(err)
	}
	contents := []byte(r.Trailer().Key("Root").Key("AcroForm").Key("Fields").Index(0).Key("V").Key("Contents").RawString())
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(contents, &outer); err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(outer.FullBytes)
	if err != nil {
		t.Fatal(err)
	}
	return p7
}

// TestSignValidatesWithPdfsig signs a rendered statement with the demo
// certificate (RSA-3072 under a root) and with an ECDSA P-256 certificate
// under an intermediate, and has poppler's pdfsig (NSS) and Verify check
// it: valid, the whole document, ETSI.CAdES.detached, the configured chain
// in the CMS, trusted only when the configured root is in pdfsig's NSS
// database; the CMS has signing-certificate-v2 and no signing-time; the
// catalog's /Perms /DocMDP names the signature (a certification signature).
func TestSignValidatesWithPdfsig(t *testing.T) {
	ecCfg, ecRoot := ecdsaChain(t)
	dcfg := demo(t)
	tests := []struct {
		name     string
		cfg      Config
		root     func(*Signer) *x509.Certificate
		chainLen int
		subject  string
	}{
		{"demo RSA-3072", dcfg, func(s *Signer) *x509.Certificate { return s.Chain()[0] }, 2, "CN=Example Bank Statements (demo),O=Example Bank"},
		{"ECDSA P-256 with intermediate", ecCfg, func(*Signer) *x509.Certificate { return ecRoot.cert }, 3, "CN=Test Bank Statements,O=Test"},
	}
	in := statementPDF(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := load(t, tc.cfg)
			at := time.Now().Truncate(time.Second)
			out := mustSign(t, s, in, at)
			if !bytes.HasPrefix(out, in) {
				t.Fatal("Sign did not append an incremental update: the original bytes changed")
			}

			got := pdfsig(t, out, tc.root(s))
			mustContain(t, "pdfsig (root trusted)", got,
				"Signature Validation: Signature is Valid.",
				"Total document signed",
				"Certificate Validation: Certificate is Trusted.",
				"Signature Type: ETSI.CAdES.detached",
				"Signing Hash Algorithm: SHA-256",
				"Signer full Distinguished Name: "+tc.subject,
				"Signing Time: "+at.UTC().Format("Jan 02 2006 15:04:05"),
			)
			untrusted := pdfsig(t, out)
			mustContain(t, "pdfsig (no root)", untrusted, "Signature Validation: Signature is Valid.")
			mustNotContain(t, "pdfsig (no root)", untrusted, "Certificate is Trusted.")

			roots := x509.NewCertPool()
			roots.AddCert(tc.root(s))
			res, err := Verify(out, roots, at)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if len(res.Signatures) != 1 || !res.WholeDocument {
				t.Fatalf("Verify = %d signatures, whole document %v; want 1, true", len(res.Signatures), res.WholeDocument)
			}
			sig := res.Signatures[0]
			if sig.Subject != tc.subject || !sig.SigningTime.Equal(at) || len(sig.Chain) != tc.chainLen || !sig.Timestamp.IsZero() {
				t.Errorf("Verify signature = %q at %v, chain of %d, time-stamp %v; want %q at %v, chain of %d, none",
					sig.Subject, sig.SigningTime, len(sig.Chain), sig.Timestamp, tc.subject, at, tc.chainLen)
			}

			// A certification signature: the catalog's Perms names it (DocMDP).
			r, err := pdf.NewReader(bytes.NewReader(out), int64(len(out)))
			if err != nil {
				t.Fatal(err)
			}
			docmdp := r.Trailer().Key("Root").Key("Perms").Key("DocMDP")
			if docmdp.Key("SubFilter").Name() != SubFilter || docmdp.Key("Reference").Index(0).Key("TransformParams").Key("P").Int64() != 1 {
				t.Errorf("catalog /Perms /DocMDP = %v, want the signature with DocMDP P 1", docmdp)
			}

			p7 := parseCMS(t, out)
			if len(p7.Certificates) != tc.chainLen {
				t.Errorf("CMS carries %d certificates, want the leaf and the configured chain (%d)", len(p7.Certificates), tc.chainLen)
			}
			var st time.Time
			if err := p7.UnmarshalSignedAttribute(oidSigningTime, &st); err == nil {
				t.Errorf("CMS has a signing-time attribute (%v): PAdES puts the time in M only", st)
			}
			var scv2 signingCertificateV2
			if err := p7.UnmarshalSignedAttribute(oidSigningCertificate, &scv2); err != nil {
				t.Errorf("CMS lacks signing-certificate-v2: %v", err)
			}
		})
	}
}

// TestSignDeterministic: with an RSA key the same statement signed at the
// same time gives the same bytes.
func TestSignDeterministic(t *testing.T) {
	s := load(t, demo(t))
	in := statementPDF(t)
	at := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	a, b := mustSign(t, s, in, at), mustSign(t, s, in, at)
	if !bytes.Equal(a, b) {
		t.Error("two signatures of the same statement at the same time differ")
	}
	c := mustSign(t, s, in, at.Add(time.Second))
	if bytes.Equal(a, c) {
		t.Error("signatures at different times are equal")
	}
}

// appendUpdate appends a well-formed incremental update (one new object and
// a new Info dictionary) to a signed PDF.
func appendUpdate(t testing.TB, signed []byte) []byte {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(signed), int64(len(signed)))
	if err != nil {
		t.Fatal(err)
	}
	root := r.Trailer().Key("Root").GetPtr()
	size := r.Trailer().Key("Size").Int64()
	m := regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`).FindSubmatch(signed)
	if m == nil {
		t.Fatal("no startxref at the end")
	}
	prev, _ := strconv.Atoi(string(m[1]))
	out := append([]byte(nil), signed...)
	off := len(out)
	out = append(out, fmt.Sprintf("%d 0 obj\n<< /Producer (changed after signing) >>\nendobj\n", size)...)
	xref := len(out)
	out = append(out, fmt.Sprintf("xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root %d %d R /Info %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n",
		size, off, size+1, root.GetID(), root.GetGen(), size, prev, xref)...)
	return out
}

// TestTamper: a byte changed inside a signed range fails pdfsig and Verify;
// a changed signature fails both; an incremental update after signing
// leaves the signature valid but not covering the document.
func TestTamper(t *testing.T) {
	s := load(t, demo(t))
	ca := s.Chain()[0]
	signed := mustSign(t, s, statementPDF(t), time.Now().Truncate(time.Second))
	r, err := pdf.NewReader(bytes.NewReader(signed), int64(len(signed)))
	if err != nil {
		t.Fatal(err)
	}
	br := r.Trailer().Key("Root").Key("AcroForm").Key("Fields").Index(0).Key("V").Key("ByteRange")
	gapStart, gapEnd := int(br.Index(1).Int64()), int(br.Index(2).Int64())
	sigHex := []byte(fmt.Sprintf("%x", parseCMS(t, signed).Signers[0].EncryptedDigest))
	sigAt := bytes.Index(signed[gapStart:gapEnd], sigHex) + gapStart + 10
	if sigAt < gapStart+10 {
		t.Fatal("signature value not found in /Contents")
	}
	after := func(what string, skip int) int {
		i := bytes.Index(signed[gapEnd:], []byte(what))
		if i < 0 {
			t.Fatalf("%q not found after the signature", what)
		}
		return gapEnd + i + skip
	}
	flip := func(i int) func([]byte) []byte {
		return func(b []byte) []byte {
			b = append([]byte(nil), b...)
			c := b[i]
			switch {
			case c >= '0' && c <= '8', c >= 'a' && c <= 'e':
				b[i] = c + 1
			default:
				b[i] ^= 0x01
			}
			return b
		}
	}
	// A byte of the first page's content stream (compressed or not).
	textAt := bytes.Index(signed, []byte("stream\n")) + 20
	producerAt := bytes.Index(signed, []byte("/Producer (")) + 12
	if textAt < 20 || producerAt < 12 || producerAt > gapStart {
		t.Fatal("no content stream or Producer before the signature")
	}
	tests := []struct {
		name      string
		change    func([]byte) []byte
		pdfsig    []string // all must appear
		pdfsigNot []string
		verifyErr string // "" : Verify passes
		whole     bool
	}{
		{"page content byte", flip(textAt), nil, []string{"Signature is Valid."}, "altered after signing", false},
		{"document information Producer", flip(producerAt), nil, []string{"Signature is Valid."}, "altered after signing", false},
		{"signature dictionary M (after Contents)", flip(after("/M (D:", 9)), nil, []string{"Signature is Valid."}, "altered after signing", false},
		{"signature dictionary Reason (after Contents)", flip(after("/Reason (", 10)), nil, []string{"Signature is Valid."}, "altered after signing", false},
		{"inside the signature value", flip(sigAt), nil, []string{"Signature is Valid."}, "", false},
		{"incremental update appended", func(b []byte) []byte { return appendUpdate(t, b) }, []string{"Signature is Valid.", "Not total document signed"}, nil, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			changed := tc.change(signed)
			if bytes.Equal(changed, signed) {
				t.Fatal("nothing changed")
			}
			out := pdfsig(t, changed, ca)
			mustContain(t, "pdfsig", out, tc.pdfsig...)
			mustNotContain(t, "pdfsig", out, tc.pdfsigNot...)
			res, err := Verify(changed, s.Roots(), time.Now())
			if len(tc.pdfsigNot) > 0 {
				// Every change inside the signed bytes or the signature.
				if err == nil {
					t.Fatalf("Verify of a changed file passed: %+v", res)
				}
				if tc.verifyErr != "" && !strings.Contains(err.Error(), tc.verifyErr) {
					t.Errorf("Verify error = %v, want it to say %q", err, tc.verifyErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.WholeDocument != tc.whole {
				t.Errorf("Verify WholeDocument = %v, want %v", res.WholeDocument, tc.whole)
			}
		})
	}
}

// tsa is an RFC 3161 time-stamping authority over HTTP on loopback: it
// parses the request (timestamp.ParseRequest) and answers with a token
// signed by a TSA certificate (extended key usage timeStamping, critical)
// under its own root.
type tsa struct {
	root  *testCA
	srv   *httptest.Server
	time  time.Time
	calls int
	mu    sync.Mutex
}

func newTSA(t testing.TB) *tsa {
	t.Helper()
	ts := &tsa{root: newCA(t, "Test TSA Root", nil), time: time.Now().Truncate(time.Second)}
	cert, key := ts.root.issue(t, "Test TSA", func(c *x509.Certificate) {
		c.KeyUsage = x509.KeyUsageDigitalSignature
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}
	})
	ts.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.calls++
		now := ts.time
		ts.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/timestamp-query" {
			http.Error(w, "want a POST of application/timestamp-query", http.StatusBadRequest)
			return
		}
		var body bytes.Buffer
		body.ReadFrom(r.Body)
		req, err := timestamp.ParseRequest(body.Bytes())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := (&timestamp.Timestamp{
			HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage, Nonce: req.Nonce,
			Time: now, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, AddTSACertificate: req.Certificates,
		}).CreateResponseWithOpts(cert, key, crypto.SHA256)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write(resp)
	}))
	t.Cleanup(ts.srv.Close)
	return ts
}

func (ts *tsa) count() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.calls
}

// TestTimestampBT: with a TSA configured the signature carries a
// signature time-stamp token over its value, obtained from a TSA over HTTP;
// pdfsig still validates the whole signed document, Verify reports the
// token's time, and a failing TSA fails the signing.
func TestTimestampBT(t *testing.T) {
	ts := newTSA(t)
	cfg := demo(t)
	cfg.TSAURL = ts.srv.URL
	s := load(t, cfg)
	at := time.Now().Truncate(time.Second)
	out := mustSign(t, s, statementPDF(t), at)
	if n := ts.count(); n != 1 {
		t.Fatalf("TSA called %d times, want 1", n)
	}

	got := pdfsig(t, out, s.Chain()[0])
	mustContain(t, "pdfsig", got, "Signature Validation: Signature is Valid.", "Total document signed", "Certificate is Trusted.", "Signature Type: ETSI.CAdES.detached")
	t.Logf("pdfsig on a B-T signature:\n%s", got)

	p7 := parseCMS(t, out)
	var token []byte
	for _, a := range p7.Signers[0].UnauthenticatedAttributes {
		if a.Type.Equal(oidTimeStampToken) {
			token = a.Value.Bytes
		}
	}
	if token == nil {
		t.Fatal("no signature-time-stamp unsigned attribute in the CMS")
	}
	tok, err := timestamp.Parse(token)
	if err != nil {
		t.Fatalf("timestamp.Parse(token): %v", err)
	}
	if !tok.Time.Equal(ts.time) {
		t.Errorf("token time = %v, want the TSA's %v", tok.Time, ts.time)
	}

	for _, withTSARoot := range []bool{false, true} {
		roots := s.Roots()
		if withTSARoot {
			roots.AddCert(ts.root.cert)
		}
		res, err := Verify(out, roots, at)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		sig := res.Signatures[0]
		if !sig.Timestamp.Equal(ts.time) || sig.TimestampTrusted != withTSARoot || !res.WholeDocument {
			t.Errorf("Verify (TSA root given %v) = time-stamp %v trusted %v, whole %v; want %v, %v, true",
				withTSARoot, sig.Timestamp, sig.TimestampTrusted, res.WholeDocument, ts.time, withTSARoot)
		}
	}

	// A token dated after the certificate expired proves nothing.
	ts.mu.Lock()
	ts.time = s.Certificate().NotAfter.Add(24 * time.Hour).Truncate(time.Second)
	ts.mu.Unlock()
	late := mustSign(t, s, statementPDF(t), at)
	if _, err := Verify(late, s.Roots(), at); err == nil || !strings.Contains(err.Error(), "outside the signer's validity") {
		t.Errorf("Verify of a signature time-stamped after expiry = %v, want an error", err)
	}

	ts.srv.Close()
	if _, err := s.Sign(context.Background(), statementPDF(t), at); err == nil || !strings.Contains(err.Error(), "time-stamp") {
		t.Errorf("Sign with the TSA down = %v, want a time-stamp error", err)
	}
}

// TestLoadRefuses: Load names the file and the reason for every set-up a
// bank must not sign with.
func TestLoadRefuses(t *testing.T) {
	good, _ := ecdsaChain(t)
	other := newCA(t, "Another Root", nil)
	root := newCA(t, "Bank Root", nil)
	dir := t.TempDir()
	rootFile := writeFile(t, dir, "root.pem", certBlock(root.cert))
	leafWith := func(name string, edit func(*x509.Certificate)) (string, string) {
		c, k := root.issue(t, name, edit)
		return writeFile(t, dir, name+".pem", certBlock(c)), writeFile(t, dir, name+".key", keyBlock(t, k))
	}
	noUsageCert, noUsageKey := leafWith("nousage", func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyEncipherment })
	serverCert, serverKey := leafWith("server", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} })
	expiredCert, expiredKey := leafWith("expired", func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = time.Now().AddDate(-2, 0, 0), time.Now().AddDate(-1, 0, 0)
	})
	nrCert, nrKey := leafWith("nonrepudiation", func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageContentCommitment })
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKeyFile := writeFile(t, dir, "other.key", keyBlock(t, otherKey))
	otherChain := writeFile(t, dir, "otherchain.pem", certBlock(other.cert))
	interOnly := writeFile(t, dir, "inter-only.pem", certBlock(newCA(t, "Lone Intermediate", root).cert))

	with := func(f func(*Config)) Config { c := good; f(&c); return c }
	tests := []struct {
		name string
		cfg  Config
		want []string // the error must say each
	}{
		{"chain of another root", with(func(c *Config) { c.ChainFile = otherChain }), []string{"does not chain", otherChain}},
		{"chain without its intermediate", with(func(c *Config) {
			c.ChainFile = writeFile(t, dir, "rootonly.pem", certBlock(mustRead(t, good.ChainFile)[1]))
		}), []string{"does not chain"}},
		{"chain without a root", with(func(c *Config) { c.ChainFile = interOnly }), []string{"no root", interOnly}},
		{"key of another certificate", with(func(c *Config) { c.KeyFile = otherKeyFile }), []string{"does not belong", otherKeyFile}},
		{"no signing key usage", Config{CertFile: noUsageCert, KeyFile: noUsageKey, ChainFile: rootFile}, []string{"digitalSignature", noUsageCert}},
		{"server certificate", Config{CertFile: serverCert, KeyFile: serverKey, ChainFile: rootFile}, []string{"extended key usage", serverCert}},
		{"expired", Config{CertFile: expiredCert, KeyFile: expiredKey, ChainFile: rootFile}, []string{"not valid now", expiredCert}},
		{"not yet valid (clock)", with(func(c *Config) { c.Now = func() time.Time { return time.Now().AddDate(-1, 0, 0) } }), []string{"not valid now"}},
		{"missing key file", with(func(c *Config) { c.KeyFile = filepath.Join(dir, "absent.key") }), []string{"absent.key"}},
		{"certificate file holds the chain", with(func(c *Config) { c.CertFile = c.ChainFile }), []string{"exactly one certificate"}},
		{"key file is a certificate", with(func(c *Config) { c.KeyFile = c.CertFile }), []string{"not a private key", good.CertFile}},
		{"no files", Config{}, []string{"required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(context.Background(), tc.cfg)
			if err == nil {
				t.Fatal("Load passed")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load error = %v, want it to say %q", err, w)
				}
			}
		})
	}
	// nonRepudiation alone is enough.
	if _, err := Load(context.Background(), Config{CertFile: nrCert, KeyFile: nrKey, ChainFile: rootFile}); err != nil {
		t.Errorf("Load of a nonRepudiation-only certificate: %v", err)
	}
}

func mustRead(t testing.TB, path string) []*x509.Certificate {
	t.Helper()
	c, err := readCerts(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGenerateDemo: the demo files are reused while valid (same
// certificate across restarts), the key is 0600, and an expired pair is
// made anew.
func TestGenerateDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	now := time.Now()
	cfg, err := GenerateDemo(dir, "Example Bank", now)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(cfg.CertFile)
	st, err := os.Stat(cfg.KeyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v (%v), want 0600", st.Mode().Perm(), err)
	}
	s := load(t, cfg)
	if s.Certificate().KeyUsage&x509.KeyUsageContentCommitment == 0 || len(s.Certificate().ExtKeyUsage) != 0 || s.Certificate().PublicKeyAlgorithm != x509.RSA {
		t.Errorf("demo certificate: key usage %v, extended %v, %v; want nonRepudiation, none, RSA", s.Certificate().KeyUsage, s.Certificate().ExtKeyUsage, s.Certificate().PublicKeyAlgorithm)
	}
	if _, err := GenerateDemo(dir, "Example Bank", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(cfg.CertFile)
	if !bytes.Equal(first, again) {
		t.Error("GenerateDemo made a new certificate although the old one is valid")
	}
	later := now.AddDate(3, 0, 0)
	if _, err := GenerateDemo(dir, "Example Bank", later); err != nil {
		t.Fatal(err)
	}
	renewed, _ := os.ReadFile(cfg.CertFile)
	if bytes.Equal(first, renewed) {
		t.Error("GenerateDemo kept an expired certificate")
	}
}

// TestVerifyRefuses: Verify fails for an unsigned file, for roots that do
// not include the bank's, and for a signature checked after the
// certificate expired.
func TestVerifyRefuses(t *testing.T) {
	s := load(t, demo(t))
	in := statementPDF(t)
	signed := mustSign(t, s, in, time.Now())
	if _, err := s.Sign(context.Background(), signed, time.Now()); err == nil {
		t.Error("Sign of a signed PDF passed")
	}
	other := x509.NewCertPool()
	other.AddCert(newCA(t, "Another Root", nil).cert)
	tests := []struct {
		name  string
		pdf   []byte
		roots *x509.CertPool
		at    time.Time
		want  string
	}{
		{"unsigned", in, s.Roots(), time.Now(), "not signed"},
		{"cut in half", signed[:len(signed)/2], s.Roots(), time.Now(), "verify statement signature"},
		{"not a PDF", []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"), s.Roots(), time.Now(), "verify statement signature"},
		{"signature contents cut", cutContents(t, signed), s.Roots(), time.Now(), "verify statement signature"},
		{"other roots", signed, other, time.Now(), "unknown authority"},
		{"after expiry", signed, s.Roots(), time.Now().AddDate(3, 0, 0), "expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.pdf, tc.roots, tc.at)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Verify = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// cutContents replaces the start of the signature's /Contents with zeros
// (the same length): the CMS is gone.
func cutContents(t testing.TB, signed []byte) []byte {
	t.Helper()
	i := bytes.Index(signed, []byte("/Contents<"))
	if i < 0 {
		t.Fatal("no /Contents")
	}
	out := append([]byte(nil), signed...)
	copy(out[i+len("/Contents<"):], bytes.Repeat([]byte("0"), 64))
	return out
}

func TestParsePDFDate(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"D:20261204120000+00'00'", time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)},
		{"D:20261204200000+08'00'", time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)},
		{"D:20261204070000-05'00", time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)},
		{"D:20261204120000Z", time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)},
		{"D:2026", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		got, err := parsePDFDate(tc.in)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parsePDFDate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "D:20", "D:20261204120000X"} {
		if _, err := parsePDFDate(bad); err == nil {
			t.Errorf("parsePDFDate(%q) passed", bad)
		}
	}
}

// FuzzVerify: whatever a file holds, Verify does not panic, and when it
// accepts a file as wholly signed, the file outside the signature's
// /Contents is byte for byte the one the bank signed.
func FuzzVerify(f *testing.F) {
	s := load(f, demo(f))
	signed := mustSign(f, s, statementPDF(f), time.Now())
	f.Add(signed)
	f.Add(signed[:len(signed)-10])
	f.Add(appendUpdate(f, signed))
	f.Add(statementPDF(f))
	roots := s.Roots()
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := Verify(b, roots, time.Now())
		if err != nil || !res.WholeDocument {
			return
		}
		br := res.Signatures[len(res.Signatures)-1].ByteRange
		a, l1, c, l2 := br[0], br[1], br[2], br[3]
		signedPart := append(append([]byte(nil), b[a:a+l1]...), b[c:c+l2]...)
		i := bytes.Index(signed, []byte("/Contents<"))
		j := bytes.IndexByte(signed[i:], '>') + i + 1
		orig := append(append([]byte(nil), signed[:i+len("/Contents")]...), signed[j:]...)
		if !bytes.Equal(signedPart, orig) {
			t.Errorf("Verify accepted a file whose signed bytes differ from what was signed")
		}
	})
}
