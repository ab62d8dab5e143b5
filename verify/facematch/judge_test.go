package facematch

import (
	"image"
	"math"
	"strings"
	"testing"
	"time"
)

// judgeChallenge is a fixed challenge: settle, left, centre, right,
// centre, then three colours.
func judgeChallenge() Challenge {
	steps := []Step{{Pose: PoseCenter, ForMS: 1400}, {Pose: PoseLeft, ForMS: 2000}, {Pose: PoseCenter, ForMS: 1400},
		{Pose: PoseRight, ForMS: 2000}, {Pose: PoseCenter, ForMS: 1400},
		{Pose: PoseCenter, Colour: LightColours[0], ForMS: 1000}, {Pose: PoseCenter, Colour: LightColours[1], ForMS: 1000}, {Pose: PoseCenter, Colour: LightColours[2], ForMS: 1000}}
	var at int64
	for i := range steps {
		steps[i].AtMS, at = at, at+steps[i].ForMS
	}
	return Challenge{Poses: []Pose{PoseLeft, PoseRight}, Steps: steps}
}

// liveHead samples a head that follows the challenge at 3.3 frames a
// second: it reacts after 300 ms, turns to yaw 0.2 at 0.5 a second, its
// descriptor and eyes drift a little, and its face takes the screen's
// colours (gain 0.3) over a steady scene.
func liveHead(ch Challenge) []Observation {
	var out []Observation
	yaw := 0.0
	const dt = 0.3
	for at := 0.2; at < ch.Duration().Seconds()+0.2; at += dt {
		off := time.Duration(at * float64(time.Second))
		target := 0.0
		if i := ch.StepAt(off - 300*time.Millisecond); i >= 0 {
			switch ch.Steps[i].Pose {
			case PoseLeft:
				target = 0.2
			case PoseRight:
				target = -0.2
			}
		}
		yaw += math.Max(-0.5*dt, math.Min(0.5*dt, target-yaw))
		o := Observation{Offset: off, Status: StatusOK, Yaw: yaw, Distance: 0.2, SceneStep: 1.5,
			FaceBox: image.Rect(200, 120, 400, 320), Scene: Chroma{R: 0.01, B: -0.01}}
		o.Descriptor[0] = float32(0.02 * math.Sin(at))
		o.Descriptor[1] = float32(yaw / 2)
		x := 300 + int(40*yaw)
		o.Landmarks = []Point{{x + 60, 200}, {x + 20, 200}, {x - 20, 200}, {x - 60, 200}, {x + int(200*yaw), 250}}
		o.Face = Chroma{R: 0.05, B: -0.04}
		if i := ch.StepAt(off - 200*time.Millisecond); i >= 0 && ch.Steps[i].Colour != "" {
			c, _ := ColourChroma(ch.Steps[i].Colour)
			o.Face.R += 0.3 * c.R
			o.Face.B += 0.3 * c.B
		}
		out = append(out, o)
	}
	return out
}

func TestJudge(t *testing.T) {
	ch := judgeChallenge()
	edit := func(f func([]Observation) []Observation) []Observation { return f(liveHead(ch)) }
	tests := []struct {
		name   string
		obs    []Observation
		want   LivenessFailure
		reason string
	}{
		{"a live head", liveHead(ch), LivenessPassed, ""},
		{"a live head, the camera off to one side", edit(func(o []Observation) []Observation {
			for i := range o {
				o[i].Yaw += 0.04 // facing the camera reads as yaw 0.04, a right turn as -0.16
			}
			return o
		}), LivenessPassed, ""},
		{"too few samples", edit(func(o []Observation) []Observation {
			var out []Observation
			for i := range o {
				if i%2 == 0 {
					out = append(out, o[i])
				}
			}
			return out
		}), LivenessWrongCount, "fewer than 2.0/s"},
		{"samples out of order", edit(func(o []Observation) []Observation { o[3].Offset, o[4].Offset = o[4].Offset, o[3].Offset; return o }), LivenessOutOfWindow, "sample 5 earlier"},
		{"no face in many", edit(func(o []Observation) []Observation {
			for i := 0; i < len(o); i += 3 {
				o[i].Status = StatusNoFace
			}
			return o
		}), LivenessUnusable, "show no single usable face"},
		{"another person", edit(func(o []Observation) []Observation {
			for i := range o {
				o[i].Distance = 0.5
			}
			return o
		}), LivenessNotSame, "0 of"},
		{"a still photo", edit(func(o []Observation) []Observation {
			for i := range o {
				o[i].Yaw = 0.01
			}
			return o
		}), LivenessStill, "never turned"},
		{"another photo", edit(func(o []Observation) []Observation { o[10].Descriptor[5] = 0.4; return o }), LivenessDiscontinuous, "sample 11 at 3.2 s: the face jumped"},
		{"the face's size jumps", edit(func(o []Observation) []Observation {
			for i := 12; i < len(o); i++ {
				for j := range o[i].Landmarks {
					o[i].Landmarks[j].X = 300 + (o[i].Landmarks[j].X-300)*17/10
				}
			}
			return o
		}), LivenessDiscontinuous, "size jumped"},
		{"the scene changes", edit(func(o []Observation) []Observation { o[7].SceneStep = 30; return o }), LivenessDiscontinuous, "the scene around the face changed by 30.0"},
		{"wrong side", edit(func(o []Observation) []Observation {
			for i := range o {
				o[i].Yaw = -o[i].Yaw
				for j := range o[i].Landmarks {
					o[i].Landmarks[j].X = 600 - o[i].Landmarks[j].X
				}
			}
			return o
		}), LivenessWrongPose, "asked to turn left"},
		{"images switched, no angles between", edit(func(o []Observation) []Observation {
			for i := range o {
				switch {
				case o[i].Yaw > 0.1:
					o[i].Yaw = 0.2
				case o[i].Yaw < -0.1:
					o[i].Yaw = -0.2
				default:
					o[i].Yaw = 0
				}
				o[i].Descriptor[1] = 0
			}
			return o
		}), LivenessNoTransition, "no sample between"},
		{"no light response", edit(func(o []Observation) []Observation {
			for i := range o {
				o[i].Face = Chroma{R: 0.05, B: -0.04}
				o[i].Face.R += 0.001 * math.Sin(float64(i))
			}
			return o
		}), LivenessNoLight, "did not take the screen's colours"},
		{"the wrong colours", edit(func(o []Observation) []Observation {
			// A replay of another challenge's colours: the same colours in
			// another order.
			for i := range o {
				if s := ch.StepAt(o[i].Offset - 200*time.Millisecond); s >= 5 {
					c, _ := ColourChroma(ch.Steps[5+(s-5+1)%3].Colour)
					o[i].Face = Chroma{R: 0.05 + 0.3*c.R, B: -0.04 + 0.3*c.B}
				}
			}
			return o
		}), LivenessNoLight, "correlation -"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Judge(ch, tt.obs, 0.36, LivenessLimits{})
			if res.Failure != tt.want || res.Passed != (tt.want == LivenessPassed) || !strings.Contains(res.Reason, tt.reason) {
				t.Fatalf("Judge(%s) = %v %q, want %v %q", tt.name, res.Failure, res.Reason, tt.want, tt.reason)
			}
			if len(res.Samples) != len(tt.obs) || len(res.Turns) != 2 || len(res.Light.Steps) != 3 {
				t.Errorf("Judge(%s) reports %d samples, %d turns, %d colours; want %d, 2, 3", tt.name, len(res.Samples), len(res.Turns), len(res.Light.Steps), len(tt.obs))
			}
		})
	}
}
