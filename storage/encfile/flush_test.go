package encfile

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"remoteidv/models"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// writeFlushed writes data in writes of size step, the clock moving by
// tick before each, to a version 2 file flushed every second. With close
// false the writer is abandoned (a crash): the file is left as it is.
func writeFlushed(t testing.TB, k *Key, data []byte, step int, tick time.Duration, close bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)}
	w, err := k.NewWriter(f, rand.Reader, WithFlushEvery(time.Second, clock.now))
	if err != nil {
		t.Fatal(err)
	}
	for rest := data; len(rest) > 0; {
		clock.t = clock.t.Add(tick)
		n := min(len(rest), step)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if close {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// chunkEnds parses a version 2 file on its own and returns where each
// chunk ends in it and how much plaintext the chunks up to it hold.
func chunkEnds(t testing.TB, b []byte) (ends []int, plain []int) {
	t.Helper()
	if !bytes.HasPrefix(b, []byte(Magic2)) {
		t.Fatalf("file starts %q, want %q", b[:min(len(b), 8)], Magic2)
	}
	total := 0
	for pos := headerLen; pos < len(b); {
		n := int(binary.BigEndian.Uint32(b[pos:]))
		pos += lenLen + n
		total += n - tagLen
		ends, plain = append(ends, pos), append(plain, total)
	}
	return ends, plain
}

// TestWriterV1Unchanged: without WithFlushEvery the writer writes version
// 1 byte for byte as before version 2 existed (the hashes were taken from
// that code), so files staged by it and by older releases read alike.
func TestWriterV1Unchanged(t *testing.T) {
	k := testKey(t, 1)
	tests := []struct {
		n    int
		size int
		hash string
	}{
		{0, 39, "c4cf57241e51822545d0878d30eed0f5f7ee2572adb2ed6c5cf667afa62d419a"},
		{ChunkSize + 100, 65691, "79b0ca37f3f1d567f6c3ab57a55bfa113ac8e1283c67242d68e250b6517f6886"},
	}
	for _, tt := range tests {
		data := plaintext(tt.n)
		var b bytes.Buffer
		w, err := k.NewWriter(&b, bytes.NewReader(bytes.Repeat([]byte{0xab}, prefixLen)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b.Bytes())
		if b.Len() != tt.size || hex.EncodeToString(sum[:]) != tt.hash {
			t.Errorf("v1 file of %d bytes = %d bytes, sha256 %x; want %d, %s", tt.n, b.Len(), sum, tt.size, tt.hash)
		}
		path := filepath.Join(t.TempDir(), "v1")
		if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		for name, open := range map[string]func(string, *Key) (io.ReadCloser, error){"Open": Open, "OpenPartial": OpenPartial} {
			r, err := open(path, k)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%s(v1 file of %d bytes) = %d bytes, %v", name, tt.n, len(got), err)
			}
		}
		if whole, err := Whole(path, int64(tt.n)); err != nil || !whole {
			t.Errorf("Whole(v1 file of %d bytes) = %v, %v, want true", tt.n, whole, err)
		}
	}
}

// TestFlushRoundTrip: a flushed (version 2) file reads back whole, with as
// many chunks as the clock made.
func TestFlushRoundTrip(t *testing.T) {
	k := testKey(t, 1)
	tests := []struct {
		name      string
		n, step   int
		tick      time.Duration
		minChunks int // at least, the final one included
	}{
		{"empty", 0, 1, time.Second, 1},
		{"one write, no flush", 100, 100, 0, 1},
		{"a flush every second write", 5000, 100, time.Second, 26},
		{"audio: 100 bytes every 20 ms", 50 * 100 * 10, 100, 20 * time.Millisecond, 10},
		{"video: full chunks between flushes", 3*ChunkSize + 77, 1200, 33 * time.Millisecond, 4},
		{"writes longer than a chunk", 5*ChunkSize + 3, 2*ChunkSize + 1, 2 * time.Second, 6},
		{"clock standing still", 3*ChunkSize + 1, 7777, 0, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := plaintext(tt.n)
			path := writeFlushed(t, k, data, tt.step, tt.tick, true)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ends, _ := chunkEnds(t, raw)
			if len(ends) < tt.minChunks || ends[len(ends)-1] != len(raw) {
				t.Errorf("file has %d chunks ending at %v, want at least %d ending at %d", len(ends), ends, tt.minChunks, len(raw))
			}
			if tt.n >= 20 && bytes.Contains(raw, data[:20]) {
				t.Error("the file holds the plaintext")
			}
			if enc, id, err := Encrypted(path); err != nil || !enc || id != k.ID() {
				t.Errorf("Encrypted = %v, %q, %v, want true, %q", enc, id, err, k.ID())
			}
			if got, err := readFile(path, k); err != nil || !bytes.Equal(got, data) {
				t.Errorf("Open = %d bytes, %v, want the %d written", len(got), err, tt.n)
			}
			if whole, err := Whole(path, int64(tt.n)); err != nil || !whole {
				t.Errorf("Whole(%d) = %v, %v, want true", tt.n, whole, err)
			}
			if whole, err := Whole(path, int64(tt.n)+1); err != nil || whole {
				t.Errorf("Whole(%d) = %v, %v, want false", tt.n+1, whole, err)
			}
		})
	}
}

// TestFlushTamper: every change to a version 2 file fails Open with
// ECONFLICT; OpenPartial forgives only a cut end.
func TestFlushTamper(t *testing.T) {
	k := testKey(t, 1)
	data := plaintext(5000)
	// 100-byte writes a second apart: chunks of 200 bytes (the oldest
	// byte is a second old at the next write, sealed with it), and a final
	// empty one.
	orig, err := os.ReadFile(writeFlushed(t, k, data, 100, time.Second, true))
	if err != nil {
		t.Fatal(err)
	}
	ends, plain := chunkEnds(t, orig)
	rec := func(i int) (int, int) { // chunk i's record (length prefix and sealed bytes)
		if i == 0 {
			return headerLen, ends[0]
		}
		return ends[i-1], ends[i]
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	const partialErr = -1
	tests := []struct {
		name    string
		edit    func([]byte) []byte
		partial int // plaintext bytes OpenPartial returns, or partialErr
	}{
		{"flipped byte in a chunk", func(b []byte) []byte { b[ends[2]+lenLen+3] ^= 1; return b }, partialErr},
		{"flipped byte in the final chunk", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, partialErr},
		{"length prefix plus one", func(b []byte) []byte { b[ends[2]+lenLen-1]++; return b }, partialErr},
		{"length prefix minus one", func(b []byte) []byte { b[ends[2]+lenLen-1]--; return b }, partialErr},
		{"length prefix too long", func(b []byte) []byte { b[ends[2]] = 0xff; return b }, partialErr},
		{"length prefix too short", func(b []byte) []byte { copy(b[ends[2]:], []byte{0, 0, 0, 3}); return b }, partialErr},
		{"chunks swapped", func(b []byte) []byte {
			s1, e1 := rec(1)
			s2, e2 := rec(2)
			return cat(b[:s1], b[s2:e2], b[s1:e1], b[e2:])
		}, partialErr},
		{"a chunk dropped", func(b []byte) []byte { s, e := rec(3); return cat(b[:s], b[e:]) }, partialErr},
		{"a chunk repeated", func(b []byte) []byte { s, e := rec(3); return cat(b[:e], b[s:]) }, partialErr},
		{"nonce changed", func(b []byte) []byte { b[headerLen-1] ^= 1; return b }, partialErr},
		// Read as version 1, the file is one torn chunk: OpenPartial
		// returns nothing, as for any file cut inside its first chunk.
		{"read as version 1", func(b []byte) []byte { copy(b, Magic); return b }, 0},
		{"cut at a chunk boundary", func(b []byte) []byte { return b[:ends[len(ends)-2]] }, len(data)},
		{"cut before the last data chunk", func(b []byte) []byte { return b[:ends[len(ends)-3]] }, plain[len(ends)-3]},
		{"cut mid-chunk", func(b []byte) []byte { return b[:ends[4]+lenLen+50] }, plain[4]},
		{"cut mid-prefix", func(b []byte) []byte { return b[:ends[4]+2] }, plain[4]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(p, tt.edit(append([]byte(nil), orig...)), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := readFile(p, k); models.ErrorCodeOf(err) != models.ECONFLICT {
				t.Errorf("Open read = %v, want kind %q", err, models.ECONFLICT)
			}
			r, err := OpenPartial(p, k)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			switch {
			case tt.partial == partialErr && models.ErrorCodeOf(err) != models.ECONFLICT:
				t.Errorf("OpenPartial read = %d bytes, %v, want kind %q", len(got), err, models.ECONFLICT)
			case tt.partial != partialErr && (err != nil || !bytes.Equal(got, data[:tt.partial])):
				t.Errorf("OpenPartial read = %d bytes, %v, want the first %d", len(got), err, tt.partial)
			}
		})
	}
}

// TestFlushOpenPartialAnyCut: a version 2 file cut anywhere after its
// header gives OpenPartial exactly the plaintext of the whole chunks before
// the cut, and Open an ECONFLICT error unless nothing was cut.
func TestFlushOpenPartialAnyCut(t *testing.T) {
	k := testKey(t, 1)
	data := plaintext(3000)
	// Writes of 70 bytes 300 ms apart: chunks of 280 bytes (sealed when
	// the oldest byte is a second old) and a torn tail.
	full, err := os.ReadFile(writeFlushed(t, k, data, 70, 300*time.Millisecond, true))
	if err != nil {
		t.Fatal(err)
	}
	ends, plain := chunkEnds(t, full)
	if len(ends) < 8 {
		t.Fatalf("%d chunks, want many small ones", len(ends))
	}
	dir := t.TempDir()
	for cut := headerLen; cut <= len(full); cut++ {
		want := 0
		for i, e := range ends {
			if e <= cut {
				want = plain[i]
			}
		}
		path := filepath.Join(dir, "cut")
		if err := os.WriteFile(path, full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := OpenPartial(path, k)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, data[:want]) {
			t.Errorf("OpenPartial(cut at %d of %d) = %d bytes, %v, want the first %d", cut, len(full), len(got), err, want)
		}
		if _, err := readFile(path, k); cut < len(full) && models.ErrorCodeOf(err) != models.ECONFLICT {
			t.Errorf("Open(cut at %d of %d) = %v, want kind %q", cut, len(full), err, models.ECONFLICT)
		}
	}
}

// TestFlushCrashLosesAtMostAnInterval: a recording-like stream at a low
// byte rate (Opus at about 40 kbit/s: 100 bytes every 20 ms) whose writer
// is abandoned without Close keeps all but at most the last second's
// bytes when flushed every second; without flushing it keeps only whole
// 64 KiB chunks (up to 13 s of such audio lost).
func TestFlushCrashLosesAtMostAnInterval(t *testing.T) {
	k := testKey(t, 1)
	const packet, tick = 100, 20 * time.Millisecond
	perSecond := int(time.Second/tick) * packet
	tests := []struct {
		name    string
		seconds float64 // written before the crash
		flush   bool
		minKept func(n int) int
	}{
		{"flushed, crash after 0.5 s", 0.5, true, func(n int) int { return 0 }},
		{"flushed, crash after 2.5 s", 2.5, true, func(n int) int { return n - perSecond }},
		{"flushed, crash after 30 s", 30, true, func(n int) int { return n - perSecond }},
		{"flushed, crash after 30.99 s", 30.99, true, func(n int) int { return n - perSecond }},
		{"not flushed, crash after 30 s", 30, false, func(n int) int { return n / ChunkSize * ChunkSize }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := int(tt.seconds*float64(time.Second/tick)) * packet
			data := plaintext(n)
			var path string
			if tt.flush {
				path = writeFlushed(t, k, data, packet, tick, false)
			} else {
				path = filepath.Join(t.TempDir(), "f")
				f, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				w, err := k.NewWriter(f, rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				for rest := data; len(rest) > 0; rest = rest[packet:] {
					if _, err := w.Write(rest[:packet]); err != nil {
						t.Fatal(err)
					}
				}
				f.Close() // no w.Close: the process died
			}
			r, err := OpenPartial(path, k)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, data[:len(got)]) || len(got) < tt.minKept(n) {
				t.Errorf("OpenPartial after a crash = %d bytes (a prefix: %v), %v; want at least %d of the %d written", len(got), bytes.Equal(got, data[:len(got)]), err, tt.minKept(n), n)
			}
		})
	}
}

// BenchmarkWriter compares a recording's writes (1200-byte packets, as
// video) through version 1 with version 2 flushed every second, and with
// a flush every 4 KiB (audio-like), against version 1 in the same run.
func BenchmarkWriter(b *testing.B) {
	k := testKey(b, 1)
	packet := plaintext(1200)
	for _, bm := range []struct {
		name string
		opts func(clock *fakeClock) []WriterOption
		tick time.Duration
	}{
		{"v1", func(*fakeClock) []WriterOption { return nil }, 0},
		{"v2 flush 1s, time.Now", func(*fakeClock) []WriterOption { return []WriterOption{WithFlushEvery(time.Second, time.Now)} }, 0},
		{"v2 flush every 4 packets", func(c *fakeClock) []WriterOption { return []WriterOption{WithFlushEvery(time.Second, c.now)} }, 250 * time.Millisecond},
	} {
		b.Run(bm.name, func(b *testing.B) {
			clock := &fakeClock{time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)}
			w, err := k.NewWriter(io.Discard, rand.Reader, bm.opts(clock)...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(packet)))
			for b.Loop() {
				clock.t = clock.t.Add(bm.tick)
				if _, err := w.Write(packet); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
