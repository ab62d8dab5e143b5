package signaling_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"remoteidv/signaling"
)

// testPeer plays a participant: a Go pion peer speaking the signaling
// protocol, sending VP8 from an .ivf file and Opus from an .ogg file.
type testPeer struct {
	t      testing.TB
	ws     *websocket.Conn
	pc     *webrtc.PeerConnection
	wmu    sync.Mutex
	msgs   chan signaling.Message
	closed chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	videoIn, audioIn atomic.Int64 // RTP packets received from the server
	videoBytes       atomic.Int64 // RTP payload bytes of the video received
	connected        chan struct{}
	seq              seqRange // of the video received
	pli              atomic.Bool
	inject           chan []byte // RTP payloads sendIVFRTP slips in, with the padding bit set
	manual           chan *webrtc.TrackLocalStaticSample
	opts             peerOpts

	cmu         sync.Mutex
	serverCands []string // the server's ICE candidates: in its offers and trickled
}

// candidates are the server's ICE candidates received so far.
func (p *testPeer) candidates() []string {
	p.cmu.Lock()
	defer p.cmu.Unlock()
	return append([]string(nil), p.serverCands...)
}

func (p *testPeer) addCandidate(c string) {
	p.cmu.Lock()
	defer p.cmu.Unlock()
	p.serverCands = append(p.serverCands, strings.TrimPrefix(c, "a="))
}

// peerOpts make a test peer misbehave (hostile_test.go).
type peerOpts struct {
	// udp, when set, is the one socket ICE uses (a UDP mux), so that the
	// test can send raw datagrams from the peer's own address.
	udp net.PacketConn
	// mungeAnswer rewrites the SDP answer before it is sent.
	mungeAnswer func(sdp string) string
	// rtpVideo sends the ivf as RTP packetized by the test (through
	// p.rtp), so that it can slip in packets of its own making.
	rtpVideo bool
	// seq numbers the packets of rtpVideo (default: from a random start).
	seq rtp.Sequencer
	// networks limits the peer's ICE to these network types (say, TCP
	// only, as behind a firewall that lets no UDP out).
	networks []webrtc.NetworkType
}

type source struct {
	ivf, ogg string
	manual   bool // a VP8 track the test writes itself (p.manual)
}

func wsURL(base, path string) string { return "ws" + strings.TrimPrefix(base, "http") + path }

// dial connects to url, joins, answers the server's offer and starts
// sending m (if set).
func dial(t testing.TB, url string, header http.Header, m source) *testPeer {
	t.Helper()
	return dialWith(t, url, header, m, peerOpts{})
}

// dialWith is dial with a misbehaving peer.
func dialWith(t testing.TB, url string, header http.Header, m source, opts peerOpts) *testPeer {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &testPeer{t: t, ws: ws, msgs: make(chan signaling.Message, 64), closed: make(chan struct{}), ctx: ctx, cancel: cancel, connected: make(chan struct{}),
		manual: make(chan *webrtc.TrackLocalStaticSample, 1), opts: opts, inject: make(chan []byte, 8)}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	if opts.udp != nil {
		se.SetICEUDPMux(webrtc.NewICEUDPMux(nil, opts.udp))
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
	if opts.networks != nil {
		se.SetNetworkTypes(opts.networks)
	}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	p.pc, err = api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	p.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(p.connected) })
		}
	})
	p.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		video := tr.Kind() == webrtc.RTPCodecTypeVideo
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if video {
				p.videoIn.Add(1)
				p.videoBytes.Add(int64(len(pkt.Payload)))
				p.seq.add(pkt.SequenceNumber)
			} else {
				p.audioIn.Add(1)
			}
		}
	})
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		p.send(signaling.Message{Type: signaling.TypeCandidate, Candidate: &signaling.Candidate{Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex}})
	})
	p.wg.Add(1)
	go p.read(m)
	p.send(signaling.Message{Type: signaling.TypeJoin})
	return p
}

func (p *testPeer) send(m signaling.Message) {
	m.V = signaling.ProtocolVersion
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.ws.WriteJSON(m)
}

func (p *testPeer) read(m source) {
	defer p.wg.Done()
	defer close(p.closed)
	for {
		_, b, err := p.ws.ReadMessage()
		if err != nil {
			return
		}
		var msg signaling.Message
		if err := json.Unmarshal(b, &msg); err != nil {
			p.t.Errorf("server sent bad JSON: %v", err)
			return
		}
		switch msg.Type {
		case signaling.TypeOffer:
			for _, line := range strings.Split(msg.SDP, "\n") {
				if strings.HasPrefix(line, "a=candidate:") {
					p.addCandidate(strings.TrimSpace(line))
				}
			}
			// Once close has begun (it cancels before closing the peer
			// connection), messages still in flight meet a closed peer.
			if err := p.answer(msg.SDP, m); err != nil && p.ctx.Err() == nil {
				p.t.Errorf("answer: %v", err)
				return
			}
		case signaling.TypeCandidate:
			p.addCandidate(msg.Candidate.Candidate)
			c := webrtc.ICECandidateInit{Candidate: msg.Candidate.Candidate, SDPMid: msg.Candidate.SDPMid, SDPMLineIndex: msg.Candidate.SDPMLineIndex}
			if err := p.pc.AddICECandidate(c); err != nil && p.ctx.Err() == nil {
				p.t.Errorf("add candidate: %v", err)
			}
		default:
			select {
			case p.msgs <- msg:
			default:
			}
		}
	}
}

func (p *testPeer) answer(sdp string, m source) error {
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	if m.manual {
		v, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "test")
		if err != nil {
			return err
		}
		s, err := p.pc.AddTrack(v)
		if err != nil {
			return err
		}
		p.drain(s)
		select {
		case p.manual <- v:
		case <-p.ctx.Done():
		}
	}
	if m.ivf != "" && p.opts.rtpVideo {
		v, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "test")
		if err != nil {
			return err
		}
		s, err := p.pc.AddTrack(v)
		if err != nil {
			return err
		}
		p.drain(s)
		p.wg.Add(1)
		go p.sendIVFRTP(v, m.ivf)
	} else if m.ivf != "" {
		v, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "test")
		if err != nil {
			return err
		}
		s, err := p.pc.AddTrack(v)
		if err != nil {
			return err
		}
		p.drain(s)
		p.wg.Add(1)
		go p.sendIVF(v, m.ivf)
	}
	if m.ogg != "" {
		a, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "test")
		if err != nil {
			return err
		}
		s, err := p.pc.AddTrack(a)
		if err != nil {
			return err
		}
		p.drain(s)
		p.wg.Add(1)
		go p.sendOgg(a, m.ogg)
	}
	ans, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := p.pc.SetLocalDescription(ans); err != nil {
		return err
	}
	if p.opts.mungeAnswer != nil {
		ans.SDP = p.opts.mungeAnswer(ans.SDP)
	}
	p.send(signaling.Message{Type: signaling.TypeAnswer, SDP: ans.SDP})
	return nil
}

func (p *testPeer) drain(s *webrtc.RTPSender) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			pkts, _, err := s.ReadRTCP()
			if err != nil {
				return
			}
			for _, pk := range pkts {
				if _, ok := pk.(*rtcp.PictureLossIndication); ok {
					p.pli.Store(true)
				}
			}
		}
	}()
}

// readIVF returns the frames of an .ivf file.
func readIVF(t testing.TB, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := ivfreader.NewWith(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for {
		frame, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, frame)
	}
}

// sendIVF loops over the file's frames at 15 frames per second; like an
// encoder it answers a PLI with the next key frame.
func (p *testPeer) sendIVF(tr *webrtc.TrackLocalStaticSample, path string) {
	defer p.wg.Done()
	frames := readIVF(p.t, path)
	tick := time.NewTicker(time.Second / 15)
	defer tick.Stop()
	for i := 0; ; i = (i + 1) % len(frames) {
		if p.pli.Swap(false) {
			for frames[i][0]&1 != 0 {
				i = (i + 1) % len(frames)
			}
		}
		select {
		case <-p.ctx.Done():
			return
		case <-tick.C:
		}
		if err := tr.WriteSample(media.Sample{Data: frames[i], Duration: time.Second / 15}); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			return
		}
	}
}

// seqRange counts received RTP sequence numbers to measure loss.
type seqRange struct {
	mu             sync.Mutex
	first, highest int64
	last           uint16
	n              int64
}

func (s *seqRange) add(seq uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		s.first, s.highest, s.last = int64(seq), int64(seq), seq
	} else {
		ext := s.highest + int64(int16(seq-s.last))
		if ext > s.highest {
			s.highest, s.last = ext, seq
		}
	}
	s.n++
}

// reset starts counting afresh from the next packet.
func (s *seqRange) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n, s.first = 0, s.highest+1
}

// loss returns the fraction of packets missing from the received range.
func (s *seqRange) loss() (received, expected int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return 0, 0
	}
	return s.n, s.highest - s.first + 1
}

// sendOgg loops over the file's Opus pages every 20 ms.
func (p *testPeer) sendOgg(tr *webrtc.TrackLocalStaticSample, path string) {
	defer p.wg.Done()
	data, err := os.ReadFile(path)
	if err != nil {
		p.t.Error(err)
		return
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		r, _, err := oggreader.NewWith(strings.NewReader(string(data)))
		if err != nil {
			p.t.Error(err)
			return
		}
		for {
			page, _, err := r.ParseNextPage()
			if err != nil {
				break
			}
			if len(page) >= 8 && (string(page[:8]) == "OpusTags" || string(page[:8]) == "OpusHead") {
				continue
			}
			select {
			case <-p.ctx.Done():
				return
			case <-tick.C:
			}
			if err := tr.WriteSample(media.Sample{Data: page, Duration: 20 * time.Millisecond}); err != nil && !errors.Is(err, io.ErrClosedPipe) {
				return
			}
		}
	}
}

// waitFor returns the next message of type typ or an error message
// (others are skipped).
func (p *testPeer) waitFor(typ string, d time.Duration) (signaling.Message, bool) {
	p.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case m := <-p.msgs:
			if m.Type == typ {
				return m, true
			}
			if m.Type == signaling.TypeError && typ != signaling.TypeError {
				return m, false
			}
		case <-timeout:
			return signaling.Message{}, false
		}
	}
}

// close leaves (bye with reason if set) and stops everything.
func (p *testPeer) close(reason string) {
	if reason != "" {
		p.send(signaling.Message{Type: signaling.TypeBye, Reason: reason})
	}
	p.cancel()
	p.wmu.Lock()
	_ = p.ws.Close()
	p.wmu.Unlock()
	// The read loop first: an answer it is making must not race Close
	// (pion checks for a closed connection before it takes its lock, so
	// an ICE agent made just after a Close that found none would live on).
	<-p.closed
	_ = p.pc.Close()
	p.wg.Wait()
}
