package face

import "time"

// Settings are an engine's effective settings, defaults applied, as an
// administrator reads them.
type Settings struct {
	Recognizers int
	Jitter      int
	Threshold   float64
	ModelHash   ModelHash
	Yaw         YawLimits
}

// Settings returns the engine's effective settings.
func (e *Engine) Settings() Settings {
	return Settings{Recognizers: e.cfg.Recognizers, Jitter: e.cfg.Jitter, Threshold: e.cfg.Threshold, ModelHash: e.models.Hash, Yaw: e.cfg.Yaw}
}

// CalibrationSummary is a calibration without its distance tail (which
// would tell the bank's customers' distance distribution to anyone who
// reads it), judged against a threshold and the running models.
type CalibrationSummary struct {
	Version           int       `json:"version"`
	Created           time.Time `json:"created"`
	Cohort            string    `json:"cohort"`
	People            int       `json:"people"`
	Photos            int       `json:"photos"`
	Impostors         int       `json:"impostor_pairs"`
	TargetFMR         float64   `json:"target_fmr"`
	ProposedThreshold float64   `json:"proposed_threshold"`
	// Supported is false when the cohort is too small to claim the
	// target (see Calibration.Supported).
	Supported bool      `json:"supported"`
	ModelHash ModelHash `json:"model_hash"`
	// ModelMatches tells whether the calibration was made with the
	// running models; its rates mean nothing for other models.
	ModelMatches bool `json:"model_matches"`
	// AtThreshold is the expected false-match rate at the threshold
	// asked for; nil when the cohort has no impostor pairs.
	AtThreshold *FMR `json:"at_threshold,omitempty"`
}

// Summary describes c at threshold (the configured one) for the models
// with hash running.
func (c *Calibration) Summary(threshold float64, running ModelHash) CalibrationSummary {
	s := CalibrationSummary{Version: c.Version, Created: c.Created, Cohort: c.Cohort, People: c.People, Photos: c.Photos,
		Impostors: c.Impostors, TargetFMR: c.TargetFMR, ProposedThreshold: c.ProposedThreshold, Supported: c.Supported,
		ModelHash: c.ModelHash, ModelMatches: c.ModelHash == running}
	if c.Impostors > 0 {
		f := c.FMRAt(threshold)
		s.AtThreshold = &f
	}
	return s
}
