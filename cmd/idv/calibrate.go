package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"time"

	"remoteidv/verify"
	"remoteidv/verify/face"
	"remoteidv/verify/facematch"
)

// calibrator is the face calibrator of the pinned models (the only ones the
// engine loads) over the app's store and audit chain.
func (a *app) calibrator() (*verify.Calibrator, error) {
	fc, err := faceConfig(a.cfg, nil)
	if err != nil {
		return nil, err
	}
	return verify.NewCalibrator(verify.Core{Store: a.store, Chain: a.chain, Now: time.Now, Rand: rand.Reader, Log: a.log}, fc, facematch.PinnedModelHash())
}

// runCalibrateAccounts is `idv face calibrate --accounts`: calibrate from
// the enrolled accounts' stored descriptors and confirmed live captures, and
// store the result as the calibration in force.
func runCalibrateAccounts(ctx context.Context, e *cliEnv, args []string) error {
	return withApp(ctx, e, "face calibrate", args, func(a *app, _ []string) error {
		c, err := a.calibrator()
		if err != nil {
			return err
		}
		cal, err := c.CalibrateFaces(ctx, "cli")
		if err != nil {
			return fmt.Errorf("face calibrate --accounts: %w", err)
		}
		printCalibration(e.stdout, cal, c)
		return nil
	})
}

// calibrateAfterImport is the job that follows every account import: the
// enrolled population changed, so its calibration is made again. A
// population too small to calibrate is reported, not an error.
func calibrateAfterImport(ctx context.Context, a *app, w io.Writer) {
	c, err := a.calibrator()
	if err == nil {
		var cal *facematch.Calibration
		if cal, err = c.CalibrateFaces(ctx, "cli"); err == nil {
			printCalibration(w, cal, c)
			return
		}
	}
	a.log.Warn("face calibration after the import", "err", err)
	fmt.Fprintf(w, "face calibration after the import: %v\n", err)
}

// printCalibration says what a stored calibration measured and what it
// means for face scores.
func printCalibration(w io.Writer, cal *facematch.Calibration, c *verify.Calibrator) {
	op := facematch.OperatingFor(cal, c.Policy())
	sampled := ""
	if cal.PopulationPairs > int64(cal.Impostors) {
		sampled = fmt.Sprintf(" (a sample of the %d pairs)", cal.PopulationPairs)
	}
	fmt.Fprintf(w, "face calibration %d (%s): %d people, %d photos: %d impostor pairs%s, %d genuine pairs (%d photo pairs, %d confirmed live captures)\n",
		cal.ID, cal.Source, cal.People, cal.Photos, cal.Impostors, sampled, len(cal.Genuine), cal.GenuinePhotoPairs, cal.GenuineLive)
	from := "the configured threshold"
	if op.FromTarget {
		from = fmt.Sprintf("from the target false-match rate %g", op.TargetFMR)
	}
	fmt.Fprintf(w, "threshold %.4f (%s)", op.Threshold, from)
	if op.GenuineFail >= 0 {
		fmt.Fprintf(w, "; %.1f%% of the genuine pairs fail there", 100*op.GenuineFail)
	}
	fmt.Fprintln(w)
	if op.Weak {
		fmt.Fprintf(w, "WEAK EVIDENCE: every face score is labelled weak (%v): the registry photo and the clerk's own comparison must carry the decision\n", op.WeakReasons)
	}
}

// demoGroupPhotosExcluded are the photos of examples/faces that show
// someone twice: bald_guys.jpg is dlib's face-clustering example, four
// actors 24 times, so its faces are not different people.
var demoGroupPhotosExcluded = []string{"bald_guys.jpg"}

// demoFacesDir holds dlib's example group photos.
const demoFacesDir = "/usr/share/doc/libdlib19.1/examples/faces"

// calibrateDemo calibrates from every usable face of the demo photos (the
// johns photos by person, and each face of the group photos as another
// person) and stores it as the calibration in force. Without face models
// (not required) it says so and calibrates nothing.
func calibrateDemo(ctx context.Context, a *app, w io.Writer) error {
	eng, err := loadEngine(ctx, a.cfg, a.log, 0)
	if err != nil {
		return fmt.Errorf("demo calibration: %w", err)
	}
	if eng == nil {
		fmt.Fprintln(w, "demo calibration: no face models, not calibrated")
		return nil
	}
	defer eng.Close()
	groups, err := face.GroupPhotos(demoFacesDir, demoGroupPhotosExcluded...)
	if err != nil {
		return fmt.Errorf("demo calibration: %w (install Debian package libdlib-dev, which brings libdlib19.1)", err)
	}
	people, skipped, err := eng.PhotoPopulation(ctx, johnsDir, groups)
	if err != nil {
		return fmt.Errorf("demo calibration: %w", err)
	}
	c, err := a.calibrator()
	if err != nil {
		return err
	}
	seed, err := c.Seed()
	if err != nil {
		return err
	}
	cal, err := facematch.CalibratePopulation(people, facematch.PopulationOptions{ModelHash: eng.ModelHash(), Cohort: "demo photos: " + johnsDir + " and " + demoFacesDir,
		Source: verify.CalibrationFromDemo, TargetFMR: a.cfg.Face.TargetFMR, MaxPairs: int(a.cfg.Face.CalibrationMaxPairs), Seed: seed, Now: time.Now()})
	if err != nil {
		return fmt.Errorf("demo calibration: %w", err)
	}
	if err := c.StoreCalibration(ctx, "demo", cal); err != nil {
		return fmt.Errorf("demo calibration: %w", err)
	}
	fmt.Fprintf(w, "demo calibration from every usable face of %s and %s (%d photos without a usable face skipped; %v left out: the same people many times):\n",
		johnsDir, demoFacesDir, skipped, demoGroupPhotosExcluded)
	printCalibration(w, cal, c)
	return nil
}
