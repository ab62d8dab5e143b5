package verify_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"remoteidv/models"
)

// stagedFiles lists the staging folder and the staged files the case's
// evidence rows name.
func (f *deskFixture) stagedFiles() (inFolder, onFile []string) {
	f.t.Helper()
	entries, err := os.ReadDir(f.stage.Dir())
	if err != nil {
		f.t.Fatal(err)
	}
	for _, e := range entries {
		inFolder = append(inFolder, filepath.Join(f.stage.Dir(), e.Name()))
	}
	var items []*models.Evidence
	f.tx(func(tx models.Tx) (err error) { items, err = tx.EvidenceByCase(context.Background(), f.caseID); return })
	for _, e := range items {
		if e.Staged != "" {
			onFile = append(onFile, e.Staged)
		}
	}
	slices.Sort(inFolder)
	slices.Sort(onFile)
	return inFolder, onFile
}

// TestEvidenceLeavesNoStagedOrphans: every step that keeps evidence leaves
// in the staging folder exactly the files its rows name. The same bytes
// kept twice (a repeated liveness challenge with the same frames, the same
// quality samples) are on file once and the second copy's staged files
// are discarded; a step whose transaction fails keeps nothing.
func TestEvidenceLeavesNoStagedOrphans(t *testing.T) {
	ctx := context.Background()
	f := newDeskFixture(t)
	call := f.liveCall()
	frames := [][]byte{johnsPhoto(t, "John_Salley", 3), johnsPhoto(t, "John_Salley", 4), johnsPhoto(t, "John_Salley", 5)}
	for i := 0; i < 2; i++ {
		plan, err := f.calls.StartLiveness(ctx, f.caseID)
		if err != nil || len(plan.Steps) == 0 {
			t.Fatalf("StartLiveness = %+v, %v", plan, err)
		}
		var samples []models.LivenessSample
		for j, fr := range frames {
			samples = append(samples, models.LivenessSample{LiveFrame: models.LiveFrame{At: f.clock.Now(), JPEG: fr}, Offset: time.Duration(j) * time.Second})
		}
		if _, err := f.calls.FinishLiveness(ctx, f.caseID, f.clerk.Name, plan.ID, samples); err != nil {
			t.Fatalf("FinishLiveness #%d: %v", i+1, err)
		}
	}
	for i := 0; i < 2; i++ {
		if err := f.calls.SaveQuality(ctx, f.caseID, call.ID, 2, []byte(`[{"rtt_ms":40},{"rtt_ms":41}]`)); err != nil {
			t.Fatalf("SaveQuality #%d: %v", i+1, err)
		}
	}
	// A segment of a call the case does not have: nothing is kept.
	seg := &models.CallSegment{CallID: "call_unknown", Seq: 1, Participant: "customer", Track: "video", StartedAt: f.clock.Now(), EndedAt: f.clock.Now()}
	if err := f.calls.SaveSegment(ctx, f.caseID, seg, "video/x-ivf", bytesReader("DKIF not a call of this case")); err == nil {
		t.Fatal("SaveSegment(unknown call) = nil error")
	}
	inFolder, onFile := f.stagedFiles()
	if len(onFile) != len(frames)+1 || !slices.Equal(inFolder, onFile) {
		t.Fatalf("staging folder holds %d files %v;\nthe evidence rows name %d %v (want the 3 frames and the samples, once each)", len(inFolder), inFolder, len(onFile), onFile)
	}
}

func bytesReader(s string) *strings.Reader { return strings.NewReader(s) }

// TestEvidenceSameBytesAtOnce: steps that keep the same bytes at the same
// time all succeed; the case holds one row, and the staging folder only
// that row's file.
func TestEvidenceSameBytesAtOnce(t *testing.T) {
	ctx := context.Background()
	f := newDeskFixture(t)
	call := f.liveCall()
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = f.calls.SaveQuality(ctx, f.caseID, call.ID, 1, []byte(`[{"rtt_ms":7}]`)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("SaveQuality #%d: %v", i+1, err)
		}
	}
	inFolder, onFile := f.stagedFiles()
	if len(onFile) != 1 || !slices.Equal(inFolder, onFile) {
		t.Fatalf("staging folder holds %v; the evidence rows name %v (want one row, its file alone)", inFolder, onFile)
	}
}
