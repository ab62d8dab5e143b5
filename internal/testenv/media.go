package testenv

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Johns is where Debian's libdlib19.1 keeps the johns face photos.
const Johns = "/usr/share/doc/libdlib19.1/examples/johns"

// JohnsPhoto returns the path of the i-th photo of person (e.g.
// "John_Salley"), failing the test when the photos are missing.
func JohnsPhoto(t testing.TB, person string, i int) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(Johns, person, "*.jpg"))
	if err != nil || len(files) <= i {
		t.Fatalf("johns photos of %s missing in %s: install the Debian package libdlib-dev (libdlib19.1)", person, Johns)
	}
	return files[i]
}

func ffmpeg(t testing.TB, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg not found: install the Debian package ffmpeg (scripts/setup.sh does)")
	}
	out, err := exec.Command(bin, append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// VP8FromPhoto encodes photo as a VP8 .ivf video of the given length (15
// frames per second, size x size pixels, a key frame every second) in a
// temporary folder and returns its path.
func VP8FromPhoto(t testing.TB, photo string, seconds, size int) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "video.ivf")
	scale := "scale=" + strconv.Itoa(size) + ":" + strconv.Itoa(size) + ",format=yuv420p"
	ffmpeg(t, "-loop", "1", "-framerate", "15", "-i", photo, "-t", strconv.Itoa(seconds), "-vf", scale,
		"-c:v", "libvpx", "-b:v", "800k", "-g", "15", "-deadline", "realtime", "-cpu-used", "8", out)
	return out
}

// OpusTone encodes a 440 Hz tone as Opus in an .ogg file (48 kHz, stereo,
// 20 ms frames) and returns its path.
func OpusTone(t testing.TB, seconds int) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "audio.ogg")
	ffmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration="+strconv.Itoa(seconds),
		"-ac", "2", "-c:a", "libopus", "-b:a", "48k", "-frame_duration", "20", "-page_duration", "20000", out)
	return out
}

// Y4MFromPhoto makes a short .y4m clip of photo (size x size, 15 frames
// per second) for Chromium's fake camera and returns its path.
func Y4MFromPhoto(t testing.TB, photo string, seconds, size int) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "camera.y4m")
	scale := "scale=" + strconv.Itoa(size) + ":" + strconv.Itoa(size) + ",format=yuv420p"
	ffmpeg(t, "-loop", "1", "-framerate", "15", "-i", photo, "-t", strconv.Itoa(seconds), "-vf", scale, "-pix_fmt", "yuv420p", out)
	return out
}

// Probe is what ffprobe reads of a media file's first stream.
type Probe struct {
	Codec         string
	Width, Height int
	Frames        int     // decoded frames (ffprobe -count_frames)
	Duration      float64 // seconds, of the container
}

// FFprobe reads path with ffprobe, decoding every frame, and fails the
// test if ffprobe cannot.
func FFprobe(t testing.TB, path string) Probe {
	t.Helper()
	bin, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Fatal("ffprobe not found: install the Debian package ffmpeg (scripts/setup.sh does)")
	}
	out, err := exec.Command(bin, "-v", "error", "-count_frames", "-select_streams", "0",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames:format=duration", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var r struct {
		Streams []struct {
			Codec  string `json:"codec_name"`
			Width  int    `json:"width"`
			Height int    `json:"height"`
			Frames string `json:"nb_read_frames"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Streams) == 0 {
		t.Fatalf("ffprobe %s: %v: %s", path, err, out)
	}
	s := r.Streams[0]
	p := Probe{Codec: s.Codec, Width: s.Width, Height: s.Height}
	p.Frames, _ = strconv.Atoi(s.Frames)
	p.Duration, _ = strconv.ParseFloat(r.Format.Duration, 64)
	return p
}
