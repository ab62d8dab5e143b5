// Package synthcam holds the synthetic cameras a headless Chromium shows
// instead of a real one: scripts that replace getUserMedia before any page
// script runs and draw the "customer" on a canvas. The browser tests use
// them to play the customer (and the attacks on liveness), and `idv demo
// customer` uses them to join a real call as a demo account holder.
//
// A synthetic camera is injected video: nothing here is, or can be, a
// defence; it exists so that the whole story can run without a person in
// front of a real camera.
package synthcam

import (
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

//go:embed posecamera.js
var poseCamera string

// PosePhoto is the photo a pose camera shows for one pose.
type PosePhoto struct {
	JPEG   []byte
	Mirror bool // show it mirrored (a left turn becomes a right turn)
}

// PoseScript returns a camera that answers liveness prompts with photos:
// the video is a canvas drawing the photo of the pose the call page is
// prompting (body[data-prompt]: keys "center", "left", "right"), so the
// customer "turns their head" as asked. window.__still = true freezes it on
// the frontal photo (a still photo held up to the camera). Audio is the
// browser's (fake) microphone.
func PoseScript(photos map[string]PosePhoto) (string, error) {
	if _, ok := photos["center"]; !ok {
		return "", fmt.Errorf("pose camera: no center photo")
	}
	type photo struct {
		Src    string `json:"src"`
		Mirror bool   `json:"mirror"`
	}
	m := map[string]photo{}
	for pose, p := range photos {
		m[pose] = photo{Src: "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(p.JPEG), Mirror: p.Mirror}
	}
	js, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("pose camera: %w", err)
	}
	return strings.Replace(poseCamera, "%PHOTOS%", string(js), 1), nil
}

// Install makes script run before any page script in every document the
// chromedp context (a tab) loads from now on; call it before navigating to
// the call page.
func Install(ctx context.Context, script string) error {
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		return err
	}))
	if err != nil {
		return fmt.Errorf("install synthetic camera: %w", err)
	}
	return nil
}

// ChromiumOptions are the flags a headless Chromium needs to play a
// customer on this kind of machine: the binary at path, a fresh profile in
// userDataDir, no background connections (a closed network refuses them
// by the dozen), the fake media devices with their permission prompts
// answered yes, and ICE over loopback. Callers add what is theirs (a fake
// camera file, a window size).
func ChromiumOptions(path, userDataDir string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.UserDataDir(userDataDir),
	}
}
