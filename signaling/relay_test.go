package signaling_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/vp8"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/signaling"
	"remoteidv/signaling/replay"
	"remoteidv/storage/encfile"
)

// TestCall holds two calls at once through one hub: the customer of each
// sends John Salley's face; the first case is his account, the second John
// Savage's. Media flows both ways, the observer receives the customer, the
// captures identify the right account and reject the wrong one, and the
// recordings land as evidence with the hashes computed while writing.
func TestCall(t *testing.T) {
	recDir := t.TempDir()
	recKey, err := encfile.NewKey(bytes.Repeat([]byte{9}, encfile.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, signaling.Config{QualityEvery: 300 * time.Millisecond, RecordDir: recDir, RecordKey: recKey})
	customerMedia := source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 320), ogg: testenv.OpusTone(t, 2)}
	clerkMedia := source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Schneider", 0), 2, 160), ogg: customerMedia.ogg}

	tests := []struct {
		account int
		want    string
	}{
		{0, "MATCH"},
		{1, "NO_MATCH"},
	}
	type call struct {
		id                       models.CaseID
		customer, clerk, observe *testPeer
	}
	calls := make([]call, len(tests))
	for i, tt := range tests {
		id, cu, cl, ob := f.newCall(tt.account)
		calls[i] = call{id: id, customer: dial(t, cu, nil, customerMedia), clerk: dial(t, cl, nil, clerkMedia), observe: dial(t, ob, nil, source{})}
	}
	for i, tt := range tests {
		c := calls[i]
		waitCount(t, "clerk video packets", c.clerk.videoIn.Load, 30, 20*time.Second)
		waitCount(t, "clerk audio packets", c.clerk.audioIn.Load, 30, 10*time.Second)
		waitCount(t, "customer video packets", c.customer.videoIn.Load, 30, 10*time.Second)
		waitCount(t, "customer audio packets", c.customer.audioIn.Load, 30, 10*time.Second)
		waitCount(t, "observer video packets", c.observe.videoIn.Load, 30, 10*time.Second)
		if i == 0 {
			checkRecordingsEncrypted(t, recDir)
		}

		// Samples come every 300 ms; the first ones may precede the first
		// decoded key frame, so wait for one that knows the resolution.
		sized := false
		for deadline := time.Now().Add(15 * time.Second); !sized && time.Now().Before(deadline); {
			q, ok := c.clerk.waitFor(signaling.TypeQuality, 5*time.Second)
			sized = ok && q.Quality != nil && q.Quality.Width > 0
		}
		if !sized {
			t.Errorf("account %d: clerk got no quality sample with a resolution", tt.account)
		}
		var live *models.LiveCall
		for _, lc := range f.hub.Live() {
			if lc.CaseID == c.id {
				live = &lc
			}
		}
		if live == nil || !live.Customer || len(live.Clerks) != 1 || live.Observers != 1 || !live.Sampled || live.StartedAt.IsZero() {
			t.Errorf("account %d: Live() = %+v, want the call with its customer, clerk, observer and a quality sample", tt.account, live)
		}
		c.clerk.send(signaling.Message{Type: signaling.TypeCapture})
		res, ok := c.clerk.waitFor(signaling.TypeResult, 30*time.Second)
		if !ok {
			t.Fatalf("account %d: no capture result", tt.account)
		}
		if res.Kind != string(models.CheckFaceMatch) || res.Result != tt.want {
			t.Errorf("capture on account %d = %s %s (%s), want face_match %s", tt.account, res.Kind, res.Result, res.Detail, tt.want)
		}
		// The customer may not ask for captures: only that socket closes.
		if i == 1 {
			c.observe.send(signaling.Message{Type: signaling.TypeCapture})
			if m, ok := c.observe.waitFor(signaling.TypeError, 5*time.Second); !ok || m.Code != "forbidden" {
				t.Errorf("observer capture: %+v, want error forbidden", m)
			}
		}
	}
	for _, c := range calls {
		c.observe.close("")
		c.customer.close("done")
		c.clerk.close("verified")
	}
	for i, c := range calls {
		got := f.waitEnded(c.id, 30*time.Second)
		if len(got) != 1 {
			t.Fatalf("case %d: %d calls, want 1", i, len(got))
		}
		k := got[0]
		if k.Recording != models.RecordingComplete || len(k.Segments) != 4 {
			t.Fatalf("case %d: recording %s with %d segments, want complete with 4: %+v", i, k.Recording, len(k.Segments), k.Segments)
		}
		var evs []*models.Evidence
		if err := f.store.Transact(context.Background(), func(tx models.Tx) (err error) { evs, err = tx.EvidenceByCase(context.Background(), c.id); return }); err != nil {
			t.Fatal(err)
		}
		byID := map[models.EvidenceID]*models.Evidence{}
		for _, e := range evs {
			byID[e.ID] = e
		}
		for _, s := range k.Segments {
			e := byID[s.Evidence]
			if e == nil || e.Kind != models.EvidenceRecording || e.SHA256 != s.SHA256 || s.Size < 1000 {
				t.Fatalf("segment %+v: evidence %+v", s, e)
			}
			if got := sha256File(t, e.Staged); got != s.SHA256 {
				t.Errorf("segment %s/%s: file hash %s, recorded %s", s.Participant, s.Track, got, s.SHA256)
			}
			if s.Track == "video" {
				checkReplay(t, e.Staged, map[string]int{"customer": 320, "clerk": 160}[s.Participant])
			}
		}
		var quality []*models.Evidence
		for _, e := range evs {
			if e.Kind == models.EvidenceQuality {
				quality = append(quality, e)
			}
		}
		if len(quality) != 1 || !bytes.Contains(readFile(t, quality[0].Staged), []byte(`"width":`)) {
			t.Errorf("case %d: %d quality evidence items, want 1 with samples", i, len(quality))
		}
		ok, err := f.calls.RecordingComplete(context.Background(), c.id)
		if err != nil || !ok {
			t.Errorf("RecordingComplete(%s) = %v, %v, want true", c.id, ok, err)
		}
		checkCaptureInRecording(t, f, c.id, k, byID)
	}
	if n := f.hub.Rooms(); n != 0 {
		t.Errorf("Rooms() = %d after every call ended, want 0", n)
	}
}

// TestLiveness runs the active challenge: each random step reaches the
// customer when it starts (turns, then screen colours), the customer's
// key frames are sampled throughout, and a liveness check is recorded
// with every sample reported. The customer here is a still photo, which
// cannot turn its head, so the challenge must fail.
func TestLiveness(t *testing.T) {
	f := newFixture(t, signaling.Config{})
	src := source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 320), ogg: testenv.OpusTone(t, 2)}
	id, cu, cl, _ := f.newCall(0)
	customer, clerk := dial(t, cu, nil, src), dial(t, cl, nil, source{})
	defer customer.close("")
	defer clerk.close("")
	waitCount(t, "clerk video packets", clerk.videoIn.Load, 30, 20*time.Second)
	clerk.send(signaling.Message{Type: signaling.TypeChallenge})
	first, ok := customer.waitFor(signaling.TypeChallenge, 10*time.Second)
	if !ok || first.Prompt == "" || first.Index != 1 || first.Total < 2 {
		t.Fatalf("first prompt to the customer = %+v", first)
	}
	colours := 0
	for m, ok := first, true; ok && m.Index < m.Total; {
		if m, ok = customer.waitFor(signaling.TypeChallenge, 5*time.Second); ok && m.Colour != "" {
			colours++
		}
	}
	if colours == 0 {
		t.Errorf("the customer got no screen colour during the challenge")
	}
	res, ok := clerk.waitFor(signaling.TypeResult, 60*time.Second)
	if !ok || res.Kind != string(models.CheckLiveness) || res.Result != "FAIL" {
		t.Fatalf("liveness result = %+v, want liveness FAIL for a still photo", res)
	}
	var d struct {
		Result struct {
			Samples []json.RawMessage `json:"samples"`
		} `json:"result"`
	}
	if err := json.Unmarshal(res.Detail, &d); err != nil || len(d.Result.Samples) == 0 {
		t.Errorf("liveness detail = %s (%v), want every sample reported", res.Detail, err)
	}
	checks, err := f.svc.Checks(context.Background(), f.clerk, id)
	if err != nil || len(checks) != 1 || checks[0].Kind != models.CheckLiveness || checks[0].Evidence == "" {
		t.Fatalf("checks = %+v, %v, want one liveness check with its captures", checks, err)
	}
}

// TestCaptureRefusedWhileNotRecorded: when the recorders cannot write (the
// recording folder is gone), the call goes on but the recording is
// incomplete, and the clerk's capture is refused: no biometric check is
// taken outside a recorded call.
func TestCaptureRefusedWhileNotRecorded(t *testing.T) {
	recDir := filepath.Join(t.TempDir(), "rec")
	f := newFixture(t, signaling.Config{RecordDir: recDir})
	if err := os.RemoveAll(recDir); err != nil {
		t.Fatal(err)
	}
	src := source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 320), ogg: testenv.OpusTone(t, 2)}
	id, cu, cl, _ := f.newCall(0)
	customer, clerk := dial(t, cu, nil, src), dial(t, cl, nil, source{})
	defer customer.close("")
	defer clerk.close("")
	waitCount(t, "clerk video packets", clerk.videoIn.Load, 30, 20*time.Second)
	clerk.send(signaling.Message{Type: signaling.TypeCapture})
	// The clerk is told that the recording stopped (when its recorder
	// failed) and then that the capture is refused, each as an error.
	var codes []string
	for {
		m, ok := clerk.waitFor(signaling.TypeError, 30*time.Second)
		if !ok {
			t.Fatalf("capture while not recorded: errors %v, then nothing; want a precondition error about the recording", codes)
		}
		codes = append(codes, m.Code)
		if m.Code == "recording_stopped" {
			continue
		}
		if m.Code != string(models.EPRECONDITION) || !strings.Contains(m.Text, "record") {
			t.Fatalf("capture while not recorded = %+v, want a precondition error about the recording", m)
		}
		break
	}
	if codes[0] != "recording_stopped" {
		t.Errorf("errors to the clerk = %v, want recording_stopped first (the recorder failed before the capture)", codes)
	}
	checks, err := f.svc.Checks(context.Background(), f.clerk, id)
	if err != nil || len(checks) != 0 {
		t.Fatalf("checks = %+v, %v; want none", checks, err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkReplay converts a recorded video segment to WebM for playback: the
// picture is the sender's size and the frame times (from the RTP clock)
// give the 15 frames per second the test peers send.
func checkReplay(t *testing.T, ivf string, size int) {
	t.Helper()
	f, err := os.Open(ivf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := replay.IVFToWebM(io.Discard, f)
	if err != nil {
		t.Fatalf("replay %s: %v", ivf, err)
	}
	if st.Width != size || st.Height != size || st.Frames < 10 || st.Truncated {
		t.Fatalf("replay %s: %+v, want %dx%d with frames", ivf, st, size, size)
	}
	if fps := float64(st.Frames-1) * 1000 / float64(st.DurationMS); fps < 14.5 || fps > 15.5 {
		t.Errorf("replay %s: %d frames in %d ms = %.2f fps, want 15", ivf, st.Frames, st.DurationMS, fps)
	}
}

// checkCaptureInRecording: the case's face check is a live capture naming
// the call, the customer's video segment and the frame's media time, and
// the key frame at that time in the recorded segment, decoded and encoded
// as the server does, is byte for byte the stored capture.
func checkCaptureInRecording(t *testing.T, f *fixture, id models.CaseID, call *models.Call, byID map[models.EvidenceID]*models.Evidence) {
	t.Helper()
	checks, err := f.svc.Checks(context.Background(), f.clerk, id)
	if err != nil || len(checks) != 1 {
		t.Fatalf("checks of %s = %d, %v; want the one capture", id, len(checks), err)
	}
	chk := checks[0]
	if chk.Source != models.SourceLiveCall || chk.Call != call.ID || chk.Segment < 1 {
		t.Fatalf("capture check source %q call %q segment %d, want live_call in %s with a segment", chk.Source, chk.Call, chk.Segment, call.ID)
	}
	var seg *models.CallSegment
	for _, s := range call.Segments {
		if s.Participant == "customer" && s.Track == "video" && s.Seq == chk.Segment {
			seg = s
		}
	}
	if seg == nil {
		t.Fatalf("capture names customer video segment %d, not in the call: %+v", chk.Segment, call.Segments)
	}
	ivf := readFile(t, byID[seg.Evidence].Staged)
	if len(ivf) < 32 || string(ivf[:4]) != "DKIF" {
		t.Fatalf("segment %d is not IVF", seg.Seq)
	}
	for b := ivf[32:]; len(b) >= 12; {
		size, pts := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint64(b[4:])
		data := b[12 : 12+size]
		b = b[12+size:]
		if int64(pts/90) != chk.MediaMS {
			continue
		}
		if data[0]&1 != 0 {
			t.Fatalf("the frame at %d ms of segment %d is not a key frame", chk.MediaMS, seg.Seq)
		}
		d := vp8.NewDecoder()
		d.Init(bytes.NewReader(data), len(data))
		if _, err := d.DecodeFrameHeader(); err != nil {
			t.Fatal(err)
		}
		img, err := d.DecodeFrame()
		if err != nil {
			t.Fatal(err)
		}
		var j bytes.Buffer
		if err := jpeg.Encode(&j, img, &jpeg.Options{Quality: 92}); err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(j.Bytes()); hex.EncodeToString(sum[:]) != byID[chk.Evidence].SHA256 {
			t.Errorf("the key frame at %d ms of segment %d is not the stored capture", chk.MediaMS, seg.Seq)
		}
		return
	}
	t.Errorf("no frame at %d ms in customer video segment %d", chk.MediaMS, seg.Seq)
}

// checkRecordingsEncrypted: the segments being written are encrypted on
// disk: each starts with encfile's version 2 header (the recorder flushes
// every second) and holds neither an IVF nor an Ogg header in the clear.
func checkRecordingsEncrypted(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) == 0 {
		t.Fatalf("no recording in %s during the call", dir)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte(encfile.Magic2)) || bytes.Contains(b, []byte("DKIF")) || bytes.Contains(b, []byte("OggS")) {
			t.Errorf("recording %s (%d bytes) is not encrypted on disk", e.Name(), len(b))
		}
	}
}
