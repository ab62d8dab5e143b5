package demobrowser

import (
	"remoteidv/internal/synthcam"
)

// Pose is one photo the synthetic camera shows.
type Pose struct {
	JPEG   []byte
	Mirror bool // shown mirrored: a photo turned to one side becomes a turn to the other
}

// Photos are the account holder as the synthetic camera shows them: a
// photo facing the camera, which the live camera turns as prompted.
type Photos struct {
	Center Pose
}

// camera is the one place that chooses the synthetic camera the customer's
// tab gets: synthcam.LiveScript, a live customer rendered from the frontal
// photo, turning through the prompted poses with parallax and taking the
// colour of the screen-light challenge (docs/liveness.md). frozen shows
// the frontal photo whatever is prompted (a still photo held up to the
// camera), which the liveness check must refuse. The turned photos are
// no longer shown: switching photos as prompted is attack A2.
func camera(p Photos, frozen bool) (string, error) {
	if frozen {
		return synthcam.PoseScript(map[string]synthcam.PosePhoto{"center": {JPEG: p.Center.JPEG, Mirror: p.Center.Mirror}})
	}
	return synthcam.LiveScript(p.Center.JPEG, synthcam.LiveOptions{})
}
