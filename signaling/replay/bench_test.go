package replay_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"testing"

	"remoteidv/internal/testenv"
	"remoteidv/signaling/replay"
)

// BenchmarkReplay compares the IVF-to-WebM remux of a 10 s, 640x640 VP8
// recording with SHA-256 over the same bytes (the baseline: every playback
// re-hashes the stored file anyway), in the same run:
//
//	go test -run '^$' -bench Replay -benchtime 50x ./signaling/replay
func BenchmarkReplay(b *testing.B) {
	src, err := os.ReadFile(testenv.VP8FromPhoto(b, testenv.JohnsPhoto(b, "John_Simm", 0), 10, 640))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("sha256", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		b.ReportAllocs()
		for b.Loop() {
			h := sha256.New()
			if _, err := io.Copy(h, bytes.NewReader(src)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("webm", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := replay.IVFToWebM(io.Discard, bytes.NewReader(src)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
