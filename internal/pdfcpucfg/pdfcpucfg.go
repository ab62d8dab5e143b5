// Package pdfcpucfg gives every user of github.com/pdfcpu/pdfcpu in the
// process (verify/pdfcheck reading uploaded letters, statement writing the
// customer's envelope) its configuration after one shared, once-only
// process-wide setting: pdfcpu must not write a configuration folder under
// the user's home, which model.NewDefaultConfiguration does unless
// api.DisableConfigDir ran first. That setting is a variable of pdfcpu's
// that NewDefaultConfiguration reads without a lock, so two packages each
// making it once, on their own, would race on their first uses.
package pdfcpucfg

import (
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

var disableConfigDir sync.Once

// Relaxed is a default configuration with relaxed validation: a scanner's
// PDF need not be perfect to be harmless, and the envelope's cover is our
// own.
func Relaxed() *model.Configuration {
	disableConfigDir.Do(api.DisableConfigDir)
	c := model.NewDefaultConfiguration()
	c.ValidationMode = model.ValidationRelaxed
	return c
}
