// Package face is the face verification engine: it owns every call into
// dlib (through github.com/Kagami/go-face, cgo), the model folder, the
// input gates that run before any cgo call, a pool of recognizers,
// matching with calibrated false-match rates, judging the active liveness
// challenge, and the evaluation and calibration tools. The types it takes
// and returns live in verify/facematch, which builds without cgo.
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

	"remoteidv/verify/facematch"

	goface "github.com/Kagami/go-face"
)

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
	Yaw facematch.YawLimits
	// Calibration, if set, gives every MatchResult its expected
	// false-match rate. Its model hash must equal the models'.
	Calibration *facematch.Calibration
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
		cfg.Threshold = facematch.DefaultThreshold
	}
	if cfg.Jitter < 0 {
		return nil, fmt.Errorf("new face engine: jitter %d < 0", cfg.Jitter)
	}
	cfg.Limits = cfg.Limits.withDefaults()
	cfg.Yaw = cfg.Yaw.WithDefaults()
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
func (e *Engine) ModelHash() facematch.ModelHash { return e.models.Hash }

// Threshold returns the configured squared-distance threshold.
func (e *Engine) Threshold() float64 { return e.cfg.Threshold }

// Calibration returns the loaded calibration, or nil.
func (e *Engine) Calibration() *facematch.Calibration { return e.cfg.Calibration }

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
	Descriptor facematch.Descriptor
	Quality    facematch.Quality
	// Landmarks are dlib's five points: outer and inner corner of the eye
	// on the image's right, outer and inner corner of the other eye, and
	// the base of the nose.
	Landmarks []facematch.Point
}

// Analysis is the outcome of Analyze: a status, and a face when StatusOK.
type Analysis struct {
	Status  facematch.Status
	Detail  string
	Face    Face // valid when facematch.Status == facematch.StatusOK; facematch.Quality always filled
	Timings facematch.Timings
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
	if st != facematch.StatusOK {
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
		a.Status = facematch.StatusNoFace
		return a, nil
	case len(faces) > 1:
		a.Status, a.Detail = facematch.StatusMultipleFaces, fmt.Sprintf("%d faces", len(faces))
		return a, nil
	}
	f := faces[0]
	q.FaceBox = f.Rectangle
	q.FaceSide = min(f.Rectangle.Dx(), f.Rectangle.Dy())
	if q.FaceSide < e.cfg.Limits.MinFaceSide {
		a.Status, a.Detail = facematch.StatusFaceTooSmall, fmt.Sprintf("face %d px, minimum %d", q.FaceSide, e.cfg.Limits.MinFaceSide)
		return a, nil
	}
	a.Face.Descriptor = facematch.Descriptor(f.Descriptor)
	for _, p := range f.Shapes {
		a.Face.Landmarks = append(a.Face.Landmarks, facematch.Point{X: p.X, Y: p.Y})
	}
	if y, ok := facematch.EstimateYaw(a.Face.Landmarks); ok {
		q.Yaw = y
	}
	a.Status = facematch.StatusOK
	return a, nil
}

// Enroll computes the descriptor of a reference photo (JPEG or PNG).
// A photo without exactly one usable face returns a *RejectedError (use
// errors.As) naming the status, with the Quality measured so far, so the
// import can flag it to the admin.
func (e *Engine) Enroll(ctx context.Context, img []byte) (facematch.Enrollment, error) {
	a, err := e.Analyze(ctx, img)
	if err != nil {
		return facematch.Enrollment{Quality: a.Face.Quality}, fmt.Errorf("enroll face: %w", err)
	}
	if a.Status != facematch.StatusOK {
		return facematch.Enrollment{Quality: a.Face.Quality}, fmt.Errorf("enroll face: %w", &facematch.RejectedError{Status: a.Status, Detail: a.Detail})
	}
	return facematch.Enrollment{Descriptor: a.Face.Descriptor, ModelHash: e.models.Hash, Quality: a.Face.Quality}, nil
}

// Matcher is what the video-session code calls with a JPEG frame taken
// from the call. Match returns ErrClosed, ErrStaleReference (wrapped) or a
// context error; a rejected capture is a result, not an error.
type Matcher interface {
	Match(ctx context.Context, jpeg []byte, refs []facematch.Reference) (facematch.MatchResult, error)
}

var _ Matcher = (*Engine)(nil)

// Match compares a capture (JPEG or PNG) with every reference descriptor
// of the account. The decision uses the smallest distance: with several
// reference photos of one person, the minimum separated genuine from
// impostor pairs best in our evaluation (see the package README).
func (e *Engine) Match(ctx context.Context, img []byte, refs []facematch.Reference) (facematch.MatchResult, error) {
	if len(refs) == 0 {
		return facematch.MatchResult{}, errors.New("match capture: no references")
	}
	for _, r := range refs {
		if r.ModelHash != e.models.Hash {
			return facematch.MatchResult{}, fmt.Errorf("match capture: reference %q: %w (model hash %q, want %s)", r.ID, ErrStaleReference, r.ModelHash, e.models.Hash)
		}
	}
	a, err := e.Analyze(ctx, img)
	if err != nil {
		return facematch.MatchResult{}, fmt.Errorf("match capture: %w", err)
	}
	res := facematch.MatchResult{
		Status:     a.Status,
		Detail:     a.Detail,
		Decision:   facematch.DecisionUnusable,
		Distance:   math.Inf(1),
		Threshold:  e.cfg.Threshold,
		ModelHash:  e.models.Hash,
		ModelFiles: facematch.PinnedModels(),
		Engine:     engineVersion(),
		Quality:    a.Face.Quality,
		Timings:    a.Timings,
	}
	if c := e.cfg.Calibration; c != nil {
		fmr := c.FMRAt(e.cfg.Threshold)
		res.ExpectedFMR = &fmr
	}
	if a.Status != facematch.StatusOK {
		e.log.DebugContext(ctx, "face match", "result", res)
		return res, nil
	}
	res.Descriptor = a.Face.Descriptor
	res.References = make([]facematch.ReferenceDistance, len(refs))
	for i, r := range refs {
		d := facematch.SquaredDistance(a.Face.Descriptor, r.Descriptor)
		res.References[i] = facematch.ReferenceDistance{ID: r.ID, Distance: d}
		res.Distance = math.Min(res.Distance, d)
	}
	if res.Distance <= e.cfg.Threshold {
		res.Decision = facematch.DecisionMatch
	} else {
		res.Decision = facematch.DecisionNoMatch
	}
	if res.ExpectedFMR != nil {
		res.ExpectedFMR.AtDistance = e.cfg.Calibration.FMRAt(res.Distance).Rate
	}
	e.log.DebugContext(ctx, "face match", "result", res)
	return res, nil
}

// Faces gates the image and returns every face in it large enough to
// describe (at least Limits.MinFaceSide), for building calibration
// populations from group photos; a rejected image gives no face and its
// status. The error is for faults (context, closed engine, dlib errors).
func (e *Engine) Faces(ctx context.Context, img []byte) ([]Face, facematch.Status, error) {
	if err := e.enter(); err != nil {
		return nil, 0, err
	}
	defer e.active.Done()
	g, st, _ := Gate(img, e.cfg.Limits)
	if st != facematch.StatusOK {
		return nil, st, nil
	}
	rec, err := e.acquire(ctx)
	if err != nil {
		return nil, 0, err
	}
	faces, err := rec.Recognize(g.JPEG)
	e.pool <- rec
	if err != nil {
		return nil, 0, fmt.Errorf("recognize faces: %w", err)
	}
	var out []Face
	for _, f := range faces {
		side := min(f.Rectangle.Dx(), f.Rectangle.Dy())
		if side < e.cfg.Limits.MinFaceSide {
			continue
		}
		out = append(out, Face{Descriptor: facematch.Descriptor(f.Descriptor), Quality: facematch.Quality{FaceBox: f.Rectangle, FaceSide: side, Faces: len(faces)}})
	}
	if len(out) == 0 {
		return nil, facematch.StatusNoFace, nil
	}
	return out, facematch.StatusOK, nil
}
