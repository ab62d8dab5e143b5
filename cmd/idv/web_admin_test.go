package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"remoteidv/internal/testenv"
)

// noisePNG is a sharp, bright picture without a face: the import flags it.
func noisePNG(t *testing.T, path string) {
	t.Helper()
	r := mrand.New(mrand.NewPCG(7, 7))
	img := image.NewGray(image.Rect(0, 0, 320, 320))
	for i := range img.Pix {
		img.Pix[i] = uint8(64 + r.IntN(192))
	}
	img.Set(0, 0, color.Gray{Y: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestWebAdmin runs the real `idv serve` on data from `idv demo load` plus
// an `idv accounts import` with a bad row and a photo without a face, and a
// calibration made by `idv face calibrate` on the johns photos; the admin
// then reads the import runs, the accounts needing attention and the face
// report in headless Chromium, in English and in Chinese.
func TestWebAdmin(t *testing.T) {
	shots, err := filepath.Abs(filepath.Join("..", "..", "var", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	idv := newE2EIDV(t, nil)
	dir, origin, modelDir, cli := idv.dir, idv.origin, idv.env["IDV_MODELS_DIR"], idv.cli
	calibration := filepath.Join(dir, "face-calibration.json")
	if out, err := cli("demo", "load"); err != nil {
		t.Fatalf("demo load: %v\n%s", err, out)
	}
	// A second import: Zhou Xin with a face photo and a photo without a face
	// (imported, flagged), and a row with an unknown time zone (refused).
	images := filepath.Join(dir, "branch")
	if err := os.MkdirAll(images, 0o750); err != nil {
		t.Fatal(err)
	}
	face, err := os.ReadFile(testenv.JohnsPhoto(t, "John_Simm", 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(images, "zhou.jpg"), face, 0o600); err != nil {
		t.Fatal(err)
	}
	noisePNG(t, filepath.Join(images, "noise.png"))
	sig := e2eLetter(t, images)
	csvPath := filepath.Join(dir, "branch-7.csv")
	csv := "account_no,holder_name,national_id,email,phone,time_zone,language,photos,signature\n" +
		"6222020200556677,Zhou Xin,110101199305060078,zhou.xin@example.com,+1 604 555 0101,America/Vancouver,zh-CN,zhou.jpg;noise.png," + filepath.Base(sig) + "\n" +
		"6222020200667788,Ma Lin,110101199305060094,ma.lin@example.com,+33 1 5555 0101,Mars/Olympus_Mons,en,zhou.jpg," + filepath.Base(sig) + "\n"
	if err := os.WriteFile(csvPath, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := cli("accounts", "import", "--csv", csvPath, "--images", images)
	if err == nil || !strings.Contains(out, "imported 1 accounts (1 flagged), 1 failed") {
		t.Fatalf("accounts import = %v, want one row failed; output:\n%s", err, out)
	}
	// The calibration: the johns photos are a small cohort (too few pairs
	// to claim 1 in 1,000), which the page must say.
	if out, err := cli("face", "calibrate", "-models", modelDir, "-recognizers", "2", "-o", calibration, testenv.Johns); err != nil {
		t.Fatalf("face calibrate: %v\n%s", err, out)
	}
	idv.env["IDV_FACE_CALIBRATION"] = calibration
	idv.serve()

	browser := testenv.Chromium(t, testenv.Y4MFromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 0), 1, 160))
	adm := testenv.NewTab(t, browser, "admin", origin)
	e2eLogin(t, adm, origin, "admin", "/admin")

	// Import runs: the branch file's run first, its two rows folded out.
	adm.Do(t, "import runs", 20*time.Second,
		chromedp.WaitVisible(`#imports tr[data-run]:nth-child(2)`),
		chromedp.Click(`#imports tr[data-run] summary`),
		chromedp.WaitVisible(`#imports tr[data-run] li[data-line="3"]`),
	)
	run := testenv.Eval[string](t, adm, `document.querySelector('#imports tr[data-run]').innerText`)
	for _, want := range []string{"branch-7.csv", "cli", "Line 2", "****6677", "imported, photo flagged", "noise.png: face image rejected",
		"Line 3", "****7788", "not imported", "Mars/Olympus_Mons"} {
		if !strings.Contains(run, want) {
			t.Errorf("newest import run lacks %q:\n%s", want, run)
		}
	}
	if older := testenv.Eval[string](t, adm, `document.querySelector('#imports tr[data-run]:nth-child(2)').innerText`); !strings.Contains(older, "idv demo load") {
		t.Errorf("older import run = %q, want the demo load", older)
	}

	// Accounts needing attention: only Zhou Xin (the demo accounts were
	// enrolled at import), then all six.
	adm.Do(t, "accounts needing attention", 20*time.Second, chromedp.WaitVisible(`#accounts tr[data-attention]`))
	rows := testenv.Eval[[]string](t, adm, `[...document.querySelectorAll('#accounts tr[data-attention]')].map((r) => r.dataset.attention + ' | ' + r.innerText)`)
	if len(rows) != 1 || !strings.HasPrefix(rows[0], "flagged_photo | ") || !strings.Contains(rows[0], "Zhou Xin") || !strings.Contains(rows[0], "****6677") ||
		strings.Contains(rows[0], "6222020200556677") {
		t.Errorf("accounts needing attention = %q, want only Zhou Xin (masked) with a flagged photo", rows)
	}
	adm.Do(t, "all accounts", 20*time.Second,
		chromedp.Click("#attention-only"),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#accounts tr[data-attention]').length === 6`),
	)
	if r := testenv.Eval[string](t, adm, `document.getElementById('accounts-range').textContent`); r != "1–6 of 6" {
		t.Errorf("accounts range = %q, want 1–6 of 6", r)
	}
	if ready := testenv.Eval[int](t, adm, `document.querySelectorAll('#accounts tr[data-attention=""]').length`); ready != 5 {
		t.Errorf("%d accounts ready, want the 5 demo accounts", ready)
	}

	// The face report: threshold, calibration, expected false-match rate.
	adm.Do(t, "face report", 20*time.Second, chromedp.WaitVisible(`#calibration-summary`))
	if th := testenv.Eval[string](t, adm, `document.getElementById('face-threshold').textContent`); th != "0.36" {
		t.Errorf("threshold shown = %q, want 0.36", th)
	}
	cal := testenv.Eval[string](t, adm, `document.getElementById('calibration').innerText`)
	// The database's calibrations win over the file: demo load made #1,
	// the import's calibration job #2 from the six enrolled accounts, too
	// few pairs for 1 in 1,000, so every score is weak evidence.
	for _, want := range []string{"#2 (enrolled accounts)", "no: too few impostor pairs", "95% upper bound", "Weak evidence", "too few pairs of different customers"} {
		if !strings.Contains(cal, want) {
			t.Errorf("calibration section lacks %q:\n%s", want, cal)
		}
	}
	adm.Do(t, "calibrate now from the enrolled accounts", 30*time.Second, chromedp.Click("#calibrate-now"))
	if !waitTrue(t, adm, `document.getElementById('calibration-id').textContent.startsWith('#3 ')`) {
		t.Errorf("after Calibrate now the page shows calibration %q, want #3", testenv.Eval[string](t, adm, `document.getElementById('calibration-id').textContent`))
	}
	if strings.Contains(cal, "other models") {
		t.Errorf("calibration made with the running models is shown as made with others:\n%s", cal)
	}
	t.Logf("face report: %s | %s", testenv.Eval[string](t, adm, `document.getElementById('face-settings').innerText`), testenv.Eval[string](t, adm, `document.getElementById('fmr-at-threshold').textContent`))
	adm.CheckPage(t, shots, "admin")

	// The same page in Chinese: every message translated, none shown as its key.
	adm.Do(t, "the page in Chinese", 20*time.Second,
		chromedp.Navigate(origin+"/admin?lang=zh-CN"),
		chromedp.WaitVisible(`#calibration-summary`),
		chromedp.WaitVisible(`#accounts tr[data-attention]`),
		chromedp.WaitVisible(`#imports tr[data-run]`),
	)
	text := testenv.Eval[string](t, adm, `document.body.innerText`)
	if !strings.Contains(text, "系统管理") || !strings.Contains(text, "有照片无法识别出唯一人脸") {
		t.Errorf("admin page in Chinese lacks its title or the attention reason:\n%.2000s", text)
	}
	if k := testenv.Eval[string](t, adm, `(document.body.innerText.match(/\b(admin|attention|pose|common|cal12|fmr12)\.[a-z_]+/) || [''])[0]`); k != "" {
		t.Errorf("admin page in Chinese shows the message key %q", k)
	}
	adm.CheckPage(t, shots, "admin-zh")
	for _, p := range adm.Problems() {
		t.Error(p)
	}
}
