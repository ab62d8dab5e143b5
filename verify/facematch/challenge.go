package facematch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// Step is one moment of a challenge: the pose the customer is asked to
// show from At for For and, during the light phase, the colour the call
// page fills the screen with. The server sends each step to the page when
// it starts, never earlier, so the page cannot know what comes next.
type Step struct {
	Pose   Pose   `json:"pose"`
	Colour string `json:"colour,omitempty"` // "#rrggbb"; "" outside the light phase
	AtMS   int64  `json:"at_ms"`            // from the challenge's start
	ForMS  int64  `json:"for_ms"`
}

// At is the step's start from the challenge's start.
func (s Step) At() time.Duration { return time.Duration(s.AtMS) * time.Millisecond }

// End is the step's end from the challenge's start.
func (s Step) End() time.Duration { return time.Duration(s.AtMS+s.ForMS) * time.Millisecond }

// Challenge is an active liveness challenge: steps to show, in order,
// from the moment the server starts it, within a time window.
type Challenge struct {
	// Poses are the turns prompted, in order (the non-centre steps).
	Poses   []Pose    `json:"poses"`
	Steps   []Step    `json:"steps"`
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
}

// Duration is how long the challenge's steps take.
func (c Challenge) Duration() time.Duration {
	if len(c.Steps) == 0 {
		return 0
	}
	return c.Steps[len(c.Steps)-1].End()
}

// StepAt returns the index of the step running at offset d, or -1.
func (c Challenge) StepAt(d time.Duration) int {
	for i, s := range c.Steps {
		if d >= s.At() && d < s.End() {
			return i
		}
	}
	return -1
}

// DefaultChallengeWindow is how long a challenge may take from issue to
// the last sample.
const DefaultChallengeWindow = time.Minute

// Challenge shape. Three turns, each to the left or right at random, and
// four colours drawn from LightColours with no colour twice in a row: a
// replayed recording shows the right turns by chance once in 2^3 = 8 and
// the right colours once in 3*2*2*2 = 24, so it answers a new challenge by
// chance once in 192 (before the random timings, which it must also hit).
const (
	ChallengeTurns   = 3
	ChallengeColours = 4
)

// Step durations (ms), each drawn uniformly from [min, max] in 50 ms steps.
// A colour stays at least 900 ms: the page changes colour at most 1.1
// times a second, well under the 3 flashes a second that photosensitive
// epilepsy guidance (WCAG 2.3.1) warns about, and the colours are pale.
var (
	settleMS = [2]int64{1200, 1600} // facing the camera before the first turn
	turnMS   = [2]int64{1800, 2400}
	centreMS = [2]int64{1200, 1600} // back to the centre after a turn
	colourMS = [2]int64{900, 1200}
)

// LightColours are the screen colours of the light challenge: pale warm,
// green and blue, so the face lit by the screen shifts in chroma in three
// different directions, without harsh saturated flashes.
var LightColours = []string{"#ffb8a0", "#b0f0b8", "#b0c0ff"}

// ChallengePoses returns the turns a challenge prompts, each side at
// random (facing the camera comes between them).
func ChallengePoses() []Pose { return []Pose{PoseLeft, PoseRight} }

// Challenger issues challenges. Rand and Now are injected for tests.
type Challenger struct {
	Rand   io.Reader        // e.g. crypto/rand.Reader
	Now    func() time.Time // e.g. time.Now
	Window time.Duration    // default DefaultChallengeWindow
}

// Issue returns a challenge: facing the camera, then ChallengeTurns turns
// each to a random side and back, then ChallengeColours random screen
// colours while facing the camera, every step of a random length.
func (c Challenger) Issue() (Challenge, error) {
	if c.Rand == nil || c.Now == nil {
		return Challenge{}, errors.New("issue challenge: Rand and Now are required")
	}
	w := c.Window
	if w <= 0 {
		w = DefaultChallengeWindow
	}
	var ch Challenge
	var at int64
	add := func(p Pose, colour string, span [2]int64) error {
		n, err := uniform(c.Rand, uint32((span[1]-span[0])/50+1))
		if err != nil {
			return err
		}
		d := span[0] + int64(n)*50
		ch.Steps = append(ch.Steps, Step{Pose: p, Colour: colour, AtMS: at, ForMS: d})
		at += d
		return nil
	}
	err := add(PoseCenter, "", settleMS)
	for i := 0; err == nil && i < ChallengeTurns; i++ {
		var side int
		if side, err = uniform(c.Rand, 2); err != nil {
			break
		}
		p := []Pose{PoseLeft, PoseRight}[side]
		ch.Poses = append(ch.Poses, p)
		if err = add(p, "", turnMS); err == nil {
			err = add(PoseCenter, "", centreMS)
		}
	}
	last := -1
	for i := 0; err == nil && i < ChallengeColours; i++ {
		var k int
		if last < 0 {
			k, err = uniform(c.Rand, uint32(len(LightColours)))
		} else if k, err = uniform(c.Rand, uint32(len(LightColours)-1)); k >= last {
			k++
		}
		if err == nil {
			last = k
			err = add(PoseCenter, LightColours[k], colourMS)
		}
	}
	if err != nil {
		return Challenge{}, fmt.Errorf("issue challenge: %w", err)
	}
	now := c.Now()
	ch.Issued, ch.Expires = now, now.Add(w)
	return ch, nil
}

// uniform returns an unbiased value in [0, n) read from r.
func uniform(r io.Reader, n uint32) (int, error) {
	limit := math.MaxUint32 - math.MaxUint32%n
	var b [4]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, err
		}
		if v := binary.BigEndian.Uint32(b[:]); v < limit {
			return int(v % n), nil
		}
	}
}

// ColourChroma returns the chromaticity of "#rrggbb" relative to grey:
// r/(r+g+b) - 1/3 and b/(r+g+b) - 1/3. ok is false for anything else.
func ColourChroma(hex string) (c Chroma, ok bool) {
	if len(hex) != 7 || hex[0] != '#' {
		return Chroma{}, false
	}
	v, err := strconv.ParseUint(hex[1:], 16, 32)
	if err != nil {
		return Chroma{}, false
	}
	return ChromaOf(float64(v>>16&0xff), float64(v>>8&0xff), float64(v&0xff)), true
}

// Chroma is a colour's chromaticity relative to grey: R/(R+G+B) - 1/3 and
// B/(R+G+B) - 1/3 (0, 0 for grey at any brightness).
type Chroma struct {
	R float64 `json:"r"`
	B float64 `json:"b"`
}

// ChromaOf returns the chroma of the mean colour r, g, b.
func ChromaOf(r, g, b float64) Chroma {
	s := r + g + b
	if s <= 0 {
		return Chroma{}
	}
	return Chroma{R: r/s - 1.0/3, B: b/s - 1.0/3}
}

// Sub returns c - d.
func (c Chroma) Sub(d Chroma) Chroma { return Chroma{R: c.R - d.R, B: c.B - d.B} }

// Capture is a frame of the customer's video the server sampled during a
// challenge: JPEG, when it arrived (wall clock) and Offset from the
// challenge's start as the media layer measured it.
type Capture struct {
	JPEG   []byte
	At     time.Time
	Offset time.Duration
}
