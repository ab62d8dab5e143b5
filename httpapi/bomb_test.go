package httpapi_test

import (
	"bytes"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// jpegBomb is a small, valid JPEG whose header declares 65535x65535
// pixels (16 GiB as RGBA once decoded).
func jpegBomb(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	i := bytes.Index(data, []byte{0xff, 0xc0}) // SOF0: length(2) precision(1) height(2) width(2)
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	copy(data[i+5:], []byte{0xff, 0xff, 0xff, 0xff})
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err != nil || cfg.Width != 65535 || cfg.Height != 65535 {
		t.Fatalf("bomb header: %+v %v", cfg, err)
	}
	return data
}

// generator yields n bytes of 0xff without holding them, counting what
// was read.
type generator struct {
	left int64
	read atomic.Int64
}

func (g *generator) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	n = min(n, g.left)
	for i := range p[:n] {
		p[i] = 0xff
	}
	g.left -= n
	g.read.Add(n)
	return int(n), nil
}

// post sends body to path as the client c; length -1 sends it chunked.
// It returns the status (0 if the server cut the connection before
// answering) and how long it took.
func (c *client) post(path, ctype string, body io.Reader, length int64) (int, time.Duration) {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-CSRF-Token", c.csrf)
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, time.Since(start)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, time.Since(start)
}

// allocated runs fn and returns the bytes the whole process allocated
// meanwhile.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestUploadBombs: a JPEG declaring 65535x65535 pixels in a few hundred
// bytes, and bodies of 6 MiB and 1 GiB (streamed, never held), sent to the
// face check and the letter upload, are refused with 413 (or the
// connection cut) within a bound, without decoding the pixels or reading
// the body past the cap.
func TestUploadBombs(t *testing.T) {
	e := newEnvWith(t, "sqlite", envOptions{faces: true})
	e.withFaces(t)
	id, link := e.invite(t)
	clerk := e.login(t, "clerk")
	consentedCustomer(t, e, link) // with consent the face check reaches the image checks
	faceChecks, letters := "/api/cases/"+id+"/face-checks", "/api/cases/"+id+"/letters"
	bomb := jpegBomb(t)
	t.Logf("the bomb: %d bytes declaring 65535x65535", len(bomb))

	const maxAlloc = 64 << 20 // decoding the bomb would take 4 GiB at least
	for _, path := range []string{faceChecks, letters} {
		var code int
		var took time.Duration
		n := allocated(func() { code, took = clerk.post(path, "image/jpeg", bytes.NewReader(bomb), int64(len(bomb))) })
		if code != http.StatusRequestEntityTooLarge && code != http.StatusUnprocessableEntity {
			t.Errorf("POST %s with a 65535x65535 JPEG = %d, want 413 or 422", path, code)
		}
		if took > 2*time.Second || n > maxAlloc {
			t.Errorf("POST %s with a 65535x65535 JPEG took %s and allocated %d MiB, want < 2s and < %d MiB", path, took, n>>20, maxAlloc>>20)
		}
		t.Logf("POST %s, JPEG bomb: %d in %s, %d KiB allocated", path, code, took.Round(time.Millisecond), n>>10)
	}

	for _, tc := range []struct {
		name    string
		path    string
		size    int64
		chunked bool
	}{
		{"6 MiB face check", faceChecks, 6 << 20, false},
		{"6 MiB face check, chunked", faceChecks, 6 << 20, true},
		{"1 GiB face check", faceChecks, 1 << 30, false},
		{"1 GiB face check, chunked", faceChecks, 1 << 30, true},
		{"1 GiB letter, chunked", letters, 1 << 30, true},
	} {
		g := &generator{left: tc.size}
		length := tc.size
		if tc.chunked {
			length = -1
		}
		code, took := clerk.post(tc.path, "image/jpeg", g, length)
		if code != http.StatusRequestEntityTooLarge && code != 0 {
			t.Errorf("%s: %d, want 413 (or the connection cut)", tc.name, code)
		}
		if took > 10*time.Second {
			t.Errorf("%s: answered after %s, want < 10s", tc.name, took)
		}
		// The server stops reading at the cap: the client could not send
		// (much) more than the cap and the socket buffers hold.
		if sent := g.read.Load(); sent > 64<<20 {
			t.Errorf("%s: the client could send %d MiB, want the server to stop reading at the cap", tc.name, sent>>20)
		}
		t.Logf("%s: %d in %s, %d KiB sent", tc.name, code, took.Round(time.Millisecond), g.read.Load()>>10)
	}
	// The server still serves.
	if code := clerk.do("GET", "/api/cases/"+id, nil, nil); code != http.StatusOK {
		t.Errorf("GET the case after the bombs: %d", code)
	}
}
