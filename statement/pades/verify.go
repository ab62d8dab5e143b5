package pades

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
)

// Result is what Verify found.
type Result struct {
	// Signatures are the document's signatures, in the order of its
	// signature fields; every one verified.
	Signatures []Signature
	// WholeDocument is true when the last signature's byte range covers the
	// whole file but its own /Contents: nothing was appended after signing.
	// False means an incremental update after the signature (added pages,
	// annotations, a changed text): what was signed is intact, but the file
	// says more than the bank signed.
	WholeDocument bool
}

// Signature is one verified signature.
type Signature struct {
	// Signer is the signing certificate; Subject is its subject.
	Signer  *x509.Certificate
	Subject string
	// Chain is the verified path from the signer to a root in roots.
	Chain []*x509.Certificate
	// SigningTime is the claimed time (the dictionary's M), zero if absent.
	SigningTime time.Time
	// Timestamp is the signature time-stamp's time (PAdES B-T), zero if the
	// signature has none. TimestampTrusted says the token's TSA certificate
	// chains to roots; its signature over the token is always checked.
	Timestamp        time.Time
	TimestampTrusted bool
	// SubFilter is the signature dictionary's SubFilter.
	SubFilter string
	// ByteRange is the signed ranges as offset, length, offset, length.
	ByteRange [4]int64
	// Covers is true when this signature's range ends at the end of file.
	Covers bool
}

// Verify checks pdf's signatures offline: each signature field's byte
// range starts at 0 and leaves out exactly its /Contents string, the CMS
// (parsed by github.com/digitorus/pkcs7) is a detached SignedData with one
// signer whose message digest is the SHA-256 of the signed ranges and
// whose signature over the signed attributes verifies with its
// certificate, the signing-certificate-v2 attribute names that
// certificate, the SubFilter is ETSI.CAdES.detached, the signer chains to
// roots at time at (intermediates taken from the CMS), and a signature
// time-stamp, if present, is signed, over the signature value and within
// the signer's validity. at is when the chain is checked: now for a fresh
// statement, or a signature time-stamp's time for an old one whose
// certificate has since expired. It
// returns an error if the file has no signature or any check fails; an
// altered byte inside a signed range fails the digest.
//
// The caller must still check that Result.WholeDocument is true before it
// treats the file as what the bank sent, and that the signer is the
// certificate it expects if roots hold more than the bank's. Revocation is
// not checked.
func Verify(pdfBytes []byte, roots *x509.CertPool, at time.Time) (res *Result, err error) {
	// The PDF reader (a fork of rsc.io/pdf) panics on some malformed
	// files; a file to verify comes from anyone.
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("verify statement signature: malformed PDF: %v", r)
		}
	}()
	if roots == nil {
		return nil, errors.New("verify statement signature: no roots")
	}
	rdr, err := pdf.NewReader(bytes.NewReader(pdfBytes), int64(len(pdfBytes)))
	if err != nil {
		return nil, fmt.Errorf("verify statement signature: read pdf: %w", err)
	}
	fields := rdr.Trailer().Key("Root").Key("AcroForm").Key("Fields")
	res = &Result{}
	for i := 0; i < fields.Len(); i++ {
		f := fields.Index(i)
		if f.Key("FT").Name() != "Sig" {
			continue
		}
		sig, err := verifyOne(pdfBytes, f.Key("V"), roots, at)
		if err != nil {
			return nil, fmt.Errorf("verify statement signature %d: %w", len(res.Signatures)+1, err)
		}
		res.Signatures = append(res.Signatures, *sig)
	}
	if len(res.Signatures) == 0 {
		return nil, errors.New("verify statement signature: the PDF is not signed")
	}
	res.WholeDocument = res.Signatures[len(res.Signatures)-1].Covers
	return res, nil
}

func verifyOne(file []byte, v pdf.Value, roots *x509.CertPool, at time.Time) (*Signature, error) {
	var sig Signature
	sig.SubFilter = v.Key("SubFilter").Name()
	if sig.SubFilter != SubFilter {
		return nil, fmt.Errorf("SubFilter %q: want %s", sig.SubFilter, SubFilter)
	}
	br := v.Key("ByteRange")
	if br.Len() != 4 {
		return nil, fmt.Errorf("ByteRange has %d numbers: want 4", br.Len())
	}
	for i := range 4 {
		sig.ByteRange[i] = br.Index(i).Int64()
	}
	a, b, c, d := sig.ByteRange[0], sig.ByteRange[1], sig.ByteRange[2], sig.ByteRange[3]
	n := int64(len(file))
	if a != 0 || b <= 0 || c <= b+1 || d < 0 || c+d > n {
		return nil, fmt.Errorf("ByteRange %v does not fit a file of %d bytes starting at 0", sig.ByteRange, n)
	}
	// The gap must be exactly the hex string the dictionary's Contents is.
	gap := file[b:c]
	if gap[0] != '<' || gap[len(gap)-1] != '>' {
		return nil, fmt.Errorf("ByteRange %v leaves out more than the signature's Contents", sig.ByteRange)
	}
	raw, err := hex.DecodeString(string(gap[1 : len(gap)-1]))
	if err != nil {
		return nil, fmt.Errorf("ByteRange %v leaves out more than the signature's Contents: %w", sig.ByteRange, err)
	}
	if !bytes.Equal(raw, []byte(v.Key("Contents").RawString())) {
		return nil, fmt.Errorf("ByteRange %v does not leave out this signature's Contents", sig.ByteRange)
	}
	sig.Covers = c+d == n
	// Contents is padded with zeros after the DER CMS.
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(raw, &outer); err != nil {
		return nil, fmt.Errorf("signature Contents is not DER: %w", err)
	}
	p7, err := pkcs7.Parse(outer.FullBytes)
	if err != nil {
		return nil, fmt.Errorf("parse CMS: %w", err)
	}
	if len(p7.Signers) != 1 {
		return nil, fmt.Errorf("CMS has %d signers: want 1", len(p7.Signers))
	}
	if len(p7.Content) != 0 {
		return nil, errors.New("CMS is not detached")
	}
	p7.Content = append(append([]byte(nil), file[a:a+b]...), file[c:c+d]...)
	// Digest and signature only (no roots): the chain is checked below at
	// the caller's time.
	if err := p7.Verify(); err != nil {
		var mm *pkcs7.MessageDigestMismatchError
		if errors.As(err, &mm) {
			return nil, fmt.Errorf("the document was altered after signing: %w", err)
		}
		return nil, fmt.Errorf("CMS signature: %w", err)
	}
	signer := p7.GetOnlySigner()
	if signer == nil {
		return nil, errors.New("CMS has no certificate for its signer")
	}
	sig.Signer, sig.Subject = signer, signer.Subject.String()
	var scv2 signingCertificateV2
	if err := p7.UnmarshalSignedAttribute(oidSigningCertificate, &scv2); err != nil {
		return nil, fmt.Errorf("signing-certificate-v2 attribute: %w", err)
	}
	want := sha256.Sum256(signer.Raw)
	if len(scv2.Certs) == 0 || !bytes.Equal(scv2.Certs[0].CertHash, want[:]) {
		return nil, errors.New("signing-certificate-v2 attribute does not name the signer's certificate")
	}
	if signer.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return nil, errors.New("signer's certificate allows neither digitalSignature nor nonRepudiation")
	}
	inter := x509.NewCertPool()
	for _, c := range p7.Certificates {
		inter.AddCert(c)
	}
	chains, err := signer.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, fmt.Errorf("signer %s: %w", sig.Subject, err)
	}
	sig.Chain = chains[0]
	if m := v.Key("M"); m.Kind() == pdf.String {
		t, err := parsePDFDate(m.RawString())
		if err != nil {
			return nil, fmt.Errorf("signing time M: %w", err)
		}
		sig.SigningTime = t
	}
	for _, attr := range p7.Signers[0].UnauthenticatedAttributes {
		if !attr.Type.Equal(oidTimeStampToken) {
			continue
		}
		var vals []asn1.RawValue
		if _, err := asn1.UnmarshalWithParams(attr.Value.FullBytes, &vals, "set"); err != nil || len(vals) != 1 {
			return nil, errors.New("signature time-stamp attribute is malformed")
		}
		// timestamp.Parse checks the token's signature with the TSA
		// certificate it carries.
		ts, err := timestamp.Parse(vals[0].FullBytes)
		if err != nil {
			return nil, fmt.Errorf("signature time-stamp: %w", err)
		}
		if !ts.AddTSACertificate {
			return nil, errors.New("signature time-stamp carries no TSA certificate")
		}
		if !ts.HashAlgorithm.Available() || ts.HashAlgorithm == crypto.SHA1 {
			return nil, fmt.Errorf("signature time-stamp uses hash %v", ts.HashAlgorithm)
		}
		h := ts.HashAlgorithm.New()
		h.Write(p7.Signers[0].EncryptedDigest)
		if !bytes.Equal(h.Sum(nil), ts.HashedMessage) {
			return nil, errors.New("signature time-stamp is over another signature")
		}
		if ts.Time.Before(signer.NotBefore) || ts.Time.After(signer.NotAfter) {
			return nil, fmt.Errorf("signature time-stamped at %s, outside the signer's validity (%s to %s)",
				ts.Time.UTC().Format(time.RFC3339), signer.NotBefore.UTC().Format(time.RFC3339), signer.NotAfter.UTC().Format(time.RFC3339))
		}
		sig.Timestamp = ts.Time
		tsInter := x509.NewCertPool()
		for _, c := range ts.Certificates[1:] {
			tsInter.AddCert(c)
		}
		_, err = ts.Certificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: tsInter, CurrentTime: ts.Time, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}})
		sig.TimestampTrusted = err == nil
	}
	return &sig, nil
}

// parsePDFDate reads a PDF date, D:YYYYMMDDHHmmSSOHH'mm' (ISO 32000-1
// 7.9.4), with the usual optional tails.
func parsePDFDate(s string) (time.Time, error) {
	s = strings.TrimPrefix(s, "D:")
	if len(s) < 4 {
		return time.Time{}, fmt.Errorf("%q is not a PDF date", s)
	}
	parts := []int{0, 1, 1, 0, 0, 0} // year, month, day, hour, minute, second
	widths := []int{4, 2, 2, 2, 2, 2}
	i := 0
	for k, w := range widths {
		if len(s) < i+w || s[i] < '0' || s[i] > '9' {
			break
		}
		v, err := strconv.Atoi(s[i : i+w])
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not a PDF date", s)
		}
		parts[k] = v
		i += w
	}
	loc := time.UTC
	if rest := s[i:]; rest != "" && rest[0] != 'Z' {
		sign := 1
		switch rest[0] {
		case '+':
		case '-':
			sign = -1
		default:
			return time.Time{}, fmt.Errorf("%q is not a PDF date", s)
		}
		off := strings.NewReplacer("'", "").Replace(rest[1:])
		if len(off) < 2 {
			return time.Time{}, fmt.Errorf("%q is not a PDF date", s)
		}
		hh, err1 := strconv.Atoi(off[:2])
		mm := 0
		var err2 error
		if len(off) >= 4 {
			mm, err2 = strconv.Atoi(off[2:4])
		}
		if err1 != nil || err2 != nil {
			return time.Time{}, fmt.Errorf("%q is not a PDF date", s)
		}
		loc = time.FixedZone("", sign*(hh*3600+mm*60))
	}
	return time.Date(parts[0], time.Month(parts[1]), parts[2], parts[3], parts[4], parts[5], 0, loc), nil
}
