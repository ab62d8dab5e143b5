package testenv

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The attack cameras of the liveness attack suite (docs/liveness.md):
// scripts for synthcam.Install, like synthcam's cameras.
var (
	//go:embed flipbook.js
	flipbookJS string
	//go:embed warpcamera.js
	warpJS string
)

// FlipPhoto is one page of a flipbook: a photo of the customer, the yaw
// measured on it and whether to show it mirrored (which flips the yaw).
type FlipPhoto struct {
	JPEG   []byte
	Yaw    float64
	Mirror bool
}

// FlipbookScript returns attack A3: photos of the customer ordered by
// pose, flipped through towards the prompted side one every 100 ms.
func FlipbookScript(photos []FlipPhoto) (string, error) {
	if len(photos) < 3 {
		return "", fmt.Errorf("flipbook: %d photos, want at least 3", len(photos))
	}
	type page struct {
		Src    string  `json:"src"`
		Yaw    float64 `json:"yaw"`
		Mirror bool    `json:"mirror"`
	}
	var pages []page
	for _, p := range photos {
		pages = append(pages, page{Src: "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(p.JPEG), Yaw: p.Yaw, Mirror: p.Mirror})
	}
	sort.SliceStable(pages, func(i, j int) bool { return pages[i].Yaw < pages[j].Yaw })
	js, err := json.Marshal(pages)
	if err != nil {
		return "", fmt.Errorf("flipbook: %w", err)
	}
	return strings.Replace(flipbookJS, "%PHOTOS%", string(js), 1), nil
}

// WarpScript returns attack A5: one frontal photo, cut out around the
// head over a still background, moved, rotated and perspective-warped
// towards the prompted side (keystone: how much taller the near edge is,
// e.g. 0.2 for 20 %).
func WarpScript(jpeg []byte, keystone float64) (string, error) {
	js, err := json.Marshal(map[string]any{"src": "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(jpeg), "keystone": keystone})
	if err != nil {
		return "", fmt.Errorf("warp camera: %w", err)
	}
	return strings.Replace(warpJS, "%OPTIONS%", string(js), 1), nil
}
