package signaling

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"remoteidv/models"
)

// peer is one participant's WebSocket and the server's PeerConnection with
// them. Writes to the socket are serialized; close is idempotent and waits
// for every goroutine the peer started.
type peer struct {
	rm  *room
	ws  *websocket.Conn
	p   Participant
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wmu    sync.Mutex // serializes socket writes

	// Read-loop state (only the read loop touches these).
	candidates int
	pending    []webrtc.ICECandidateInit
	answered   bool
	rate       rate

	videoSSRC atomic.Uint32 // the participant's video, for PLIs
	// lastMedia is when the participant's latest packet arrived (unix
	// µs, 0 before any): an interruption starts there. mediaOnce marks
	// the first, which ends the party's open interruptions.
	lastMedia atomic.Int64
	mediaOnce sync.Once
	joined    atomic.Bool   // admitted into the call
	bye       atomic.Bool   // the participant said bye
	left      atomic.Bool   // leave has looked at the peer's interruption
	downState atomic.Uint32 // the PeerConnectionState that put the participant out
	// mediaUp is set once the peer connection was connected (ICE and
	// DTLS done): a close before that is a failure to connect, not the
	// party closing a working connection.
	mediaUp   atomic.Bool
	pc        atomic.Pointer[webrtc.PeerConnection]
	downSeen  atomic.Bool // the PeerConnection failed or was closed under us
	mediaDown atomic.Bool // ... and the participant is out for that

	cmu       sync.Mutex // guards offerSent and early
	offerSent bool
	early     []Message // our candidates gathered before the offer went out

	// setup is held by start from adopting its PeerConnection until the
	// local description is set (pion's ICE agent exists by then), and by
	// close around pc.Close: pion checks for a closed connection before it
	// takes its own lock, so a Close that ran between that check and the
	// agent's creation found no agent to close, and the one made after it
	// (mDNS sockets, read loops) outlived the peer.
	setup sync.Mutex
	// afterAdopt, when set (tests only), runs in start once the
	// PeerConnection is adopted, with setup held.
	afterAdopt func()

	mu      sync.Mutex
	closing bool
	reason  string // why the peer was closed (guarded by mu)
	wg      sync.WaitGroup
	once    sync.Once
	done    chan struct{}

	session string // a staff participant's session now (guarded by the hub's mu)
}

func newPeer(rm *room, ws *websocket.Conn, p Participant, log *slog.Logger) *peer {
	ctx, cancel := context.WithCancel(rm.ctx)
	return &peer{rm: rm, ws: ws, p: p, log: log, ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// goTracked starts fn unless the peer is closing.
func (pe *peer) goTracked(fn func()) bool {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	if pe.closing {
		return false
	}
	pe.wg.Add(1)
	go func() {
		defer pe.wg.Done()
		fn()
	}()
	return true
}

// mediaGrace is how long a participant whose media connection failed or
// was closed keeps its socket (for a bye on its way).
const mediaGrace = 2 * time.Second

// send writes one message; a failed write ends the peer.
func (pe *peer) send(m Message) {
	m.V = ProtocolVersion
	pe.wmu.Lock()
	defer pe.wmu.Unlock()
	_ = pe.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := pe.ws.WriteJSON(m); err != nil {
		pe.cancel()
	}
}

// close tears the peer down: bye to the client, socket and PeerConnection
// closed, goroutines waited for (recordings are handed over by then).
func (pe *peer) close(reason string) {
	pe.once.Do(func() {
		pe.mu.Lock()
		pe.closing, pe.reason = true, reason
		pe.mu.Unlock()
		pe.send(Message{Type: TypeBye, Reason: reason})
		pe.cancel()
		pe.wmu.Lock()
		_ = pe.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = pe.ws.Close()
		pe.wmu.Unlock()
		pe.setup.Lock()
		if pc := pe.pc.Load(); pc != nil {
			if err := pc.Close(); err != nil {
				pe.log.Warn("close peer connection", "err", err)
			}
		}
		pe.setup.Unlock()
		pe.wg.Wait()
		close(pe.done)
	})
	<-pe.done
}

// closeReason is why the peer was closed ("" while it is open).
// isClosing reports whether close has begun.
func (pe *peer) isClosing() bool {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	return pe.closing
}

func (pe *peer) closeReason() string {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	return pe.reason
}

// allowed asks whether a staff participant may still take part (nil for
// others and when the answer is passing trouble, which is logged).
func (pe *peer) allowed(ctx context.Context) error {
	if pe.p.Allowed == nil {
		return nil
	}
	err := pe.p.Allowed(ctx, pe.rm.h.sessionOf(pe))
	if err != nil && !revoked(err) {
		pe.log.Warn("cannot check the staff participant's session; keeping them", "err", err)
		return nil
	}
	return err
}

// fail tells the client why its socket is being closed.
func (pe *peer) fail(code, text string) string {
	pe.send(errorMessage(code, text))
	return code + ": " + text
}

// run reads the socket until the peer leaves or breaks a rule, and returns
// why it stopped.
func (pe *peer) run() string {
	pe.ws.SetReadLimit(maxMessageBytes)
	deadline := time.Now().Add(pe.rm.h.cfg.HandshakeTimeout)
	_ = pe.ws.SetReadDeadline(deadline)
	if !pe.goTracked(func() {
		<-pe.ctx.Done()
		_ = pe.ws.SetReadDeadline(time.Now()) // unblocks the read below
	}) {
		return "closed"
	}
	for {
		_, b, err := pe.ws.ReadMessage()
		if err != nil {
			switch {
			case pe.mediaDown.Load():
				return reasonMedia
			case pe.ctx.Err() != nil:
				return pe.rm.why() // the call ended: the peer is told why (shutdown, cancelled, time up)
			case errors.Is(err, websocket.ErrReadLimit):
				return pe.fail("too_large", "message larger than the limit")
			case !pe.answered && isTimeout(err):
				return pe.fail("timeout", "no answer in time")
			}
			return reasonSocket
		}
		if !pe.rate.allow(time.Now()) {
			return pe.fail("rate_limited", "more than 20 messages per second")
		}
		m, err := ParseMessage(b)
		if errors.Is(err, ErrTooLarge) {
			return pe.fail("too_large", err.Error())
		}
		if err != nil {
			return pe.fail("invalid", err.Error())
		}
		if stop := pe.handle(m); stop != "" {
			return stop
		}
		if pe.answered {
			_ = pe.ws.SetReadDeadline(time.Time{})
		}
	}
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// handle acts on one message; a non-empty answer ends the peer.
func (pe *peer) handle(m *Message) string {
	switch m.Type {
	case TypeJoin:
		if pe.pc.Load() != nil {
			return pe.fail("invalid", "already joined")
		}
		if err := pe.start(); errors.Is(err, errPeerClosing) {
			return "closed"
		} else if err != nil {
			pe.log.Warn("start peer connection", "err", err)
			return pe.fail("internal", "could not start the media connection")
		}
	case TypeAnswer:
		pc := pe.pc.Load()
		if pc == nil || pe.answered {
			return pe.fail("invalid", "unexpected answer")
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
			return pe.fail("invalid", "the answer was refused")
		}
		pe.answered = true
		for _, c := range pe.pending {
			if err := pc.AddICECandidate(c); err != nil {
				return pe.fail("invalid", "bad ICE candidate")
			}
		}
		pe.pending = nil
	case TypeCandidate:
		pe.candidates++
		if pe.candidates > MaxCandidates {
			return pe.fail("too_many", "more than 50 ICE candidates")
		}
		pc := pe.pc.Load()
		if pc == nil {
			return pe.fail("invalid", "candidate before join")
		}
		c := webrtc.ICECandidateInit{Candidate: m.Candidate.Candidate, SDPMid: m.Candidate.SDPMid, SDPMLineIndex: m.Candidate.SDPMLineIndex, UsernameFragment: m.Candidate.UsernameFragment}
		if c.Candidate == "" {
			return "" // end of candidates
		}
		if !pe.answered {
			pe.pending = append(pe.pending, c)
			return ""
		}
		if err := pc.AddICECandidate(c); err != nil {
			return pe.fail("invalid", "bad ICE candidate")
		}
	case TypeCapture:
		if pe.p.Role != RoleClerk {
			return pe.fail("forbidden", "only the clerk takes captures")
		}
		if err := pe.allowed(pe.ctx); err != nil {
			return pe.fail(string(models.ErrorCodeOf(err)), "capture refused: "+models.ErrorMessageOf(err))
		}
		pe.rm.capture(pe)
	case TypeChallenge:
		if pe.p.Role != RoleClerk {
			return pe.fail("forbidden", "only the clerk starts the liveness challenge")
		}
		if err := pe.allowed(pe.ctx); err != nil {
			return pe.fail(string(models.ErrorCodeOf(err)), "challenge refused: "+models.ErrorMessageOf(err))
		}
		pe.rm.challenge(pe)
	case TypeBye:
		pe.bye.Store(true)
		reason := m.Reason
		if reason == "" {
			reason = "left"
		}
		if pe.p.Role == RoleClerk {
			pe.rm.end("clerk ended the call: " + reason)
		}
		return reason
	}
	return ""
}

// errPeerClosing: the peer was closed while its PeerConnection was being
// made.
var errPeerClosing = errors.New("signaling: the participant left while the media connection was being made")

// adopt makes pc the peer's PeerConnection unless close has begun. close
// sets closing under mu before it looks for a PeerConnection, so either it
// finds pc or adopt refuses it: a connection made while the peer is being
// closed (the call ends, the staff member is signed out, a new socket
// replaces this one) is never left running.
func (pe *peer) adopt(pc *webrtc.PeerConnection) bool {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	if pe.closing {
		return false
	}
	pe.pc.Store(pc)
	return true
}

// start creates the PeerConnection, sends the welcome and the offer.
func (pe *peer) start() error {
	h := pe.rm.h
	conf := webrtc.Configuration{}
	for _, s := range h.externalICE(string(pe.rm.caseID)+"."+string(pe.rm.call)+".server", false) {
		conf.ICEServers = append(conf.ICEServers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	pc, err := h.api.NewPeerConnection(conf)
	if err != nil {
		return err
	}
	pe.setup.Lock()
	if !pe.adopt(pc) {
		pe.setup.Unlock()
		// close ran while the connection was being made: it saw no
		// PeerConnection to close, so this one must not outlive the peer
		// (it would keep its ICE agent, sockets and goroutines).
		if err := pc.Close(); err != nil {
			pe.log.Warn("close peer connection", "err", err)
		}
		return errPeerClosing
	}
	err = pe.prepare(pc)
	pe.setup.Unlock()
	if err != nil {
		return err
	}
	if pe.isClosing() {
		return errPeerClosing // close waited for prepare, then closed pc
	}
	pe.send(Message{Type: TypeJoin, Role: string(pe.p.Role), Call: string(pe.rm.call), ICE: h.iceServers(pe.rm, pe.p)})
	pe.cmu.Lock()
	defer pe.cmu.Unlock()
	pe.send(Message{Type: TypeOffer, SDP: pc.LocalDescription().SDP})
	for _, m := range pe.early {
		pe.send(m)
	}
	pe.offerSent, pe.early = true, nil
	return nil
}

// prepare adds the peer's tracks and handlers to pc and sets its local
// offer (start holds setup).
func (pe *peer) prepare(pc *webrtc.PeerConnection) error {
	if pe.afterAdopt != nil {
		pe.afterAdopt()
	}
	var out []*webrtc.TrackLocalStaticRTP
	dir := webrtc.RTPTransceiverDirectionSendrecv
	source := RoleCustomer // whose media this peer receives from us
	switch pe.p.Role {
	case RoleCustomer:
		out, source = []*webrtc.TrackLocalStaticRTP{pe.rm.clerkAudio, pe.rm.clerkVideo}, RoleClerk
	case RoleClerk:
		out = []*webrtc.TrackLocalStaticRTP{pe.rm.custAudio, pe.rm.custVideo}
	default:
		out, dir = []*webrtc.TrackLocalStaticRTP{pe.rm.custAudio, pe.rm.custVideo}, webrtc.RTPTransceiverDirectionSendonly
	}
	for _, t := range out {
		tr, err := pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: dir})
		if err != nil {
			return err
		}
		sender := tr.Sender()
		pe.goTracked(func() { pe.drainRTCP(sender, source) })
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		m := Message{Type: TypeCandidate, Candidate: &Candidate{Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex}}
		pe.cmu.Lock()
		defer pe.cmu.Unlock()
		if !pe.offerSent {
			pe.early = append(pe.early, m)
			return
		}
		pe.send(m)
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		// Failed: ICE or DTLS broke (the network is gone, or the DTLS
		// certificate is not the one the answer's fingerprint names).
		// Closed: pion closed the connection itself (the peer's DTLS
		// close_notify, e.g. after it refused our certificate), or close
		// did. Either way the participant has no media: they leave.
		// After a close, a bye the peer sent just before closing its side
		// may still be on its way over the socket: it gets mediaGrace.
		if s == webrtc.PeerConnectionStateConnected {
			pe.mediaUp.Store(true)
		}
		if s != webrtc.PeerConnectionStateFailed && s != webrtc.PeerConnectionStateClosed {
			return
		}
		if pe.isClosing() || !pe.downSeen.CompareAndSwap(false, true) {
			return
		}
		pe.downState.Store(uint32(s))
		pe.log.Warn("media connection "+s.String()+": closing the participant", "state", s.String())
		grace := mediaGrace
		if s == webrtc.PeerConnectionStateFailed {
			grace = 0 // no packet for MediaTimeout: nothing is on its way
		}
		pe.goTracked(func() {
			t := time.NewTimer(grace)
			defer t.Stop()
			select {
			case <-pe.ctx.Done():
			case <-t.C:
				pe.mediaDown.Store(true)
				pe.cancel()
			}
		})
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if pe.p.Role == RoleObserver {
			return // receive-only: nothing of theirs is relayed or recorded
		}
		pe.goTracked(func() { pe.forward(t) })
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	return pc.SetLocalDescription(offer)
}

// drainRTCP reads a sender's RTCP (as pion requires) and forwards key
// frame requests to the participant whose media the sender carries.
func (pe *peer) drainRTCP(s *webrtc.RTPSender, source Role) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				pe.rm.pli(source)
			}
		}
	}
}

// requestKeyFrame sends a PLI for the participant's video.
func (pe *peer) requestKeyFrame() {
	ssrc, pc := pe.videoSSRC.Load(), pe.pc.Load()
	if ssrc == 0 || pc == nil {
		return
	}
	if err := pc.WriteRTCP(pliPacket(ssrc)); err != nil && !errors.Is(err, io.ErrClosedPipe) {
		pe.log.Debug("send PLI", "err", err)
	}
}
