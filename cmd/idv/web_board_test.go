package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/internal/testenv"
)

// TestWebBoard runs the real `idv serve` on the demo data: a supervisor
// keeps the live board open in headless Chromium while a clerk, in another
// tab, opens a case for tomorrow; the new call arrives on the board over
// server-sent events, without a reload, with its slot in both zones and
// its clerk online. The board is checked on a phone and a desktop, and in
// Chinese.
func TestWebBoard(t *testing.T) {
	shots, err := filepath.Abs(filepath.Join("..", "..", "var", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	idv := newE2EIDV(t, map[string]string{"IDV_REQUIRE_MODELS": "false", "IDV_MODELS_DIR": t.TempDir()})
	if out, err := idv.cli("demo", "load"); err != nil {
		t.Fatalf("demo load: %v\n%s", err, out)
	}
	idv.serve()
	origin := idv.origin
	browser := testenv.Chromium(t, testenv.Y4MFromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 0), 1, 160))

	sup := testenv.NewTab(t, browser, "supervisor", origin)
	e2eLogin(t, sup, origin, "supervisor", "/review")
	sup.Do(t, "open the board", 20*time.Second,
		chromedp.Navigate(origin+"/board"),
		chromedp.WaitVisible(`#board-status[data-state="live"]`),
	)
	before := testenv.Eval[int](t, sup, `document.querySelectorAll('#board-calls tr[data-case]').length`)
	// A mark on the page's window: a reload would drop it.
	testenv.Eval[bool](t, sup, `(window.boardMark = 'kept', true)`)

	clerk := testenv.NewTab(t, browser, "clerk", origin)
	e2eLogin(t, clerk, origin, "clerk", "/console")
	clerk.Do(t, "create a case for tomorrow", 30*time.Second,
		chromedp.WaitVisible("#lookup-q"),
		chromedp.SendKeys("#lookup-q", "Liu Yang"),
		chromedp.Click("#lookup-form button"),
		chromedp.WaitReady(`#account option[value="6222020200223344"]`),
		chromedp.SetValue("#slot-local", time.Now().Add(24*time.Hour).Format("2006-01-02")+"T09:00"),
		chromedp.SetValue("#slot-tz", "America/Toronto"),
		chromedp.Click("#create-case"),
		chromedp.WaitVisible(`#state[data-state="scheduled"]`),
	)
	caseID := testenv.Eval[string](t, clerk, "document.body.dataset.case")
	if caseID == "" {
		t.Fatal("the clerk's case page names no case")
	}

	row := `#board-calls tr[data-case="` + caseID + `"]`
	sup.Do(t, "the new call arrives on the board", 20*time.Second, chromedp.WaitVisible(row))
	if mark := testenv.Eval[string](t, sup, `window.boardMark || 'reloaded'`); mark != "kept" {
		t.Errorf("the board was reloaded (mark %q): the change must arrive over the event stream", mark)
	}
	if n := testenv.Eval[int](t, sup, `document.querySelectorAll('#board-calls tr[data-case]').length`); n != before+1 {
		t.Errorf("board rows %d after one new case, want %d", n, before+1)
	}
	text := testenv.Eval[string](t, sup, `document.querySelector('`+row+`').innerText`)
	for _, want := range []string{"09:00 America/Toronto", "Asia/Shanghai", "Wang Fang", "online", "scheduled", "not consented yet", "****3344"} {
		if !strings.Contains(text, want) {
			t.Errorf("board row lacks %q:\n%s", want, text)
		}
	}
	if online := testenv.Eval[string](t, sup, `document.querySelector('`+row+` td[data-online]').dataset.online`); online != "yes" {
		t.Errorf("clerk online = %q, want yes", online)
	}
	sup.CheckPage(t, shots, "board")

	sup.Do(t, "the board in Chinese", 20*time.Second,
		chromedp.Navigate(origin+"/board?lang=zh-CN"),
		chromedp.WaitVisible(`#board-status[data-state="live"]`),
		chromedp.WaitVisible(row),
	)
	if zh := testenv.Eval[string](t, sup, `document.body.innerText`); !strings.Contains(zh, "实时看板") || !strings.Contains(zh, "在线") {
		t.Errorf("board in Chinese lacks its title or 在线:\n%.1500s", zh)
	}
	if k := testenv.Eval[string](t, sup, `(document.body.innerText.match(/\b(board|common|state)\.[a-z_]+/) || [''])[0]`); k != "" {
		t.Errorf("board in Chinese shows the message key %q", k)
	}
	for _, tab := range []*testenv.Tab{sup, clerk} {
		for _, p := range tab.Problems() {
			t.Error(p)
		}
	}
}
