package demobrowser

import (
	"remoteidv/internal/synthcam"
)

// Pose is one photo the synthetic camera shows.
type Pose struct {
	JPEG   []byte
	Mirror bool // shown mirrored: a photo turned to one side becomes a turn to the other
}

// Photos are the account holder as the synthetic camera shows them:
// facing the camera, and turned left and right for the liveness prompts.
type Photos struct {
	Center, Left, Right Pose
}

// camera is the one place that chooses the synthetic camera the customer's
// tab gets. Today it is synthcam.PoseScript: the prompted pose's photo on
// a canvas. frozen shows the frontal photo whatever is prompted (a still
// photo held up to the camera), which the liveness check must refuse.
func camera(p Photos, frozen bool) (string, error) {
	photos := map[string]synthcam.PosePhoto{"center": {JPEG: p.Center.JPEG, Mirror: p.Center.Mirror}}
	if !frozen {
		photos["left"] = synthcam.PosePhoto{JPEG: p.Left.JPEG, Mirror: p.Left.Mirror}
		photos["right"] = synthcam.PosePhoto{JPEG: p.Right.JPEG, Mirror: p.Right.Mirror}
	}
	return synthcam.PoseScript(photos)
}
