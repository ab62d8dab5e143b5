package statement

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"remoteidv/internal/pdfcpucfg"
	"remoteidv/models"
)

// Limits of a customer's envelope password, in characters.
const (
	MinEnvelopePassword = 8
	MaxEnvelopePassword = 128
)

// aes256PasswordBytes is how much of a password AES-256 (the PDF standard
// security handler revision 6) uses: the first 127 bytes; readers cut
// what is typed there too.
const aes256PasswordBytes = 127

// CheckEnvelopePassword is EINVALID unless pw has MinEnvelopePassword to
// MaxEnvelopePassword printable ASCII characters (letters, digits,
// punctuation, space). The error never quotes the password.
//
// Why ASCII only: revision 6 asks readers to normalise a password
// (SASLprep, RFC 4013, which includes NFKC) before hashing it, and they do
// not all do it the same way (Acrobat does, poppler 22.12 and pdfcpu's
// writer do not); full-width letters and the ideographic space that
// Chinese input methods type are exactly what NFKC changes. Printable
// ASCII is its own normal form, so every reader hashes the same bytes the
// envelope was locked with, and it is typed without an input method on
// any keyboard or phone.
func CheckEnvelopePassword(pw string) error {
	n := len(pw)
	for i := 0; i < len(pw); i++ {
		if pw[i] < 0x20 || pw[i] > 0x7e {
			e := models.Errorf(models.EINVALID, "the password may use only letters A-Z and a-z, digits, punctuation and spaces (no Chinese or full-width characters): PDF readers disagree on how to read other characters")
			e.Details = []string{"cust.pw_ascii"} // the customer page's message
			return e
		}
	}
	if n < MinEnvelopePassword || n > MaxEnvelopePassword {
		e := models.Errorf(models.EINVALID, "the password must have %d to %d characters (it has %d)", MinEnvelopePassword, MaxEnvelopePassword, n)
		e.Details = []string{"cust.pw_length"}
		return e
	}
	return nil
}

// Envelope describes the customer's password-protected copy of a signed
// statement: a one-page bilingual cover that names the statement and how
// to check it, with the signed statement file embedded, byte for byte, as
// a file attachment, the whole encrypted with AES-256.
//
// Why an envelope and not the statement itself encrypted: encrypting a PDF
// rewrites every string and stream in it, so the bank's PAdES signature
// (which covers the file's bytes) would no longer verify, and the file's
// SHA-256 would no longer be the one the supervisor approved, the release
// checked and the public check (/v/{id}) knows. Signing inside an
// encrypted revision is possible in principle, but no PDF module this
// project uses does it. An attachment is carried as an opaque stream: once
// the customer opens the envelope with their password and saves the
// attachment, they hold exactly the approved, signed file, whose hash and
// signature verify as before.
type Envelope struct {
	Bank Bank
	// Document names the attached document in Chinese and English, e.g.
	// {"余额证明", "Balance certificate"}; empty: a transaction statement.
	Document    [2]string
	StatementID string    // printed on the cover
	FileName    string    // the attachment's name, e.g. statement-2026-11-01-2026-11-30.pdf
	VerifyURL   string    // the public check of the statement, printed on the cover
	IssuedAt    time.Time // the attachment's modification date (pdfcpu stamps the envelope's own dates when it writes)
	// UnicodeFont is the CJK font (as Statement.UnicodeFont); without it
	// the Chinese lines print as "?".
	UnicodeFont []byte
	// Rand is the source of the owner password, which is made, used once
	// and dropped: nobody, the bank included, can lift the protection
	// without the customer's password.
	Rand io.Reader
}

// Seal returns the encrypted envelope holding signed (the statement file,
// unchanged) under password as the user password (open password). The
// encryption is AES-256, the PDF standard security handler revision 6
// (ISO 32000-2), every permission granted to whoever opens it: the file is
// the customer's. It fails with EINVALID for a password
// CheckEnvelopePassword refuses, an empty file or a missing name.
func (e *Envelope) Seal(signed []byte, password string) ([]byte, error) {
	if err := CheckEnvelopePassword(password); err != nil {
		return nil, err
	}
	if len(signed) == 0 || e.FileName == "" || e.StatementID == "" {
		return nil, models.Errorf(models.EINVALID, "envelope of statement %q: no file or no name", e.StatementID)
	}
	if e.Rand == nil {
		return nil, fmt.Errorf("envelope of statement %s: no source of randomness", e.StatementID)
	}
	sum := sha256.Sum256(signed)
	cover, err := e.cover(hex.EncodeToString(sum[:]))
	if err != nil {
		return nil, err
	}
	var owner [32]byte
	if _, err := io.ReadFull(e.Rand, owner[:]); err != nil {
		return nil, fmt.Errorf("envelope of statement %s: owner password: %w", e.StatementID, err)
	}

	conf := pdfcpucfg.Relaxed()
	pc, err := api.ReadValidateAndOptimize(bytes.NewReader(cover), conf)
	if err != nil {
		return nil, fmt.Errorf("envelope of statement %s: read cover: %w", e.StatementID, err)
	}
	mod := e.IssuedAt.UTC()
	a := model.Attachment{Reader: bytes.NewReader(signed), ID: e.FileName, FileName: e.FileName, ModTime: &mod,
		Desc: "Signed " + strings.ToLower(e.document()[1]) + " " + e.StatementID + ", SHA-256 " + hex.EncodeToString(sum[:])}
	if err := pc.AddAttachment(a, false); err != nil {
		return nil, fmt.Errorf("envelope of statement %s: attach: %w", e.StatementID, err)
	}
	var plain bytes.Buffer
	if err := api.Write(pc, &plain, conf); err != nil {
		return nil, fmt.Errorf("envelope of statement %s: write: %w", e.StatementID, err)
	}

	enc := pdfcpucfg.Relaxed()
	// pdfcpu's writer hashes the password as given; the readers (pdfcpu's
	// own included) use its first 127 bytes, so the envelope is locked
	// with exactly those.
	if len(password) > aes256PasswordBytes {
		password = password[:aes256PasswordBytes]
	}
	enc.UserPW, enc.OwnerPW = password, hex.EncodeToString(owner[:])
	enc.EncryptUsingAES, enc.EncryptKeyLength = true, 256
	enc.Permissions = model.PermissionsAll
	var out bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(plain.Bytes()), &out, enc); err != nil {
		return nil, fmt.Errorf("envelope of statement %s: encrypt: %w", e.StatementID, err)
	}
	return out.Bytes(), nil
}

// cover draws the envelope's page: what is attached, its SHA-256 and
// where to check it, in Chinese and English.
// document is Document, or the transaction statement's names.
func (e *Envelope) document() [2]string {
	if e.Document[0] == "" || e.Document[1] == "" {
		return [2]string{"交易明细", "Transaction statement"}
	}
	return e.Document
}

func (e *Envelope) cover(sha string) ([]byte, error) {
	zh, en := e.document()[0], e.document()[1]
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(e.IssuedAt)
	pdf.SetModificationDate(e.IssuedAt)
	pdf.SetCatalogSort(true)
	pdf.SetTitle(en+" "+e.StatementID+" (password-protected copy)", true)
	pdf.SetAuthor(e.Bank.Name, true)
	pdf.SetMargins(margin, margin, margin)
	pdf.SetCellMargin(1)
	pdf.SetAutoPageBreak(true, margin)
	r := &renderer{f: frame{font: e.UnicodeFont}, pdf: pdf, tr: pdf.UnicodeTranslatorFromDescriptor(""), tz: time.UTC}
	if len(e.UnicodeFont) > 0 {
		pdf.AddUTF8FontFromBytes(unicodeFont, "", e.UnicodeFont)
		if err := pdf.Error(); err != nil {
			return nil, fmt.Errorf("envelope of statement %s: load unicode font: %w", e.StatementID, err)
		}
	}
	pdf.SetFont("Helvetica", "", 10)
	pdf.AddPage()
	name := e.Bank.Name
	if e.Bank.NameZH != "" {
		name = e.Bank.NameZH + " " + e.Bank.Name
	}
	line := func(v, style string, size, h float64) { r.cell(0, h, v, style, size, "L", "", 1) }
	line(name, "B", 14, 8)
	line(zh+"（受密码保护的副本） "+en+" (password-protected copy)", "B", 11, 7)
	pdf.Ln(4)
	line("您的"+zh+" "+e.StatementID+" 作为附件包含在本文件中，文件名为：", "", 10, 6)
	line("Your "+strings.ToLower(en)+" "+e.StatementID+" is attached to this file as:", "", 10, 6)
	line(e.FileName, "B", 10, 7)
	pdf.Ln(2)
	line("附件的 SHA-256 Attachment SHA-256:", "", 10, 6)
	line(sha, "B", 9, 6)
	pdf.Ln(2)
	if e.VerifyURL != "" {
		line("请在以下网址核验 Check it at:", "", 10, 6)
		line(e.VerifyURL, "B", 10, 6)
		pdf.Ln(2)
	}
	line("在阅读器的附件面板（回形针图标）中打开或保存附件。", "", 9, 5.5)
	line("Open or save the attachment from your reader's attachments panel (the paper clip).", "", 9, 5.5)
	line("银行的数字签名在附件中，本封面页不带签名。", "", 9, 5.5)
	line("The bank's digital signature is in the attached file; this cover page is not signed.", "", 9, 5.5)
	line("本文件使用您在视频核验时设定的密码加密（AES-256）。", "", 9, 5.5)
	line("This file is encrypted (AES-256) with the password you chose during the video call.", "", 9, 5.5)
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("envelope of statement %s: cover: %w", e.StatementID, err)
	}
	return b.Bytes(), nil
}
