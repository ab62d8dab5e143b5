package verify

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/verify/facematch"
)

// Calibration sources (models.FaceCalibration.Source).
const (
	CalibrationFromAccounts = "accounts" // the enrolled accounts' descriptors and confirmed live captures
	CalibrationFromDemo     = "demo"     // the demo photos (idv demo load)
)

// Calibrator makes, stores and reads the face calibrations of one set of
// model files (the engine's ModelHash). The workflow's Service holds one;
// the command line builds its own (idv face calibrate --accounts, the
// calibration after an import, idv demo load) without the rest of the
// workflow.
type Calibrator struct {
	store models.Store
	chain audit.Chain
	now   func() time.Time
	rand  io.Reader
	log   *slog.Logger
	cfg   FaceConfig
	hash  facematch.ModelHash
}

// NewCalibrator returns the calibrator of the models with hash hash over
// core, with the policy and limits of cfg.
func NewCalibrator(core Core, cfg FaceConfig, hash facematch.ModelHash) (*Calibrator, error) {
	if err := missingError("new calibrator", core.missing()); err != nil {
		return nil, err
	}
	return &Calibrator{store: core.Store, chain: core.Chain, now: core.Now, rand: core.Rand, log: core.Log, cfg: cfg, hash: hash}, nil
}

func (s *Calibrator) event(ctx context.Context, tx models.Tx, actor string, action string, detail map[string]string) error {
	return s.chain.Append(ctx, tx, &models.AuditEvent{Actor: actor, Action: action, Detail: detail})
}

// CalibrateFaces measures the enrolled population for the running models
// and stores the result as the next calibration, which is then in force:
// the impostor distribution from pairs of different accounts' reference
// descriptors (sampled beyond FaceConfig.MaxPairs), the genuine one from
// accounts with two or more usable photos plus the live captures clerks
// confirmed. actor is audited (face.calibrated). EPRECONDITION when the
// population has no pair of two accounts.
func (s *Calibrator) CalibrateFaces(ctx context.Context, actor string) (*facematch.Calibration, error) {
	hash := s.hash
	var refs []*models.FaceReference
	var live []*models.Check
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) {
		if refs, err = tx.AllFaceReferences(ctx, string(hash)); err != nil {
			return err
		}
		live, err = tx.ConfirmedLiveFaceChecks(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("calibrate faces: %w", err)
	}
	var people []facematch.Person
	for _, r := range refs {
		var d facematch.Descriptor
		if err := d.UnmarshalBinary(r.Descriptor); err != nil {
			return nil, fmt.Errorf("calibrate faces: image %d: %w", r.ImageID, err)
		}
		if n := len(people); n == 0 || people[n-1].ID != string(r.AccountNo) {
			people = append(people, facematch.Person{ID: string(r.AccountNo)})
		}
		people[len(people)-1].Descriptors = append(people[len(people)-1].Descriptors, d)
	}
	var genuine []float64
	for _, k := range live {
		var d struct {
			Distance  float64             `json:"distance"`
			ModelHash facematch.ModelHash `json:"model_hash"`
			Status    string              `json:"status"`
		}
		if json.Unmarshal(k.Detail, &d) == nil && d.ModelHash == hash && d.Status == facematch.StatusOK.String() && d.Distance > 0 {
			genuine = append(genuine, d.Distance)
		}
	}
	seed, err := s.Seed()
	if err != nil {
		return nil, err
	}
	cal, err := facematch.CalibratePopulation(people, facematch.PopulationOptions{ModelHash: hash, Cohort: "enrolled accounts", Source: CalibrationFromAccounts,
		TargetFMR: s.cfg.TargetFMR, MaxPairs: s.cfg.MaxPairs, Seed: seed, LiveGenuine: genuine, Now: s.now()})
	if err != nil {
		return nil, models.Errorf(models.EPRECONDITION, "calibrate faces: %d accounts with usable photos: %v", len(people), err)
	}
	if err := s.StoreCalibration(ctx, actor, cal); err != nil {
		return nil, err
	}
	return cal, nil
}

// Seed draws a sampling seed from the injected randomness.
func (s *Calibrator) Seed() (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return 0, fmt.Errorf("calibration seed: %w", err)
	}
	return binary.BigEndian.Uint64(b[:]), nil
}

// StoreCalibration stores cal (made with the running models) as the next
// calibration, sets its ID, and audits it (face.calibrated).
func (s *Calibrator) StoreCalibration(ctx context.Context, actor string, cal *facematch.Calibration) error {
	if cal.ModelHash != s.hash {
		return models.Errorf(models.EINVALID, "calibration made with models %.12s, the engine runs %.12s", cal.ModelHash, s.hash)
	}
	if err := cal.Valid(); err != nil {
		return models.Errorf(models.EINVALID, "store calibration: %v", err)
	}
	body, err := json.Marshal(cal)
	if err != nil {
		return fmt.Errorf("store calibration: %w", err)
	}
	row := &models.FaceCalibration{ModelHash: string(cal.ModelHash), CreatedAt: cal.Created.UTC(), Source: cal.Source, Actor: actor,
		People: cal.People, Photos: cal.Photos, ImpostorPairs: cal.Impostors, PopulationPairs: cal.PopulationPairs, GenuinePairs: len(cal.Genuine), Body: body}
	op := facematch.OperatingFor(cal, s.policy(0))
	err = s.store.Transact(ctx, func(tx models.Tx) error {
		if err := tx.CreateFaceCalibration(ctx, row); err != nil {
			return err
		}
		d := map[string]string{"calibration": strconv.FormatInt(row.ID, 10), "source": cal.Source, "model_hash": string(cal.ModelHash),
			"people": strconv.Itoa(cal.People), "photos": strconv.Itoa(cal.Photos), "impostor_pairs": strconv.Itoa(cal.Impostors),
			"population_pairs": strconv.FormatInt(cal.PopulationPairs, 10), "genuine_pairs": strconv.Itoa(len(cal.Genuine)),
			"threshold": strconv.FormatFloat(op.Threshold, 'f', 4, 64), "weak": strconv.FormatBool(op.Weak)}
		return s.event(ctx, tx, actor, "face.calibrated", d)
	})
	if err != nil {
		return fmt.Errorf("store calibration: %w", err)
	}
	cal.ID = row.ID
	s.log.InfoContext(ctx, "face calibration stored", "calibration", row.ID, "source", cal.Source, "people", cal.People,
		"impostor_pairs", cal.Impostors, "genuine_pairs", len(cal.Genuine), "threshold", op.Threshold, "weak", op.Weak)
	return nil
}

// FaceCalibration returns the calibration in force for the running
// models: the newest stored one, else the configured file's
// (IDV_FACE_CALIBRATION) when made with these models, else nil.
func (s *Calibrator) FaceCalibration(ctx context.Context) (*facematch.Calibration, error) {
	hash := s.hash
	var row *models.FaceCalibration
	err := s.store.Transact(ctx, func(tx models.Tx) (err error) {
		row, err = tx.LatestFaceCalibration(ctx, string(hash))
		return err
	})
	switch {
	case models.ErrorCodeOf(err) == models.ENOTFOUND:
		if c := s.cfg.Calibration; c != nil && c.ModelHash == hash {
			return c, nil
		}
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("face calibration: %w", err)
	}
	var c facematch.Calibration
	if err := json.Unmarshal(row.Body, &c); err != nil {
		return nil, fmt.Errorf("face calibration %d: %w", row.ID, err)
	}
	if err := c.Valid(); err != nil {
		return nil, fmt.Errorf("face calibration %d: %w", row.ID, err)
	}
	c.ID = row.ID
	return &c, nil
}

// Policy is the configured face policy.
func (s *Calibrator) Policy() facematch.Policy { return s.policy(0) }

// policy is the configured face policy; threshold (when > 0) stands in for
// the configured threshold (the engine's).
func (s *Calibrator) policy(threshold float64) facematch.Policy {
	fc := s.cfg
	p := facematch.Policy{TargetFMR: fc.TargetFMR, MaxGenuineFail: fc.MaxGenuineFail, MinGenuinePairs: fc.MinGenuinePairs, Threshold: fc.Threshold}
	if threshold > 0 {
		p.Threshold = threshold
	}
	return p.WithDefaults()
}

// FaceOperating returns the operating point in force (the calibration's
// threshold and strength) with its calibration (nil: not calibrated).
func (s *Calibrator) FaceOperating(ctx context.Context) (facematch.Operating, *facematch.Calibration, error) {
	cal, err := s.FaceCalibration(ctx)
	if err != nil {
		return facematch.Operating{}, nil, err
	}
	return facematch.OperatingFor(cal, s.policy(0)), cal, nil
}

// assess decides res at the operating point in force and attaches what the
// calibration says about its distance. Without a calibration the engine's
// threshold stands and the result is labelled weak evidence (not
// calibrated).
func (s *Service) assess(ctx context.Context, res *facematch.MatchResult) error {
	cal, err := s.calib.FaceCalibration(ctx)
	if err != nil {
		return err
	}
	facematch.OperatingFor(cal, s.calib.policy(res.Threshold)).Apply(cal, res)
	return nil
}

// Calibrator is the service's calibrator (for the running models).
func (s *Service) Calibrator() *Calibrator { return s.calib }

// assessDetail is the audit event's summary of an assessed result.
func assessDetail(d map[string]string, a *facematch.Assessment) {
	if a == nil {
		return
	}
	d["evidence_strength"] = "calibrated"
	if a.Weak {
		d["evidence_strength"] = "weak"
		for i, r := range a.WeakReasons {
			if i == 0 {
				d["weak_reasons"] = r
			} else {
				d["weak_reasons"] += "," + r
			}
		}
	}
	if !a.Calibrated {
		return
	}
	d["calibration"] = strconv.FormatInt(a.Calibration, 10)
	if a.Scored {
		d["fmr_at_distance"] = strconv.FormatFloat(a.Rate, 'g', 3, 64)
		d["fmr_upper95"] = strconv.FormatFloat(a.Upper95, 'g', 3, 64)
	}
}
