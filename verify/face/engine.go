// Package face is the face verification engine: it owns every call into
// dlib (through github.com/Kagami/go-face, cgo), the pinned model files,
// the input gates that run before any cgo call, a pool of recognizers,
// matching with calibrated false-match rates, the geometry of the active
// liveness challenge, and the evaluation and calibration tools.
//
// The score is an aid to the clerk, not a decision on its own: every
// MatchResult carries the expected false-match rate at its threshold when
// a calibration is loaded, and the caller must still record the clerk's
// visual comparison.
package face

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"time"

	goface "github.com/Kagami/go-face"
)

// Descriptor is dlib's 128-dimensional face descriptor. It is biometric
// data: never log it (LogValue redacts it).
type Descriptor [128]float32

// LogValue redacts the descriptor in structured logs.
func (Descriptor) LogValue() slog.Value { return slog.StringValue("[descriptor redacted]") }

// SquaredDistance is the squared Euclidean distance between two
// descriptors; dlib's usual 0.6 Euclidean threshold is 0.36 here.
func SquaredDistance(a, b Descriptor) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s
}

// DefaultThreshold is the default squared-distance threshold (0.6²).
const DefaultThreshold = 0.36

// Config configures an Engine. Zero fields take their defaults.
type Config struct {
	// ModelsDir holds the three pinned model files. Required.
	ModelsDir string
	// Recognizers is the pool size. Default runtime.NumCPU().
	Recognizers int
	// BLASThreads, if > 0, sets OpenBLAS's thread count. With 0, it is set
	// to 1 when the pool has more than one recognizer, so the pool, not
	// OpenBLAS, spreads work over the cores. The setting is process-wide.
	BLASThreads int
	// Jitter is dlib's number of jittered copies averaged per descriptor
	// (0 = none). Costs Jitter+1 times the descriptor time.
	Jitter int
	// Threshold is the squared-distance match threshold. Default 0.36.
	Threshold float64
	// Limits are the input gates.
	Limits Limits
	// Yaw holds the pose thresholds for liveness.
	Yaw YawLimits
	// Calibration, if set, gives every MatchResult its expected
	// false-match rate. Its model hash must equal the models'.
	Calibration *Calibration
	// Logger receives operational messages (never images or descriptors).
	Logger *slog.Logger
	// Now is the clock used for timings. Default time.Now.
	Now func() time.Time
}

// ErrClosed is returned by calls on a closed Engine.
var ErrClosed = errors.New("face engine closed")

// ErrStaleReference is wrapped when a reference descriptor was computed
// with other model files; it must be recomputed with Enroll.
var ErrStaleReference = errors.New("reference descriptor from other models")

// Engine verifies faces. It holds a pool of recognizers and is safe for
// concurrent use. Close it to free the dlib models.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	models ModelSet
	recs   []*goface.Recognizer
	pool   chan *goface.Recognizer

	mu      sync.Mutex
	closed  bool
	done    chan struct{}
	active  sync.WaitGroup
	closing sync.Once
}

// New verifies the model files and loads cfg.Recognizers recognizers.
// It fails with a *ModelError (wrapped) if a model file is missing or
// altered.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.ModelsDir == "" {
		return nil, errors.New("new face engine: no models dir")
	}
	if cfg.Recognizers <= 0 {
		cfg.Recognizers = runtime.NumCPU()
	}
	if cfg.Threshold <= 0 {
		cfg.Threshold = DefaultThreshold
	}
	if cfg.Jitter < 0 {
		return nil, fmt.Errorf("new face engine: jitter %d < 0", cfg.Jitter)
	}
	cfg.Limits = cfg.Limits.withDefaults()
	cfg.Yaw = cfg.Yaw.withDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	models, err := VerifyModels(cfg.ModelsDir)
	if err != nil {
		return nil, fmt.Errorf("new face engine: %w", err)
	}
	if c := cfg.Calibration; c != nil && c.ModelHash != models.Hash {
		return nil, fmt.Errorf("new face engine: calibration made with model hash %s, models are %s", c.ModelHash, models.Hash)
	}
	threads := cfg.BLASThreads
	if threads == 0 && cfg.Recognizers > 1 {
		threads = 1
	}
	if threads > 0 && !setBLASThreads(threads) {
		cfg.Logger.Warn("cannot set BLAS threads: OpenBLAS not loaded", "threads", threads)
	}
	e := &Engine{
		cfg:    cfg,
		log:    cfg.Logger,
		models: models,
		pool:   make(chan *goface.Recognizer, cfg.Recognizers),
		done:   make(chan struct{}),
	}
	for i := 0; i < cfg.Recognizers; i++ {
		if err := ctx.Err(); err != nil {
			e.freeRecognizers()
			return nil, fmt.Errorf("new face engine: %w", err)
		}
		r, err := goface.NewRecognizerWithConfig(cfg.ModelsDir, 150, 0.25, cfg.Jitter)
		if err != nil {
			e.freeRecognizers()
			return nil, fmt.Errorf("new face engine: load recognizer %d: %w", i, err)
		}
		e.recs = append(e.recs, r)
		e.pool <- r
	}
	e.log.Info("face engine ready", "recognizers", cfg.Recognizers, "model_hash", string(models.Hash),
		"threshold", cfg.Threshold, "jitter", cfg.Jitter, "calibrated", cfg.Calibration != nil)
	return e, nil
}

func (e *Engine) freeRecognizers() {
	for _, r := range e.recs {
		r.Close()
	}
	e.recs = nil
}

// Close stops new calls, waits for running ones and frees the models.
// It is idempotent; later calls wait for the first to finish.
func (e *Engine) Close() error {
	e.closing.Do(func() {
		e.mu.Lock()
		e.closed = true
		close(e.done)
		e.mu.Unlock()
		e.active.Wait()
		e.freeRecognizers()
	})
	return nil
}

// Models returns the verified model set.
func (e *Engine) Models() ModelSet { return e.models }

// ModelHash returns the combined hash of the loaded model files.
func (e *Engine) ModelHash() ModelHash { return e.models.Hash }

// Threshold returns the configured squared-distance threshold.
func (e *Engine) Threshold() float64 { return e.cfg.Threshold }

// Calibration returns the loaded calibration, or nil.
func (e *Engine) Calibration() *Calibration { return e.cfg.Calibration }

// enter registers a running call; leave must follow.
func (e *Engine) enter() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	e.active.Add(1)
	return nil
}

// acquire takes a recognizer from the pool, waiting for one.
func (e *Engine) acquire(ctx context.Context) (*goface.Recognizer, error) {
	select {
	case r := <-e.pool:
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-e.done:
		return nil, ErrClosed
	}
}

// Face is one face found in an accepted image.
type Face struct {
	Descriptor Descriptor
	Quality    Quality
	// Landmarks are dlib's five points: outer and inner corner of the eye
	// on the image's right, outer and inner corner of the other eye, and
	// the base of the nose.
	Landmarks []Point
}

// Point is a pixel position.
type Point struct{ X, Y int }

// Timings break down one check.
type Timings struct {
	Gate      time.Duration `json:"gate"`      // pure-Go gates and re-encoding
	Wait      time.Duration `json:"wait"`      // waiting for a free recognizer
	Recognize time.Duration `json:"recognize"` // dlib detection, landmarks, descriptor
	Total     time.Duration `json:"total"`
}

// Analysis is the outcome of Analyze: a status, and a face when StatusOK.
type Analysis struct {
	Status  Status
	Detail  string
	Face    Face // valid when Status == StatusOK; Quality always filled
	Timings Timings
}

// Analyze gates the image, then finds exactly one face and computes its
// descriptor. Rejections are reported in Analysis.Status with a nil
// error; the error is for faults (context, closed engine, dlib errors).
func (e *Engine) Analyze(ctx context.Context, img []byte) (Analysis, error) {
	if err := e.enter(); err != nil {
		return Analysis{}, err
	}
	defer e.active.Done()
	start := e.cfg.Now()
	var a Analysis
	g, st, detail := Gate(img, e.cfg.Limits)
	a.Face.Quality = g.Quality
	t1 := e.cfg.Now()
	a.Timings.Gate = t1.Sub(start)
	if st != StatusOK {
		a.Status, a.Detail = st, detail
		a.Timings.Total = a.Timings.Gate
		return a, nil
	}
	rec, err := e.acquire(ctx)
	if err != nil {
		return a, err
	}
	t2 := e.cfg.Now()
	faces, err := rec.Recognize(g.JPEG)
	e.pool <- rec
	t3 := e.cfg.Now()
	a.Timings.Wait, a.Timings.Recognize, a.Timings.Total = t2.Sub(t1), t3.Sub(t2), t3.Sub(start)
	if err != nil {
		return a, fmt.Errorf("recognize: %w", err)
	}
	q := &a.Face.Quality
	q.Faces = len(faces)
	switch {
	case len(faces) == 0:
		a.Status = StatusNoFace
		return a, nil
	case len(faces) > 1:
		a.Status, a.Detail = StatusMultipleFaces, fmt.Sprintf("%d faces", len(faces))
		return a, nil
	}
	f := faces[0]
	q.FaceBox = f.Rectangle
	q.FaceSide = min(f.Rectangle.Dx(), f.Rectangle.Dy())
	if q.FaceSide < e.cfg.Limits.MinFaceSide {
		a.Status, a.Detail = StatusFaceTooSmall, fmt.Sprintf("face %d px, minimum %d", q.FaceSide, e.cfg.Limits.MinFaceSide)
		return a, nil
	}
	a.Face.Descriptor = Descriptor(f.Descriptor)
	for _, p := range f.Shapes {
		a.Face.Landmarks = append(a.Face.Landmarks, Point{p.X, p.Y})
	}
	if y, ok := EstimateYaw(a.Face.Landmarks); ok {
		q.Yaw = y
	}
	a.Status = StatusOK
	return a, nil
}

// Enrollment is a reference photo's descriptor, ready to store.
type Enrollment struct {
	Descriptor Descriptor
	// ModelHash must be stored with the descriptor; a descriptor whose
	// hash differs from Engine.ModelHash must be recomputed.
	ModelHash ModelHash
	Quality   Quality
}

// Enroll computes the descriptor of a reference photo (JPEG or PNG).
// A photo without exactly one usable face returns a *RejectedError (use
// errors.As) naming the status, with the Quality measured so far, so the
// import can flag it to the admin.
func (e *Engine) Enroll(ctx context.Context, img []byte) (Enrollment, error) {
	a, err := e.Analyze(ctx, img)
	if err != nil {
		return Enrollment{Quality: a.Face.Quality}, fmt.Errorf("enroll face: %w", err)
	}
	if a.Status != StatusOK {
		return Enrollment{Quality: a.Face.Quality}, fmt.Errorf("enroll face: %w", &RejectedError{Status: a.Status, Detail: a.Detail})
	}
	return Enrollment{Descriptor: a.Face.Descriptor, ModelHash: e.models.Hash, Quality: a.Face.Quality}, nil
}

// Reference is a stored descriptor of an account's reference photo.
type Reference struct {
	// ID identifies the reference photo to the caller (e.g. its evidence key).
	ID         string
	Descriptor Descriptor
	ModelHash  ModelHash
}

// Decision is the matcher's verdict on one capture.
type Decision int

// Decision values.
const (
	// DecisionUnusable: the capture was rejected (see MatchResult.Status).
	DecisionUnusable Decision = iota
	// DecisionMatch: the best distance is at or under the threshold.
	DecisionMatch
	// DecisionNoMatch: the best distance is over the threshold.
	DecisionNoMatch
)

// String returns "UNUSABLE", "MATCH" or "NO_MATCH".
func (d Decision) String() string {
	switch d {
	case DecisionUnusable:
		return "UNUSABLE"
	case DecisionMatch:
		return "MATCH"
	case DecisionNoMatch:
		return "NO_MATCH"
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// MarshalText encodes the decision as its String form.
func (d Decision) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// ReferenceDistance is the distance from the capture to one reference.
type ReferenceDistance struct {
	ID       string  `json:"id"`
	Distance float64 `json:"distance"`
}

// MatchResult is everything a check records about one capture.
type MatchResult struct {
	Status   Status   `json:"status"`
	Detail   string   `json:"detail,omitempty"`
	Decision Decision `json:"decision"`
	// Distance is the smallest squared distance to any reference; +Inf
	// when the capture was unusable.
	Distance  float64 `json:"distance"`
	Threshold float64 `json:"threshold"`
	// References lists the distance to each reference, in input order.
	References []ReferenceDistance `json:"references"`
	// ExpectedFMR is the calibrated false-match rate at Threshold and at
	// Distance; nil when no calibration is loaded.
	ExpectedFMR *FMR              `json:"expected_fmr,omitempty"`
	ModelHash   ModelHash         `json:"model_hash"`
	ModelFiles  map[string]string `json:"model_files"`
	Quality     Quality           `json:"quality"`
	Timings     Timings           `json:"timings"`
	// Descriptor of the capture, for liveness cross-checks; never logged.
	Descriptor Descriptor `json:"-"`
}

// Matcher is what the video-session code calls with a JPEG frame taken
// from the call. Match returns ErrClosed, ErrStaleReference (wrapped) or a
// context error; a rejected capture is a result, not an error.
type Matcher interface {
	Match(ctx context.Context, jpeg []byte, refs []Reference) (MatchResult, error)
}

var _ Matcher = (*Engine)(nil)

// Match compares a capture (JPEG or PNG) with every reference descriptor
// of the account. The decision uses the smallest distance: with several
// reference photos of one person, the minimum separated genuine from
// impostor pairs best in our evaluation (see the package README).
func (e *Engine) Match(ctx context.Context, img []byte, refs []Reference) (MatchResult, error) {
	if len(refs) == 0 {
		return MatchResult{}, errors.New("match capture: no references")
	}
	for _, r := range refs {
		if r.ModelHash != e.models.Hash {
			return MatchResult{}, fmt.Errorf("match capture: reference %q: %w (model hash %q, want %s)", r.ID, ErrStaleReference, r.ModelHash, e.models.Hash)
		}
	}
	a, err := e.Analyze(ctx, img)
	if err != nil {
		return MatchResult{}, fmt.Errorf("match capture: %w", err)
	}
	res := MatchResult{
		Status:     a.Status,
		Detail:     a.Detail,
		Decision:   DecisionUnusable,
		Distance:   math.Inf(1),
		Threshold:  e.cfg.Threshold,
		ModelHash:  e.models.Hash,
		ModelFiles: PinnedModels(),
		Quality:    a.Face.Quality,
		Timings:    a.Timings,
	}
	if c := e.cfg.Calibration; c != nil {
		fmr := c.FMRAt(e.cfg.Threshold)
		res.ExpectedFMR = &fmr
	}
	if a.Status != StatusOK {
		e.log.DebugContext(ctx, "face match", "result", res)
		return res, nil
	}
	res.Descriptor = a.Face.Descriptor
	res.References = make([]ReferenceDistance, len(refs))
	for i, r := range refs {
		d := SquaredDistance(a.Face.Descriptor, r.Descriptor)
		res.References[i] = ReferenceDistance{ID: r.ID, Distance: d}
		res.Distance = math.Min(res.Distance, d)
	}
	if res.Distance <= e.cfg.Threshold {
		res.Decision = DecisionMatch
	} else {
		res.Decision = DecisionNoMatch
	}
	if res.ExpectedFMR != nil {
		res.ExpectedFMR.AtDistance = e.cfg.Calibration.FMRAt(res.Distance).Rate
	}
	e.log.DebugContext(ctx, "face match", "result", res)
	return res, nil
}
