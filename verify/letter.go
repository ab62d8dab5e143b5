package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"regexp"
	"strconv"
	"strings"

	"remoteidv/models"
	"remoteidv/verify/pdfcheck"
)

// MaxLetterBytes caps an authorization letter (a scan or a PDF).
const MaxLetterBytes = 10 << 20

// Letter sources.
const (
	LetterFromClerk    = "clerk"
	LetterFromCustomer = "customer"
)

// LetterFile is a checked letter ready to be stored.
type LetterFile struct {
	ContentType   string // image/jpeg or image/png (images are re-encoded) or application/pdf
	Data          []byte
	Width, Height int // pixels; 0 for PDF
}

var (
	pdfHeader    = regexp.MustCompile(`^%PDF-[12]\.[0-9]`)
	startxref    = regexp.MustCompile(`startxref\s+([0-9]{1,12})\s+%%EOF\s*$`)
	markupTokens = []string{"<html", "<script", "<!doctype", "<body", "<iframe", "<svg"}
	zipMarkers   = []string{"PK\x03\x04", "PK\x05\x06", "PK\x01\x02"}
)

// CheckLetter validates an uploaded letter as CheckLetterGrowth does, with
// the default growth bound (DefaultQuotas.LetterGrowth).
func CheckLetter(data []byte) (*LetterFile, error) {
	return CheckLetterGrowth(context.Background(), data, DefaultQuotas.LetterGrowth)
}

// CheckLetterGrowth validates an uploaded letter: JPEG, PNG or PDF by
// content (never by name or declared type), within the size cap; images
// within the pixel cap, with nothing after their end marker and no
// embedded archive or markup, then re-encoded (which drops metadata and
// any hidden payload) to at most growth times the upload's size: a JPEG
// as JPEG, a PNG as PNG, or as JPEG when the PNG would be larger than
// that, refused (ETOOLARGE) when no quality fits; PDFs well-formed (header
// at byte 0, startxref and %%EOF at the very end) and free of archives,
// markup and active content as pdfcheck finds it (names decoded, object
// streams included). Polyglots are refused.
func CheckLetterGrowth(ctx context.Context, data []byte, growth float64) (*LetterFile, error) {
	switch {
	case len(data) == 0:
		return nil, models.Errorf(models.EINVALID, "the letter is empty")
	case len(data) > MaxLetterBytes:
		return nil, models.Errorf(models.ETOOLARGE, "the letter is larger than %d MiB", MaxLetterBytes>>20)
	}
	if hidden := embedded(data); hidden != "" {
		return nil, models.Errorf(models.EUNSUPPORTED, "the letter file also contains %s: refused as a polyglot", hidden)
	}
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-")):
		if err := checkPDF(ctx, data); err != nil {
			return nil, err
		}
		return &LetterFile{ContentType: "application/pdf", Data: data}, nil
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		end := bytes.TrimRight(data, "\x00\r\n\t ")
		if !bytes.HasSuffix(end, []byte("\xff\xd9")) {
			return nil, models.Errorf(models.EUNSUPPORTED, "the JPEG has data after its end marker: refused as a polyglot")
		}
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		if !bytes.HasSuffix(data, []byte("IEND\xaeB`\x82")) {
			return nil, models.Errorf(models.EUNSUPPORTED, "the PNG has data after its IEND chunk: refused as a polyglot")
		}
	default:
		return nil, models.Errorf(models.EUNSUPPORTED, "the letter must be a JPEG, PNG or PDF file")
	}
	if _, err := SniffImage(data); err != nil {
		return nil, err
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, models.Errorf(models.EUNSUPPORTED, "the image is damaged: %v", err)
	}
	out, ct, err := reencode(img, format, len(data), growth)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	return &LetterFile{ContentType: ct, Data: out, Width: b.Dx(), Height: b.Dy()}, nil
}

// letterJPEGQualities are the JPEG qualities tried, best first, until the
// re-encoded letter fits its growth bound; 70 still keeps a signature's
// strokes legible.
var letterJPEGQualities = []int{90, 80, 70}

// reencode writes img anew, at most growth times size bytes: a PNG as PNG
// (best compression) when that fits, else (and a JPEG always) as JPEG at
// the best quality of letterJPEGQualities that fits. A PNG scan of a
// photo can grow tenfold when written again; a JPEG written again as JPEG
// stays about its size. Nothing fitting is ETOOLARGE.
func reencode(img image.Image, format string, size int, growth float64) ([]byte, string, error) {
	limit := int(float64(size) * growth)
	var out bytes.Buffer
	if format == "png" {
		if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, img); err != nil {
			return nil, "", fmt.Errorf("re-encode letter: %w", err)
		}
		if out.Len() <= limit {
			return out.Bytes(), "image/png", nil
		}
	}
	for _, q := range letterJPEGQualities {
		out.Reset()
		if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: q}); err != nil {
			return nil, "", fmt.Errorf("re-encode letter: %w", err)
		}
		if out.Len() <= limit {
			return out.Bytes(), "image/jpeg", nil
		}
	}
	return nil, "", quotaError(quotaLetterGrow, "the image would be stored as %d bytes, more than %.1f times its %d bytes: send it as a JPEG", out.Len(), growth, size)
}

// embedded names a second format hidden in data: a ZIP archive or HTML/SVG
// markup anywhere, or a PDF header after the first bytes.
func embedded(data []byte) string {
	for _, z := range zipMarkers {
		if bytes.Contains(data, []byte(z)) {
			return "a ZIP archive"
		}
	}
	lower := bytes.ToLower(data)
	for _, m := range markupTokens {
		if bytes.Contains(lower, []byte(m)) {
			return "HTML markup"
		}
	}
	if i := bytes.Index(data, []byte("%PDF-")); i > 0 {
		return "a PDF document"
	}
	return ""
}

func checkPDF(ctx context.Context, data []byte) error {
	bad := func(why string) error {
		return models.Errorf(models.EUNSUPPORTED, "the PDF is not well-formed: %s", why)
	}
	if !pdfHeader.Match(data) {
		return bad("no %PDF-1.x header")
	}
	m := startxref.FindSubmatch(data)
	if m == nil {
		return bad("it must end with startxref and %%EOF, with nothing after")
	}
	off, err := strconv.Atoi(string(m[1]))
	if err != nil || off <= 0 || off >= len(data) {
		return bad("startxref points outside the file")
	}
	err = pdfcheck.Check(ctx, data)
	var pe *pdfcheck.Error
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &pe):
		return fmt.Errorf("check pdf: %w", err)
	case pe.Kind == pdfcheck.Active:
		e := models.Errorf(models.EUNSUPPORTED, "the PDF carries active content (%s): refused", pe.Name)
		e.Details = []string{"letter.pdf_active"}
		return e
	case pe.Kind == pdfcheck.Unsupported:
		return models.Errorf(models.EUNSUPPORTED, "the PDF cannot be checked (%s): send it as a JPEG or PNG scan", pe.Error())
	default:
		return bad(pe.Detail)
	}
}

// scopeMismatch says how a letter's scope differs from the case ("" when
// it matches).
func scopeMismatch(c *models.Case, s models.LetterScope) string {
	var diffs []string
	if s.AccountNo != c.AccountNo {
		diffs = append(diffs, "the letter is for another account")
	}
	if s.Service != c.Purpose {
		diffs = append(diffs, fmt.Sprintf("the letter authorizes %q, the case is for %q", s.Service, c.Purpose))
	}
	if s.PeriodFrom != c.PeriodFrom || s.PeriodTo != c.PeriodTo {
		diffs = append(diffs, fmt.Sprintf("the letter's period %s to %s differs from the case's %s to %s", s.PeriodFrom, s.PeriodTo, c.PeriodFrom, c.PeriodTo))
	}
	if !s.RegisteredEmail {
		diffs = append(diffs, "the letter does not ask for delivery to the registered email address")
	}
	return strings.Join(diffs, "; ")
}

func readAllCapped(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, models.Errorf(models.ETOOLARGE, "object larger than %d bytes", max)
	}
	return b, nil
}

// UploadLetter stores the clerk's scan of the customer's signed letter as
// evidence (kind letter). Only the case's clerk uploads letters.
func (d *Desk) UploadLetter(ctx context.Context, a Actor, id models.CaseID, data []byte) (*models.Letter, error) {
	return d.storeLetter(ctx, id, data, LetterFromClerk, a.Name, func(tx models.Tx) (*models.Case, error) {
		return d.svc.authorize(ctx, tx, a, id, clerkRule, "upload letters")
	})
}

// CustomerUploadLetter stores a letter the customer uploads in the call
// page. The caller (the customer session layer) has already authenticated
// the customer for this case; actor is their audit name.
func (d *Desk) CustomerUploadLetter(ctx context.Context, id models.CaseID, actor string, data []byte) (*models.Letter, error) {
	return d.storeLetter(ctx, id, data, LetterFromCustomer, actor, func(tx models.Tx) (*models.Case, error) {
		return tx.CaseByID(ctx, id)
	})
}

func (d *Desk) storeLetter(ctx context.Context, id models.CaseID, data []byte, source, actor string, load func(tx models.Tx) (*models.Case, error)) (*models.Letter, error) {
	f, err := CheckLetterGrowth(ctx, data, d.svc.quotas().LetterGrowth)
	if err != nil {
		return nil, fmt.Errorf("letter for %s: %w", id, err)
	}
	// Check the case before staging anything.
	if err := d.svc.store.Transact(ctx, func(tx models.Tx) error {
		c, err := load(tx)
		if err == nil && !c.State.TakesChecks() {
			err = models.Errorf(models.ECONFLICT, "case is %s: letters are taken before submission", c.State)
		}
		return err
	}); err != nil {
		return nil, fmt.Errorf("letter for %s: %w", id, err)
	}
	lid, err := models.NewID(d.svc.rand, "let")
	if err != nil {
		return nil, err
	}
	l := &models.Letter{ID: models.LetterID(lid), CaseID: id, ContentType: f.ContentType, Width: f.Width, Height: f.Height, Source: source, Actor: actor, CreatedAt: d.svc.now().UTC()}
	_, err = d.svc.recordEvidence(ctx, id, actor, []artifact{{Kind: models.EvidenceLetter, ContentType: f.ContentType, Data: f.Data}}, func(tx models.Tx, evs []*models.Evidence) error {
		c, err := load(tx)
		if err != nil {
			return err
		}
		if !c.State.TakesChecks() {
			return models.Errorf(models.ECONFLICT, "case is %s: letters are taken before submission", c.State)
		}
		ev := evs[0]
		l.Evidence = ev.ID
		if err := tx.CreateLetter(ctx, l); err != nil {
			return err
		}
		return d.svc.event(ctx, tx, actor, id, "letter.uploaded", map[string]string{"letter": lid, "source": source, "content_type": f.ContentType, "sha256": ev.SHA256})
	})
	if err != nil {
		return nil, fmt.Errorf("letter for %s: %w", id, err)
	}
	return l, nil
}

// RecordLetterScope records what the letter authorizes, as the clerk reads
// it. A scope that does not match the case (another account, service or
// period, or delivery other than to the registered email) is refused and
// nothing is stored.
func (d *Desk) RecordLetterScope(ctx context.Context, a Actor, id models.CaseID, letter models.LetterID, s models.LetterScope) (*models.Letter, error) {
	var out *models.Letter
	err := d.svc.store.Transact(ctx, func(tx models.Tx) error {
		c, err := d.clerkCase(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if why := scopeMismatch(c, s); why != "" {
			return models.Errorf(models.EINVALID, "the letter does not match the case: %s", why)
		}
		l, err := d.letter(ctx, tx, c.ID, letter)
		if err != nil {
			return err
		}
		now := d.svc.now().UTC()
		if err := tx.SetLetterScope(ctx, l.ID, s, a.Name, now); err != nil {
			return err
		}
		l.Scope, l.ScopeBy, l.ScopeAt = &s, a.Name, &now
		out = l
		return d.svc.event(ctx, tx, a.Name, c.ID, "letter.scope_recorded", map[string]string{"letter": string(l.ID), "service": string(s.Service),
			"period": s.PeriodFrom + "/" + s.PeriodTo, "registered_email": "true"})
	})
	if err != nil {
		return nil, fmt.Errorf("letter scope for %s: %w", id, err)
	}
	return out, nil
}

// Letters lists a visible case's letters.
func (d *Desk) Letters(ctx context.Context, a Actor, id models.CaseID) ([]*models.Letter, error) {
	var out []*models.Letter
	err := d.svc.store.Transact(ctx, func(tx models.Tx) error {
		c, err := d.svc.visibleCase(ctx, tx, a, id)
		if err != nil {
			return err
		}
		out, err = tx.LettersByCase(ctx, c.ID)
		return err
	})
	return out, err
}

func (d *Desk) letter(ctx context.Context, tx models.Tx, c models.CaseID, id models.LetterID) (*models.Letter, error) {
	ls, err := tx.LettersByCase(ctx, c)
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		if l.ID == id {
			return l, nil
		}
	}
	return nil, models.Errorf(models.ENOTFOUND, "letter %s not found in case %s", id, c)
}

// CustomerProgress is what the customer's call page has already done, as
// the store knows it, so a reload or a language switch does not ask again.
type CustomerProgress struct {
	CodeVerified bool // an email code of the case was used
	LetterOnFile bool // the bank has a letter for the case (from the customer or the clerk)
}

// CustomerProgress reads the customer's progress on case id. The caller
// (the customer session layer) has already authenticated the customer for
// this case.
func (d *Desk) CustomerProgress(ctx context.Context, id models.CaseID) (CustomerProgress, error) {
	var p CustomerProgress
	err := d.svc.store.Transact(ctx, func(tx models.Tx) error {
		var err error
		if p.CodeVerified, err = tx.EmailCodeVerified(ctx, id); err != nil {
			return err
		}
		letters, err := tx.LettersByCase(ctx, id)
		p.LetterOnFile = len(letters) > 0
		return err
	})
	if err != nil {
		return CustomerProgress{}, fmt.Errorf("customer progress of %s: %w", id, err)
	}
	return p, nil
}
