package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"remoteidv/signaling"
)

// callPeer is a call participant played by the test: a pion peer speaking
// the signaling protocol (docs/calls.md) over the server's WebSocket,
// sending VP8 from an .ivf file and Opus from an .ogg file, looping, and
// keeping every message the server sends but offers and candidates.
type callPeer struct {
	t         testing.TB
	ws        *websocket.Conn
	pc        *webrtc.PeerConnection
	wmu       sync.Mutex
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	connected chan struct{}
	closed    chan struct{} // the socket ended

	mu   sync.Mutex
	msgs []signaling.Message
	pli  bool
}

// dialCall joins the call at url (ws://...) with the request header
// (cookies) and sends ivf and ogg once the server's offer is answered.
func dialCall(t testing.TB, url string, header http.Header, ivf, ogg string) *callPeer {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", url, err, resp)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &callPeer{t: t, ws: ws, ctx: ctx, cancel: cancel, connected: make(chan struct{}), closed: make(chan struct{})}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if p.pc, err = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	p.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(p.connected) })
		}
	})
	p.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
		}
	})
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			init := c.ToJSON()
			p.send(signaling.Message{Type: signaling.TypeCandidate, Candidate: &signaling.Candidate{Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex}})
		}
	})
	p.wg.Add(1)
	go p.read(ivf, ogg)
	p.send(signaling.Message{Type: signaling.TypeJoin})
	t.Cleanup(p.close)
	return p
}

func (p *callPeer) send(m signaling.Message) {
	m.V = signaling.ProtocolVersion
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.ws.WriteJSON(m)
}

func (p *callPeer) read(ivf, ogg string) {
	defer p.wg.Done()
	defer close(p.closed)
	for {
		_, b, err := p.ws.ReadMessage()
		if err != nil {
			return
		}
		var m signaling.Message
		if err := json.Unmarshal(b, &m); err != nil {
			p.t.Errorf("the server sent bad JSON: %v", err)
			return
		}
		switch m.Type {
		case signaling.TypeOffer:
			if err := p.answer(m.SDP, ivf, ogg); err != nil {
				p.t.Errorf("answer: %v", err)
				return
			}
		case signaling.TypeCandidate:
			if err := p.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: m.Candidate.Candidate, SDPMid: m.Candidate.SDPMid, SDPMLineIndex: m.Candidate.SDPMLineIndex}); err != nil {
				p.t.Errorf("add candidate: %v", err)
			}
		default:
			p.mu.Lock()
			p.msgs = append(p.msgs, m)
			p.mu.Unlock()
		}
	}
}

func (p *callPeer) answer(sdp, ivf, ogg string) error {
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	for _, src := range []struct{ mime, path string }{{webrtc.MimeTypeVP8, ivf}, {webrtc.MimeTypeOpus, ogg}} {
		if src.path == "" {
			continue
		}
		tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: src.mime}, strings.ToLower(src.mime[:5]), "test")
		if err != nil {
			return err
		}
		s, err := p.pc.AddTrack(tr)
		if err != nil {
			return err
		}
		p.wg.Add(2)
		go p.drain(s)
		if src.mime == webrtc.MimeTypeVP8 {
			go p.sendIVF(tr, src.path)
		} else {
			go p.sendOgg(tr, src.path)
		}
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

// drain reads RTCP, noting picture loss indications.
func (p *callPeer) drain(s *webrtc.RTPSender) {
	defer p.wg.Done()
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pk := range pkts {
			if _, ok := pk.(*rtcp.PictureLossIndication); ok {
				p.mu.Lock()
				p.pli = true
				p.mu.Unlock()
			}
		}
	}
}

// sendIVF loops over the file's frames at 15 frames per second and
// answers a picture loss indication with the next key frame.
func (p *callPeer) sendIVF(tr *webrtc.TrackLocalStaticSample, path string) {
	defer p.wg.Done()
	data, err := os.ReadFile(path)
	if err != nil {
		p.t.Error(err)
		return
	}
	r, _, err := ivfreader.NewWith(strings.NewReader(string(data)))
	if err != nil {
		p.t.Error(err)
		return
	}
	var frames [][]byte
	for {
		f, _, err := r.ParseNextFrame()
		if err != nil {
			break
		}
		frames = append(frames, f)
	}
	tick := time.NewTicker(time.Second / 15)
	defer tick.Stop()
	for i := 0; len(frames) > 0; i = (i + 1) % len(frames) {
		p.mu.Lock()
		key := p.pli
		p.pli = false
		p.mu.Unlock()
		for key && frames[i][0]&1 != 0 {
			i = (i + 1) % len(frames)
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

// sendOgg loops over the file's Opus pages every 20 ms.
func (p *callPeer) sendOgg(tr *webrtc.TrackLocalStaticSample, path string) {
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

// waitConnected waits until media flows.
func (p *callPeer) waitConnected(d time.Duration) {
	p.t.Helper()
	select {
	case <-p.connected:
	case <-time.After(d):
		p.t.Fatalf("call peer not connected after %v; messages %+v", d, p.messages())
	}
}

// messages returns what the server sent so far (no offers or candidates).
func (p *callPeer) messages() []signaling.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]signaling.Message(nil), p.msgs...)
}

// waitFor waits up to d for a message of type typ matching ok (nil: any)
// and returns it.
func (p *callPeer) waitFor(typ string, ok func(signaling.Message) bool, d time.Duration) (signaling.Message, bool) {
	deadline := time.Now().Add(d)
	for {
		for _, m := range p.messages() {
			if m.Type == typ && (ok == nil || ok(m)) {
				return m, true
			}
		}
		if time.Now().After(deadline) {
			return signaling.Message{}, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// close leaves without a word and stops everything.
func (p *callPeer) close() {
	p.cancel()
	p.wmu.Lock()
	_ = p.ws.Close()
	p.wmu.Unlock()
	_ = p.pc.Close()
	p.wg.Wait()
}
