package signaling_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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
	connected        chan struct{}
}

type source struct{ ivf, ogg string }

func wsURL(base, path string) string { return "ws" + strings.TrimPrefix(base, "http") + path }

// dial connects to url, joins, answers the server's offer and starts
// sending m (if set).
func dial(t testing.TB, url string, header http.Header, m source) *testPeer {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &testPeer{t: t, ws: ws, msgs: make(chan signaling.Message, 64), closed: make(chan struct{}), ctx: ctx, cancel: cancel, connected: make(chan struct{})}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
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
		ctr := &p.audioIn
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			ctr = &p.videoIn
		}
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			ctr.Add(1)
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
			if err := p.answer(msg.SDP, m); err != nil {
				p.t.Errorf("answer: %v", err)
				return
			}
		case signaling.TypeCandidate:
			c := webrtc.ICECandidateInit{Candidate: msg.Candidate.Candidate, SDPMid: msg.Candidate.SDPMid, SDPMLineIndex: msg.Candidate.SDPMLineIndex}
			if err := p.pc.AddICECandidate(c); err != nil {
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
	if m.ivf != "" {
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
	p.send(signaling.Message{Type: signaling.TypeAnswer, SDP: ans.SDP})
	return nil
}

func (p *testPeer) drain(s *webrtc.RTPSender) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			if _, _, err := s.ReadRTCP(); err != nil {
				return
			}
		}
	}()
}

// sendIVF loops over the file's frames at 15 frames per second.
func (p *testPeer) sendIVF(tr *webrtc.TrackLocalStaticSample, path string) {
	defer p.wg.Done()
	data, err := os.ReadFile(path)
	if err != nil {
		p.t.Error(err)
		return
	}
	tick := time.NewTicker(time.Second / 15)
	defer tick.Stop()
	for {
		r, _, err := ivfreader.NewWith(strings.NewReader(string(data)))
		if err != nil {
			p.t.Error(err)
			return
		}
		for {
			frame, _, err := r.ParseNextFrame()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				p.t.Error(err)
				return
			}
			select {
			case <-p.ctx.Done():
				return
			case <-tick.C:
			}
			if err := tr.WriteSample(media.Sample{Data: frame, Duration: time.Second / 15}); err != nil && !errors.Is(err, io.ErrClosedPipe) {
				return
			}
		}
	}
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

// waitFor returns the next message of type typ (others are skipped).
func (p *testPeer) waitFor(typ string, d time.Duration) (signaling.Message, bool) {
	p.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case m := <-p.msgs:
			if m.Type == typ {
				return m, true
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
	_ = p.pc.Close()
	p.wg.Wait()
}
