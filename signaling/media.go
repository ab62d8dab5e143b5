package signaling

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"image/jpeg"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfwriter"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
	"golang.org/x/image/vp8"

	"remoteidv/models"
	"remoteidv/storage/encfile"
)

// maxRTPPacket is the largest RTP packet read (pion's receive MTU).
const maxRTPPacket = 1460

// forward relays one remote track to the other side, records it, feeds
// the capture grabber and the quality counters, until the track ends.
func (pe *peer) forward(t *webrtc.TrackRemote) {
	rm := pe.rm
	video := t.Kind() == webrtc.RTPCodecTypeVideo
	var dst *webrtc.TrackLocalStaticRTP
	switch {
	case pe.p.Role == RoleCustomer && video:
		dst = rm.custVideo
	case pe.p.Role == RoleCustomer:
		dst = rm.custAudio
	case video:
		dst = rm.clerkVideo
	default:
		dst = rm.clerkAudio
	}
	out := rm.relays[dst].source()
	if video {
		pe.videoSSRC.Store(uint32(t.SSRC()))
		pe.requestKeyFrame()
	}
	customer := pe.p.Role == RoleCustomer
	kind := "audio"
	if video {
		kind = "video"
	}
	seg := &models.CallSegment{CallID: rm.call, Seq: rm.nextSeq(string(pe.p.Role), kind), Participant: string(pe.p.Role), Track: kind, StartedAt: rm.h.cfg.Now().UTC()}
	rec, err := newRecorder(rm.h.cfg.RecordDir, rm.h.cfg.RecordKey, rm.h.cfg.Now, rm.caseID, seg)
	if err != nil {
		rm.recordingFailed("open recorder", err)
		rm.recorderFailed(pe, kind)
	}
	var pos mediaPos // where the packets land in the recording, once it has a frame
	var malformed int
	for {
		// Read, then parse: a packet that authenticates but does not parse
		// as RTP (impossible padding, say) is the peer's own garbage and is
		// dropped; only the end of the track ends the relay and recording.
		buf := make([]byte, maxRTPPacket)
		n, _, err := t.Read(buf)
		if err != nil {
			break
		}
		pkt := &rtp.Packet{}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			if malformed++; malformed == 1 || malformed%1000 == 0 {
				pe.log.Warn("dropped malformed RTP packets", "track", kind, "count", malformed, "err", err)
			}
			continue
		}
		now := rm.h.cfg.Now()
		rm.mediaArrived(pe, now)
		if rec != nil && !rec.stopped {
			before := rec.n
			if err := rec.write(pkt); err != nil {
				rm.recordingFailed("write "+seg.Participant+" "+kind, err)
				rec.abort()
				rec = nil
				rm.recorderFailed(pe, kind)
			} else if !rm.wrote(int64(rec.n - before)) {
				// The call's recording cap: this segment ends here and is
				// saved whole when the track ends with the call.
				rec.stopped = true
			}
		}
		pos = mediaPos{}
		if rec != nil && rec.started && !rec.stopped {
			pos = mediaPos{seq: seg.Seq, origin: rec.origin, recording: true}
		}
		if customer {
			if video {
				rm.grab.push(pkt, now, pos)
				rm.stats.video(pkt, time.Now())
			} else {
				rm.stats.audio(pkt)
			}
		}
		if err := out.write(pkt); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			pe.log.Debug("forward", "err", err)
		}
	}
	if rec == nil {
		return
	}
	seg.EndedAt = rm.h.cfg.Now().UTC()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := rec.save(ctx, rm, seg); err != nil {
		rm.recordingFailed("save "+seg.Participant+" "+kind, err)
	}
}

// relay writes one of the room's outgoing tracks. The participants who
// feed it come and go, and each new connection is a source with its own
// random first sequence number and timestamp: the relay renumbers each
// source's packets to go on from the last one sent, since receivers drop
// packets whose sequence number goes back (SRTP replay protection) and
// would see nothing of a reconnected participant.
type relay struct {
	track *webrtc.TrackLocalStaticRTP
	step  uint32 // timestamp gap between two sources (20 ms of the clock)

	mu   sync.Mutex
	sent bool
	seq  uint16 // newest packet sent
	ts   uint32
}

func newRelay(t *webrtc.TrackLocalStaticRTP, clockRate uint32) *relay {
	return &relay{track: t, step: clockRate / 50}
}

// relaySource is one source's renumbering; one goroutine uses it.
type relaySource struct {
	r    *relay
	init bool
	dseq uint16
	dts  uint32
}

func (r *relay) source() *relaySource { return &relaySource{r: r} }

// write sends p, renumbered, on the relay's track (p itself is unchanged).
func (s *relaySource) write(p *rtp.Packet) error {
	r := s.r
	r.mu.Lock()
	if !s.init {
		s.init = true
		if r.sent {
			s.dseq = r.seq + 1 - p.SequenceNumber
			s.dts = r.ts + r.step - p.Timestamp
		}
	}
	out := *p
	out.SequenceNumber += s.dseq
	out.Timestamp += s.dts
	if !r.sent || int16(out.SequenceNumber-r.seq) > 0 {
		r.sent, r.seq, r.ts = true, out.SequenceNumber, out.Timestamp
	}
	r.mu.Unlock()
	return r.track.WriteRTP(&out)
}

// segmentFileName names a segment's file while it is written so that, after
// a crash, Hub.Recover knows whose it is: rec.<case>.<call>.<participant>.
// <track>.<seq>.<start µs>. (IDs hold only letters, digits and "_").
func segmentFileName(c models.CaseID, seg *models.CallSegment) string {
	return fmt.Sprintf("rec.%s.%s.%s.%s.%d.%d.", c, seg.CallID, seg.Participant, seg.Track, seg.Seq, seg.StartedAt.UnixMicro())
}

// parseSegmentFileName reverses segmentFileName.
func parseSegmentFileName(name string) (models.CaseID, *models.CallSegment, bool) {
	p := strings.Split(name, ".")
	if len(p) != 8 || p[0] != "rec" || !models.ValidID("case", p[1]) || !models.ValidID("call", p[2]) ||
		(p[3] != string(RoleCustomer) && p[3] != string(RoleClerk)) || (p[4] != "audio" && p[4] != "video") {
		return "", nil, false
	}
	seq, err1 := strconv.Atoi(p[5])
	start, err2 := strconv.ParseInt(p[6], 10, 64)
	if err1 != nil || err2 != nil || seq < 1 {
		return "", nil, false
	}
	return models.CaseID(p[1]), &models.CallSegment{CallID: models.CallID(p[2]), Participant: p[3], Track: p[4], Seq: seq,
		StartedAt: time.UnixMicro(start).UTC()}, true
}

// writerRTP is what ivfwriter and oggwriter have in common.
type writerRTP interface {
	WriteRTP(*rtp.Packet) error
	Close() error
}

// recorder writes one track to a temporary file (IVF for VP8, Ogg for
// Opus), hashing while it writes.
type recorder struct {
	f           *os.File
	key         *encfile.Key
	enc         *encfile.Writer // between the writer and f when encrypting
	h           hash.Hash
	w           writerRTP
	n           counter // bytes written
	contentType string
	// started is set once the writer has stored a frame; origin is that
	// frame's RTP timestamp, from which the IVF writer counts its frame
	// timestamps (WithDirectPTS), so a packet's place in the file is
	// (timestamp - origin) / 90 ms.
	started bool
	origin  uint32
	// stopped is set at the call's recording cap: nothing more is written.
	stopped bool
}

// counter counts the bytes written through it.
type counter int64

func (c *counter) Write(p []byte) (int, error) { *c += counter(len(p)); return len(p), nil }

// recordFlush bounds what a crash loses of an encrypted recording: the
// encrypting writer seals what it holds once it is this old (by the hub's
// clock), where it would otherwise wait for a full 64 KiB chunk (up to 14 s
// of Opus audio). Recover keeps every sealed chunk.
const recordFlush = time.Second

// newRecorder opens a recording file in dir for seg. With key the file is
// encrypted, flushed every recordFlush by now. Nothing between the media
// writer and the file buffers: every packet reaches the file (the
// operating system's page cache, which outlives a killed process) as it
// is written, or once sealed when encrypted.
func newRecorder(dir string, key *encfile.Key, now func() time.Time, c models.CaseID, seg *models.CallSegment) (*recorder, error) {
	video := seg.Track == "video"
	f, err := os.CreateTemp(dir, segmentFileName(c, seg)+"*")
	if err != nil {
		return nil, fmt.Errorf("new recorder: %w", err)
	}
	r := &recorder{f: f, key: key, h: sha256.New()}
	var file io.Writer = f
	if key != nil {
		if r.enc, err = key.NewWriter(f, rand.Reader, encfile.WithFlushEvery(recordFlush, now)); err != nil {
			r.abort()
			return nil, fmt.Errorf("new recorder: %w", err)
		}
		file = r.enc
	}
	out := io.MultiWriter(file, r.h, &r.n) // not a WriteSeeker: headers are never rewritten behind the hash
	if video {
		r.contentType = "video/x-ivf"
		// Frame times are the RTP clock (90 kHz) from the first frame, and
		// the header says so (time base 1/90000): any IVF reader gets them
		// right. (ivfwriter's default writes milliseconds/30 under a 1/30
		// time base, which plays 10% slow.)
		r.w, err = ivfwriter.NewWith(out, ivfwriter.WithCodec(webrtc.MimeTypeVP8), ivfwriter.WithDirectPTS(), ivfwriter.WithFrameRate(1, 90000))
	} else {
		r.contentType = "audio/ogg"
		r.w, err = oggwriter.NewWith(out, 48000, 2)
	}
	if err != nil {
		r.abort()
		return nil, fmt.Errorf("new recorder: %w", err)
	}
	return r, nil
}

// write records one packet. The packet that makes the writer store its
// first frame sets origin: the IVF writer takes the same packet's
// timestamp as its zero.
func (r *recorder) write(p *rtp.Packet) error {
	before := r.n
	err := r.w.WriteRTP(p)
	if !r.started && r.n > before {
		r.started, r.origin = true, p.Timestamp
	}
	return err
}

func (r *recorder) abort() {
	_ = r.f.Close()
	_ = os.Remove(r.f.Name())
}

// save closes the file and hands it to the workflow as evidence; the
// stored hash must equal the one computed while writing.
func (r *recorder) save(ctx context.Context, rm *room, seg *models.CallSegment) error {
	defer r.abort()
	if err := r.w.Close(); err != nil {
		return fmt.Errorf("close %s segment %d: %w", seg.Track, seg.Seq, err)
	}
	if r.enc != nil {
		if err := r.enc.Close(); err != nil {
			return fmt.Errorf("close %s segment %d: %w", seg.Track, seg.Seq, err)
		}
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("sync %s segment %d: %w", seg.Track, seg.Seq, err)
	}
	var body io.Reader = r.f
	if r.enc != nil {
		rc, err := encfile.Open(r.f.Name(), r.key)
		if err != nil {
			return fmt.Errorf("read %s segment %d: %w", seg.Track, seg.Seq, err)
		}
		defer rc.Close()
		body = rc
	} else if _, err := r.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	sum := hex.EncodeToString(r.h.Sum(nil))
	if err := rm.h.wf.SaveSegment(ctx, rm.caseID, seg, r.contentType, body); err != nil {
		return err
	}
	if seg.SHA256 != sum {
		return fmt.Errorf("segment %d %s: stored hash %s differs from the recorded %s", seg.Seq, seg.Track, seg.SHA256, sum)
	}
	return nil
}

// frame is a captured key frame: seq is the customer's video segment it
// was recorded in (0 when nothing was being recorded) and mediaMS its time
// in that segment's file.
type frame struct {
	jpeg    []byte
	vp8     []byte // the key frame itself, undecoded (stream mode)
	at      time.Time
	seq     int
	mediaMS int64
	err     error
}

// mediaPos locates the customer's video packets in the recording: the
// segment's Seq and the RTP timestamp of its first recorded frame.
type mediaPos struct {
	seq       int
	origin    uint32
	recording bool
}

// mediaMS is the time of RTP timestamp ts in the segment's file, in ms
// (the IVF frame timestamp / 90); ok is false when ts is not in it.
func (m mediaPos) mediaMS(ts uint32) (int64, bool) {
	d := ts - m.origin
	if !m.recording || d >= 1<<31 {
		return 0, false
	}
	return int64(d) / 90, true
}

// grabber rebuilds the customer's next complete VP8 key frame from RTP
// while it is armed, and delivers it decoded and re-encoded as JPEG.
type grabber struct {
	mu     sync.Mutex
	out    chan frame
	stream bool // deliver every key frame undecoded until disarmed
	sb     *samplebuilder.SampleBuilder
	dec    *vp8.Decoder
}

func newGrabber() *grabber { return &grabber{dec: vp8.NewDecoder()} }

func (g *grabber) arm() chan frame {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.out, g.stream = make(chan frame, 1), false
	g.sb = samplebuilder.New(1024, &codecs.VP8Packet{}, 90000)
	return g.out
}

// armStream delivers every complete key frame, undecoded (the receiver
// decodes, so the media path never waits on it), until disarmed; frames
// beyond the channel's room of n are dropped.
func (g *grabber) armStream(n int) chan frame {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.out, g.stream = make(chan frame, n), true
	g.sb = samplebuilder.New(1024, &codecs.VP8Packet{}, 90000)
	return g.out
}

func (g *grabber) disarm(ch chan frame) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.out == ch {
		g.out, g.sb = nil, nil
	}
}

func (g *grabber) push(p *rtp.Packet, now time.Time, pos mediaPos) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.out == nil {
		return
	}
	g.sb.Push(p)
	for s := g.sb.Pop(); s != nil; s = g.sb.Pop() {
		if len(s.Data) < 10 || s.Data[0]&1 != 0 {
			continue // not a key frame
		}
		if g.stream {
			f := frame{vp8: s.Data, at: now}
			if ms, ok := pos.mediaMS(s.PacketTimestamp); ok {
				f.seq, f.mediaMS = pos.seq, ms
			}
			select {
			case g.out <- f:
			default: // the receiver is behind: drop, never block the media
			}
			continue
		}
		img, err := decodeKeyFrame(g.dec, s.Data)
		if err != nil {
			continue // a damaged frame: wait for the next one
		}
		f := frame{jpeg: img, at: now}
		if ms, ok := pos.mediaMS(s.PacketTimestamp); ok {
			f.seq, f.mediaMS = pos.seq, ms
		}
		g.out <- f
		g.out, g.sb = nil, nil
		return
	}
}

// decodeKeyFrame decodes a VP8 key frame and encodes it as JPEG. It never
// panics on hostile input.
func decodeKeyFrame(d *vp8.Decoder, data []byte) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("decode key frame: %v", p)
		}
	}()
	d.Init(bytes.NewReader(data), len(data))
	fh, err := d.DecodeFrameHeader()
	if err != nil {
		return nil, fmt.Errorf("decode key frame header: %w", err)
	}
	if !fh.KeyFrame || fh.Width <= 0 || fh.Height <= 0 || fh.Width*fh.Height > 4096*4096 {
		return nil, fmt.Errorf("decode key frame: not a usable key frame")
	}
	img, err := d.DecodeFrame()
	if err != nil {
		return nil, fmt.Errorf("decode key frame: %w", err)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 92}); err != nil {
		return nil, fmt.Errorf("encode capture: %w", err)
	}
	return b.Bytes(), nil
}

// stats counts the customer's inbound media for quality samples.
type stats struct {
	mu                     sync.Mutex
	videoBytes, audioBytes int64
	frames                 int64
	received, expected     int64
	lastSeq                uint16
	haveSeq                bool
	width, height          int
	jitter                 float64 // RFC 3550, in RTP units
	lastTransit            float64
	haveTransit            bool
	last                   time.Time
}

func (s *stats) video(p *rtp.Packet, arrival time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.videoBytes += int64(len(p.Payload))
	s.received++
	if !s.haveSeq {
		s.expected, s.lastSeq, s.haveSeq = s.expected+1, p.SequenceNumber, true
	} else if d := p.SequenceNumber - s.lastSeq; d > 0 && d < 0x8000 {
		s.expected += int64(d)
		s.lastSeq = p.SequenceNumber
	}
	if p.Marker {
		s.frames++
	}
	transit := float64(arrival.UnixNano())*90000/1e9 - float64(p.Timestamp)
	if s.haveTransit {
		s.jitter += (math.Abs(transit-s.lastTransit) - s.jitter) / 16
	}
	s.lastTransit, s.haveTransit = transit, true
	var vp codecs.VP8Packet
	if payload, err := vp.Unmarshal(p.Payload); err == nil && vp.S == 1 && vp.PID == 0 && len(payload) >= 10 && payload[0]&1 == 0 {
		s.width = int(binary.LittleEndian.Uint16(payload[6:8]) & 0x3fff)
		s.height = int(binary.LittleEndian.Uint16(payload[8:10]) & 0x3fff)
	}
}

func (s *stats) audio(p *rtp.Packet) {
	s.mu.Lock()
	s.audioBytes += int64(len(p.Payload))
	s.mu.Unlock()
}

// sample returns the quality since the last sample and resets the counters.
func (s *stats) sample(now time.Time) Quality {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := Quality{At: now.UTC(), Width: s.width, Height: s.height, JitterMS: s.jitter / 90}
	if !s.last.IsZero() {
		if sec := now.Sub(s.last).Seconds(); sec > 0 {
			q.FPS = float64(s.frames) / sec
			q.VideoKbps = float64(s.videoBytes) * 8 / 1000 / sec
			q.AudioKbps = float64(s.audioBytes) * 8 / 1000 / sec
		}
	}
	if s.expected > 0 && s.expected > s.received {
		q.LossPercent = float64(s.expected-s.received) * 100 / float64(s.expected)
	}
	s.last = now
	s.videoBytes, s.audioBytes, s.frames, s.received, s.expected = 0, 0, 0, 0, 0
	return q
}
