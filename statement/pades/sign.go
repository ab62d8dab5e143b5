package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"
	"github.com/digitorus/timestamp"
)

// Object identifiers of the CMS (RFC 5652), ESS (RFC 5035) and RFC 3161
// structures written and read here.
var (
	oidData               = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSigningCertificate = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47} // signing-certificate-v2
	oidTimeStampToken     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidSHA256             = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA256WithRSA      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidECDSAWithSHA256    = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

// SubFilter is the PAdES SubFilter this package writes and requires.
const SubFilter = "ETSI.CAdES.detached"

const (
	pdfsignSubFilter = "/SubFilter /adbe.pkcs7.detached"
	padesSubFilter   = "/SubFilter /" + SubFilter // same length: replaced in place
	// reserve is the room (bytes) left in /Contents beyond what pdfsign
	// estimates for its own CMS; reserveTSA is added for a time-stamp
	// token (with the TSA's certificates).
	reserve    = 4096
	reserveTSA = 16384
)

// Sign returns pdf with a PAdES signature appended as an incremental update:
// an invisible certification signature (DocMDP P 1, named in the catalog's
// /Perms: no changes permitted but a DSS or document time-stamp) whose
// dictionary has SubFilter ETSI.CAdES.detached, M = at, and the configured
// Name, Location, Reason and ContactInfo; the CMS carries the signing
// certificate and chain, the signed attributes content-type, message-digest
// and signing-certificate-v2 (SHA-256), and no signing-time (PAdES B-B).
// With a TSA configured the signature value is time-stamped and the token
// added as the signature-time-stamp unsigned attribute (PAdES B-T); a TSA
// that fails fails the signing (no silent downgrade to B-B).
//
// With an RSA key the output is a function of pdf, at and the
// configuration alone (PKCS #1 v1.5 is deterministic); ECDSA signatures and
// time-stamps are not. pdf must be unsigned.
func (s *Signer) Sign(ctx context.Context, pdfBytes []byte, at time.Time) (out []byte, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The PDF reader (a fork of rsc.io/pdf) panics on some malformed files.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("sign statement: malformed PDF: %v", r)
		}
	}()
	rdr, err := pdf.NewReader(bytes.NewReader(pdfBytes), int64(len(pdfBytes)))
	if err != nil {
		return nil, fmt.Errorf("sign statement: read pdf: %w", err)
	}
	if hasSignatureField(rdr) {
		return nil, errors.New("sign statement: the PDF already has a signature field")
	}
	room := reserve
	if s.cfg.TSAURL != "" {
		room += reserveTSA
	}
	var buf bytes.Buffer
	chain := append([]*x509.Certificate{s.leaf}, s.chain...)
	sc := &sign.SignContext{
		PDFReader:  rdr,
		InputFile:  bytes.NewReader(pdfBytes),
		OutputFile: &buf,
		SignData: sign.SignData{
			Signature: sign.SignDataSignature{
				CertType:   sign.CertificationSignature,
				DocMDPPerm: sign.DoNotAllowAnyChangesPerms,
				Info: sign.SignDataSignatureInfo{
					Name:        s.cfg.Name,
					Location:    s.cfg.Location,
					Reason:      s.cfg.Reason,
					ContactInfo: s.cfg.ContactInfo,
					Date:        at,
				},
			},
			// pdfsign lays out the update and signs it with its own CMS,
			// which is replaced below: the bank's key signs only ours.
			Signer:            blankSigner{pub: s.key.Public()},
			DigestAlgorithm:   crypto.SHA256,
			Certificate:       s.leaf,
			CertificateChains: [][]*x509.Certificate{chain},
		},
		SignatureMaxLengthBase: uint32(hex.EncodedLen(512 + room)),
	}
	if err := sc.SignPDF(); err != nil {
		return nil, fmt.Errorf("sign statement: write signature field: %w", err)
	}
	signed := buf.Bytes()
	br := sc.ByteRangeValues
	if len(br) != 4 || br[0] != 0 || br[1] <= 0 || br[2] <= br[1]+2 || br[2]+br[3] != int64(len(signed)) {
		return nil, fmt.Errorf("sign statement: unexpected byte range %v for %d bytes", br, len(signed))
	}
	gapStart, gapEnd := br[1], br[2]
	if signed[gapStart] != '<' || signed[gapEnd-1] != '>' {
		return nil, errors.New("sign statement: byte range gap is not the /Contents string")
	}
	// The signature dictionary precedes /Contents in pdfsign's layout.
	objStart := bytes.LastIndex(signed[:gapStart], []byte(" obj"))
	i := bytes.LastIndex(signed[:gapStart], []byte(pdfsignSubFilter))
	if objStart < 0 || i < objStart {
		return nil, errors.New("sign statement: SubFilter not found in the signature dictionary")
	}
	copy(signed[i:], padesSubFilter)
	signed, err = addDocMDPPerms(signed, sc, objStart, gapEnd)
	if err != nil {
		return nil, err
	}

	content := make([]byte, 0, int64(len(signed))-(gapEnd-gapStart))
	content = append(content, signed[:gapStart]...)
	content = append(content, signed[gapEnd:]...)
	cms, err := s.cms(ctx, content)
	if err != nil {
		return nil, err
	}
	space := int(gapEnd-gapStart) - 2
	if hex.EncodedLen(len(cms)) > space {
		return nil, fmt.Errorf("sign statement: signature of %d bytes does not fit the %d reserved", len(cms), space/2)
	}
	gap := signed[gapStart+1 : gapEnd-1]
	for j := range gap {
		gap[j] = '0'
	}
	hex.Encode(gap, cms)
	// pdfsign writes lower case hex; keep one case throughout.
	return signed, nil
}

var (
	objHeader  = regexp.MustCompile(`(\d+) 0 obj\s*$`)
	startxref  = regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`)
	byteRangeR = regexp.MustCompile(`/ByteRange \[0 (\d+) (\d+) (\d+)\] *`)
)

// addDocMDPPerms adds /Perms << /DocMDP sig >> to the catalog pdfsign
// wrote: its signature is a certification signature (DocMDP, no changes
// permitted) but it leaves the catalog without the Perms entry that makes
// readers treat it as one. The catalog is the last object of the update,
// after /Contents, so only the last ByteRange length and startxref move.
func addDocMDPPerms(signed []byte, sc *sign.SignContext, sigObjStart int, gapEnd int64) ([]byte, error) {
	m := objHeader.FindSubmatch(signed[:sigObjStart+len(" obj")])
	if m == nil {
		return nil, errors.New("sign statement: signature object number not found")
	}
	sigObj := string(m[1])
	catHeader := []byte(fmt.Sprintf("\n%d 0 obj\n", sc.CatalogData.ObjectId))
	c := bytes.Index(signed[gapEnd:], catHeader)
	if c < 0 {
		return nil, errors.New("sign statement: catalog of the update not found")
	}
	c += int(gapEnd)
	a := bytes.Index(signed[c:], []byte("/AcroForm <<"))
	end := bytes.Index(signed[c:], []byte("endobj"))
	if a < 0 || end < a || bytes.Contains(signed[c:c+end], []byte("/Perms")) {
		return nil, errors.New("sign statement: the update's catalog is not as expected")
	}
	at := c + a
	ins := []byte("/Perms << /DocMDP " + sigObj + " 0 R >>\n  ")
	out := make([]byte, 0, len(signed)+len(ins)+8)
	out = append(out, signed[:at]...)
	out = append(out, ins...)
	out = append(out, signed[at:]...)

	sx := startxref.FindSubmatchIndex(out)
	if sx == nil {
		return nil, errors.New("sign statement: startxref not found")
	}
	xref, _ := strconv.ParseInt(string(out[sx[2]:sx[3]]), 10, 64)
	if xref < int64(at) {
		return nil, errors.New("sign statement: cross-reference section before the catalog")
	}
	out = append(out[:sx[2]], append([]byte(strconv.FormatInt(xref+int64(len(ins)), 10)+"\n%%EOF\n"), out[sx[1]:]...)...)

	br := byteRangeR.FindSubmatchIndex(out)
	if br == nil || int64(br[0]) > gapEnd {
		return nil, errors.New("sign statement: ByteRange not found")
	}
	old := out[br[0]:br[1]]
	b1, _ := strconv.ParseInt(string(out[br[2]:br[3]]), 10, 64)
	c1, _ := strconv.ParseInt(string(out[br[4]:br[5]]), 10, 64)
	nr := fmt.Sprintf("/ByteRange [0 %d %d %d]", b1, c1, int64(len(out))-c1)
	if len(nr) > len(old) {
		return nil, errors.New("sign statement: ByteRange does not fit its placeholder")
	}
	copy(old, nr+strings.Repeat(" ", len(old)-len(nr)))
	return out, nil
}

// hasSignatureField reports whether the document's AcroForm has a field of
// type Sig.
func hasSignatureField(r *pdf.Reader) bool {
	fields := r.Trailer().Key("Root").Key("AcroForm").Key("Fields")
	for i := 0; i < fields.Len(); i++ {
		if fields.Index(i).Key("FT").Name() == "Sig" {
			return true
		}
	}
	return false
}

// blankSigner gives pdfsign a signature of the right shape without using
// the bank's key: pdfsign's CMS is overwritten.
type blankSigner struct{ pub crypto.PublicKey }

func (b blankSigner) Public() crypto.PublicKey { return b.pub }

func (b blankSigner) Sign(_ io.Reader, _ []byte, _ crypto.SignerOpts) ([]byte, error) {
	switch k := b.pub.(type) {
	case *rsa.PublicKey:
		return make([]byte, k.Size()), nil
	case *ecdsa.PublicKey:
		return make([]byte, 2*((k.Curve.Params().BitSize+7)/8)+9), nil
	}
	return make([]byte, 512), nil
}

// CMS structures (RFC 5652).
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue
	SignerInfos      []asn1.RawValue `asn1:"set"`
}

type encapContentInfo struct {
	ContentType asn1.ObjectIdentifier
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type signerInfo struct {
	Version            int
	SID                issuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional"`
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

// essCertIDv2 leaves out hashAlgorithm (DEFAULT SHA-256) and issuerSerial.
type essCertIDv2 struct {
	CertHash []byte
}

type signingCertificateV2 struct {
	Certs []essCertIDv2
}

// cms returns a detached CAdES SignedData over content.
func (s *Signer) cms(ctx context.Context, content []byte) ([]byte, error) {
	digest := sha256.Sum256(content)
	certHash := sha256.Sum256(s.leaf.Raw)
	scv2, err := asn1.Marshal(signingCertificateV2{Certs: []essCertIDv2{{CertHash: certHash[:]}}})
	if err != nil {
		return nil, fmt.Errorf("sign statement: signing certificate attribute: %w", err)
	}
	ct, _ := asn1.Marshal(oidData)
	md, _ := asn1.Marshal(digest[:])
	signedAttrs, err := attrSet([]attribute{
		{Type: oidContentType, Values: []asn1.RawValue{{FullBytes: ct}}},
		{Type: oidMessageDigest, Values: []asn1.RawValue{{FullBytes: md}}},
		{Type: oidSigningCertificate, Values: []asn1.RawValue{{FullBytes: scv2}}},
	})
	if err != nil {
		return nil, fmt.Errorf("sign statement: signed attributes: %w", err)
	}
	attrDigest := sha256.Sum256(signedAttrs)
	sig, err := s.key.Sign(rand.Reader, attrDigest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign statement: sign: %w", err)
	}
	si := signerInfo{
		Version:         1,
		SID:             issuerAndSerial{Issuer: asn1.RawValue{FullBytes: s.leaf.RawIssuer}, Serial: s.leaf.SerialNumber},
		DigestAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidSHA256},
		// [0] IMPLICIT: the same content as the SET that was signed.
		SignedAttrs: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: setContent(signedAttrs)},
		Signature:   sig,
	}
	switch s.key.Public().(type) {
	case *rsa.PublicKey:
		si.SignatureAlgorithm = pkix.AlgorithmIdentifier{Algorithm: oidSHA256WithRSA, Parameters: asn1.NullRawValue}
	case *ecdsa.PublicKey:
		si.SignatureAlgorithm = pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256}
	}
	if s.cfg.TSAURL != "" {
		token, err := s.timestamp(ctx, sig)
		if err != nil {
			return nil, err
		}
		unsigned, err := attrSet([]attribute{{Type: oidTimeStampToken, Values: []asn1.RawValue{{FullBytes: token}}}})
		if err != nil {
			return nil, fmt.Errorf("sign statement: time-stamp attribute: %w", err)
		}
		si.UnsignedAttrs = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: setContent(unsigned)}
	}
	siDER, err := asn1.Marshal(si)
	if err != nil {
		return nil, fmt.Errorf("sign statement: signer info: %w", err)
	}
	var certs []byte
	certs = append(certs, s.leaf.Raw...)
	for _, c := range s.chain {
		certs = append(certs, c.Raw...)
	}
	sd := signedData{
		Version:          1,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{{Algorithm: oidSHA256}},
		EncapContentInfo: encapContentInfo{ContentType: oidData},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: certs},
		SignerInfos:      []asn1.RawValue{{FullBytes: siDER}},
	}
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("sign statement: signed data: %w", err)
	}
	out, err := asn1.Marshal(contentInfo{
		ContentType: oidSignedData,
		Content:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdDER},
	})
	if err != nil {
		return nil, fmt.Errorf("sign statement: content info: %w", err)
	}
	return out, nil
}

// attrSet DER-encodes attrs as a SET OF Attribute, elements in DER order.
func attrSet(attrs []attribute) ([]byte, error) {
	enc := make([][]byte, len(attrs))
	for i, a := range attrs {
		b, err := asn1.Marshal(a)
		if err != nil {
			return nil, err
		}
		enc[i] = b
	}
	sort.Slice(enc, func(i, j int) bool { return bytes.Compare(enc[i], enc[j]) < 0 })
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(enc, nil)})
}

// setContent returns the contents octets of a DER SET.
func setContent(der []byte) []byte {
	var rv asn1.RawValue
	if _, err := asn1.Unmarshal(der, &rv); err != nil {
		return nil
	}
	return rv.Bytes
}

// timestamp asks the TSA for a token over the signature value (RFC 3161
// over HTTP, SHA-256 imprint, a random nonce, the TSA's certificate asked
// for) and checks the answer matches the request.
func (s *Signer) timestamp(ctx context.Context, sig []byte) ([]byte, error) {
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, fmt.Errorf("time-stamp signature: nonce: %w", err)
	}
	req, err := timestamp.CreateRequest(bytes.NewReader(sig), &timestamp.RequestOptions{Hash: crypto.SHA256, Certificates: true, Nonce: nonce})
	if err != nil {
		return nil, fmt.Errorf("time-stamp signature: request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.TSAURL, bytes.NewReader(req))
	if err != nil {
		return nil, fmt.Errorf("time-stamp signature at %s: %w", s.cfg.TSAURL, err)
	}
	hreq.Header.Set("Content-Type", "application/timestamp-query")
	resp, err := s.http.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("time-stamp signature at %s: %w", s.cfg.TSAURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("time-stamp signature at %s: read reply: %w", s.cfg.TSAURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("time-stamp signature at %s: HTTP %s", s.cfg.TSAURL, resp.Status)
	}
	ts, err := timestamp.ParseResponse(body)
	if err != nil {
		return nil, fmt.Errorf("time-stamp signature at %s: %w", s.cfg.TSAURL, err)
	}
	want := sha256.Sum256(sig)
	if ts.HashAlgorithm != crypto.SHA256 || !bytes.Equal(ts.HashedMessage, want[:]) {
		return nil, fmt.Errorf("time-stamp signature at %s: the token is over another message", s.cfg.TSAURL)
	}
	if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 {
		return nil, fmt.Errorf("time-stamp signature at %s: the token's nonce is not the request's", s.cfg.TSAURL)
	}
	if len(ts.Certificates) == 0 {
		return nil, fmt.Errorf("time-stamp signature at %s: the token carries no TSA certificate", s.cfg.TSAURL)
	}
	return ts.RawToken, nil
}
