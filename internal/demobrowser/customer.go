package demobrowser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/internal/synthcam"
)

// Customer is the synthetic customer: what it shows the camera, and how
// it behaves.
type Customer struct {
	Invite string // the invite link
	Photos Photos
	// Frozen shows one still photo whatever the liveness prompt asks.
	Frozen bool
	// NoCode never asks for nor enters the email code.
	NoCode bool
	// Code has the code emailed (ask presses the page's button) and
	// returns it, read from the demo mailbox; required unless NoCode.
	Code func(ctx context.Context, ask func() error) (string, error)
	// Letter is the signed authorization letter (PNG) uploaded from the
	// call page; nil uploads none.
	Letter []byte
	// Wait is how long to wait for the clerk to join the call, and then
	// for the call to end.
	Wait time.Duration
	// Step reports progress, one line per step.
	Step func(string)
	// Screenshots, when set, is a folder for a PNG of the consent page and
	// of the call page.
	Screenshots string
	// Opened, when set, is given the customer's tab as soon as it exists.
	Opened func(Page)
}

// Customer plays c in a tab of its own: opens the invite link (its
// landing page, which spends nothing), accepts the consent there (the
// button spends the link), asks for the email code and enters it, uploads the letter,
// waits for the clerk, passes the device check (camera, microphone,
// network) and stays in the call, its camera turning as prompted, until
// the call ends. It returns when the call has ended, or with the step
// that failed.
func (b *Browser) Customer(ctx context.Context, c Customer) error {
	step := c.Step
	if step == nil {
		step = func(string) {}
	}
	if c.Wait <= 0 {
		c.Wait = 10 * time.Minute
	}
	tab, cancel, err := b.tab()
	if err != nil {
		return fmt.Errorf("customer: %w", err)
	}
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	if c.Opened != nil {
		c.Opened(Page{tab})
	}
	cam, err := camera(c.Photos, c.Frozen)
	if err != nil {
		return fmt.Errorf("customer: %w", err)
	}
	if err := synthcam.Install(tab, cam); err != nil {
		return fmt.Errorf("customer: %w", err)
	}
	// A query, not a Poll: Poll runs in the execution context chromedp
	// last saw, which right after a navigation can still be the old
	// document's ("Cannot find context with specified id"); a query
	// looks the page up again.
	if err := run(tab, "open the invite link", 30*time.Second, chromedp.Navigate(c.Invite),
		chromedp.WaitReady(`#accept, main h1`)); err != nil {
		return fmt.Errorf("customer: %w", err)
	}
	if ok, err := eval[bool](tab, `!!document.getElementById('accept')`); err != nil || !ok {
		text, _ := eval[string](tab, `document.querySelector('main') ? document.querySelector('main').innerText : ''`)
		return fmt.Errorf("customer: the invite link was refused (used, expired, revoked or outside its window): %q", text)
	}
	step("opened the invite link; its landing page shows the consent")
	c.shot(tab, "customer-consent")
	if err := run(tab, "accept the consent", 30*time.Second, chromedp.Click("#accept"), chromedp.WaitReady("#remote"),
		chromedp.WaitReady(`body[data-ready]`)); err != nil {
		return fmt.Errorf("customer: %w", err)
	}
	step("accepted the recording and biometric consent; the call page is open")
	if !c.NoCode {
		// The page shows one step at a time: the device check's button
		// (enabled once camera and microphone work) leads to the code.
		if err := run(tab, "pass the device check", 30*time.Second, Press("#device-next"),
			chromedp.WaitVisible("#code")); err != nil {
			return fmt.Errorf("customer: %w", err)
		}
		code, err := c.Code(ctx, func() error {
			return run(tab, "ask for the email code", 20*time.Second, Press("#code-send"),
				chromedp.Poll[chromedp.Void](`document.getElementById('code-status').textContent !== ''`))
		})
		if err != nil {
			return fmt.Errorf("customer: the email code: %w", err)
		}
		step("read the email code from the demo mailbox")
		if err := run(tab, "enter the email code", 20*time.Second, chromedp.SendKeys("#code", code), Press("#code-check"),
			chromedp.WaitVisible(`body[data-code="verified"]`)); err != nil {
			status, _ := eval[string](tab, `document.getElementById('code-status').textContent`)
			return fmt.Errorf("customer: %w (%s)", err, status)
		}
		step("entered the email code: verified")
	} else {
		step("does not ask for the email code (--no-code)")
	}
	if c.Letter != nil {
		dir, err := os.MkdirTemp("", "idv-demo-letter-")
		if err != nil {
			return fmt.Errorf("customer: %w", err)
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "authorization-letter.png")
		if err := os.WriteFile(path, c.Letter, 0o600); err != nil {
			return fmt.Errorf("customer: %w", err)
		}
		const ok = `JSON.parse(document.getElementById('msgs').textContent)['cust.letter_ok']`
		if err := run(tab, "upload the signed letter", 60*time.Second, chromedp.SetUploadFiles("#letter", []string{path}), Press("#letter-upload"),
			chromedp.Poll[chromedp.Void](`document.getElementById('letter-status').textContent !== ''`)); err != nil {
			return fmt.Errorf("customer: %w", err)
		}
		if good, _ := eval[bool](tab, `document.getElementById('letter-status').textContent === `+ok); !good {
			status, _ := eval[string](tab, `document.getElementById('letter-status').textContent`)
			return fmt.Errorf("customer: the letter upload was refused: %s", status)
		}
		step("uploaded the authorization letter signed like the specimen")
	}
	step("waiting for the clerk to join the call")
	if err := run(tab, "wait for the clerk and the device check", c.Wait, chromedp.WaitVisible(`body[data-state="connected"]`),
		chromedp.WaitReady(`li.ok[data-check="camera"]`), chromedp.WaitReady(`li.ok[data-check="mic"]`), chromedp.WaitReady(`li.ok[data-check="net"]`)); err != nil {
		return fmt.Errorf("customer: %w", err)
	}
	step("in the call: camera, microphone and network checked")
	c.shot(tab, "customer-call")
	if err := run(tab, "stay in the call until it ends", c.Wait, chromedp.WaitVisible(`body[data-state="ended"]`)); err != nil {
		return fmt.Errorf("customer: %w", err)
	}
	step("the call has ended")
	return nil
}

func (c Customer) shot(tab context.Context, name string) {
	if c.Screenshots == "" {
		return
	}
	_, _ = eval[bool](tab, `(window.scrollTo(0, 0), true)`)
	if png, err := screenshot(tab); err == nil {
		_ = os.WriteFile(filepath.Join(c.Screenshots, name+".png"), png, 0o644)
	}
}
