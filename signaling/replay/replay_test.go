package replay_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"remoteidv/internal/testenv"
	"remoteidv/signaling/replay"
)

// ivfFrames returns the frames of an .ivf file.
func ivfFrames(b []byte) (frames [][]byte) {
	for b = b[32:]; len(b) >= 12; {
		n := binary.LittleEndian.Uint32(b)
		frames = append(frames, b[12:12+n])
		b = b[12+n:]
	}
	return frames
}

// buildIVF writes frames as an .ivf file of the given time base (seconds
// per unit = num/den), frame i at pts[i].
func buildIVF(fourcc string, num, den uint32, frames [][]byte, pts []uint64) []byte {
	var b bytes.Buffer
	h := make([]byte, 32)
	copy(h, "DKIF")
	binary.LittleEndian.PutUint16(h[6:], 32)
	copy(h[8:], fourcc)
	binary.LittleEndian.PutUint16(h[12:], 640) // the header's size is not trusted: the key frame's is
	binary.LittleEndian.PutUint16(h[14:], 480)
	binary.LittleEndian.PutUint32(h[16:], den)
	binary.LittleEndian.PutUint32(h[20:], num)
	binary.LittleEndian.PutUint32(h[24:], uint32(len(frames)))
	b.Write(h)
	for i, f := range frames {
		fh := make([]byte, 12)
		binary.LittleEndian.PutUint32(fh, uint32(len(f)))
		binary.LittleEndian.PutUint64(fh[4:], pts[i])
		b.Write(fh)
		b.Write(f)
	}
	return b.Bytes()
}

// failAtEnd returns the data, then err instead of io.EOF (as a reader that
// checks a hash at the end does).
type failAtEnd struct {
	r   io.Reader
	err error
}

func (f *failAtEnd) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestIVFToWebM(t *testing.T) {
	// 2 s at 15 frames per second, a key frame every second, 160x160.
	src, err := os.ReadFile(testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Simm", 0), 2, 160))
	if err != nil {
		t.Fatal(err)
	}
	frames := ivfFrames(src)
	if len(frames) != 30 {
		t.Fatalf("ffmpeg made %d frames, want 30", len(frames))
	}
	// The recorder's files: RTP time (90 kHz) as pts, time base 1/90000.
	rtpPTS := make([]uint64, len(frames))
	for i := range rtpPTS {
		rtpPTS[i] = uint64(i) * 6000
	}
	hashErr := errors.New("evidence does not match its recorded hash")
	full := buildIVF("VP80", 1, 90000, frames, rtpPTS)

	tests := []struct {
		name      string
		in        io.Reader
		err       error // errors.Is
		frames    int
		skipped   int
		duration  int64 // ms
		truncated bool
	}{
		{name: "ffmpeg file (time base 1/15)", in: bytes.NewReader(src), frames: 30, duration: 1933},
		{name: "recorder file (time base 1/90000)", in: bytes.NewReader(full), frames: 30, duration: 1933},
		{name: "starts after a key frame: skipped to the next", in: bytes.NewReader(buildIVF("VP80", 1, 90000, frames[3:], rtpPTS[3:])),
			frames: 15, skipped: 12, duration: 933},
		{name: "cut inside the last frame", in: bytes.NewReader(full[:len(full)-10]), frames: 29, duration: 1866, truncated: true},
		{name: "hash check fails at the end", in: &failAtEnd{bytes.NewReader(full), hashErr}, err: hashErr},
		{name: "empty", in: bytes.NewReader(nil), err: replay.ErrNotIVF},
		{name: "not IVF", in: bytes.NewReader(append([]byte("RIFF"), make([]byte, 60)...)), err: replay.ErrNotIVF},
		{name: "VP9", in: bytes.NewReader(buildIVF("VP90", 1, 90000, frames, rtpPTS)), err: replay.ErrUnsupported},
		{name: "zero time base", in: bytes.NewReader(buildIVF("VP80", 1, 0, frames, rtpPTS)), err: replay.ErrNotIVF},
		{name: "no key frame", in: bytes.NewReader(buildIVF("VP80", 1, 90000, frames[1:15], rtpPTS[1:15])), err: replay.ErrNoKeyFrame},
		{name: "header only", in: bytes.NewReader(full[:32]), err: replay.ErrNoKeyFrame},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			st, err := replay.IVFToWebM(&out, tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Frames != tc.frames || st.Skipped != tc.skipped || st.Truncated != tc.truncated || st.Width != 160 || st.Height != 160 {
				t.Errorf("stats = %+v, want %d frames, %d skipped, truncated %v, 160x160", st, tc.frames, tc.skipped, tc.truncated)
			}
			if d := st.DurationMS - tc.duration; d < -1 || d > 1 {
				t.Errorf("duration %d ms, want %d", st.DurationMS, tc.duration)
			}
			// An independent reader decodes every frame of the WebM.
			path := filepath.Join(t.TempDir(), "out.webm")
			if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			p := testenv.FFprobe(t, path)
			if p.Codec != "vp8" || p.Width != 160 || p.Height != 160 || p.Frames != tc.frames {
				t.Errorf("ffprobe: %+v, want vp8 160x160 with %d frames", p, tc.frames)
			}
		})
	}
}

// TestIVFToWebMHugeFrame refuses a frame header claiming more than the cap
// instead of allocating it.
func TestIVFToWebMHugeFrame(t *testing.T) {
	key := []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0xa0, 0x00, 0xa0, 0x00}
	in := buildIVF("VP80", 1, 1000, [][]byte{key}, []uint64{0})
	fh := make([]byte, 12)
	binary.LittleEndian.PutUint32(fh, 1<<30)
	in = append(in, fh...)
	_, err := replay.IVFToWebM(io.Discard, bytes.NewReader(in))
	if err == nil || errors.Is(err, replay.ErrNoKeyFrame) {
		t.Fatalf("err = %v, want a refused frame size", err)
	}
}
