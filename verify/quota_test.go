package verify_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"remoteidv/models"
	"remoteidv/verify"
)

// photoJPEG is a camera-like JPEG (smooth light, sensor noise) of w x h
// pixels at quality q: the kind of letter photo that grew tenfold when
// every image letter was written again as PNG.
func photoJPEG(t testing.TB, w, h, q int) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := r.IntN(24)
			img.Set(x, y, color.RGBA{uint8(180 + x*40/w + n), uint8(170 + y*40/h + n), uint8(160 + n), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// stagedFiles counts the files waiting in the staging folder dir.
func stagedFiles(t testing.TB, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// quotaKey is the message key a quota refusal carries for the pages.
func quotaKey(err error) string {
	var e *models.Error
	if errors.As(err, &e) && len(e.Details) > 0 {
		return e.Details[0]
	}
	return ""
}

// TestLetterQuotas: a letter past the case's count or byte allowance is
// refused with its message key before anything is staged, and the letters
// already on file stay as they were.
func TestLetterQuotas(t *testing.T) {
	first := signedLetter(t, 300, 200)
	firstStored, err := verify.CheckLetter(first)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		quotas verify.Quotas
		kept   int // letters accepted before the refused one
		key    string
	}{
		{"count", verify.Quotas{LetterCount: 2}, 2, "quota.letter_count"},
		{"bytes", verify.Quotas{LetterBytes: int64(len(firstStored.Data)) + 100}, 1, "quota.letter_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newDeskFixtureQuotas(t, verify.NoFaceEngine{}, tt.quotas)
			ctx := context.Background()
			var kept []*models.Letter
			var content [][]byte
			for i := 0; i < tt.kept; i++ {
				l, err := f.desk.CustomerUploadLetter(ctx, f.caseID, "customer:cs_1", signedLetter(t, 300+i, 200))
				if err != nil {
					t.Fatalf("CustomerUploadLetter(%d of %d allowed) = %v", i+1, tt.kept, err)
				}
				b, _, err := f.desk.LetterContent(ctx, f.sup, f.caseID, l.ID)
				if err != nil {
					t.Fatal(err)
				}
				kept, content = append(kept, l), append(content, b)
			}
			staged := stagedFiles(t, f.stage.Dir())
			_, err := f.desk.CustomerUploadLetter(ctx, f.caseID, "customer:cs_1", signedLetter(t, 500, 200))
			wantErr(t, "CustomerUploadLetter(over the quota)", err, models.ETOOLARGE)
			if got := quotaKey(err); got != tt.key {
				t.Errorf("refusal's message key = %q, want %q", got, tt.key)
			}
			_, err = f.desk.UploadLetter(ctx, f.clerk, f.caseID, signedLetter(t, 501, 200))
			wantErr(t, "UploadLetter(clerk, over the quota)", err, models.ETOOLARGE)
			if got := stagedFiles(t, f.stage.Dir()); got != staged {
				t.Errorf("staging folder holds %d files after the refusals, want %d (nothing staged)", got, staged)
			}
			ls, err := f.desk.Letters(ctx, f.sup, f.caseID)
			if err != nil || len(ls) != tt.kept {
				t.Fatalf("Letters = %d, %v; want the %d accepted ones", len(ls), err, tt.kept)
			}
			for i, l := range kept {
				b, _, err := f.desk.LetterContent(ctx, f.sup, f.caseID, l.ID)
				if err != nil || !bytes.Equal(b, content[i]) {
					t.Errorf("letter %d after the refusal: %d bytes, %v; want its %d bytes unchanged", i+1, len(b), err, len(content[i]))
				}
			}
		})
	}
}

// TestLetterGrowth: an image letter is never stored much larger than it
// was uploaded (a 3.2 MB photo was kept as a 34 MB PNG).
func TestLetterGrowth(t *testing.T) {
	photo := photoJPEG(t, 1200, 900, 92)
	png := signedLetter(t, 600, 400)
	tests := []struct {
		name   string
		in     []byte
		growth float64
		ct     string
		err    string // message key of the refusal
	}{
		{"camera jpeg stays jpeg", photo, 1.5, "image/jpeg", ""},
		{"scan png stays png", png, 1.5, "image/png", ""},
		{"no quality fits", photo, 0.05, "", "quota.letter_growth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := verify.CheckLetterGrowth(context.Background(), tt.in, tt.growth)
			if tt.err != "" {
				if quotaKey(err) != tt.err {
					t.Fatalf("CheckLetterGrowth = %v, want a refusal with key %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.ContentType != tt.ct {
				t.Errorf("stored as %s, want %s", l.ContentType, tt.ct)
			}
			if limit := float64(len(tt.in)) * tt.growth; float64(len(l.Data)) > limit {
				t.Errorf("stored %d bytes from an upload of %d: more than %.1fx", len(l.Data), len(tt.in), tt.growth)
			}
			if _, _, err := image.Decode(bytes.NewReader(l.Data)); err != nil {
				t.Errorf("stored letter does not decode: %v", err)
			}
		})
	}
}

// TestCaptureQuota: face captures past the case's allowance are refused
// before the face engine runs and before anything is staged; the checks
// already recorded stay.
func TestCaptureQuota(t *testing.T) {
	f := newDeskFixtureQuotas(t, sharedEngine(t), verify.Quotas{Captures: 2})
	ctx := context.Background()
	call := f.liveCall()
	// Frames with the same bytes are kept once: each capture here is the
	// photo written at another quality.
	src, err := jpeg.Decode(bytes.NewReader(johnsPhoto(t, "John_Salley", 3)))
	if err != nil {
		t.Fatal(err)
	}
	frame := func(q int) []byte {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, src, &jpeg.Options{Quality: q}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	var ids []models.CheckID
	for i := 0; i < 2; i++ {
		chk, err := call.TryCapture(f.clerk.Name, frame(90+i))
		if err != nil {
			t.Fatalf("capture %d of 2 allowed: %v", i+1, err)
		}
		ids = append(ids, chk.ID)
	}
	staged := stagedFiles(t, f.stage.Dir())
	_, err = call.TryCapture(f.clerk.Name, frame(95))
	wantErr(t, "capture past the quota", err, models.ETOOLARGE)
	if got := quotaKey(err); got != "quota.captures" {
		t.Errorf("refusal's message key = %q, want quota.captures", got)
	}
	_, err = call.CaptureFused(f.clerk.Name, frame(96), frame(97))
	wantErr(t, "fused capture past the quota", err, models.ETOOLARGE)
	if got := stagedFiles(t, f.stage.Dir()); got != staged {
		t.Errorf("staging folder holds %d files after the refusals, want %d", got, staged)
	}
	var checks []*models.Check
	f.tx(func(tx models.Tx) (err error) { checks, err = tx.ChecksByCase(ctx, f.caseID); return })
	var got []models.CheckID
	for _, c := range checks {
		if c.Kind == models.CheckFaceMatch {
			got = append(got, c.ID)
		}
	}
	if !slices.Equal(got, ids) && !slices.Equal(got, []models.CheckID{ids[1], ids[0]}) {
		t.Errorf("face checks after the refusals = %v, want the two accepted %v", got, ids)
	}
}

// TestLivenessFitsDefaultQuota: the default capture allowance takes
// several full liveness challenges at the most key frames a browser sends.
func TestLivenessFitsDefaultQuota(t *testing.T) {
	q := verify.Quotas{}.WithDefaults()
	longestChallengeS := 18.4 + 0.3 // facematch's longest steps and sampling's tail
	framesPerS := 3.4               // Chromium: one key frame per 300 ms at best
	perRun := int(longestChallengeS*framesPerS) + 1
	if runs := q.Captures / perRun; runs < 5 {
		t.Errorf("default Captures %d takes %d full liveness runs of %d frames, want at least 5", q.Captures, runs, perRun)
	}
}
