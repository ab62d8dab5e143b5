package storagetest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/models"
	"remoteidv/verify/facematch"
)

// populationJSON is the johns photos (5 people x 11) and every face of
// dlib's group photos (one person each), as descriptors of the pinned
// models; verify/face's TestPhotoPopulation keeps it equal to what the
// engine computes.
//
//go:embed testdata/population.json
var populationJSON []byte

// testFaceCalibrations stores the johns and group photos' population as
// enrolled accounts (one account per person, its photos' descriptors as
// reference photos, with one photo flagged unusable and one descriptor of
// other models that must not count), confirms one live capture, and
// calibrates from what the store returns: it must equal the calibration of
// the population itself. Calibrations are numbered and the newest per
// model hash is in force.
func testFaceCalibrations(t *testing.T, s models.Store) {
	ctx := context.Background()
	var people []facematch.Person
	if err := json.Unmarshal(populationJSON, &people); err != nil {
		t.Fatal(err)
	}
	hash := string(facematch.PinnedModelHash())
	other := fmt.Sprintf("%064x", 5)
	seed(t, s)
	img := 0
	for i, p := range people {
		no := models.AccountNo(fmt.Sprintf("62220000%08d", i))
		tx(t, s, func(tx models.Tx) error {
			if err := tx.UpsertAccount(ctx, account(string(no))); err != nil {
				return err
			}
			for _, d := range p.Descriptors {
				img++
				im := &models.AccountImage{AccountNo: no, Kind: models.ImagePhoto, ContentType: "image/jpeg", SHA256: fmt.Sprintf("%064x", 1000+img), Data: []byte{1}, CreatedAt: t0}
				if err := tx.AddAccountImage(ctx, im); err != nil {
					return err
				}
				b, _ := d.MarshalBinary()
				if err := tx.PutFaceReference(ctx, &models.FaceReference{ImageID: im.ID, ModelHash: hash, Descriptor: b, CreatedAt: t0}); err != nil {
					return err
				}
				if i == 0 { // the same photo under other models: never mixed in
					if err := tx.PutFaceReference(ctx, &models.FaceReference{ImageID: im.ID, ModelHash: other, Descriptor: make([]byte, 512), CreatedAt: t0}); err != nil {
						return err
					}
				}
			}
			// A flagged photo (no usable face) holds no descriptor.
			return tx.AddAccountImage(ctx, &models.AccountImage{AccountNo: no, Kind: models.ImagePhoto, ContentType: "image/jpeg",
				SHA256: fmt.Sprintf("%064x", 900000+i), Data: []byte{2}, CreatedAt: t0, Problem: "face image rejected: NO_FACE"})
		})
	}
	// A confirmed live capture (genuine), a rejected one and an upload.
	tx(t, s, func(tx models.Tx) error {
		if err := tx.CreateCall(ctx, &models.Call{ID: "call_1", CaseID: "case_a", StartedAt: t0, Recording: models.RecordingActive}); err != nil {
			return err
		}
		for i, src := range []models.CheckSource{models.SourceLiveCall, models.SourceLiveCall, models.SourceUpload} {
			c := &models.Check{ID: models.CheckID(fmt.Sprintf("chk_%d", i)), CaseID: "case_a", Kind: models.CheckFaceMatch, Result: "MATCH",
				Detail: []byte(fmt.Sprintf(`{"distance":0.1%d,"model_hash":%q}`, i, hash)), Actor: "staff:stf_clerk", CreatedAt: t0.Add(time.Duration(i) * time.Minute), Source: src}
			if src == models.SourceLiveCall {
				c.Call, c.Segment = "call_1", 1
			}
			if err := tx.CreateCheck(ctx, c); err != nil {
				return err
			}
			verdict := "confirmed"
			if i == 1 {
				verdict = "rejected"
			}
			if src == models.SourceLiveCall {
				if err := tx.ConfirmCheck(ctx, c.ID, "staff:stf_clerk", verdict, "note", t0.Add(time.Hour)); err != nil {
					return err
				}
			}
		}
		return nil
	})

	var refs []*models.FaceReference
	var live []*models.Check
	tx(t, s, func(tx models.Tx) (err error) {
		if refs, err = tx.AllFaceReferences(ctx, hash); err != nil {
			return err
		}
		live, err = tx.ConfirmedLiveFaceChecks(ctx)
		return err
	})
	if len(live) != 1 || live[0].ID != "chk_0" {
		t.Fatalf("ConfirmedLiveFaceChecks = %d checks, want chk_0 only", len(live))
	}
	var fromStore []facematch.Person
	for _, r := range refs {
		if r.ModelHash != hash {
			t.Fatalf("AllFaceReferences(%.8s) returned a descriptor of %.8s", hash, r.ModelHash)
		}
		var d facematch.Descriptor
		if err := d.UnmarshalBinary(r.Descriptor); err != nil {
			t.Fatal(err)
		}
		if n := len(fromStore); n == 0 || fromStore[n-1].ID != string(r.AccountNo) {
			fromStore = append(fromStore, facematch.Person{ID: string(r.AccountNo)})
		}
		fromStore[len(fromStore)-1].Descriptors = append(fromStore[len(fromStore)-1].Descriptors, d)
	}
	opts := facematch.PopulationOptions{ModelHash: facematch.PinnedModelHash(), Source: "accounts", Cohort: "enrolled accounts", Now: t0, LiveGenuine: []float64{0.10}}
	got, err := facematch.CalibratePopulation(fromStore, opts)
	if err != nil {
		t.Fatal(err)
	}
	want, err := facematch.CalibratePopulation(people, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got.People != len(people) || got.Impostors != want.Impostors || got.Impostors != 1616 || len(got.Genuine) != len(want.Genuine) {
		t.Fatalf("calibration from the store: %d people, %d impostor and %d genuine pairs; from the photos %d, %d, %d (want 1,616 impostor pairs: 12 people, 62 faces)",
			got.People, got.Impostors, len(got.Genuine), len(people), want.Impostors, len(want.Genuine))
	}
	if diff := cmp.Diff(want.Tail, got.Tail); diff != "" {
		t.Fatalf("impostor distances from the store differ from the photos' (-want +got):\n%s", diff)
	}

	// Stored, numbered, read back; the newest per model hash is in force.
	body, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	first := &models.FaceCalibration{ModelHash: hash, CreatedAt: t0, Source: "accounts", Actor: "idv face calibrate", People: got.People, Photos: got.Photos,
		ImpostorPairs: got.Impostors, PopulationPairs: got.PopulationPairs, GenuinePairs: len(got.Genuine), Body: body}
	tx(t, s, func(tx models.Tx) error { return tx.CreateFaceCalibration(ctx, first) })
	second := *first
	second.CreatedAt, second.Source = t0.Add(time.Hour), "demo"
	tx(t, s, func(tx models.Tx) error { return tx.CreateFaceCalibration(ctx, &second) })
	otherCal := *first
	otherCal.ModelHash = other
	tx(t, s, func(tx models.Tx) error { return tx.CreateFaceCalibration(ctx, &otherCal) })
	if first.ID < 1 || second.ID <= first.ID || otherCal.ID <= second.ID {
		t.Fatalf("calibration numbers %d, %d, %d: want increasing from 1", first.ID, second.ID, otherCal.ID)
	}
	var latest, byID *models.FaceCalibration
	tx(t, s, func(tx models.Tx) (err error) {
		if latest, err = tx.LatestFaceCalibration(ctx, hash); err != nil {
			return err
		}
		byID, err = tx.FaceCalibrationByID(ctx, first.ID)
		return err
	})
	if diff := cmp.Diff(&second, latest); diff != "" {
		t.Errorf("LatestFaceCalibration (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(first, byID); diff != "" {
		t.Errorf("FaceCalibrationByID (-want +got):\n%s", diff)
	}
	var back facematch.Calibration
	if err := json.Unmarshal(latest.Body, &back); err != nil || back.Valid() != nil || back.Impostors != got.Impostors {
		t.Errorf("stored body: %v, %v, %d pairs", err, back.Valid(), back.Impostors)
	}
	err = s.Transact(ctx, func(tx models.Tx) error { _, err := tx.LatestFaceCalibration(ctx, fmt.Sprintf("%064x", 6)); return err })
	wantCode(t, "LatestFaceCalibration(no calibration)", err, models.ENOTFOUND)
	err = s.Transact(ctx, func(tx models.Tx) error { _, err := tx.FaceCalibrationByID(ctx, 999); return err })
	wantCode(t, "FaceCalibrationByID(missing)", err, models.ENOTFOUND)
	for name, mod := range map[string]func(c *models.FaceCalibration){
		"unknown source":   func(c *models.FaceCalibration) { c.Source = "guess" },
		"short hash":       func(c *models.FaceCalibration) { c.ModelHash = "h" },
		"body not object":  func(c *models.FaceCalibration) { c.Body = []byte(`[1]`) },
		"more photos than": func(c *models.FaceCalibration) { c.People = c.Photos + 1 },
	} {
		bad := *first
		mod(&bad)
		if err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateFaceCalibration(ctx, &bad) }); err == nil {
			t.Errorf("CreateFaceCalibration(%s) accepted", name)
		}
	}
}
