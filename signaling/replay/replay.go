// Package replay turns a recorded call segment into a form a browser can
// play, without re-encoding: the VP8 frames of an IVF file are copied into
// a WebM stream (github.com/at-wat/ebml-go for the EBML encoding).
//
// The recording itself stays the evidence (its SHA-256 is in the signed
// manifest); the WebM is derived on the fly for staff who watch it, so it
// is never stored and never hashed.
package replay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
)

// ContentType is what IVFToWebM writes.
const ContentType = "video/webm"

// Limits that keep a damaged or hostile file from taking the memory.
const (
	maxFrameBytes   = 8 << 20 // one VP8 frame
	maxClusterBytes = 8 << 20 // frames buffered before a cluster is written
	maxClusterMS    = 5000    // a cluster's span; block offsets are int16 milliseconds
)

// Errors of IVFToWebM about the input.
var (
	ErrNotIVF      = errors.New("not an IVF file")
	ErrUnsupported = errors.New("IVF codec is not VP8")
	ErrNoKeyFrame  = errors.New("recording has no VP8 key frame")
)

// Stats describes a conversion.
type Stats struct {
	Frames        int   // frames written
	Skipped       int   // frames before the first key frame
	Width, Height int   // from the first key frame
	DurationMS    int64 // last frame's time
	// Truncated is set when the file ends inside a frame (a recording cut
	// off by a crash and recovered later); the complete frames are written.
	Truncated bool
}

// ivfFrame is one frame of the file and its time in milliseconds.
type ivfFrame struct {
	data []byte
	ms   int64
}

// IVFToWebM reads an IVF file of VP8 frames from r and writes it to w as a
// WebM stream with one video track. Frame times come from the IVF time
// base. Errors of r other than a short last frame are returned as they
// are, so a reader that checks a hash at its end fails the conversion.
func IVFToWebM(w io.Writer, r io.Reader) (Stats, error) {
	var st Stats
	in, err := newIVFReader(r)
	if err != nil {
		return st, err
	}
	// Browsers need a key frame first: skip what comes before it.
	var first ivfFrame
	for {
		f, err := in.next()
		if err == io.EOF {
			return st, ErrNoKeyFrame
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			st.Truncated = true
			return st, ErrNoKeyFrame
		}
		if err != nil {
			return st, err
		}
		if wd, ht, ok := keyFrameSize(f.data); ok {
			first, st.Width, st.Height = f, wd, ht
			break
		}
		st.Skipped++
	}
	if err := writeHeader(w, st.Width, st.Height); err != nil {
		return st, err
	}
	cw := &clusterWriter{w: w, start: first.ms}
	for f, err := first, error(nil); ; f, err = in.next() {
		if err == io.EOF {
			break
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			st.Truncated = true
			break
		}
		if err != nil {
			return st, err
		}
		if err := cw.add(f); err != nil {
			return st, err
		}
		st.Frames++
		st.DurationMS = cw.last - first.ms
	}
	return st, cw.flush()
}

// ivfReader reads the frames of an IVF file.
type ivfReader struct {
	r        io.Reader
	num, den uint64 // a frame time is pts * num / den seconds
	hdr      [12]byte
	lastMS   int64
}

func newIVFReader(r io.Reader) (*ivfReader, error) {
	var h [32]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrNotIVF
		}
		return nil, fmt.Errorf("read IVF header: %w", err)
	}
	if string(h[0:4]) != "DKIF" {
		return nil, ErrNotIVF
	}
	if string(h[8:12]) != "VP80" {
		return nil, fmt.Errorf("%w (%q)", ErrUnsupported, h[8:12])
	}
	size := binary.LittleEndian.Uint16(h[6:8])
	if size < 32 || size > 1024 {
		return nil, fmt.Errorf("%w: header size %d", ErrNotIVF, size)
	}
	if _, err := io.CopyN(io.Discard, r, int64(size)-32); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ErrNotIVF
		}
		return nil, fmt.Errorf("read IVF header: %w", err)
	}
	den, num := uint64(binary.LittleEndian.Uint32(h[16:20])), uint64(binary.LittleEndian.Uint32(h[20:24]))
	if den == 0 || num == 0 {
		return nil, fmt.Errorf("%w: time base %d/%d", ErrNotIVF, num, den)
	}
	return &ivfReader{r: r, num: num, den: den}, nil
}

// next returns the next frame: io.EOF at a clean end, io.ErrUnexpectedEOF
// inside a frame.
func (x *ivfReader) next() (ivfFrame, error) {
	if _, err := io.ReadFull(x.r, x.hdr[:]); err != nil {
		return ivfFrame{}, err
	}
	size := binary.LittleEndian.Uint32(x.hdr[0:4])
	if size == 0 || size > maxFrameBytes {
		return ivfFrame{}, fmt.Errorf("IVF frame of %d bytes", size)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(x.r, data); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return ivfFrame{}, err
	}
	pts := binary.LittleEndian.Uint64(x.hdr[4:12])
	ms := int64(pts / x.den * x.num * 1000) // whole seconds first: no overflow for any real length
	ms += int64(pts % x.den * x.num * 1000 / x.den)
	if ms < x.lastMS { // a frame out of order plays at the previous time
		ms = x.lastMS
	}
	x.lastMS = ms
	return ivfFrame{data: data, ms: ms}, nil
}

// keyFrameSize reads the picture size of a VP8 key frame (RFC 6386 §9.1).
func keyFrameSize(b []byte) (w, h int, ok bool) {
	if len(b) < 10 || b[0]&1 != 0 || !bytes.Equal(b[3:6], []byte{0x9d, 0x01, 0x2a}) {
		return 0, 0, false
	}
	w = int(binary.LittleEndian.Uint16(b[6:8]) & 0x3fff)
	h = int(binary.LittleEndian.Uint16(b[8:10]) & 0x3fff)
	return w, h, w > 0 && h > 0
}

// writeHeader writes the EBML header and the start of a Segment of unknown
// size (the stream is written as it is read) with its one video track.
func writeHeader(w io.Writer, width, height int) error {
	head := struct {
		Header  webm.EBMLHeader `ebml:"EBML"`
		Segment struct {
			Info   webm.Info   `ebml:"Info"`
			Tracks webm.Tracks `ebml:"Tracks"`
		} `ebml:"Segment,size=unknown"`
	}{Header: *webm.DefaultEBMLHeader}
	head.Segment.Info = webm.Info{TimecodeScale: 1000000, MuxingApp: "remoteidv", WritingApp: "remoteidv"}
	head.Segment.Tracks.TrackEntry = []webm.TrackEntry{{
		Name: "recording", TrackNumber: 1, TrackUID: 1, CodecID: "V_VP8", TrackType: 1,
		Video: &webm.Video{PixelWidth: uint64(width), PixelHeight: uint64(height)},
	}}
	if err := ebml.Marshal(&head, w); err != nil {
		return fmt.Errorf("write WebM header: %w", err)
	}
	return nil
}

// clusterWriter groups frames into clusters that start at a key frame
// (so a player can start there) and span at most maxClusterMS.
type clusterWriter struct {
	w     io.Writer
	start int64 // the first frame's time: the stream's zero
	base  int64 // this cluster's time
	last  int64
	size  int
	block []ebml.Block
}

func (c *clusterWriter) add(f ivfFrame) error {
	key := f.data[0]&1 == 0
	if len(c.block) > 0 && (key && f.ms-c.base >= 1000 || f.ms-c.base >= maxClusterMS || c.size+len(f.data) > maxClusterBytes) {
		if err := c.flush(); err != nil {
			return err
		}
	}
	if len(c.block) == 0 {
		c.base = f.ms
	}
	c.block = append(c.block, ebml.Block{TrackNumber: 1, Timecode: int16(f.ms - c.base), Keyframe: key, Data: [][]byte{f.data}})
	c.size += len(f.data)
	c.last = f.ms
	return nil
}

func (c *clusterWriter) flush() error {
	if len(c.block) == 0 {
		return nil
	}
	cl := struct {
		Cluster webm.Cluster `ebml:"Cluster"`
	}{webm.Cluster{Timecode: uint64(c.base - c.start), SimpleBlock: c.block}}
	if err := ebml.Marshal(&cl, c.w); err != nil {
		return fmt.Errorf("write WebM cluster: %w", err)
	}
	c.block, c.size = c.block[:0], 0
	return nil
}
