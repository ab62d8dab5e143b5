package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"remoteidv/models"
)

const insertCheck = `INSERT INTO checks (id, case_id, kind, result, detail, evidence_id, actor, created_at, source, call_id, segment_seq, media_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateCheck stores a check outcome.
func (t *Tx) CreateCheck(ctx context.Context, c *models.Check) error {
	call := sql.NullString{String: string(c.Call), Valid: c.Call != ""}
	if _, err := t.exec(ctx, insertCheck, c.ID, c.CaseID, string(c.Kind), string(c.Result), string(c.Detail), c.Evidence, c.Actor, us(c.CreatedAt),
		string(c.Source), call, c.Segment, c.MediaMS); err != nil {
		return fmt.Errorf("create %s check for %s: %w", c.Kind, c.CaseID, err)
	}
	return nil
}

const confirmCheck = `UPDATE checks SET confirmed_by = ?, confirmed_at = ?, confirmation = ?, note = ? WHERE id = ? AND confirmation = ''`

// ConfirmCheck records the clerk's visual confirmation once.
func (t *Tx) ConfirmCheck(ctx context.Context, id models.CheckID, by, confirmation, note string, at time.Time) error {
	r, err := t.exec(ctx, confirmCheck, by, us(at), confirmation, note, id)
	if err != nil {
		return fmt.Errorf("confirm check %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		if _, err := t.CheckByID(ctx, id); err != nil {
			return err
		}
		return models.Errorf(models.ECONFLICT, "check %s was already confirmed or rejected", id)
	}
	return nil
}

const selectCheck = `SELECT id, case_id, kind, result, detail, evidence_id, actor, created_at, confirmed_by, confirmed_at, confirmation, note,
source, call_id, segment_seq, media_ms FROM checks `

func scanCheck(row interface{ Scan(...any) error }) (*models.Check, error) {
	var c models.Check
	var detail string
	var created int64
	var confirmed sql.NullInt64
	var call sql.NullString
	if err := row.Scan(&c.ID, &c.CaseID, &c.Kind, &c.Result, &detail, &c.Evidence, &c.Actor, &created, &c.ConfirmedBy, &confirmed, &c.Confirmation, &c.Note,
		&c.Source, &call, &c.Segment, &c.MediaMS); err != nil {
		return nil, err
	}
	c.Detail, c.CreatedAt, c.ConfirmedAt, c.Call = []byte(detail), fromUS(created), fromNullUS(confirmed), models.CallID(call.String)
	return &c, nil
}

// CheckByID returns a check.
func (t *Tx) CheckByID(ctx context.Context, id models.CheckID) (*models.Check, error) {
	c, err := scanCheck(t.queryRow(ctx, selectCheck+`WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", id, t.db.translate(err))
	}
	return c, nil
}

// ChecksByCase lists a case's checks, oldest first.
func (t *Tx) ChecksByCase(ctx context.Context, id models.CaseID) ([]*models.Check, error) {
	rows, err := t.query(ctx, selectCheck+`WHERE case_id = ? ORDER BY created_at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("checks of %s: %w", id, err)
	}
	defer rows.Close()
	var out []*models.Check
	for rows.Next() {
		c, err := scanCheck(rows)
		if err != nil {
			return nil, fmt.Errorf("checks of %s: %w", id, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

const putFaceReference = `INSERT INTO face_references (image_id, model_hash, descriptor, created_at) VALUES (?, ?, ?, ?)
ON CONFLICT (image_id, model_hash) DO UPDATE SET descriptor = excluded.descriptor, created_at = excluded.created_at`

// descriptorAD binds a sealed descriptor to its row.
func descriptorAD(imageID int64, modelHash string) []byte {
	return []byte(strconv.FormatInt(imageID, 10) + "|" + modelHash)
}

// plainDescriptorLen is a descriptor's size unencrypted (128 float32).
const plainDescriptorLen = 512

// sealDescriptor encrypts a descriptor for its row when the DB has a key.
func (db *DB) sealDescriptor(r *models.FaceReference) ([]byte, error) {
	if db.descKey == nil {
		return r.Descriptor, nil
	}
	return db.descKey.SealBlob(db.descRand, r.Descriptor, descriptorAD(r.ImageID, r.ModelHash))
}

// openDescriptor decrypts a stored descriptor; one of plainDescriptorLen
// bytes was stored before encryption and is read as it is.
func (db *DB) openDescriptor(r *models.FaceReference) error {
	if len(r.Descriptor) == plainDescriptorLen {
		return nil
	}
	if db.descKey == nil {
		return models.Errorf(models.EPRECONDITION, "face descriptor of image %d is encrypted and no key is configured (IDV_STAGING_KEY_FILE)", r.ImageID)
	}
	d, err := db.descKey.OpenBlob(r.Descriptor, descriptorAD(r.ImageID, r.ModelHash))
	if err != nil {
		return fmt.Errorf("face descriptor of image %d: %w", r.ImageID, err)
	}
	r.Descriptor = d
	return nil
}

// PutFaceReference stores an image's descriptor for a model hash,
// encrypted when the DB has a key (SealDescriptors).
func (t *Tx) PutFaceReference(ctx context.Context, r *models.FaceReference) error {
	desc, err := t.db.sealDescriptor(r)
	if err != nil {
		return fmt.Errorf("store face reference of image %d: %w", r.ImageID, err)
	}
	if _, err := t.exec(ctx, putFaceReference, r.ImageID, r.ModelHash, desc, us(r.CreatedAt)); err != nil {
		return fmt.Errorf("store face reference of image %d: %w", r.ImageID, err)
	}
	return nil
}

const selectFaceReferences = `SELECT f.image_id, f.model_hash, f.descriptor, f.created_at FROM face_references f
JOIN account_images i ON i.id = f.image_id WHERE i.account_no = ? AND f.model_hash = ? ORDER BY f.image_id`

// FaceReferences returns an account's descriptors for a model hash.
func (t *Tx) FaceReferences(ctx context.Context, no models.AccountNo, modelHash string) ([]*models.FaceReference, error) {
	rows, err := t.query(ctx, selectFaceReferences, no, modelHash)
	if err != nil {
		return nil, fmt.Errorf("face references of %s: %w", models.MaskAccountNo(no), err)
	}
	defer rows.Close()
	var out []*models.FaceReference
	for rows.Next() {
		var r models.FaceReference
		var created int64
		if err := rows.Scan(&r.ImageID, &r.ModelHash, &r.Descriptor, &created); err != nil {
			return nil, fmt.Errorf("face references: %w", err)
		}
		if err := t.db.openDescriptor(&r); err != nil {
			return nil, fmt.Errorf("face references: %w", err)
		}
		r.CreatedAt = fromUS(created)
		out = append(out, &r)
	}
	return out, rows.Err()
}

const selectAllFaceReferences = `SELECT f.image_id, i.account_no, f.model_hash, f.descriptor, f.created_at FROM face_references f
JOIN account_images i ON i.id = f.image_id WHERE f.model_hash = ? AND i.kind = 'photo' AND i.problem = '' ORDER BY i.account_no, f.image_id`

// AllFaceReferences returns every account's usable descriptors for a
// model hash.
func (t *Tx) AllFaceReferences(ctx context.Context, modelHash string) ([]*models.FaceReference, error) {
	rows, err := t.query(ctx, selectAllFaceReferences, modelHash)
	if err != nil {
		return nil, fmt.Errorf("all face references: %w", err)
	}
	defer rows.Close()
	var out []*models.FaceReference
	for rows.Next() {
		var r models.FaceReference
		var created int64
		if err := rows.Scan(&r.ImageID, &r.AccountNo, &r.ModelHash, &r.Descriptor, &created); err != nil {
			return nil, fmt.Errorf("all face references: %w", err)
		}
		if err := t.db.openDescriptor(&r); err != nil {
			return nil, fmt.Errorf("all face references: %w", err)
		}
		r.CreatedAt = fromUS(created)
		out = append(out, &r)
	}
	return out, rows.Err()
}

// ConfirmedLiveFaceChecks returns the live captures' face checks their
// clerk confirmed, oldest first.
func (t *Tx) ConfirmedLiveFaceChecks(ctx context.Context) ([]*models.Check, error) {
	rows, err := t.query(ctx, selectCheck+`WHERE kind = 'face_match' AND source = 'live_call' AND confirmation = 'confirmed' ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("confirmed live face checks: %w", err)
	}
	defer rows.Close()
	var out []*models.Check
	for rows.Next() {
		c, err := scanCheck(rows)
		if err != nil {
			return nil, fmt.Errorf("confirmed live face checks: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

const insertFaceCalibration = `INSERT INTO face_calibrations (model_hash, created_at, source, actor, people, photos, impostor_pairs, population_pairs, genuine_pairs, body)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// CreateFaceCalibration stores a calibration under the next number.
func (t *Tx) CreateFaceCalibration(ctx context.Context, c *models.FaceCalibration) error {
	err := t.queryRow(ctx, insertFaceCalibration, c.ModelHash, us(c.CreatedAt), c.Source, c.Actor, c.People, c.Photos,
		c.ImpostorPairs, c.PopulationPairs, c.GenuinePairs, string(c.Body)).Scan(&c.ID)
	if err != nil {
		return fmt.Errorf("create face calibration: %w", t.db.translate(err))
	}
	return nil
}

const selectFaceCalibration = `SELECT id, model_hash, created_at, source, actor, people, photos, impostor_pairs, population_pairs, genuine_pairs, body
FROM face_calibrations `

func scanFaceCalibration(row *sql.Row) (*models.FaceCalibration, error) {
	var c models.FaceCalibration
	var created int64
	var body string
	if err := row.Scan(&c.ID, &c.ModelHash, &created, &c.Source, &c.Actor, &c.People, &c.Photos, &c.ImpostorPairs, &c.PopulationPairs, &c.GenuinePairs, &body); err != nil {
		return nil, err
	}
	c.CreatedAt, c.Body = fromUS(created), []byte(body)
	return &c, nil
}

// LatestFaceCalibration returns the newest calibration for a model hash.
func (t *Tx) LatestFaceCalibration(ctx context.Context, modelHash string) (*models.FaceCalibration, error) {
	c, err := scanFaceCalibration(t.queryRow(ctx, selectFaceCalibration+`WHERE model_hash = ? ORDER BY id DESC LIMIT 1`, modelHash))
	if err != nil {
		return nil, fmt.Errorf("latest face calibration: %w", t.db.translate(err))
	}
	return c, nil
}

// FaceCalibrationByID returns one calibration.
func (t *Tx) FaceCalibrationByID(ctx context.Context, id int64) (*models.FaceCalibration, error) {
	c, err := scanFaceCalibration(t.queryRow(ctx, selectFaceCalibration+`WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("face calibration %d: %w", id, t.db.translate(err))
	}
	return c, nil
}
