package demobrowser

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// Clerk is the clerk's case page in a tab of its own: the clerk's side of
// the call (join, capture, liveness challenge, leave). Its camera is the
// browser's fake one.
type Clerk struct {
	tab    context.Context
	cancel context.CancelFunc
	origin string
}

// Clerk logs user in on the staff login page at origin.
func (b *Browser) Clerk(ctx context.Context, origin, user, password string) (*Clerk, error) {
	tab, cancel, err := b.tab()
	if err != nil {
		return nil, fmt.Errorf("clerk: %w", err)
	}
	context.AfterFunc(ctx, cancel)
	k := &Clerk{tab: tab, cancel: cancel, origin: strings.TrimSuffix(origin, "/")}
	if err := run(tab, "log in as "+user, 30*time.Second, chromedp.Navigate(k.origin+"/login?lang=en"), chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#username", user), chromedp.SendKeys("#password", password), chromedp.Click("#login-submit"), chromedp.WaitVisible("#logout")); err != nil {
		cancel()
		return nil, fmt.Errorf("clerk: %w", err)
	}
	return k, nil
}

// Page is the clerk's tab.
func (k *Clerk) Page() Page { return Page{k.tab} }

// Close closes the tab.
func (k *Clerk) Close() { k.cancel() }

// JoinCall opens the case page and joins its call.
func (k *Clerk) JoinCall(caseID string) error {
	return run(k.tab, "clerk joins the call", 60*time.Second, chromedp.Navigate(k.origin+"/console/cases/"+caseID),
		chromedp.WaitVisible(`body[data-ready]`), Press("#call-join"), chromedp.WaitVisible(`body[data-call="connected"]`))
}

// rows counts the case page's check rows of kind.
func (k *Clerk) rows(kind string) (int, error) {
	return eval[int](k.tab, fmt.Sprintf(`document.querySelectorAll('#checks tr[data-kind=%q]').length`, kind))
}

// act clicks button and waits for a new check row of kind, returning its result.
func (k *Clerk) act(what, button, kind string, d time.Duration) (string, error) {
	before, err := k.rows(kind)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if err := run(k.tab, what, d, Press("#"+button),
		// Poll gives up after 30 s unless told otherwise: the whole of d.
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelectorAll('#checks tr[data-kind=%q]').length > %d`, kind, before), chromedp.WithPollingTimeout(d))); err != nil {
		return "", err
	}
	return eval[string](k.tab, fmt.Sprintf(`(() => { const r = document.querySelectorAll('#checks tr[data-kind=%q]'); return r[r.length - 1].dataset.result })()`, kind))
}

// Capture asks the server for a face capture of the customer's live video
// and returns the face check's result (MATCH, NO_MATCH, ...).
func (k *Clerk) Capture() (string, error) {
	return k.act("capture", "call-capture", "face_match", 60*time.Second)
}

// Challenge runs the liveness challenge and returns its result (PASS, FAIL, ...).
func (k *Clerk) Challenge() (string, error) {
	return k.act("liveness challenge", "call-challenge", "liveness", 90*time.Second)
}

// Leave ends the call (the clerk's bye ends it for everyone).
func (k *Clerk) Leave() error {
	return run(k.tab, "end the call", 30*time.Second, Press("#call-leave"), chromedp.WaitVisible(`body[data-call="ended"]`))
}

// Screenshot saves the clerk's call section as a PNG at path.
func (k *Clerk) Screenshot(path string) error {
	if _, err := eval[bool](k.tab, `(document.getElementById('call-join').closest('section').scrollIntoView(), true)`); err != nil {
		return err
	}
	png, err := screenshot(k.tab)
	if err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}
