package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // reference photos and specimens
	_ "image/png"
	"io"
	"io/fs"
	"net/mail"
	"path"
	"strconv"
	"strings"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
)

// Accounts imports the bank's customer accounts (CSV with reference photos
// and signature specimens) and records each run. It needs only the store:
// the command line imports without the rest of the workflow.
type Accounts struct {
	store models.Store
	chain audit.Chain
	now   func() time.Time
	rand  io.Reader
}

// NewAccounts returns the accounts import over core's store, audit chain,
// clock and randomness.
func NewAccounts(core Core) (*Accounts, error) {
	if err := missingError("new accounts import", core.missing()); err != nil {
		return nil, err
	}
	return &Accounts{store: core.Store, chain: core.Chain, now: core.Now, rand: core.Rand}, nil
}

// Import limits for reference images.
const (
	maxImageBytes  = 5 << 20
	maxImagePixels = 4096 * 4096
)

// accountColumns is the CSV header `idv accounts import` expects. photos is a
// ';'-separated list of files in the image folder; signature is one file.
// optionalColumns may follow, in this order (a file may stop after any of
// them): holder_name_alt is the holder's name in the other script (the
// Chinese name of a holder named in Latin letters, or the reverse).
var (
	accountColumns  = []string{"account_no", "holder_name", "national_id", "email", "phone", "time_zone", "language", "photos", "signature"}
	optionalColumns = []string{"holder_name_alt"}
)

// ImportRow is the outcome of one CSV line.
type ImportRow = models.ImportRow

// ImportReport sums up an import. Its run is recorded (Run is its ID) for
// the admin page.
type ImportReport struct {
	Run      models.ImportRunID `json:"run"`
	Imported int                `json:"imported"`
	Failed   int                `json:"failed"`
	Flagged  int                `json:"flagged"` // imported rows with a flagged image
	Rows     []ImportRow        `json:"rows"`
}

// DefaultImportSource labels the runs of Import.
const DefaultImportSource = "CSV"

// Import is ImportFrom with DefaultImportSource as the label.
func (ac *Accounts) Import(ctx context.Context, actor string, r io.Reader, images fs.FS, checker PhotoChecker) (*ImportReport, error) {
	return ac.ImportFrom(ctx, actor, DefaultImportSource, r, images, checker)
}

// ImportFrom reads accounts from CSV (header as accountColumns)
// and their images from images. Each row is its own transaction: a bad row
// is reported and skipped, good rows land. Re-importing is harmless. Once
// past the header, the run is recorded with every row's outcome under the
// label source (e.g. the CSV file's name), with an audit event, even when
// ctx ends halfway (then with the rows done so far).
func (ac *Accounts) ImportFrom(ctx context.Context, actor, source string, r io.Reader, images fs.FS, checker PhotoChecker) (*ImportReport, error) {
	started := ac.now().UTC()
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return nil, models.Errorf(models.EINVALID, "read CSV header: %v", err)
	}
	all := append(append([]string(nil), accountColumns...), optionalColumns...)
	if len(head) < len(accountColumns) || len(head) > len(all) {
		return nil, models.Errorf(models.EINVALID, "CSV header has %d columns, want %s (then optionally %s)",
			len(head), strings.Join(accountColumns, ","), strings.Join(optionalColumns, ","))
	}
	for i, c := range head {
		if strings.TrimSpace(strings.TrimPrefix(c, "\ufeff")) != all[i] {
			return nil, models.Errorf(models.EINVALID, "CSV header column %d is %q, want %q (columns: %s, then optionally %s)", i+1, c, all[i],
				strings.Join(accountColumns, ","), strings.Join(optionalColumns, ","))
		}
	}
	cr.FieldsPerRecord = len(head)
	rep := &ImportReport{}
	err = ac.importRows(ctx, actor, cr, images, checker, rep)
	if rerr := ac.recordImport(context.WithoutCancel(ctx), actor, source, started, rep); rerr != nil {
		return rep, errors.Join(err, rerr)
	}
	return rep, err
}

// importRows imports every CSV row into rep; it stops early only when ctx
// ends.
func (ac *Accounts) importRows(ctx context.Context, actor string, cr *csv.Reader, images fs.FS, checker PhotoChecker, rep *ImportReport) error {
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		row := ImportRow{Line: line}
		if err != nil {
			row.Error = err.Error()
		} else {
			row.AccountNo = models.AccountNo(rec[0])
			row.Problems, err = ac.importRow(ctx, actor, rec, images, checker)
			if err != nil {
				row.Error = models.ErrorMessageOf(err)
				if models.ErrorCodeOf(err) == models.EINTERNAL {
					row.Error = err.Error()
				}
			}
		}
		switch {
		case row.Error != "":
			rep.Failed++
		case len(row.Problems) > 0:
			rep.Imported++
			rep.Flagged++
		default:
			rep.Imported++
		}
		rep.Rows = append(rep.Rows, row)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// recordImport stores the run in its own transaction with an audit event.
// The caller passes a context that outlives a cancelled import, so the
// rows that landed are still accounted for.
func (ac *Accounts) recordImport(ctx context.Context, actor, source string, started time.Time, rep *ImportReport) error {
	if source = strings.TrimSpace(source); source == "" {
		source = DefaultImportSource
	}
	if len(source) > 200 {
		source = source[:200]
	}
	id, err := models.NewID(ac.rand, "imp")
	if err != nil {
		return fmt.Errorf("record import run: %w", err)
	}
	run := &models.ImportRun{ID: models.ImportRunID(id), StartedAt: started, FinishedAt: ac.now().UTC(), Actor: actor, Source: source,
		Imported: rep.Imported, Failed: rep.Failed, Flagged: rep.Flagged, Rows: rep.Rows}
	err = ac.store.Transact(ctx, func(tx models.Tx) error {
		if err := tx.CreateImportRun(ctx, run); err != nil {
			return err
		}
		return ac.chain.Append(ctx, tx, &models.AuditEvent{Actor: actor, Action: "accounts.import_run", Detail: map[string]string{
			"run": id, "source": source, "imported": strconv.Itoa(rep.Imported), "failed": strconv.Itoa(rep.Failed), "flagged": strconv.Itoa(rep.Flagged),
		}})
	})
	if err != nil {
		return fmt.Errorf("record import run %s: %w", id, err)
	}
	rep.Run = run.ID
	return nil
}

func (ac *Accounts) importRow(ctx context.Context, actor string, rec []string, images fs.FS, checker PhotoChecker) ([]string, error) {
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	a := &models.Account{No: models.AccountNo(rec[0]), HolderName: rec[1], NationalID: rec[2], Email: rec[3], Phone: rec[4],
		TimeZone: rec[5], Language: rec[6], ImportedAt: ac.now().UTC()}
	if len(rec) > len(accountColumns) && rec[len(accountColumns)] != a.HolderName { // the same name prints once
		a.HolderNameAlt = rec[len(accountColumns)]
	}
	if err := validateAccount(a); err != nil {
		return nil, err
	}
	var imgs []*models.AccountImage
	refs := map[*models.AccountImage]*models.FaceReference{} // descriptors computed by the checker
	var problems []string
	enroller, _ := checker.(ReferenceEnroller)
	for _, name := range strings.Split(rec[7], ";") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		img, err := ac.loadImage(images, name, a.No, models.ImagePhoto)
		if err != nil {
			return nil, err
		}
		var p string
		switch {
		case enroller != nil:
			var ref *models.FaceReference
			p, ref, err = enroller.EnrollReference(ctx, img.Data)
			if ref != nil && p == "" {
				refs[img] = ref
			}
		case checker != nil:
			p, err = checker.CheckReference(ctx, img.Data)
		}
		if err != nil {
			return nil, fmt.Errorf("check photo %s: %w", name, err)
		}
		if p != "" {
			img.Problem = p
			problems = append(problems, name+": "+p)
		}
		imgs = append(imgs, img)
	}
	if len(imgs) == 0 {
		return nil, models.Errorf(models.EINVALID, "at least one reference photo is required")
	}
	sig, err := ac.loadImage(images, rec[8], a.No, models.ImageSignature)
	if err != nil {
		return nil, err
	}
	imgs = append(imgs, sig)
	err = ac.store.Transact(ctx, func(tx models.Tx) error {
		if err := tx.UpsertAccount(ctx, a); err != nil {
			return err
		}
		for _, img := range imgs {
			if err := tx.AddAccountImage(ctx, img); err != nil {
				return err
			}
			if ref := refs[img]; ref != nil {
				ref.ImageID, ref.CreatedAt = img.ID, img.CreatedAt
				if err := tx.PutFaceReference(ctx, ref); err != nil {
					return err
				}
			}
		}
		return ac.chain.Append(ctx, tx, &models.AuditEvent{Actor: actor, Action: "account.imported", Detail: map[string]string{
			"account": string(a.No), "photos": strconv.Itoa(len(imgs) - 1), "flagged": strconv.Itoa(len(problems)),
			"enrolled": strconv.Itoa(len(refs)),
		}})
	})
	if err != nil {
		return nil, fmt.Errorf("import account %s: %w", models.MaskAccountNo(a.No), err)
	}
	return problems, nil
}

func validateAccount(a *models.Account) error {
	if len(a.No) < 4 || len(a.No) > 34 || strings.Trim(string(a.No), "0123456789") != "" {
		return models.Errorf(models.EINVALID, "account_no must be 4 to 34 digits")
	}
	if a.HolderName == "" || len(a.HolderName) > 200 {
		return models.Errorf(models.EINVALID, "holder_name must be 1 to 200 characters")
	}
	if len(a.HolderNameAlt) > 200 {
		return models.Errorf(models.EINVALID, "holder_name_alt must be at most 200 characters")
	}
	if len(a.NationalID) < 4 || len(a.NationalID) > 32 {
		return models.Errorf(models.EINVALID, "national_id must be 4 to 32 characters")
	}
	if addr, err := mail.ParseAddress(a.Email); err != nil || addr.Address != a.Email {
		return models.Errorf(models.EINVALID, "email %q is not a plain address", a.Email)
	}
	if _, err := LoadZone(a.TimeZone); err != nil {
		return err
	}
	if a.Language != "en" && a.Language != "zh-CN" {
		return models.Errorf(models.EINVALID, "language must be en or zh-CN")
	}
	return nil
}

func (ac *Accounts) loadImage(images fs.FS, name string, no models.AccountNo, kind models.ImageKind) (*models.AccountImage, error) {
	clean := path.Clean(name)
	if !fs.ValidPath(clean) {
		return nil, models.Errorf(models.EINVALID, "image name %q is not a plain relative path", name)
	}
	f, err := images.Open(clean)
	if err != nil {
		return nil, models.Errorf(models.EINVALID, "open image %s: %v", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxImageBytes+1))
	if err != nil {
		return nil, models.Errorf(models.EINVALID, "read image %s: %v", name, err)
	}
	ct, err := SniffImage(data)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	sum := sha256.Sum256(data)
	return &models.AccountImage{AccountNo: no, Kind: kind, ContentType: ct, SHA256: hex.EncodeToString(sum[:]), Data: data, CreatedAt: ac.now().UTC()}, nil
}

// SniffImage accepts a JPEG or PNG within the byte and pixel caps, checking
// the header before any full decode, and returns its content type.
func SniffImage(data []byte) (string, error) {
	if len(data) > maxImageBytes {
		return "", models.Errorf(models.ETOOLARGE, "image larger than %d MiB", maxImageBytes>>20)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", models.Errorf(models.EUNSUPPORTED, "not a JPEG or PNG image")
	}
	if format != "jpeg" && format != "png" {
		return "", models.Errorf(models.EUNSUPPORTED, "%s images are not accepted (JPEG or PNG)", format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxImagePixels {
		return "", models.Errorf(models.ETOOLARGE, "image of %dx%d pixels is over the %d-pixel limit", cfg.Width, cfg.Height, maxImagePixels)
	}
	if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
		return "", models.Errorf(models.EUNSUPPORTED, "image is damaged: %v", err)
	}
	return "image/" + format, nil
}
