package signaling_test

import (
	"encoding/json"
	"testing"
	"time"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/signaling"
	"remoteidv/verify/facematch"
)

// TestFusedCapture: with Captures 3 over CaptureSpread 600 ms, one capture
// request takes three key frames at least the spread apart in time, each
// located later in the recording than the one before, and the clerk gets
// one face check fusing them.
func TestFusedCapture(t *testing.T) {
	f := newFixture(t, signaling.Config{Captures: 3, CaptureSpread: 600 * time.Millisecond})
	media := source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 320), ogg: testenv.OpusTone(t, 2)}
	_, cu, cl, _ := f.newCall(0)
	customer := dial(t, cu, nil, media)
	clerk := dial(t, cl, nil, media)
	defer customer.close("")
	defer clerk.close("")
	waitCount(t, "clerk video packets", clerk.videoIn.Load, 30, 20*time.Second)
	start := time.Now()
	clerk.send(signaling.Message{Type: signaling.TypeCapture})
	res, ok := clerk.waitFor(signaling.TypeResult, 30*time.Second)
	if !ok {
		t.Fatal("no capture result")
	}
	took := time.Since(start)
	var d struct {
		Fusion *facematch.Fused `json:"fusion"`
	}
	if err := json.Unmarshal(res.Detail, &d); err != nil || res.Kind != string(models.CheckFaceMatch) || res.Result != "MATCH" || d.Fusion == nil {
		t.Fatalf("capture result %s %s %s (%v), want a fused face_match MATCH", res.Kind, res.Result, res.Detail, err)
	}
	fu := d.Fusion
	if fu.Taken != 3 || fu.Captures != 3 || fu.Agree != 3 || fu.Rule != "mean" || len(fu.Each) != 3 || took < 600*time.Millisecond {
		t.Fatalf("fusion %+v after %s, want 3 captures that all agree, taken over at least 600 ms", fu, took)
	}
	for i := 1; i < 3; i++ {
		if fu.Each[i].MediaMS <= fu.Each[i-1].MediaMS {
			t.Errorf("capture %d at %d ms of the recording, capture %d at %d ms: want later", i+1, fu.Each[i].MediaMS, i, fu.Each[i-1].MediaMS)
		}
	}
}

// BenchmarkFusedCapture measures a fused capture of 5 key frames from
// click to result (5 PLIs and key frames, 5 face matches, the fusion, the
// check and its evidence) against a capture of 1 frame, the baseline, in
// the same run. The spread is 0, so only the work is measured: in service
// IDV_FACE_CAPTURE_SPREAD (2 s) is waited out on top.
func BenchmarkFusedCapture(b *testing.B) {
	src := source{ivf: testenv.VP8FromPhoto(b, testenv.JohnsPhoto(b, "John_Salley", 3), 2, 320), ogg: testenv.OpusTone(b, 2)}
	for _, n := range []int{1, 5} {
		f := newFixture(b, signaling.Config{Captures: n})
		_, cu, cl, _ := f.newCall(0)
		customer, clerk := dial(b, cu, nil, src), dial(b, cl, nil, source{})
		waitCount(b, "clerk video packets", clerk.videoIn.Load, 30, 20*time.Second)
		name := "baseline/1-frame"
		if n > 1 {
			name = "5-frames"
		}
		b.Run(name, func(b *testing.B) {
			var d []time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				clerk.send(signaling.Message{Type: signaling.TypeCapture})
				res, ok := clerk.waitFor(signaling.TypeResult, 30*time.Second)
				if !ok || res.Result != "MATCH" {
					b.Fatalf("capture %d: %+v", i, res)
				}
				d = append(d, time.Since(start))
			}
			reportPercentiles(b, d)
		})
		customer.close("")
		clerk.close("")
	}
}
