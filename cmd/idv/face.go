package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"remoteidv/models"
	"remoteidv/verify"
	"remoteidv/verify/face"
	"remoteidv/verify/face/facecli"
	"remoteidv/verify/facematch"
)

// runFace is `idv face info|eval DIR|calibrate DIR|calibrate --accounts`:
// the face engine's tools.
func runFace(ctx context.Context, e *cliEnv, args []string) error {
	tools := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"info": facecli.RunInfo, "eval": facecli.RunEval, "calibrate": facecli.RunCalibrate,
	}
	if len(args) == 0 || tools[args[0]] == nil {
		return usageError("usage: idv face info|eval|calibrate ...")
	}
	if args[0] == "calibrate" && len(args) > 1 && (args[1] == "--accounts" || args[1] == "-accounts") {
		return runCalibrateAccounts(ctx, e, args[2:])
	}
	return tools[args[0]](ctx, args[1:], e.stdout, e.stderr)
}

// loadEngine loads the face engine as configured, with recognizers in the
// pool (0: the configured size). When the model files are missing or
// altered it fails, naming the file, unless the configuration does not
// require them: then it returns a nil engine and face checks answer
// "unavailable".
func loadEngine(ctx context.Context, cfg Config, log *slog.Logger, recognizers int) (*face.Engine, error) {
	if recognizers == 0 {
		recognizers = int(cfg.Face.Recognizers)
	}
	fc := face.Config{ModelsDir: cfg.Face.ModelsDir, Recognizers: recognizers, Threshold: cfg.Face.Threshold, Logger: log}
	if cfg.Face.Calibration != "" {
		cal, err := facematch.LoadCalibration(cfg.Face.Calibration)
		if err != nil {
			return nil, fmt.Errorf("IDV_FACE_CALIBRATION: %w", err)
		}
		fc.Calibration = cal
	}
	eng, err := face.New(ctx, fc)
	var me *face.ModelError
	switch {
	case errors.As(err, &me) && !cfg.Face.Require:
		log.Warn("face models missing or altered: face checks are unavailable", "dir", cfg.Face.ModelsDir, "err", err)
		return nil, nil
	case errors.As(err, &me):
		return nil, fmt.Errorf("face models: %w (run `idv models fetch`)", err)
	case err != nil:
		return nil, fmt.Errorf("face engine: %w", err)
	}
	return eng, nil
}

// faceConfig is the face configuration the admin's report shows: the
// engine's calibration, or with no engine loaded (models missing) the
// configured file read again.
func faceConfig(cfg Config, eng *face.Engine) (verify.FaceConfig, error) {
	fc := verify.FaceConfig{Threshold: cfg.Face.Threshold, Recognizers: int(cfg.Face.Recognizers), CalibrationFile: cfg.Face.Calibration,
		TargetFMR: cfg.Face.TargetFMR, MaxGenuineFail: cfg.Face.WeakGenuineFail, MinGenuinePairs: int(cfg.Face.MinGenuinePairs), MaxPairs: int(cfg.Face.CalibrationMaxPairs)}
	switch {
	case eng != nil:
		fc.Calibration = eng.Calibration()
	case cfg.Face.Calibration != "":
		cal, err := facematch.LoadCalibration(cfg.Face.Calibration)
		if err != nil {
			return fc, fmt.Errorf("IDV_FACE_CALIBRATION: %w", err)
		}
		fc.Calibration = cal
	}
	return fc, nil
}

// workflowEngine is the face engine the workflow gets: eng, or without
// one (models missing and not required) verify.NoFaceEngine, which answers
// "unavailable".
func workflowEngine(eng *face.Engine) verify.FaceEngine {
	if eng == nil {
		return verify.NoFaceEngine{}
	}
	return eng
}

// faceChecker flags reference photos without exactly one usable face and
// hands over the descriptors of the others, which the import stores.
type faceChecker struct{ engine *face.Engine }

var _ verify.ReferenceEnroller = faceChecker{}

func (c faceChecker) CheckReference(ctx context.Context, img []byte) (string, error) {
	p, _, err := c.EnrollReference(ctx, img)
	return p, err
}

func (c faceChecker) EnrollReference(ctx context.Context, img []byte) (string, *models.FaceReference, error) {
	en, err := c.engine.Enroll(ctx, img)
	var rej *facematch.RejectedError
	if errors.As(err, &rej) {
		return rej.Error(), nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	desc, err := en.Descriptor.MarshalBinary()
	if err != nil {
		return "", nil, fmt.Errorf("enroll reference: %w", err)
	}
	return "", &models.FaceReference{ModelHash: string(en.ModelHash), Descriptor: desc}, nil
}

// photoChecker loads a one-recognizer engine for imports. Without models
// it checks nothing, unless the configuration requires them.
func (a *app) photoChecker(ctx context.Context) (verify.PhotoChecker, func(), error) {
	eng, err := loadEngine(ctx, a.cfg, a.log, 1)
	if err != nil || eng == nil {
		return nil, func() {}, err
	}
	return faceChecker{eng}, func() { eng.Close() }, nil
}
