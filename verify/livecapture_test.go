package verify_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/verify"
	"remoteidv/verify/verifytest"
)

func (f *deskFixture) checks() []*models.Check {
	f.t.Helper()
	var out []*models.Check
	f.tx(func(tx models.Tx) (err error) { out, err = tx.ChecksByCase(context.Background(), f.caseID); return })
	return out
}

func (f *deskFixture) events(action string) []*models.AuditEvent {
	f.t.Helper()
	var out []*models.AuditEvent
	f.tx(func(tx models.Tx) error {
		all, err := tx.AuditEvents(context.Background(), models.AuditFilter{CaseID: f.caseID, Limit: 1000})
		for _, e := range all {
			if e.Action == action {
				out = append(out, e)
			}
		}
		return err
	})
	return out
}

func (f *deskFixture) requirements() models.Requirements {
	f.t.Helper()
	r, err := f.desk.Requirements(context.Background(), f.clerk, f.caseID)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// An uploaded photo, even the account's own reference photo, is matched
// only after consent, is labelled as uploaded in the check, its evidence
// and the audit trail, cannot be confirmed, never meets the face-match
// requirement and is never the registry's comparison photo.
func TestUploadedPhotoNeverCounts(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	ref := johnsPhoto(t, "John_Salley", 0) // byte for byte the account's reference photo

	_, err := f.svc.RunFaceCheck(ctx, f.clerk, f.caseID, ref)
	wantErr(t, "RunFaceCheck(before consent)", err, models.EPRECONDITION)
	if n := len(f.checks()); n != 0 {
		t.Fatalf("a refused upload left %d checks", n)
	}

	call := f.liveCall()
	fc, err := f.svc.RunFaceCheck(ctx, f.clerk, f.caseID, ref)
	if err != nil {
		t.Fatalf("RunFaceCheck(after consent): %v", err)
	}
	if fc.Check.Result != "MATCH" || fc.Check.Source != models.SourceUpload || fc.Check.Call != "" || fc.Check.Segment != 0 {
		t.Fatalf("upload check = %s source %q call %q segment %d, want MATCH labelled upload, outside any call", fc.Check.Result, fc.Check.Source, fc.Check.Call, fc.Check.Segment)
	}
	var ev *models.Evidence
	f.tx(func(tx models.Tx) (err error) { ev, err = tx.EvidenceByID(ctx, fc.Check.Evidence); return })
	if ev.Kind != models.EvidenceUpload || !strings.Contains(ev.Key, "/upload/") {
		t.Errorf("uploaded photo stored as %s (%s), want kind upload", ev.Kind, ev.Key)
	}
	if evs := f.events("check.face_upload"); len(evs) != 1 || evs[0].Detail["source"] != "upload" || evs[0].Detail["upload_sha256"] != ev.SHA256 {
		t.Errorf("audit events check.face_upload = %+v, want one saying upload with the photo's hash", evs)
	}
	if evs := f.events("check.face_match"); len(evs) != 0 {
		t.Errorf("an upload was audited as a live face match: %+v", evs)
	}

	_, err = f.svc.ConfirmFace(ctx, f.clerk, f.caseID, fc.Check.ID, true, "same person")
	wantErr(t, "ConfirmFace(upload)", err, models.EPRECONDITION)
	// Even confirmed behind the workflow's back, an upload does not count.
	f.tx(func(tx models.Tx) error {
		return tx.ConfirmCheck(ctx, fc.Check.ID, f.clerk.Name, "confirmed", "same person", f.clock.Now())
	})
	if r := f.requirements(); !r.ConsentRecorded || r.FaceMatchPassed {
		t.Fatalf("requirements after a confirmed upload = %+v, want consent but no face match", r)
	}
	_, err = f.desk.RunRegistryCheck(ctx, f.clerk, f.caseID)
	wantErr(t, "RunRegistryCheck(only an uploaded photo)", err, models.EPRECONDITION)

	// A live capture of the same person, confirmed, does.
	chk := call.Capture(f.clerk.Name, johnsPhoto(t, "John_Salley", 3))
	if _, err := f.svc.ConfirmFace(ctx, f.clerk, f.caseID, chk.ID, true, "same person"); err != nil {
		t.Fatal(err)
	}
	if r := f.requirements(); !r.FaceMatchPassed {
		t.Fatalf("requirements after a confirmed live capture = %+v, want the face match", r)
	}
}

// A live capture is taken only with consent, in a running call of the case
// whose recording is active; a refused capture leaves nothing and the
// face-match requirement stays unmet. A capture records its call, segment
// and media time.
func TestLiveCaptureNeedsConsentAndRecording(t *testing.T) {
	tests := []struct {
		name    string
		consent bool
		before  func(f *deskFixture, c *verifytest.Call)
	}{
		{"no consent", false, nil},
		{"recording failed", true, func(f *deskFixture, c *verifytest.Call) {
			if err := f.calls.RecordingFailed(context.Background(), f.caseID, c.ID, "disk full"); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"call ended", true, func(f *deskFixture, c *verifytest.Call) {
			if err := f.calls.EndCall(context.Background(), f.caseID, models.CallLeg{Call: c.ID, Leg: c.Leg}, "bye", true); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"no segment being recorded", true, func(f *deskFixture, c *verifytest.Call) { c.Segment = 0 }},
		{"not a call of this case", true, func(f *deskFixture, c *verifytest.Call) { c.ID = "call_elsewhere" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newDeskFixture(t)
			var c *verifytest.Call
			if tt.consent {
				c = f.liveCall()
			} else {
				f.clock.t = time.Date(2026, 12, 1, 13, 50, 0, 0, time.UTC)
				c = f.g.StartCall(t, f.caseID, f.clerk.Name)
			}
			if tt.before != nil {
				tt.before(f, c)
			}
			_, err := c.TryCapture(f.clerk.Name, johnsPhoto(t, "John_Salley", 3))
			wantErr(t, "FaceCapture", err, models.EPRECONDITION)
			if n := len(f.checks()); n != 0 {
				t.Errorf("a refused capture left %d checks", n)
			}
			if r := f.requirements(); r.FaceMatchPassed {
				t.Errorf("requirements = %+v, want no face match", r)
			}
		})
	}

	t.Run("recorded capture is located", func(t *testing.T) {
		f := newDeskFixture(t)
		ctx := context.Background()
		c := f.liveCall()
		frame := models.LiveFrame{Call: c.ID, Segment: 1, MediaMS: 83_417, At: f.clock.Now(), JPEG: johnsPhoto(t, "John_Salley", 3)}
		chk, err := f.calls.FaceCapture(ctx, f.caseID, f.clerk.Name, frame)
		if err != nil {
			t.Fatal(err)
		}
		stored := f.checks()
		if len(stored) != 1 || stored[0].Source != models.SourceLiveCall || stored[0].Call != c.ID || stored[0].Segment != 1 || stored[0].MediaMS != 83_417 {
			t.Fatalf("stored checks = %+v, want the capture with call %s, segment 1, 83417 ms", stored, c.ID)
		}
		evs := f.events("check.face_match")
		if len(evs) != 1 || evs[0].Detail["source"] != "live_call" || evs[0].Detail["call"] != string(c.ID) || evs[0].Detail["segment"] != "1" || evs[0].Detail["media_ms"] != "83417" {
			t.Fatalf("audit events check.face_match = %+v, want the capture's call, segment and media time", evs)
		}
		if _, err := f.svc.ConfirmFace(ctx, f.clerk, f.caseID, chk.ID, true, "same person"); err != nil {
			t.Fatal(err)
		}
		if r := f.requirements(); !r.FaceMatchPassed {
			t.Fatalf("requirements = %+v, want the face match", r)
		}
		// The requirement holds only while the capture's recording does.
		if err := f.calls.RecordingFailed(ctx, f.caseID, c.ID, "disk full"); err != nil {
			t.Fatal(err)
		}
		if r := f.requirements(); r.FaceMatchPassed {
			t.Fatalf("requirements after the recording failed = %+v, want no face match", r)
		}
	})
}

// countingRegistry counts the lookups that reach the registry.
type countingRegistry struct {
	models.Registry
	n atomic.Int64
}

func (c *countingRegistry) Lookup(ctx context.Context, q models.RegistryQuery) (*models.RegistryAnswer, error) {
	c.n.Add(1)
	return c.Registry.Lookup(ctx, q)
}

// The registry check compares the registry's photo with a live capture of
// the case taken within the configured age (default 30 min), records both
// photos' hashes, and does not pass on registry data older than the
// configured age (default 10 min) or an answer without a photo.
func TestRegistryNeedsFreshCaptureAndData(t *testing.T) {
	ctx := context.Background()
	t.Run("no live capture", func(t *testing.T) {
		f := newDeskFixture(t)
		var reg *countingRegistry
		f.editDesk(func(d *verify.DeskDeps) { reg = &countingRegistry{Registry: d.Registry}; d.Registry = reg })
		f.liveCall()
		_, err := f.desk.RunRegistryCheck(ctx, f.clerk, f.caseID)
		wantErr(t, "RunRegistryCheck(no capture)", err, models.EPRECONDITION)
		if reg.n.Load() != 0 || len(f.checks()) != 0 || f.requirements().RegistryPassed {
			t.Fatalf("without a live capture: %d lookups, %d checks; want the registry not asked and nothing passed", reg.n.Load(), len(f.checks()))
		}
	})
	t.Run("capture older than 30 min", func(t *testing.T) {
		f := newDeskFixture(t)
		var reg *countingRegistry
		f.editDesk(func(d *verify.DeskDeps) { reg = &countingRegistry{Registry: d.Registry}; d.Registry = reg })
		f.liveCall().Capture(f.clerk.Name, johnsPhoto(t, "John_Salley", 3))
		f.clock.t = f.clock.t.Add(30*time.Minute + time.Second)
		_, err := f.desk.RunRegistryCheck(ctx, f.clerk, f.caseID)
		wantErr(t, "RunRegistryCheck(capture 30m1s old)", err, models.EPRECONDITION)
		if reg.n.Load() != 0 || f.requirements().RegistryPassed {
			t.Fatalf("with an old capture: %d lookups; want the registry not asked and nothing passed", reg.n.Load())
		}
		// The limit is configurable.
		f.editDesk(func(d *verify.DeskDeps) { d.RegistryCaptureMaxAge = time.Hour })
		if rc, err := f.desk.RunRegistryCheck(ctx, f.clerk, f.caseID); err != nil || rc.Check.Result != "PASS" {
			t.Fatalf("RunRegistryCheck(capture 30m1s old, limit 1h) = %+v, %v; want PASS", rc, err)
		}
	})
	t.Run("stale registry data", func(t *testing.T) {
		f := newDeskFixture(t)
		f.liveCall().Capture(f.clerk.Name, johnsPhoto(t, "John_Salley", 3))
		f.reg.Lag = 10*time.Minute + time.Second
		rc, err := f.desk.RunRegistryCheck(ctx, f.clerk, f.caseID)
		if err != nil || rc.Check.Result != "FAIL" || rc.DataAge != f.reg.Lag || rc.PhotoMatch != "MATCH" || len(rc.Reasons) != 1 || !strings.Contains(rc.Reasons[0], "10m1s old") {
			t.Fatalf("RunRegistryCheck(data 10m1s old) = %+v, %v; want FAIL for the data's age alone", rc, err)
		}
		if f.requirements().RegistryPassed {
			t.Fatal("stale registry data passed the requirement")
		}
		f.editDesk(func(d *verify.DeskDeps) { d.RegistryMaxDataAge = 15 * time.Minute })
		if rc, err := f.desk.RunRegistryCheck(ctx, f.clerk, f.caseID); err != nil || rc.Check.Result != "PASS" {
			t.Fatalf("RunRegistryCheck(data 10m1s old, limit 15m) = %+v, %v; want PASS", rc, err)
		}
	})
	t.Run("no registry photo", func(t *testing.T) {
		f := newDeskFixture(t)
		f.liveCall().Capture(f.clerk.Name, johnsPhoto(t, "John_Salley", 3))
		f.editDesk(func(d *verify.DeskDeps) { d.Registry = photoless{d.Registry} })
		rc, err := f.desk.RunRegistryCheck(ctx, f.clerk, f.caseID)
		if err != nil || rc.Check.Result != "FAIL" || rc.PhotoMatch != "no_photo" {
			t.Fatalf("RunRegistryCheck(no registry photo) = %+v, %v; want FAIL no_photo", rc, err)
		}
	})
	t.Run("both hashes recorded", func(t *testing.T) {
		f := newDeskFixture(t)
		chk := f.liveCall().Capture(f.clerk.Name, johnsPhoto(t, "John_Salley", 3))
		f.clock.t = f.clock.t.Add(29 * time.Minute)
		rc, err := f.desk.RunRegistryCheck(ctx, f.clerk, f.caseID)
		if err != nil || rc.Check.Result != "PASS" {
			t.Fatalf("RunRegistryCheck = %+v, %v; want PASS", rc, err)
		}
		var capture, snap *models.Evidence
		f.tx(func(tx models.Tx) (err error) {
			if capture, err = tx.EvidenceByID(ctx, chk.Evidence); err != nil {
				return err
			}
			snap, err = tx.EvidenceByID(ctx, rc.Check.Evidence)
			return err
		})
		sum := sha256.Sum256(johnsPhoto(t, "John_Salley", 2)) // the registry's photo
		photoSHA := hex.EncodeToString(sum[:])
		if rc.CaptureCheck != chk.ID || rc.CaptureSHA256 != capture.SHA256 || rc.RegistryPhotoSHA256 != photoSHA || rc.CaptureAge != 29*time.Minute {
			t.Fatalf("RunRegistryCheck capture %s %s (%s old), registry photo %s; want %s %s (29m old), %s",
				rc.CaptureCheck, rc.CaptureSHA256, rc.CaptureAge, rc.RegistryPhotoSHA256, chk.ID, capture.SHA256, photoSHA)
		}
		var detail struct {
			CaptureSHA256 string `json:"capture_sha256"`
			PhotoSHA256   string `json:"registry_photo_sha256"`
		}
		if err := json.Unmarshal(rc.Check.Detail, &detail); err != nil || detail.CaptureSHA256 != capture.SHA256 || detail.PhotoSHA256 != photoSHA {
			t.Errorf("check detail %s lacks both hashes", rc.Check.Detail)
		}
		body, err := os.ReadFile(snap.Staged)
		if err != nil {
			t.Fatal(err)
		}
		var snapshot struct {
			PhotoSHA256 string `json:"registry_photo_sha256"`
			Capture     struct {
				SHA256 string `json:"sha256"`
			} `json:"live_capture"`
		}
		if err := json.Unmarshal(body, &snapshot); err != nil || snapshot.Capture.SHA256 != capture.SHA256 || snapshot.PhotoSHA256 != photoSHA {
			t.Errorf("snapshot %s lacks both hashes", body)
		}
		evs := f.events("check.registry")
		if len(evs) != 1 || evs[0].Detail["capture_sha256"] != capture.SHA256 || evs[0].Detail["registry_photo_sha256"] != photoSHA ||
			evs[0].Detail["capture_check"] != string(chk.ID) || evs[0].Detail["data_age_seconds"] != strconv.Itoa(0) {
			t.Errorf("audit events check.registry = %+v, want both hashes", evs)
		}
	})
}

// photoless drops the photo from a registry's answers.
type photoless struct{ models.Registry }

func (p photoless) Lookup(ctx context.Context, q models.RegistryQuery) (*models.RegistryAnswer, error) {
	a, err := p.Registry.Lookup(ctx, q)
	if a != nil {
		a.Photo = nil
	}
	return a, err
}
