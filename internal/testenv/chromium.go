package testenv

import (
	"context"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"

	"remoteidv/internal/synthcam"
)

// Chromium starts headless Chromium (the Debian package chromium) with a
// fake camera playing y4m and a fake microphone, permission prompts
// answered yes, and loopback ICE allowed; it returns a chromedp context
// that ends with the test.
func Chromium(t testing.TB, y4m string) context.Context {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: install the Debian package chromium (scripts/setup.sh does)")
	}
	opts := append(synthcam.ChromiumOptions(bin, t.TempDir()), chromedp.Flag("use-file-for-fake-video-capture", y4m))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Run starts the browser; it must not carry a timeout.
	if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}
