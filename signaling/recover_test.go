package signaling_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"remoteidv/models"
	"remoteidv/signaling"
)

// TestRecoverInterruptedRecording: segments a crashed process left in the
// recording folder are kept as evidence at the next start, their call is
// ended with its recording incomplete, and unknown files stay for an
// operator.
func TestRecoverInterruptedRecording(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := newFixture(t, signaling.Config{RecordDir: dir})
	id, _ := f.openCase(0)
	call, err := f.calls.StartCall(ctx, id, "staff:stf_c1")
	if err != nil {
		t.Fatal(err)
	}
	partial := bytes.Repeat([]byte("DKIF half a video"), 500)
	start := f.now.UnixMicro()
	name := fmt.Sprintf("rec.%s.%s.customer.video.1.%d.123456", id, call, start)
	if err := os.WriteFile(filepath.Join(dir, name), partial, 0o600); err != nil {
		t.Fatal(err)
	}
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
	if len(calls) != 1 || calls[0].EndedAt == nil || calls[0].Recording != models.RecordingIncomplete || len(calls[0].Segments) != 1 {
		t.Fatalf("calls after recovery = %+v, want one ended, incomplete call with one segment", calls)
	}
	seg := calls[0].Segments[0]
	if seg.Participant != "customer" || seg.Track != "video" || seg.Size != int64(len(partial)) || seg.StartedAt.UnixMicro() != start {
		t.Errorf("recovered segment = %+v", seg)
	}
	if models.RecordingDone(calls) {
		t.Error("an interrupted recording counts as done")
	}
	// A second start finds nothing more to do.
	if err := os.Remove(filepath.Join(dir, "stray.bin")); err != nil {
		t.Fatal(err)
	}
	if n, err := f.hub.Recover(ctx); n != 0 || err != nil {
		t.Fatalf("Recover() again = %d, %v; want 0, nil", n, err)
	}
}
