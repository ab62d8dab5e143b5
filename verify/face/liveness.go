package face

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"sort"
	"sync"

	"remoteidv/verify/facematch"
)

// CheckLiveness judges a challenge from the frames sampled through it (in
// time order, each with its offset from the challenge's start): it
// analyses every frame (face, landmarks, descriptor, distance to the
// references, the face's and the scene's colour, how much the scene
// changed since the frame before) and lets facematch.Judge decide. Errors
// are faults, as for Match; a failed challenge is a result.
func (e *Engine) CheckLiveness(ctx context.Context, ch facematch.Challenge, caps []facematch.Capture, refs []facematch.Reference) (facematch.LivenessResult, error) {
	if len(refs) == 0 {
		return facematch.LivenessResult{}, fmt.Errorf("check liveness: no references")
	}
	for _, r := range refs {
		if r.ModelHash != e.models.Hash {
			return facematch.LivenessResult{}, fmt.Errorf("check liveness: reference %q: %w", r.ID, ErrStaleReference)
		}
	}
	// Every sample is analysed on its own, as many at once as the pool has
	// recognizers; the scene's change then needs them in order.
	obs := make([]facematch.Observation, len(caps))
	frames := make([]frameInfo, len(caps))
	errs := make([]error, len(caps))
	sem := make(chan struct{}, max(1, e.cfg.Recognizers))
	var wg sync.WaitGroup
	for i, c := range caps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			obs[i], frames[i], errs[i] = e.observe(ctx, c, refs)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return facematch.LivenessResult{}, fmt.Errorf("check liveness: sample %d: %w", i+1, err)
		}
		if p, f := frames[max(i-1, 0)], frames[i]; i > 0 && p.thumb != nil && f.thumb != nil && p.bounds == f.bounds {
			obs[i].SceneStep = sceneStep(p.thumb, f.thumb, f.bounds, p.head, f.head)
		}
	}
	lim := facematch.DefaultLivenessLimits()
	lim.Yaw = e.cfg.Yaw
	return facematch.Judge(ch, obs, e.cfg.Threshold, lim), nil
}

// frameInfo is what the scene's change is measured on: a frame's grey
// thumbnail, its size and the head's box in it.
type frameInfo struct {
	thumb        []float64
	bounds, head image.Rectangle
}

// observe measures one sample: the face (when there is one usable) and
// the colours, and returns what the scene's change needs.
func (e *Engine) observe(ctx context.Context, c facematch.Capture, refs []facematch.Reference) (facematch.Observation, frameInfo, error) {
	o := facematch.Observation{Offset: c.Offset, SceneStep: -1}
	a, err := e.Analyze(ctx, c.JPEG)
	if err != nil {
		return o, frameInfo{}, err
	}
	o.Status, o.Detail = a.Status, a.Detail
	img, err := jpeg.Decode(bytes.NewReader(c.JPEG))
	if err != nil {
		if o.Status == facematch.StatusOK {
			o.Status, o.Detail = facematch.StatusNotAnImage, err.Error()
		}
		return o, frameInfo{}, nil
	}
	var head image.Rectangle
	if a.Status == facematch.StatusOK {
		f := a.Face
		o.Descriptor, o.Landmarks, o.FaceBox, o.Yaw = f.Descriptor, f.Landmarks, f.Quality.FaceBox, f.Quality.Yaw
		o.Distance = math.Inf(1)
		for _, r := range refs {
			o.Distance = math.Min(o.Distance, facematch.SquaredDistance(f.Descriptor, r.Descriptor))
		}
		o.Face = meanChroma(img, inner(f.Quality.FaceBox))
		head = headBox(f.Quality.FaceBox, img.Bounds())
	}
	o.Scene = sceneChroma(img, head)
	return o, frameInfo{thumb: thumbnail(img), bounds: img.Bounds(), head: head}, nil
}

// inner is the middle of a face box: cheeks, nose and mouth, where the
// screen's light falls, without hair or background.
func inner(r image.Rectangle) image.Rectangle {
	dx, dy := r.Dx()/4, r.Dy()/5
	return image.Rect(r.Min.X+dx, r.Min.Y+dy, r.Max.X-dx, r.Max.Y-dy)
}

// headBox grows a face box to cover the whole head (hair, ears, neck).
func headBox(r image.Rectangle, b image.Rectangle) image.Rectangle {
	dx, dy := r.Dx()*3/5, r.Dy()*4/5
	return image.Rect(r.Min.X-dx, r.Min.Y-dy, r.Max.X+dx, r.Max.Y+dy*3/2).Intersect(b)
}

// meanChroma is the chroma of the mean colour of r in img.
func meanChroma(img image.Image, r image.Rectangle) facematch.Chroma {
	r = r.Intersect(img.Bounds())
	var sr, sg, sb float64
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			sr, sg, sb = sr+float64(cr), sg+float64(cg), sb+float64(cb)
		}
	}
	return facematch.ChromaOf(sr, sg, sb)
}

// sceneChroma is the chroma of the mean colour of img outside head.
func sceneChroma(img image.Image, head image.Rectangle) facematch.Chroma {
	b := img.Bounds()
	var sr, sg, sb float64
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			if (image.Point{X: x, Y: y}).In(head) {
				continue
			}
			cr, cg, cb, _ := img.At(x, y).RGBA()
			sr, sg, sb = sr+float64(cr), sg+float64(cg), sb+float64(cb)
		}
	}
	return facematch.ChromaOf(sr, sg, sb)
}

// thumbSide is the side of the grey thumbnails compared for the scene.
const thumbSide = 32

// thumbnail shrinks img to thumbSide x thumbSide grey cells (mean luma).
func thumbnail(img image.Image) []float64 {
	b := img.Bounds()
	t := make([]float64, thumbSide*thumbSide)
	n := make([]float64, len(t))
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			i := (y-b.Min.Y)*thumbSide/b.Dy()*thumbSide + (x-b.Min.X)*thumbSide/b.Dx()
			t[i] += (0.299*float64(cr) + 0.587*float64(cg) + 0.114*float64(cb)) / 257
			n[i]++
		}
	}
	for i := range t {
		if n[i] > 0 {
			t[i] /= n[i]
		}
	}
	return t
}

// sceneStep is the median absolute luma difference of the thumbnails'
// cells that lie outside both heads (the median: a hand or a shadow
// passing over a few cells is not the scene changing). 0 when the heads
// cover everything.
func sceneStep(a, b []float64, bounds, h1, h2 image.Rectangle) float64 {
	var d []float64
	for cy := 0; cy < thumbSide; cy++ {
		for cx := 0; cx < thumbSide; cx++ {
			cell := image.Rect(bounds.Min.X+cx*bounds.Dx()/thumbSide, bounds.Min.Y+cy*bounds.Dy()/thumbSide,
				bounds.Min.X+(cx+1)*bounds.Dx()/thumbSide, bounds.Min.Y+(cy+1)*bounds.Dy()/thumbSide)
			if cell.Overlaps(h1) || cell.Overlaps(h2) {
				continue
			}
			d = append(d, math.Abs(a[cy*thumbSide+cx]-b[cy*thumbSide+cx]))
		}
	}
	if len(d) == 0 {
		return 0
	}
	sort.Float64s(d)
	return d[len(d)/2]
}
