package testenv

import (
	"context"
	"os/exec"
	"strconv"
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
	return chromium(t, append(synthcam.ChromiumOptions(bin, t.TempDir()), chromedp.Flag("use-file-for-fake-video-capture", y4m)))
}

// ChromiumCameras starts headless Chromium as Chromium does, but with n
// fake cameras showing Chromium's own test pattern (no y4m file, which
// would make one camera): the customer page's camera switch needs two.
func ChromiumCameras(t testing.TB, n int) context.Context {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: install the Debian package chromium (scripts/setup.sh does)")
	}
	return chromium(t, append(synthcam.ChromiumOptions(bin, t.TempDir()),
		chromedp.Flag("use-fake-device-for-media-stream", "device-count="+strconv.Itoa(n))))
}

func chromium(t testing.TB, opts []chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
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
