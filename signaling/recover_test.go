package signaling_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"remoteidv/models"
	"remoteidv/signaling"
	"remoteidv/storage/encfile"
)

// TestRecoverInterruptedRecording: segments a crashed process left in the
// recording folder are kept as evidence at the next start, their call is
// suspended (the customer's drop is a node_lost interruption from the
// segment's end) and continued by the case's next call, and unknown files
// stay for an operator.
func TestRecoverInterruptedRecording(t *testing.T) {
	key, err := encfile.NewKey(bytes.Repeat([]byte{3}, encfile.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	partial := bytes.Repeat([]byte("DKIF half a video"), 10000) // 170 kB: two whole chunks and a torn one
	tests := []struct {
		name string
		key  *encfile.Key
		// write leaves the file a crashed process left; it returns the
		// bytes a recovery can keep.
		write func(t *testing.T, path string) []byte
	}{
		{"plaintext", nil, func(t *testing.T, path string) []byte {
			if err := os.WriteFile(path, partial, 0o600); err != nil {
				t.Fatal(err)
			}
			return partial
		}},
		{"encrypted, never closed", key, func(t *testing.T, path string) []byte {
			var b bytes.Buffer
			w, err := key.NewWriter(&b, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(partial); err != nil { // no Close: the process died
				t.Fatal(err)
			}
			if bytes.Contains(b.Bytes(), []byte("DKIF")) {
				t.Fatal("the encrypted recording holds the plaintext")
			}
			if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			return partial[:2*encfile.ChunkSize]
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testRecover(t, tt.key, tt.write) })
	}
}

func testRecover(t *testing.T, key *encfile.Key, write func(*testing.T, string) []byte) {
	ctx := context.Background()
	dir := t.TempDir()
	f := newFixture(t, signaling.Config{RecordDir: dir, RecordKey: key})
	id, _ := f.openCase(0)
	call, err := f.calls.StartCall(ctx, id, "staff:stf_c1")
	if err != nil {
		t.Fatal(err)
	}
	start := f.now.UnixMicro()
	name := fmt.Sprintf("rec.%s.%s.customer.video.1.%d.123456", id, call.Call, start)
	partial := write(t, filepath.Join(dir, name))
	if err := os.WriteFile(filepath.Join(dir, "stray.bin"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := f.hub.Recover(ctx)
	if n != 1 || err == nil || !strings.Contains(err.Error(), "stray.bin") {
		t.Fatalf("Recover() = %d, %v; want 1 and an error naming stray.bin", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
		t.Errorf("recovered segment file still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stray.bin")); err != nil {
		t.Errorf("unknown file was removed: %v", err)
	}
	calls := f.calls_(id)
	if len(calls) != 1 || calls[0].EndedAt != nil || calls[0].SuspendedAt == nil || len(calls[0].Segments) != 1 {
		t.Fatalf("calls after recovery = %+v, want one suspended call with one segment", calls)
	}
	seg := calls[0].Segments[0]
	if seg.Participant != "customer" || seg.Track != "video" || seg.Size != int64(len(partial)) || seg.StartedAt.UnixMicro() != start || seg.SHA256 != fmt.Sprintf("%x", sha256.Sum256(partial)) {
		t.Errorf("recovered segment = %+v, want %d bytes", seg, len(partial))
	}
	if in := calls[0].Interruptions; len(in) != 1 || in[0].Participant != "customer" || in[0].Cause != models.CauseNodeLost || !in[0].StartedAt.Equal(seg.EndedAt) {
		t.Errorf("interruptions after recovery = %+v, want the customer's node_lost from the segment's end %v", in, seg.EndedAt)
	}
	// The parties rejoin: the same call goes on in leg 2.
	next, err := f.calls.StartCall(ctx, id, "staff:stf_c1")
	if err != nil || next.Call != call.Call || next.Leg != 2 {
		t.Fatalf("StartCall after recovery = %+v, %v; want %s leg 2", next, err, call.Call)
	}
	// A second start finds nothing more to do.
	if err := os.Remove(filepath.Join(dir, "stray.bin")); err != nil {
		t.Fatal(err)
	}
	if n, err := f.hub.Recover(ctx); n != 0 || err != nil {
		t.Fatalf("Recover() again = %d, %v; want 0, nil", n, err)
	}
}

// TestRecoverFlushedAudio: an encrypted audio recording whose process died
// a few seconds into the call is recovered but for at most its last
// second (the recorder flushes every second), where whole 64 KiB chunks
// alone would have kept nothing of it.
func TestRecoverFlushedAudio(t *testing.T) {
	key, err := encfile.NewKey(bytes.Repeat([]byte{3}, encfile.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	const tick = 20 * time.Millisecond // an Opus packet
	perSecond := int(time.Second / tick)
	tests := []struct {
		name    string
		packets int
	}{
		{"crash after 0.5 s", perSecond / 2},
		{"crash after 3 s", 3 * perSecond},
		{"crash after 12.5 s", 12*perSecond + perSecond/2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			f := newFixture(t, signaling.Config{RecordDir: dir, RecordKey: key})
			id, _ := f.openCase(0)
			call, err := f.calls.StartCall(ctx, id, "staff:stf_c1")
			if err != nil {
				t.Fatal(err)
			}
			clock := f.now
			seg := &models.CallSegment{CallID: call.Call, Seq: 1, Participant: "customer", Track: "audio", StartedAt: clock}
			pkts := make([]*rtp.Packet, tt.packets)
			for i := range pkts {
				// A 20 ms SILK+CELT frame (TOC 0x78, one frame): about
				// 40 kbit/s with the Ogg pages.
				payload := append([]byte{0x78}, bytes.Repeat([]byte{byte(i)}, 89)...)
				pkts[i] = &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(i), Timestamp: uint32(i * 960), SSRC: 7}, Payload: payload}
			}
			sizes, err := signaling.AbandonRecording(dir, key, func() time.Time { return clock }, id, seg, pkts, func() { clock = clock.Add(tick) })
			if err != nil {
				t.Fatal(err)
			}
			written := sizes[len(sizes)-1]
			// What the packets of the last second (after the one a second
			// before the last) brought may be lost; nothing before.
			var minKept int64
			if len(sizes) > perSecond {
				minKept = sizes[len(sizes)-1-perSecond]
			}
			if n, err := f.hub.Recover(ctx); n != 1 || err != nil {
				t.Fatalf("Recover() = %d, %v; want 1, nil", n, err)
			}
			calls := f.calls_(id)
			if len(calls) != 1 || len(calls[0].Segments) != 1 {
				t.Fatalf("calls after recovery = %+v, want one with one segment", calls)
			}
			got := calls[0].Segments[0]
			if got.Track != "audio" || got.Size < minKept || got.Size > written {
				t.Errorf("recovered audio segment = %d bytes of the %d written, want at least %d", got.Size, written, minKept)
			}
			t.Logf("%d packets: %d of %d bytes recovered", tt.packets, got.Size, written)
		})
	}
}
