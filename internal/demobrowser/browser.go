// Package demobrowser drives headless Chromium for the demonstration: the
// synthetic customer of `idv demo customer` (the account holder joining a
// real call through the customer's pages, with a synthetic camera) and
// the clerk's side of the call in `idv demo story` (the clerk's case page:
// join, capture, liveness, leave). It knows the pages' markup; what the
// camera shows is chosen in one place (camera.go).
//
// It is a demonstration tool, not a test double: it talks to a real
// server over real WebRTC, and nothing in it is a defence.
package demobrowser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/internal/synthcam"
)

// Browser is one headless Chromium; each role gets a tab of its own.
type Browser struct {
	ctx         context.Context // the browser's first tab (about:blank)
	cancel      context.CancelFunc
	cancelAlloc context.CancelFunc
	dir         string
}

// Options say which Chromium to start.
type Options struct {
	// Bin is the browser; default "chromium" on the PATH (Debian package chromium).
	Bin string
}

// Start starts headless Chromium with a fake microphone, media
// permission prompts answered yes and loopback ICE allowed (a server on
// 127.0.0.1). ctx bounds the browser's life.
func Start(ctx context.Context, o Options) (*Browser, error) {
	bin := o.Bin
	if bin == "" {
		bin = "chromium"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("start browser: %s not found: install the Debian package chromium (make run does): %w", bin, err)
	}
	dir, err := os.MkdirTemp("", "idv-demo-chromium-")
	if err != nil {
		return nil, fmt.Errorf("start browser: %w", err)
	}
	opts := append(synthcam.ChromiumOptions(path, dir), chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancel := chromedp.NewContext(actx)
	b := &Browser{ctx: bctx, cancel: cancel, cancelAlloc: cancelAlloc, dir: dir}
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		b.Close()
		return nil, fmt.Errorf("start browser %s: %w", path, err)
	}
	return b, nil
}

// Close ends the browser and removes its profile.
func (b *Browser) Close() {
	b.cancel()
	b.cancelAlloc()
	_ = os.RemoveAll(b.dir)
}

// tab opens a new tab with cookies of its own; cancel closes it.
func (b *Browser) tab() (context.Context, context.CancelFunc, error) {
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("open tab: %w", err)
	}
	return ctx, cancel, nil
}

// run runs actions in tab with a time limit, naming the step on failure.
func run(tab context.Context, step string, d time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(tab, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%s: not done within %v", step, d)
		}
		return fmt.Errorf("%s: %w", step, err)
	}
	return nil
}

// eval evaluates a JavaScript expression in tab.
func eval[T any](tab context.Context, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return v, fmt.Errorf("evaluate %.60s: %w", expr, err)
	}
	return v, nil
}

// Screenshot returns a PNG of what tab shows.
func screenshot(tab context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return nil, fmt.Errorf("screenshot: %w", err)
	}
	return png, nil
}

// Screenshot opens url in a tab of its own and saves what it shows as a
// PNG at path.
func (b *Browser) Screenshot(url, path string) error {
	tab, cancel, err := b.tab()
	if err != nil {
		return err
	}
	defer cancel()
	if err := run(tab, "open "+url, 30*time.Second, chromedp.Navigate(url), chromedp.WaitReady("body")); err != nil {
		return err
	}
	png, err := screenshot(tab)
	if err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// Press clicks the element sel selects through the DOM (element.click()),
// once it exists and is enabled. The call and case pages change their
// layout while they run (the videos take their size when the stream
// starts, the device checks and the checks table fill in), and a mouse
// click at coordinates measured a moment before can land beside the
// button: the click is then lost without an error. A DOM click runs the
// same handlers wherever the button has moved.
func Press(sel string) chromedp.Action[chromedp.Void] {
	q, _ := json.Marshal(sel) // a string always marshals
	js := `(() => { const e = document.querySelector(` + string(q) + `); if (!e || e.disabled) return false; e.click(); return true; })()`
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for {
			ok, err := chromedp.Evaluate[bool](js)(ctx, t)
			if err != nil {
				return chromedp.Void{}, fmt.Errorf("press %s: %w", sel, err)
			}
			if ok {
				return chromedp.Void{}, nil
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, fmt.Errorf("press %s: not there or disabled: %w", sel, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// Page is a tab as a test watches it, for what the flows do not report
// (the states a call page goes through when its server goes away).
type Page struct{ tab context.Context }

// Bool evaluates a JavaScript expression whose value is a boolean.
func (p Page) Bool(expr string) (bool, error) { return eval[bool](p.tab, expr) }

// Strings evaluates a JavaScript expression whose value is a list of
// strings.
func (p Page) Strings(expr string) ([]string, error) { return eval[[]string](p.tab, expr) }

// Poll waits up to d for a JavaScript expression to be true.
func (p Page) Poll(what, expr string, d time.Duration) error {
	return run(p.tab, what, d, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(d)))
}
