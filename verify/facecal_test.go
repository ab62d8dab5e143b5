package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"remoteidv/models"
	"remoteidv/verify"
	"remoteidv/verify/face"
	"remoteidv/verify/facematch"
)

// enroller stores each usable photo's descriptor at import, as idv's
// import does with the face engine.
type enroller struct{ e *face.Engine }

func (c enroller) CheckReference(ctx context.Context, img []byte) (string, error) {
	p, _, err := c.EnrollReference(ctx, img)
	return p, err
}

func (c enroller) EnrollReference(ctx context.Context, img []byte) (string, *models.FaceReference, error) {
	en, err := c.e.Enroll(ctx, img)
	var rej *facematch.RejectedError
	if errors.As(err, &rej) {
		return rej.Error(), nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	b, _ := en.Descriptor.MarshalBinary()
	return "", &models.FaceReference{ModelHash: string(en.ModelHash), Descriptor: b}, nil
}

// faceDetail is the stored answer of a face check, as the pages read it.
type faceDetail struct {
	Decision   string                `json:"decision"`
	Distance   float64               `json:"distance"`
	Threshold  float64               `json:"threshold"`
	Assessment *facematch.Assessment `json:"assessment"`
}

func (f *deskFixture) faceDetail(id models.CheckID) faceDetail {
	f.t.Helper()
	var k *models.Check
	f.tx(func(tx models.Tx) (err error) { k, err = tx.CheckByID(context.Background(), id); return })
	var d faceDetail
	if err := json.Unmarshal(k.Detail, &d); err != nil || d.Assessment == nil {
		f.t.Fatalf("check %s detail %s: %v, want an assessment", id, k.Detail, err)
	}
	return d
}

// TestCalibrationInForce: a calibration from the enrolled accounts is
// stored and numbered, every later face result carries its rate at its own
// distance, the calibration's number and its strength, and the audit event
// (the bundle) repeats them. A small population is weak evidence (too few
// pairs); the johns and group photos' population supports the target and
// sets the threshold; a population the model separates poorly (genuine
// pairs failing at the target's threshold) turns every result weak.
func TestCalibrationInForce(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	eng := sharedEngine(t)
	call := f.liveCall()

	// Not calibrated: the configured threshold decides, labelled weak.
	d := f.faceDetail(call.Capture(f.clerk.Name, johnsPhoto(t, "John_Salley", 3)).ID)
	if d.Decision != "MATCH" || d.Threshold != facematch.DefaultThreshold || !d.Assessment.Weak || d.Assessment.Calibrated ||
		fmt.Sprint(d.Assessment.WeakReasons) != "["+facematch.WeakNotCalibrated+"]" {
		t.Fatalf("uncalibrated result %+v, assessment %+v", d, d.Assessment)
	}

	// Four more accounts of two johns photos each, enrolled at import.
	images := fstest.MapFS{"s.png": {Data: pngBytes(t, 80, 30)}}
	rows := csvHead
	for i, p := range []string{"John_Savage", "John_Schneider", "John_Shimkus", "John_Simm"} {
		no := fmt.Sprintf("62220000555500%02d", i)
		for j := range 2 {
			images[fmt.Sprintf("%s-%d.jpg", no, j)] = &fstest.MapFile{Data: johnsPhoto(t, p, j)}
		}
		rows += fmt.Sprintf("%s,Holder %d,11010119900307%04d,h%d@example.com,+1 212 555 0100,America/New_York,en,%s-0.jpg;%s-1.jpg,s.png\n", no, i, i, i, no, no)
	}
	if rep, err := f.g.Accounts.Import(ctx, "system", strings.NewReader(rows), images, enroller{eng}); err != nil || rep.Imported != 4 {
		t.Fatalf("Import = %+v, %v", rep, err)
	}
	cal, err := f.svc.Calibrator().CalibrateFaces(ctx, "staff:stf_admin")
	if err != nil {
		t.Fatal(err)
	}
	// Li Wei's two photos (enrolled at the first check) and 4 x 2: 10
	// photos of 5 accounts, 40 impostor pairs, 5 genuine pairs (Wang Jun's
	// photo has no face).
	if cal.ID != 1 || cal.People != 5 || cal.Photos != 10 || cal.Impostors != 40 || cal.GenuinePhotoPairs != 5 || cal.Source != "accounts" {
		t.Fatalf("CalibrateFaces = #%d, %d people, %d photos, %d impostor and %d genuine pairs, source %s", cal.ID, cal.People, cal.Photos, cal.Impostors, cal.GenuinePhotoPairs, cal.Source)
	}
	chk := call.Capture(f.clerk.Name, johnsPhoto(t, "John_Salley", 4))
	d = f.faceDetail(chk.ID)
	a := d.Assessment
	if !a.Weak || a.Calibration != 1 || !a.Calibrated || !strings.Contains(fmt.Sprint(a.WeakReasons), facematch.WeakFewImpostorPairs) || d.Threshold != facematch.DefaultThreshold {
		t.Fatalf("result under calibration 1: threshold %v, assessment %+v; want weak (too few pairs) at the configured threshold", d.Threshold, a)
	}
	if !a.Scored || a.References != 2 || a.Upper95 < a.Rate || a.Upper95 <= 0 {
		t.Errorf("assessment %+v: want a rate and bound over 2 references", a)
	}
	ev := f.events("check.face_match")
	last := ev[len(ev)-1].Detail
	if last["calibration"] != "1" || last["evidence_strength"] != "weak" || last["fmr_upper95"] == "" {
		t.Errorf("audit detail %v: want calibration 1, weak, the bound", last)
	}
	var calEvents []*models.AuditEvent
	f.tx(func(tx models.Tx) error {
		all, err := tx.AuditEvents(ctx, models.AuditFilter{Limit: 10000})
		for _, e := range all {
			if e.Action == "face.calibrated" {
				calEvents = append(calEvents, e)
			}
		}
		return err
	})
	if len(calEvents) != 1 || calEvents[0].Detail["calibration"] != "1" || calEvents[0].Detail["weak"] != "true" || calEvents[0].Actor != "staff:stf_admin" {
		t.Errorf("face.calibrated events = %d (%v), want 1 for calibration 1", len(calEvents), calEvents)
	}

	// The demo's population (johns and group photos): 1,616 impostor
	// pairs cannot support 1e-3, so still weak, at the configured
	// threshold; the rate at the distance is the population's own count.
	b, err := os.ReadFile("../storage/storagetest/testdata/population.json")
	if err != nil {
		t.Fatal(err)
	}
	var people []facematch.Person
	if err := json.Unmarshal(b, &people); err != nil {
		t.Fatal(err)
	}
	demo, err := facematch.CalibratePopulation(people, facematch.PopulationOptions{ModelHash: eng.ModelHash(), Source: verify.CalibrationFromDemo, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Calibrator().StoreCalibration(ctx, "demo", demo); err != nil || demo.ID != 2 {
		t.Fatalf("StoreCalibration = #%d, %v", demo.ID, err)
	}
	d = f.faceDetail(call.Capture(f.clerk.Name, johnsPhoto(t, "John_Salley", 5)).ID)
	a = d.Assessment
	if !a.Weak || a.Calibration != 2 || a.FromTarget || d.Threshold != facematch.DefaultThreshold || d.Decision != "MATCH" || a.ImpostorPairs != demo.Impostors {
		t.Fatalf("result under the demo calibration: %s at %v, assessment %+v; want a weak MATCH at the configured threshold", d.Decision, d.Threshold, a)
	}
	n := 0
	for i, p := range people {
		for _, q := range people[i+1:] {
			for _, x := range p.Descriptors {
				for _, y := range q.Descriptors {
					if facematch.SquaredDistance(x, y) <= d.Distance {
						n++
					}
				}
			}
		}
	}
	if a.PairMatches != n || a.PairRate != float64(n)/float64(demo.Impostors) {
		t.Errorf("rate at %v: %d pairs (%v), brute force %d of %d", d.Distance, a.PairMatches, a.PairRate, n, demo.Impostors)
	}

	// A large population that separates well: the threshold follows the
	// target (between the 5th and 6th smallest of 5,000 impostor pairs).
	imp := make([]float64, 5000)
	for i := range imp {
		imp[i] = 0.3 + float64(i)/10000
	}
	good := facematch.NewCalibration(eng.ModelHash(), "good", 100, 200, imp, 1e-3, time.Now())
	good.Source = verify.CalibrationFromAccounts
	for i := range 30 {
		good.Genuine = append(good.Genuine, 0.05+float64(i)/200)
	}
	if err := f.svc.Calibrator().StoreCalibration(ctx, "staff:stf_admin", good); err != nil {
		t.Fatal(err)
	}
	d = f.faceDetail(call.Capture(f.clerk.Name, johnsPhoto(t, "John_Salley", 6)).ID)
	if a := d.Assessment; a.Weak || !a.FromTarget || d.Threshold < 0.3004 || d.Threshold > 0.3005 || a.Calibration != 3 || d.Decision != "MATCH" || a.PairMatches != 0 {
		t.Fatalf("result under a strong calibration: %s at %v, %+v; want a strong MATCH at the target's threshold, no impostor pair as close", d.Decision, d.Threshold, a)
	}

	// A population the model separates poorly: a third of the genuine
	// pairs fail at the target's threshold. Every result is weak.
	for i := range imp {
		imp[i] = 0.05 + float64(i)/10000
	}
	poor := facematch.NewCalibration(eng.ModelHash(), "poor", 100, 200, imp, 1e-3, time.Now())
	poor.Source = verify.CalibrationFromAccounts
	for i := range 30 {
		poor.Genuine = append(poor.Genuine, 0.02+float64(i)/100)
	}
	if err := f.svc.Calibrator().StoreCalibration(ctx, "staff:stf_admin", poor); err != nil {
		t.Fatal(err)
	}
	d = f.faceDetail(call.Capture(f.clerk.Name, johnsPhoto(t, "John_Salley", 7)).ID)
	if a := d.Assessment; !a.Weak || fmt.Sprint(a.WeakReasons) != "["+facematch.WeakGenuineFail+"]" || a.GenuineFail < 0.8 || a.Calibration != 4 {
		t.Fatalf("result under the poor calibration: %+v, want weak (genuine pairs fail)", a)
	}
	// The face-match requirement still needs the clerk's confirmation of
	// a MATCH; a weak score alone meets nothing.
	if f.requirements().FaceMatchPassed {
		t.Errorf("face match requirement met without a confirmed capture")
	}
}

// TestFusedCapture: several frames of one capture are matched one by one
// and recorded as one face check whose distance is their mean (the
// fusion rule), with how many agree, each frame kept as evidence once
// and the check pointing at the closest; a frame without a face is
// reported and left out of the mean.
func TestFusedCapture(t *testing.T) {
	f := newDeskFixture(t)
	call := f.liveCall()
	blank := pngBytes(t, 640, 480)
	frames := [][]byte{johnsPhoto(t, "John_Salley", 3), johnsPhoto(t, "John_Salley", 4), johnsPhoto(t, "John_Salley", 4), johnsPhoto(t, "John_Salley", 5)}
	var single []float64
	for _, fr := range frames {
		single = append(single, f.faceDetail(call.Capture(f.clerk.Name, fr).ID).Distance)
	}
	before := len(f.checks())
	chk, err := call.CaptureFused(f.clerk.Name, append(frames, blank)...)
	if err != nil {
		t.Fatal(err)
	}
	var stored *models.Check
	f.tx(func(tx models.Tx) (err error) { stored, err = tx.CheckByID(context.Background(), chk.ID); return })
	var d struct {
		faceDetail
		Fusion facematch.Fused `json:"fusion"`
	}
	if err := json.Unmarshal(stored.Detail, &d); err != nil {
		t.Fatal(err)
	}
	mean := (single[0] + single[1] + single[2] + single[3]) / 4
	fu := d.Fusion
	if len(f.checks()) != before+1 || stored.Result != "MATCH" || fu.Taken != 5 || fu.Captures != 4 || fu.Agree != 4 || fu.Rule != "mean" ||
		math.Abs(d.Distance-mean) > 1e-9 || math.Abs(fu.Distance-mean) > 1e-9 || len(fu.Each) != 5 || fu.Each[4].Status != facematch.StatusNoFace {
		t.Fatalf("fused check %s: distance %v (want the mean %v of %v), fusion %+v", stored.Result, d.Distance, mean, single, fu)
	}
	if d.Assessment == nil || d.Assessment.Distance != d.Distance {
		t.Errorf("fused assessment %+v, want it at the fused distance %v", d.Assessment, d.Distance)
	}
	// Identical frames are kept once; the check points at the closest.
	if fu.Each[1].Evidence != fu.Each[2].Evidence || fu.Each[0].Evidence == fu.Each[1].Evidence {
		t.Errorf("evidence per capture %+v: want frames 2 and 3 (the same bytes) to share one item", fu.Each)
	}
	closest := 0
	for i := range single {
		if single[i] < single[closest] {
			closest = i
		}
	}
	if string(stored.Evidence) != fu.Each[closest].Evidence || stored.Source != models.SourceLiveCall {
		t.Errorf("check evidence %s, want the closest capture's %s", stored.Evidence, fu.Each[closest].Evidence)
	}
	ev := f.events("check.face_match")
	if got := ev[len(ev)-1].Detail["fusion"]; got != "mean of 4 usable of 5 captures, 4 agree" {
		t.Errorf("audit detail fusion = %q", got)
	}
}
