package face

import "remoteidv/verify/facematch"

// Settings returns the engine's effective settings.
func (e *Engine) Settings() facematch.Settings {
	return facematch.Settings{Recognizers: e.cfg.Recognizers, Jitter: e.cfg.Jitter, Threshold: e.cfg.Threshold, ModelHash: e.models.Hash, Yaw: e.cfg.Yaw}
}
