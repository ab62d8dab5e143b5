package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/signaling"
)

// smallDisk mounts a tmpfs of size (e.g. "8m") at dir for the test and
// unmounts it at the end. It needs root, as the CI machine has; without
// it the test fails and says so (make test never skips it).
func smallDisk(t *testing.T, dir, size string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("the full-disk test mounts a %s tmpfs at %s and must run as root (as make test does in CI): mount: %v %s", size, dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
			_ = exec.Command("umount", "-l", dir).Run()
		}
	})
}

// fillDisk writes a file into dir until the file system is full and
// returns its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for n := len(buf); n > 0; {
		if _, err := f.Write(buf[:n]); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			n /= 2
		}
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil || st.Bavail != 0 {
		t.Fatalf("%s not full: %d blocks free (%v)", dir, st.Bavail, err)
	}
	return path
}

// TestFullDisk runs `idv serve` (a child process) with its data folder
// (staging and recordings) on an 8 MiB tmpfs and fills it during a call:
// the clerk is told at once that the recording stopped (the customer is
// not alarmed), the call's recording is marked incomplete, an upload gets
// a clear 503 and nothing of it is kept, and the server keeps serving.
// Nothing half-written becomes evidence: every stored segment hashes to
// what its recorder computed, and idv check finds every item whole. Once
// space is freed, uploads work again and a new call is recorded whole.
func TestFullDisk(t *testing.T) {
	idv := newE2EIDV(t, map[string]string{"IDV_REQUIRE_MODELS": "false", "IDV_MODELS_DIR": t.TempDir(), "IDV_LOG_LEVEL": "info",
		"IDV_REGISTRY_HOURS": "00:00-23:59"})
	if out, err := idv.cli("demo", "load"); err != nil {
		t.Fatalf("demo load: %v\n%s", err, out)
	}
	small := filepath.Join(idv.dir, "small")
	smallDisk(t, small, "8m")
	p := idv.spawn("idv serve (data folder on an 8 MiB tmpfs)", map[string]string{"IDV_DATA_DIR": small}, "serve")
	p.serving(idv.origin, 60*time.Second)
	lc := startCall(t, idv, "6222020200112233")
	time.Sleep(time.Second) // recording
	filler := fillDisk(t, small)

	m, ok := lc.peers["clerk"].waitFor(signaling.TypeError, func(m signaling.Message) bool { return m.Code == signaling.CodeRecordingStopped }, 30*time.Second)
	if !ok || !strings.Contains(m.Text, "the server's disk is full") || !strings.Contains(m.Text, "can no longer be submitted") {
		t.Fatalf("clerk's messages %+v, want %s saying the disk is full", lc.peers["clerk"].messages(), signaling.CodeRecordingStopped)
	}
	t.Logf("the clerk was told: %s", m.Text)
	for _, m := range lc.peers["customer"].messages() {
		if m.Type == signaling.TypeError {
			t.Errorf("the customer got an error message %+v; the recording is the staff's concern", m)
		}
	}
	var call *models.Call
	idv.withStore(func(ctx context.Context, tx models.Tx) error {
		calls, err := tx.CallsByCase(ctx, lc.id)
		if err == nil && len(calls) == 1 {
			call = calls[0]
		}
		return err
	})
	if call == nil || call.Recording != models.RecordingIncomplete || call.EndedAt != nil {
		t.Fatalf("the call during a full disk = %+v, want it running with its recording incomplete", call)
	}

	// Still serving: health, readiness, reads.
	for _, path := range []string{"/healthz", "/readyz"} {
		if r, err := lc.clerk.http.Get(idv.origin + path); err != nil || r.StatusCode != 200 {
			t.Errorf("GET %s with the disk full = %v %v, want 200", path, r, err)
		} else {
			r.Body.Close()
		}
	}
	lc.clerk.must(200, "GET", "/api/cases/"+string(lc.id), nil, nil)
	lc.peers["clerk"].send(signaling.Message{Type: signaling.TypeBye, Reason: "clerk ended the call"})
	ended := waitCallsEnded(t, idv, lc.id, 30*time.Second)
	if ended[0].Recording != models.RecordingIncomplete {
		t.Errorf("the call ended with recording %s, want incomplete", ended[0].Recording)
	}
	// The recorders and the archiver gave back what they had written (the
	// segments saved are archived): fill it again.
	waitAllArchived(t, idv, lc.id, 30*time.Second)
	fillDisk(t, small)
	code, body, err := lc.clerk.call("POST", "/api/cases/"+string(lc.id)+"/letters", e2eLetterBytes(t), map[string]string{"Content-Type": "image/png"})
	if err != nil || code != 503 || !strings.Contains(string(body), "staging disk is full") {
		t.Errorf("letter upload with the disk full = %d %s (%v), want 503 saying the staging disk is full", code, body, err)
	}
	if r, err := lc.clerk.http.Get(idv.origin + "/readyz"); err != nil || r.StatusCode != 200 {
		t.Errorf("GET /readyz after a failed upload = %v %v, want 200", r, err)
	} else {
		r.Body.Close()
	}

	// Space returns: the server recovers without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	lc.clerk.must(201, "POST", "/api/cases/"+string(lc.id)+"/letters", e2eLetterBytes(t), map[string]string{"Content-Type": "image/png"})
	lc2 := startCall(t, idv, "6222020200778899")
	time.Sleep(2 * time.Second)
	lc2.peers["clerk"].send(signaling.Message{Type: signaling.TypeBye, Reason: "clerk ended the call"})
	if calls := waitCallsEnded(t, idv, lc2.id, 30*time.Second); calls[0].Recording != models.RecordingComplete || len(calls[0].Segments) < 4 {
		t.Errorf("the call after space returned = %s, want its recording complete with 4 segments", describeCalls(calls))
	}
	for _, id := range []models.CaseID{lc.id, lc2.id} {
		waitAllArchived(t, idv, id, 30*time.Second)
	}
	// Every stored segment is whole: its evidence hashes to the recorder's sum.
	idv.withStore(func(ctx context.Context, tx models.Tx) error {
		for _, id := range []models.CaseID{lc.id, lc2.id} {
			calls, err := tx.CallsByCase(ctx, id)
			if err != nil {
				return err
			}
			for _, c := range calls {
				for _, s := range c.Segments {
					e, err := tx.EvidenceByID(ctx, s.Evidence)
					if err != nil {
						return err
					}
					if e.SHA256 != s.SHA256 || e.Size != s.Size || e.Size == 0 {
						t.Errorf("segment %s/%s/%d of %s: evidence %s %d bytes, the recorder wrote %s %d", s.Participant, s.Track, s.Seq, id, e.SHA256, e.Size, s.SHA256, s.Size)
					}
				}
			}
		}
		return nil
	})
	idv.check("after the disk filled and emptied")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if st := p.exit(30 * time.Second); st.ExitCode() != 0 {
		t.Errorf("serve exited %v after SIGTERM, want 0", st)
	}
}

// e2eLetterBytes is e2eLetter's PNG.
func e2eLetterBytes(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(e2eLetter(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitCallsEnded waits until every call of the case has ended.
func waitCallsEnded(t *testing.T, idv *e2eIDV, id models.CaseID, d time.Duration) []*models.Call {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var calls []*models.Call
		idv.withStore(func(ctx context.Context, tx models.Tx) (err error) { calls, err = tx.CallsByCase(ctx, id); return })
		done := len(calls) > 0
		for _, c := range calls {
			done = done && c.EndedAt != nil
		}
		if done {
			return calls
		}
		if time.Now().After(deadline) {
			t.Fatalf("calls of %s not ended after %v: %s", id, d, describeCalls(calls))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitAllArchived waits until every evidence item of the case is archived.
func waitAllArchived(t *testing.T, idv *e2eIDV, id models.CaseID, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		pending := 0
		idv.withStore(func(ctx context.Context, tx models.Tx) error {
			items, err := tx.EvidenceByCase(ctx, id)
			for _, e := range items {
				if e.ArchivedAt == nil {
					pending++
				}
			}
			return err
		})
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d items of %s not archived after %v", pending, id, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
