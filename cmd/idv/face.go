package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"remoteidv/storage/archiver"
	"remoteidv/verify"
	"remoteidv/verify/face"
)

// newEngine loads the face engine as configured, with recognizers in the
// pool (0: the configured size).
func (a *app) newEngine(ctx context.Context, recognizers int) (*face.Engine, error) {
	if recognizers == 0 {
		recognizers = int(a.cfg.FaceRecognizers)
	}
	cfg := face.Config{ModelsDir: a.cfg.ModelsDir, Recognizers: recognizers, Threshold: a.cfg.FaceThreshold, Logger: a.log}
	if a.cfg.FaceCalibration != "" {
		cal, err := face.LoadCalibration(a.cfg.FaceCalibration)
		if err != nil {
			return nil, fmt.Errorf("IDV_FACE_CALIBRATION: %w", err)
		}
		cfg.Calibration = cal
	}
	return face.New(ctx, cfg)
}

// enableFace loads the engine and the staging folder into the workflow.
// Without models it leaves face checks unavailable, unless the
// configuration requires them.
func (a *app) enableFace(ctx context.Context) (func(), error) {
	st, err := archiver.NewStager(filepath.Join(a.cfg.DataDir, "staging"), time.Now, rand.Reader)
	if err != nil {
		return nil, err
	}
	a.verify.Stager = st
	if _, err := face.VerifyModels(a.cfg.ModelsDir); err != nil {
		if a.cfg.RequireModels {
			return nil, fmt.Errorf("face models: %w (run `idv models fetch`)", err)
		}
		a.log.Warn("face models missing: face checks are unavailable", "dir", a.cfg.ModelsDir)
		return func() {}, nil
	}
	eng, err := a.newEngine(ctx, 0)
	if err != nil {
		return nil, err
	}
	a.verify.Face = eng
	return func() { eng.Close() }, nil
}

// faceChecker flags reference photos without exactly one usable face.
type faceChecker struct{ engine *face.Engine }

func (c faceChecker) CheckReference(ctx context.Context, img []byte) (string, error) {
	_, err := c.engine.Enroll(ctx, img)
	var rej *face.RejectedError
	if errors.As(err, &rej) {
		return rej.Error(), nil
	}
	return "", err
}

// photoChecker loads the face engine for imports. Without models it checks
// nothing, unless the configuration requires them.
func (a *app) photoChecker(ctx context.Context) (verify.PhotoChecker, func(), error) {
	if _, err := face.VerifyModels(a.cfg.ModelsDir); err != nil {
		if a.cfg.RequireModels {
			return nil, nil, fmt.Errorf("face models: %w (run `idv models fetch`)", err)
		}
		a.log.Warn("face models missing: reference photos are imported unchecked", "dir", a.cfg.ModelsDir)
		return nil, func() {}, nil
	}
	eng, err := a.newEngine(ctx, 1)
	if err != nil {
		return nil, nil, err
	}
	return faceChecker{eng}, func() { eng.Close() }, nil
}
