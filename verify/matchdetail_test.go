package verify_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"remoteidv/models"
	"remoteidv/verify/face"
	"remoteidv/verify/facematch"
)

// TestMatchDetailStored: a live capture's check keeps the engine's whole
// answer (distance, threshold, per-reference distances, model hash and the
// SHA-256 of each model file, the go-face and dlib versions), and its
// audit event repeats what identifies it, so the decision can be judged
// later on what the engine said (RELIABILITY 33).
func TestMatchDetailStored(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	call := f.liveCall()
	chk := call.Capture(f.clerk.Name, johnsPhoto(t, "John_Salley", 3))
	var stored *models.Check
	f.tx(func(tx models.Tx) (err error) { stored, err = tx.CheckByID(ctx, chk.ID); return })
	var got struct { // the stored JSON, read as an auditor's tool would
		Decision   string            `json:"decision"`
		Distance   float64           `json:"distance"`
		Threshold  float64           `json:"threshold"`
		References []json.RawMessage `json:"references"`
		ModelHash  string            `json:"model_hash"`
		ModelFiles map[string]string `json:"model_files"`
		Engine     string            `json:"engine"`
	}
	if err := json.Unmarshal(stored.Detail, &got); err != nil {
		t.Fatalf("stored detail %s: %v", stored.Detail, err)
	}
	eng := sharedEngine(t)
	switch {
	case got.Decision != "MATCH" || stored.Result != models.CheckResult("MATCH"):
		t.Errorf("stored decision %s, result %s; want MATCH", got.Decision, stored.Result)
	case got.Distance <= 0 || got.Distance >= got.Threshold:
		t.Errorf("stored distance %v, threshold %v; want 0 < distance < threshold", got.Distance, got.Threshold)
	case got.Threshold != facematch.DefaultThreshold:
		t.Errorf("stored threshold %v, want the configured %v", got.Threshold, facematch.DefaultThreshold)
	case got.ModelHash != string(eng.ModelHash()) || got.ModelHash != string(facematch.PinnedModelHash()):
		t.Errorf("stored model hash %s, engine's %s", got.ModelHash, eng.ModelHash())
	case len(got.ModelFiles) != len(facematch.ModelFiles()):
		t.Errorf("stored model files %v, want one SHA-256 per model file %v", got.ModelFiles, facematch.ModelFiles())
	case got.Engine != "go-face "+face.GoFaceVersion+", dlib "+face.DlibVersion():
		t.Errorf("stored engine %q", got.Engine)
	case len(got.References) == 0:
		t.Error("stored result has no per-reference distances")
	}
	for name, sum := range facematch.PinnedModels() {
		if got.ModelFiles[name] != sum {
			t.Errorf("stored SHA-256 of %s = %q, want %s", name, got.ModelFiles[name], sum)
		}
	}
	evs := f.events("check.face_match")
	if len(evs) != 1 {
		t.Fatalf("check.face_match events = %d, want 1", len(evs))
	}
	d := evs[0].Detail
	if d["model_hash"] != got.ModelHash || d["engine"] != got.Engine || d["threshold"] != strconv.FormatFloat(got.Threshold, 'f', 4, 64) ||
		d["distance"] != strconv.FormatFloat(got.Distance, 'f', 4, 64) || !strings.HasPrefix(d["check"], "chk_") {
		t.Errorf("audit detail %v does not identify the stored result (model %s, engine %q, threshold %v, distance %v)", d, got.ModelHash, got.Engine, got.Threshold, got.Distance)
	}
}
