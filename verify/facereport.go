package verify

import (
	"context"
	"strings"

	"remoteidv/verify/facematch"
)

// FaceConfig is the face engine's configuration as set (IDV_FACE_*). The
// admin's report shows it even when the engine could not be loaded.
type FaceConfig struct {
	Threshold       float64
	Recognizers     int                    // 0: one per core
	CalibrationFile string                 // "" when none is configured
	Calibration     *facematch.Calibration // read from CalibrationFile
	// TargetFMR sets the threshold once calibrated (IDV_FACE_TARGET_FMR,
	// default 1e-3); MaxGenuineFail and MinGenuinePairs say when scores are
	// weak evidence (IDV_FACE_WEAK_GENUINE_FAIL, IDV_FACE_MIN_GENUINE_PAIRS);
	// MaxPairs caps the impostor pairs a calibration measures
	// (IDV_FACE_CALIBRATION_MAX_PAIRS). Zero: the facematch defaults.
	TargetFMR       float64
	MaxGenuineFail  float64
	MinGenuinePairs int
	MaxPairs        int
}

// FaceReport is what an admin reads about the face engine: the threshold
// in force, the engine's pool and models, the BLAS the process uses, the
// liveness settings and what the calibration says about the threshold.
type FaceReport struct {
	// Loaded is false when the models are missing: face checks and
	// liveness then answer "unavailable".
	Loaded      bool    `json:"loaded"`
	Threshold   float64 `json:"threshold"`
	Recognizers int     `json:"recognizers"` // 0 (not loaded): one per core once loaded
	Jitter      int     `json:"jitter"`
	// ModelHash is the loaded models' hash, or the pinned models' (the
	// only ones the engine accepts) when none are loaded.
	ModelHash facematch.ModelHash `json:"model_hash"`
	BLAS      BLASReport          `json:"blas"`
	Liveness  LivenessSettings    `json:"liveness"`
	// CalibrationFile is the configured file; with none, Calibration is
	// nil and `idv face calibrate` makes one.
	CalibrationFile string                        `json:"calibration_file,omitempty"`
	Calibration     *facematch.CalibrationSummary `json:"calibration,omitempty"`
	// Operating is where the calibration in force (the newest in the
	// database, else the file's) puts the threshold, and whether face
	// scores are weak evidence.
	Operating facematch.Operating `json:"operating"`
}

// BLASReport is the BLAS and LAPACK the process actually loaded (as `idv
// face info` prints them).
type BLASReport struct {
	Libraries       []string          `json:"libraries"` // "mapped path -> resolved path"
	Providers       map[string]string `json:"providers"` // routine dlib calls -> library
	OpenBLAS        string            `json:"openblas,omitempty"`
	OpenBLASThreads int               `json:"openblas_threads"` // -1 without OpenBLAS
	Error           string            `json:"error,omitempty"`  // why the process could not be inspected
}

// LivenessSettings are the active liveness challenge's rules.
type LivenessSettings struct {
	Poses         []string `json:"poses"` // the turns prompted, each side at random
	WindowSeconds float64  `json:"window_seconds"`
	CenterMaxYaw  float64  `json:"center_max_yaw"` // |yaw| at or under it: facing the camera
	TurnMinYaw    float64  `json:"turn_min_yaw"`   // |yaw| at or over it: turned
}

// ModelHash is the hash reference descriptors must carry to be used: the
// loaded engine's, else the pinned models' (NoFaceEngine's).
func (s *Service) ModelHash() facematch.ModelHash { return s.face.ModelHash() }

// FaceReport describes the face engine for the admin page. The
// calibration's distance tail stays on the server.
func (s *Service) FaceReport(ctx context.Context) *FaceReport {
	fc := s.cfg.Face
	r := &FaceReport{Threshold: fc.Threshold, Recognizers: fc.Recognizers, ModelHash: s.ModelHash(), CalibrationFile: fc.CalibrationFile,
		Liveness: LivenessSettings{WindowSeconds: facematch.DefaultChallengeWindow.Seconds(), CenterMaxYaw: facematch.DefaultCenterMax, TurnMinYaw: facematch.DefaultTurnMin}}
	if r.Threshold <= 0 {
		r.Threshold = facematch.DefaultThreshold
	}
	for _, p := range facematch.ChallengePoses() {
		r.Liveness.Poses = append(r.Liveness.Poses, p.String())
	}
	cal := fc.Calibration
	if faceLoaded(s.face) == nil {
		r.Loaded = true
		if e, ok := s.face.(engineInfo); ok {
			st := e.Settings()
			r.Threshold, r.Recognizers, r.Jitter = st.Threshold, st.Recognizers, st.Jitter
			r.Liveness.CenterMaxYaw, r.Liveness.TurnMinYaw = st.Yaw.CenterMax, st.Yaw.TurnMin
			if c := e.Calibration(); c != nil {
				cal = c
			}
		}
	}
	if stored, err := s.calib.FaceCalibration(ctx); err != nil {
		s.log.WarnContext(ctx, "read face calibration", "err", err)
	} else if stored != nil && stored.ID > 0 {
		cal = stored
	}
	r.Operating = facematch.OperatingFor(cal, s.calib.policy(r.Threshold))
	if cal != nil {
		sum := cal.Summary(r.Operating.Threshold, r.ModelHash)
		r.Calibration = &sum
	}
	info, err := s.readBLAS()
	if err != nil {
		s.log.WarnContext(ctx, "inspect BLAS libraries", "err", err)
		r.BLAS.Error = err.Error()
	}
	r.BLAS.Libraries, r.BLAS.Providers = info.LibraryList(), info.Providers
	r.BLAS.OpenBLAS, r.BLAS.OpenBLASThreads = strings.TrimSpace(info.OpenBLASConfig), info.OpenBLASThreads
	if r.BLAS.Libraries == nil {
		r.BLAS.Libraries = []string{}
	}
	if r.BLAS.Providers == nil {
		r.BLAS.Providers = map[string]string{}
	}
	return r
}
