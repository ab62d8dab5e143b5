package facecli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"remoteidv/verify/face"
	"remoteidv/verify/facematch"
)

// RunInfo implements `idv face info [-dir DIR]`: the BLAS and LAPACK the
// process actually loaded (from /proc/self/maps and the dynamic linker)
// and the model files with their hashes. It fails if the models are
// missing or altered, after printing what it could.
func RunInfo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("face info", stderr)
	dir := fs.String("dir", modelsDir(), "model folder (env IDV_MODELS_DIR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	info, err := face.ReadBLASInfo()
	if err != nil {
		return fmt.Errorf("face info: %w", err)
	}
	fmt.Fprintf(stdout, "cpus: %d\n", runtime.NumCPU())
	fmt.Fprintln(stdout, "loaded BLAS/LAPACK/dlib libraries:")
	for _, l := range info.LibraryList() {
		fmt.Fprintf(stdout, "  %s\n", l)
	}
	fmt.Fprintln(stdout, "routines resolved to:")
	syms := make([]string, 0, len(info.Providers))
	for s := range info.Providers {
		syms = append(syms, s)
	}
	sort.Strings(syms)
	for _, s := range syms {
		fmt.Fprintf(stdout, "  %-12s %s\n", s, info.Providers[s])
	}
	if info.OpenBLASConfig != "" {
		fmt.Fprintf(stdout, "openblas: %s (threads %d)\n", strings.TrimSpace(info.OpenBLASConfig), info.OpenBLASThreads)
	} else {
		fmt.Fprintln(stdout, "openblas: not loaded (reference BLAS is several times slower)")
	}
	fmt.Fprintf(stdout, "models in %s:\n", *dir)
	set, verr := face.VerifyModels(*dir)
	pinned := facematch.PinnedModels()
	for _, name := range facematch.ModelFiles() {
		state := "ok"
		if verr != nil {
			state = "MISSING OR ALTERED"
			if _, ok := set.Files[name]; ok {
				state = "ok"
			}
		}
		fmt.Fprintf(stdout, "  %-42s sha256 %s %s\n", name, pinned[name], state)
	}
	fmt.Fprintf(stdout, "model hash: %s\n", facematch.PinnedModelHash())
	if verr != nil {
		return fmt.Errorf("face info: %w", verr)
	}
	return nil
}

// progressBar draws "[#####.....] done/total" on w, overwriting the line.
func progressBar(w io.Writer, label string) func(done, total int) {
	last := -1
	return func(done, total int) {
		const width = 30
		n := done * width / max(total, 1)
		if n == last && done != total {
			return
		}
		last = n
		fmt.Fprintf(w, "\r%s [%s%s] %d/%d", label, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
		if done == total {
			fmt.Fprintln(w)
		}
	}
}

// describe loads the dataset in dir and analyses it with a new engine.
func describe(ctx context.Context, cfg face.Config, dir string, stdout, stderr io.Writer) ([]face.Sample, *face.Engine, error) {
	photos, err := face.LoadDataset(dir)
	if err != nil {
		return nil, nil, err
	}
	e, err := face.New(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	samples, err := e.DescribeAll(ctx, photos, progressBar(stderr, "describing"))
	if err != nil {
		e.Close()
		return nil, nil, err
	}
	for _, s := range samples {
		if s.Status != facematch.StatusOK {
			fmt.Fprintf(stdout, "rejected: %s: %s %s\n", s.Path, s.Status, s.Detail)
		}
	}
	return samples, e, nil
}

// RunEval implements `idv face eval [flags] DIR`: DIR holds one
// sub-folder of photos per person. It scores all genuine and impostor
// pairs, prints FAR/FRR at the threshold and the EER, writes a CSV of the
// curve and a PNG ROC plot, and with -study compares scoring methods.
func RunEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("face eval", stderr)
	models := fs.String("models", modelsDir(), "model folder (env IDV_MODELS_DIR)")
	threshold := fs.Float64("threshold", facematch.DefaultThreshold, "squared-distance threshold")
	out := fs.String("out", ".", "folder for eval.csv and roc.png")
	recognizers := fs.Int("recognizers", runtime.NumCPU(), "recognizers in the pool")
	jitter := fs.Int("jitter", 0, "dlib jitter count per descriptor")
	study := fs.Bool("study", false, "also compare scoring methods (jitter, several references or captures, cohort normalisation)")
	studyJitter := fs.Int("study-jitter", 10, "jitter count used by -study")
	target := fs.Float64("target", facematch.DefaultTargetFMR, "target false-match rate: report its threshold and the FRR there")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("face eval: usage: idv face eval [flags] DIR")
	}
	if *target <= 0 || *target >= 1 {
		return fmt.Errorf("face eval: -target %v outside (0, 1)", *target)
	}
	dir := fs.Arg(0)
	cfg := face.Config{ModelsDir: *models, Recognizers: *recognizers, Jitter: *jitter, Threshold: *threshold}
	samples, e, err := describe(ctx, cfg, dir, stdout, stderr)
	if err != nil {
		return fmt.Errorf("face eval %s: %w", dir, err)
	}
	e.Close()
	gen, imp := face.PairDistances(samples)
	ev := face.Evaluate(gen, imp, *threshold)
	printEval(stdout, samples, ev)
	printTarget(stdout, ev.AtTarget(*target))
	if err := writeOutputs(*out, ev); err != nil {
		return fmt.Errorf("face eval %s: %w", dir, err)
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", filepath.Join(*out, "eval.csv"), filepath.Join(*out, "roc.png"))
	if !*study {
		return nil
	}
	cfg.Jitter = *studyJitter
	jsamples, je, err := describe(ctx, cfg, dir, io.Discard, stderr)
	if err != nil {
		return fmt.Errorf("face eval %s: study: %w", dir, err)
	}
	je.Close()
	fmt.Fprintf(stdout, "\nseparation study (jitter %d for the jittered row):\n", *studyJitter)
	fmt.Fprintf(stdout, "%-48s %5s %6s\n", "method", "gen", "imp")
	for _, r := range face.SeparationStudy(samples, jsamples) {
		fmt.Fprintln(stdout, r)
	}
	return nil
}

func printEval(w io.Writer, samples []face.Sample, ev face.Evaluation) {
	ok := 0
	for _, s := range samples {
		if s.Status == facematch.StatusOK {
			ok++
		}
	}
	fmt.Fprintf(w, "photos: %d, usable: %d\n", len(samples), ok)
	fmt.Fprintf(w, "pairs: %d genuine, %d impostor\n", len(ev.Genuine), len(ev.Impostor))
	fmt.Fprintf(w, "at threshold %.3f: FAR %.4f (%d false matches), FRR %.4f (%d false non-matches)\n",
		ev.At.Threshold, ev.At.FAR, ev.At.FalseAccepts, ev.At.FRR, ev.At.FalseRejects)
	fmt.Fprintf(w, "EER: %.4f at threshold %.3f\n", ev.EER, ev.EERThreshold)
	fmt.Fprintf(w, "largest genuine distance %.4f, smallest impostor distance %.4f, d' %.2f\n", ev.MaxGenuine, ev.MinImpostor, ev.DPrime)
	fmt.Fprintln(w, "threshold   FAR      FRR")
	for _, t := range []float64{0.2, 0.25, 0.3, 0.36, 0.4, 0.45, 0.5} {
		o := ev.OperatingAt(t)
		fmt.Fprintf(w, "  %.2f     %.4f   %.4f\n", t, o.FAR, o.FRR)
	}
}

func printTarget(w io.Writer, p face.TargetPoint) {
	fmt.Fprintf(w, "for target FMR %g: threshold %.4f, measured FMR %.2g (%d of %d impostor pairs, 95%% upper bound %.2g), FRR %.4f\n",
		p.TargetFMR, p.Threshold, p.FMR.Rate, p.FMR.Matches, p.FMR.Impostors, p.FMR.Upper95, p.FRR)
	if !p.Supported {
		fmt.Fprintf(w, "WARNING: %d impostor pairs cannot support a target of %g (need %d)\n", p.FMR.Impostors, p.TargetFMR, int(math.Ceil(3/p.TargetFMR)))
	}
}

func writeOutputs(dir string, ev face.Evaluation) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, fn func(io.Writer) error) error {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := write("eval.csv", ev.WriteCSV); err != nil {
		return err
	}
	return write("roc.png", ev.WritePNG)
}

// RunCalibrate implements `idv face calibrate [flags] DIR`: DIR holds the
// bank's enrolled reference photos, one sub-folder or file-name prefix
// per person. It computes the impostor distance distribution, proposes
// the threshold for -target (default 1 in 1,000), reports the expected
// false-match rate at the configured -threshold, and writes the
// calibration file (-o) that the engine loads (Config.Calibration).
func RunCalibrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("face calibrate", stderr)
	models := fs.String("models", modelsDir(), "model folder (env IDV_MODELS_DIR)")
	threshold := fs.Float64("threshold", facematch.DefaultThreshold, "configured squared-distance threshold to report on")
	target := fs.Float64("target", facematch.DefaultTargetFMR, "target false-match rate")
	outPath := fs.String("o", "face-calibration.json", "calibration file to write")
	recognizers := fs.Int("recognizers", runtime.NumCPU(), "recognizers in the pool")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("face calibrate: usage: idv face calibrate [flags] DIR")
	}
	if *target <= 0 || *target >= 1 {
		return fmt.Errorf("face calibrate: -target %v outside (0, 1)", *target)
	}
	dir := fs.Arg(0)
	cfg := face.Config{ModelsDir: *models, Recognizers: *recognizers, Threshold: *threshold}
	samples, e, err := describe(ctx, cfg, dir, stdout, stderr)
	if err != nil {
		return fmt.Errorf("face calibrate %s: %w", dir, err)
	}
	hash := e.ModelHash()
	e.Close()
	people := map[string]bool{}
	usable := 0
	for _, s := range samples {
		if s.Status == facematch.StatusOK {
			people[s.Person] = true
			usable++
		}
	}
	gen, imp := face.PairDistances(samples)
	if len(imp) == 0 {
		return fmt.Errorf("face calibrate %s: no impostor pairs (need photos of at least two people)", dir)
	}
	cal := facematch.NewCalibration(hash, dir, len(people), usable, imp, *target, timeNow())
	at := cal.FMRAt(*threshold)
	prop := cal.FMRAt(cal.ProposedThreshold)
	fmt.Fprintf(stdout, "cohort: %d people, %d usable photos, %d impostor pairs, %d genuine pairs\n", len(people), usable, cal.Impostors, len(gen))
	fmt.Fprintf(stdout, "proposed threshold for FMR %g: %.4f (measured FMR %.2g, %d of %d pairs, 95%% upper bound %.2g)\n",
		*target, cal.ProposedThreshold, prop.Rate, prop.Matches, prop.Impostors, prop.Upper95)
	fmt.Fprintf(stdout, "configured threshold %.4f: expected FMR %.2g (%d of %d pairs, 95%% upper bound %.2g)\n",
		*threshold, at.Rate, at.Matches, at.Impostors, at.Upper95)
	if len(gen) > 0 {
		ev := face.Evaluate(gen, imp, cal.ProposedThreshold)
		fmt.Fprintf(stdout, "at the proposed threshold, FRR on this cohort's genuine pairs: %.4f\n", ev.At.FRR)
	}
	if !cal.Supported {
		fmt.Fprintf(stdout, "WARNING: %d impostor pairs cannot support a target of %g (need %d): enrol more people\n",
			cal.Impostors, *target, int(3 / *target))
	}
	if at.Upper95 > *target {
		fmt.Fprintf(stdout, "WARNING: the configured threshold's expected FMR may exceed the target %g\n", *target)
	}
	if err := cal.Save(*outPath); err != nil {
		return fmt.Errorf("face calibrate %s: %w", dir, err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", *outPath)
	return nil
}
