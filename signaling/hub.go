// Package signaling owns the video call: WebSocket signaling, one pion
// PeerConnection per participant with the server in the middle, the relay
// of the customer's media to the clerk (and an observing supervisor) and of
// the clerk's to the customer, recording of both sides, quality sampling
// and server-side key-frame captures. It is the only package that imports
// pion. It reaches the case workflow through the Workflow interface.
package signaling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"remoteidv/models"
	"remoteidv/storage/encfile"
)

// Workflow is what the call needs from the case workflow
// (*verify.Calls implements it). Errors carry models error kinds.
type Workflow interface {
	// StartCall moves the case into its call and returns the call to
	// run: the case's unfinished call (its node went away) continued in
	// a new leg, else a new call record.
	StartCall(ctx context.Context, c models.CaseID, actor string) (models.CallLeg, error)
	// EndCall records the end of the call's leg and whether its recording
	// is whole (ECONFLICT once another node continued the call).
	EndCall(ctx context.Context, c models.CaseID, leg models.CallLeg, reason string, recordingComplete bool) error
	// SuspendCall records that this node stops with the call's leg
	// unfinished (a graceful shutdown): its recording is kept and the
	// case's next call continues it.
	SuspendCall(ctx context.Context, c models.CaseID, leg models.CallLeg, reason string) error
	// RecoverSegment keeps a segment that a crashed process left half
	// written (it is evidence all the same); a call still at the
	// segment's leg is suspended, with a node_lost interruption for the
	// segment's participant.
	RecoverSegment(ctx context.Context, c models.CaseID, seg *models.CallSegment, contentType string, r io.Reader) error
	// SaveQuality keeps the call's quality samples (JSON) as evidence.
	SaveQuality(ctx context.Context, c models.CaseID, call models.CallID, samples int, data []byte) error
	// RecordingFailed marks the call's recording incomplete.
	RecordingFailed(ctx context.Context, c models.CaseID, call models.CallID, why string) error
	// RecordingAllowance is how much more the case's calls may record;
	// ETOOLARGE when nothing is left (no call starts).
	RecordingAllowance(ctx context.Context, c models.CaseID) (models.RecordingAllowance, error)
	// RecordingCapped audits a call whose recording stopped at its cap
	// (limit: "bytes" or "duration") after recording bytes over took.
	RecordingCapped(ctx context.Context, c models.CaseID, call models.CallID, limit string, bytes int64, took time.Duration) error
	// SaveSegment stores a recorded segment as evidence and lists it in
	// the call record; it fills in the evidence, hash and size.
	SaveSegment(ctx context.Context, c models.CaseID, seg *models.CallSegment, contentType string, r io.Reader) error
	// StartLiveness issues a challenge: the steps to play to the customer.
	StartLiveness(ctx context.Context, c models.CaseID) (models.LivenessPlan, error)
	// FinishLiveness judges the frames sampled through the challenge.
	FinishLiveness(ctx context.Context, c models.CaseID, actor, id string, samples []models.LivenessSample) (*models.Check, error)
	// CustomerAllowed returns an error once the customer session may no
	// longer take part (revoked invite, expired session, case closed).
	CustomerAllowed(ctx context.Context, s models.CustomerSessionID, c models.CaseID) error
	// CallInterrupted records that participant (customer or clerk)
	// dropped out of the call at at (their last media), and why.
	CallInterrupted(ctx context.Context, c models.CaseID, call models.CallID, participant string, cause models.InterruptionCause, detail string, at time.Time) error
	// CallResumed ends participant's open interruptions in the case:
	// their media arrived in call at at.
	CallResumed(ctx context.Context, c models.CaseID, call models.CallID, participant string, at time.Time) error
	// ObserveStarted audits an observer (a supervisor) joining the call;
	// an error keeps the observer out, so no one watches unrecorded.
	ObserveStarted(ctx context.Context, c models.CaseID, call models.CallID, actor string) error
	// ObserveStopped audits the observer leaving the call, and why.
	ObserveStopped(ctx context.Context, c models.CaseID, call models.CallID, actor, reason string) error
	// FaceCaptures matches key frames of the customer's video, taken over
	// a short window and located in the call's recording, as one (fused)
	// face check for the clerk actor; EPRECONDITION without consent or
	// while the call is not recorded.
	FaceCaptures(ctx context.Context, c models.CaseID, actor string, frames []models.LiveFrame) (*models.Check, error)
}

// Role is a participant's part in the call.
type Role string

// Roles.
const (
	RoleCustomer Role = "customer"
	RoleClerk    Role = "clerk"
	RoleObserver Role = "observer" // a supervisor, receive-only
)

// Participant is an authenticated party joining a case's call.
type Participant struct {
	Role     Role
	CaseID   models.CaseID
	Actor    string                   // audit actor: "customer:cus_..." or "staff:stf_..."
	Customer models.CustomerSessionID // for RoleCustomer

	// Staff and Session name a clerk's or observer's login (Session is the
	// ID hash of their session, "" for an API token): EndStaff and
	// EndSession close the sockets opened with them.
	Staff   models.StaffID
	Session string
	// Addr is the client's address as the HTTP layer counts it for its
	// limits (behind a trusted proxy, the forwarded one; an IPv6 client's
	// /64); empty: the connection's peer. Hub.Serve caps the sockets of one
	// address.
	Addr string
	// Allowed, when set, tells whether the staff participant may still take
	// part with the session now named session (step-up rotates it; see
	// RotateSession): EUNAUTHORIZED or EFORBIDDEN once the session ended or
	// the staff member was disabled; other errors count as passing
	// trouble. The hub asks when the participant joins, before every
	// capture or challenge, and every RevokePoll.
	Allowed func(ctx context.Context, session string) error
}

// revoked reports whether an Allowed error means the participant is out.
func revoked(err error) bool {
	switch models.ErrorCodeOf(err) {
	case models.EUNAUTHORIZED, models.EFORBIDDEN, models.EGONE:
		return true
	}
	return false
}

// Config tunes the hub.
type Config struct {
	// ICEServers are the STUN and external TURN servers given to the
	// participants. A customer never gets the Username and Credential
	// written here: with ICESecret every participant gets credentials of
	// its own for the TURN servers, without it a customer gets none.
	ICEServers []ICEServer
	// ICESecret is the secret the external TURN servers among ICEServers
	// share with us (the TURN REST API scheme, coturn's
	// static-auth-secret): credentials "<expiry-unix>:<participant>" with
	// base64(HMAC-SHA1(secret, username)), valid for MaxDuration + 15 min.
	ICESecret []byte
	// TURN, when set, runs the embedded TURN server with the hub; each
	// participant gets fresh credentials for it with the ICE servers when
	// joining. Its TTL defaults to MaxDuration + 15 min.
	TURN *TURNConfig
	// MaxDuration ends a call that runs longer (default 1 h).
	MaxDuration time.Duration
	// MaxRecordingBytes caps what one call records, all tracks together
	// (default 2 GiB): at the cap, or at the case's recording allowance
	// (Workflow.RecordingAllowance) if that is less, recording stops and
	// the call ends, its recording kept and complete.
	MaxRecordingBytes int64
	// RecordDir holds recordings while they are written (default: a
	// folder in the system temp dir).
	RecordDir string
	// RecordKey encrypts the recordings in RecordDir (see encfile); nil
	// writes them as they are.
	RecordKey *encfile.Key
	// Loopback adds loopback ICE candidates (tests and single-host set-ups).
	Loopback bool
	// Media is where the calls' media arrive: one UDP port, ICE-TCP and
	// public addresses behind a 1:1 NAT (see MediaConfig).
	Media MediaConfig
	// RevokePoll is how often the participants' right to stay is checked
	// (default 2 s, so a revoked invite, or a staff member disabled by
	// another process, is out of the call within 5 s).
	RevokePoll time.Duration
	// MaxSocketsPerAddr caps the signaling sockets open at once from one
	// client address (Participant.Addr); past it Serve answers 429
	// (default 50: raise it for an office whose staff share one NAT
	// address).
	MaxSocketsPerAddr int
	// HandshakeTimeout bounds join and answer (default 15 s).
	HandshakeTimeout time.Duration
	// MediaTimeout is how long a participant's media connection may go
	// without a packet before it counts as failed and the participant is
	// taken out of the call (default 15 s: disconnected after a third of
	// it, failed after the rest).
	MediaTimeout time.Duration
	// CaptureTimeout bounds waiting for a key frame (default 5 s).
	CaptureTimeout time.Duration
	// Captures is how many key frames a face capture takes (default 1),
	// spread evenly over CaptureSpread, and fuses into one face check.
	Captures      int
	CaptureSpread time.Duration
	// SampleEvery is how often a key frame of the customer's video is
	// asked for (a PLI) while a liveness challenge runs (default 25 ms).
	// Chromium answers at most one every 300 ms (WebRTC's minimum key
	// frame interval), so the samples come at about 3 a second whatever
	// is asked; asking often keeps each gap close to those 300 ms (a PLI
	// is a 12-byte RTCP packet).
	SampleEvery time.Duration
	// QualityEvery is the quality sampling period (default 5 s).
	QualityEvery time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *Config) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&c.MaxDuration, time.Hour)
	if c.MaxRecordingBytes <= 0 {
		c.MaxRecordingBytes = 2 << 30
	}
	set(&c.RevokePoll, 2*time.Second)
	set(&c.HandshakeTimeout, 15*time.Second)
	set(&c.MediaTimeout, 15*time.Second)
	set(&c.CaptureTimeout, 5*time.Second)
	set(&c.SampleEvery, 25*time.Millisecond)
	set(&c.QualityEvery, 5*time.Second)
	if c.MaxSocketsPerAddr <= 0 {
		c.MaxSocketsPerAddr = 50
	}
	if c.Captures <= 0 {
		c.Captures = 1
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.RecordDir == "" {
		c.RecordDir = os.TempDir() + "/idv-recordings"
	}
	if c.TURN != nil {
		t := *c.TURN
		if t.TTL <= 0 {
			t.TTL = c.MaxDuration + 15*time.Minute
		}
		if t.Now == nil {
			t.Now = c.Now
		}
		c.TURN = &t
	}
}

// Hub runs every live call of this node: one room per case.
type Hub struct {
	cfg      Config
	wf       Workflow
	log      *slog.Logger
	api      *webrtc.API
	upgrader websocket.Upgrader
	turn     *TURN // nil unless cfg.TURN
	media    *mediaNet

	mu      sync.Mutex
	sockets map[string]int // open signaling sockets by client address
	rooms   map[models.CaseID]*room
	staff   map[models.StaffID]map[*peer]struct{} // live sockets of staff participants
	closed  bool
	wg      sync.WaitGroup
}

// New builds a hub; Close ends every call.
func New(cfg Config, wf Workflow, log *slog.Logger) (*Hub, error) {
	cfg.defaults()
	if err := os.MkdirAll(cfg.RecordDir, 0o700); err != nil {
		return nil, fmt.Errorf("signaling: recording folder: %w", err)
	}
	media, err := openMedia(context.Background(), cfg.Media, cfg.Loopback, log.With("component", "media"))
	if err != nil {
		return nil, fmt.Errorf("signaling: %w", err)
	}
	api, err := newAPI(cfg, media)
	if err != nil {
		media.Close()
		return nil, err
	}
	if udp, tcp := media.addrs(); udp != nil || tcp != nil {
		log.Info("media ports", "udp", udp, "tcp", tcp, "public_ips", cfg.Media.PublicIPs)
	}
	h := &Hub{cfg: cfg, wf: wf, log: log, api: api, media: media, sockets: map[string]int{}, rooms: map[models.CaseID]*room{}, staff: map[models.StaffID]map[*peer]struct{}{}}
	h.upgrader = websocket.Upgrader{ReadBufferSize: 8 << 10, WriteBufferSize: 8 << 10, HandshakeTimeout: 10 * time.Second}
	if cfg.TURN != nil {
		tc := *cfg.TURN
		if tc.Live == nil {
			tc.Live = h.liveSession
		}
		if h.turn, err = NewTURN(context.Background(), tc, log.With("component", "turn")); err != nil {
			media.Close()
			return nil, fmt.Errorf("signaling: %w", err)
		}
	}
	return h, nil
}

// newAPI makes the one *webrtc.API: VP8 and Opus only, the default
// interceptors (NACK, RTCP reports, TWCC).
func newAPI(cfg Config, media *mediaNet) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb}, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("signaling: register VP8: %w", err)
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("signaling: register Opus: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, fmt.Errorf("signaling: interceptors: %w", err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(cfg.Loopback)
	disconnected := cfg.MediaTimeout / 3
	se.SetICETimeouts(disconnected, cfg.MediaTimeout-disconnected, min(2*time.Second, disconnected/2))
	if err := media.apply(&se, cfg.Media.PublicIPs); err != nil {
		return nil, fmt.Errorf("signaling: %w", err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// ErrClosed is returned once the hub is shutting down.
var ErrClosed = errors.New("signaling: hub closed")

// Serve upgrades the request to a WebSocket and runs participant p's side of
// the call until it leaves. The caller has authenticated and authorized p.
//
// One client address may hold at most Config.MaxSocketsPerAddr sockets at
// once: past that Serve answers 429 Too Many Requests without upgrading.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, p Participant) {
	addr := p.Addr
	if addr == "" {
		addr, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	if !h.acquireSocket(addr) {
		h.log.WarnContext(r.Context(), "too many signaling sockets from one address", "addr", addr, "limit", h.cfg.MaxSocketsPerAddr)
		w.Header().Set("Retry-After", "10")
		http.Error(w, "too many call connections from this address", http.StatusTooManyRequests)
		return
	}
	defer h.releaseSocket(addr)
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	h.serveConn(r.Context(), ws, p)
}

// acquireSocket counts a socket of addr, unless addr has its fill.
func (h *Hub) acquireSocket(addr string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sockets[addr] >= h.cfg.MaxSocketsPerAddr {
		return false
	}
	h.sockets[addr]++
	return true
}

func (h *Hub) releaseSocket(addr string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sockets[addr]--; h.sockets[addr] <= 0 {
		delete(h.sockets, addr)
	}
}

func (h *Hub) serveConn(reqCtx context.Context, ws *websocket.Conn, p Participant) {
	log := h.log.With("case_id", p.CaseID, "role", p.Role)
	if p.Allowed != nil {
		// Checked again once the socket is tracked (see room.admit); this
		// one keeps a refused participant from starting the call.
		if err := p.Allowed(reqCtx, p.Session); err != nil {
			log.WarnContext(reqCtx, "staff participant refused", "err", err)
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "not allowed"), time.Now().Add(time.Second))
			_ = ws.Close()
			return
		}
	}
	rm, err := h.join(reqCtx, p)
	if err != nil {
		log.WarnContext(reqCtx, "join call", "err", err)
		if models.ErrorCodeOf(err) == models.ETOOLARGE {
			// The case's recording allowance is used up: say so, in the
			// page's language, rather than a bare refusal.
			_ = ws.SetWriteDeadline(time.Now().Add(time.Second))
			_ = ws.WriteJSON(errorMessage(CodeRecordingLimit, models.ErrorMessageOf(err)))
		}
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "cannot join"), time.Now().Add(time.Second))
		_ = ws.Close()
		return
	}
	pe := newPeer(rm, ws, p, log)
	rm.run(pe)
}

// join returns the case's room, creating it (and starting the call) first.
func (h *Hub) join(ctx context.Context, p Participant) (*room, error) {
	// A room of the case that is ending finishes first: the end of its
	// call is recorded before the next call starts, which would otherwise
	// take the call for one whose node went away and continue it.
	for {
		h.mu.Lock()
		rm := h.rooms[p.CaseID]
		if rm == nil || rm.ctx.Err() == nil {
			break
		}
		select {
		case <-rm.done:
		default:
			h.mu.Unlock()
			select {
			case <-rm.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			continue
		}
		break // it has finished: a new room replaces it
	}
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if rm := h.rooms[p.CaseID]; rm != nil && rm.ctx.Err() == nil {
		return rm, nil
	}
	allow, err := h.wf.RecordingAllowance(ctx, p.CaseID)
	if err != nil {
		return nil, err
	}
	call, err := h.wf.StartCall(ctx, p.CaseID, p.Actor)
	if err != nil {
		return nil, err
	}
	rm, err := newRoom(h, p.CaseID, call, allow)
	if err != nil {
		return nil, err
	}
	h.rooms[p.CaseID] = rm
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		rm.supervise()
		h.mu.Lock()
		if h.rooms[p.CaseID] == rm {
			delete(h.rooms, p.CaseID)
		}
		h.mu.Unlock()
	}()
	return rm, nil
}

// Rooms returns how many calls are live.
func (h *Hub) Rooms() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.rooms)
}

// Recover hands segments left in the recording folder by a process that
// stopped mid-call to the workflow, then removes them. Call it at start-up,
// before any call runs. It returns how many segments it recovered; a file
// it cannot attribute or store stays for an operator and is reported.
func (h *Hub) Recover(ctx context.Context) (int, error) {
	entries, err := os.ReadDir(h.cfg.RecordDir)
	if err != nil {
		return 0, fmt.Errorf("recover recordings: %w", err)
	}
	var errs []error
	n := 0
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(h.cfg.RecordDir, e.Name())
		c, seg, ok := parseSegmentFileName(e.Name())
		if !ok {
			errs = append(errs, fmt.Errorf("recover recordings: %s: not a segment file name; left in place", path))
			continue
		}
		if err := h.recoverFile(ctx, c, seg, path); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
		h.log.Warn("recovered an interrupted recording segment", "case_id", c, "call", seg.CallID, "participant", seg.Participant, "track", seg.Track, "seq", seg.Seq)
	}
	return n, errors.Join(errs...)
}

func (h *Hub) recoverFile(ctx context.Context, c models.CaseID, seg *models.CallSegment, path string) error {
	if st, err := os.Stat(path); err == nil {
		seg.EndedAt = st.ModTime().UTC()
	}
	// The writer stopped without sealing its last chunk: keep every whole
	// one.
	f, err := encfile.OpenPartial(path, h.cfg.RecordKey)
	if err != nil {
		return fmt.Errorf("recover %s: %w", path, err)
	}
	defer f.Close()
	ct := "audio/ogg"
	if seg.Track == "video" {
		ct = "video/x-ivf"
	}
	if err := h.wf.RecoverSegment(ctx, c, seg, ct, f); err != nil {
		return fmt.Errorf("recover %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("recover %s: stored, but not removed: %w", path, err)
	}
	return nil
}

// End ends a case's live call, if any, with reason (e.g. the case was
// cancelled), and waits until it is torn down.
func (h *Hub) End(c models.CaseID, reason string) {
	h.mu.Lock()
	rm := h.rooms[c]
	h.mu.Unlock()
	if rm != nil {
		rm.end(reason)
		<-rm.done
	}
}

// track indexes a staff participant's peer, so that EndStaff and
// EndSession find it.
func (h *Hub) track(pe *peer) {
	if pe.p.Staff == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.staff[pe.p.Staff] == nil {
		h.staff[pe.p.Staff] = map[*peer]struct{}{}
	}
	h.staff[pe.p.Staff][pe] = struct{}{}
	pe.session = pe.p.Session
}

func (h *Hub) untrack(pe *peer) {
	if pe.p.Staff == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.staff[pe.p.Staff], pe)
	if len(h.staff[pe.p.Staff]) == 0 {
		delete(h.staff, pe.p.Staff)
	}
}

// sessionOf is the session a tracked peer's login goes by now.
func (h *Hub) sessionOf(pe *peer) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return pe.session
}

// endStaffPeers closes the tracked peers match selects, with reason, and
// returns how many it closed once they are down. A peer already closing
// (it stays tracked until its goroutine has finished) is not counted.
func (h *Hub) endStaffPeers(reason string, match func(pe *peer) bool) int {
	h.mu.Lock()
	var out []*peer
	for _, peers := range h.staff {
		for pe := range peers {
			if match(pe) && !pe.isClosing() {
				out = append(out, pe)
			}
		}
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, pe := range out {
		pe.log.Warn("closing a staff participant's socket", "staff", pe.p.Staff, "reason", reason)
		wg.Go(func() { pe.close(reason) })
	}
	wg.Wait()
	return len(out)
}

// EndStaff closes, at once, every call socket of staff member id (who was
// disabled) and returns how many it closed.
func (h *Hub) EndStaff(id models.StaffID, reason string) int {
	return h.endStaffPeers(reason, func(pe *peer) bool { return pe.p.Staff == id })
}

// EndSession closes, at once, every call socket opened with the staff
// session whose ID hash is session (logged out or replaced) and returns
// how many it closed.
func (h *Hub) EndSession(session, reason string) int {
	if session == "" {
		return 0
	}
	return h.endStaffPeers(reason, func(pe *peer) bool { return pe.session == session })
}

// RotateSession records that the staff session old now goes by new (a
// step-up rotates the session ID), so its sockets stay in the call.
func (h *Hub) RotateSession(old, new string) {
	if old == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, peers := range h.staff {
		for pe := range peers {
			if pe.session == old {
				pe.session = new
			}
		}
	}
}

// iceServers are the ICE servers participant p of room rm is told about:
// the configured ones, and the embedded TURN server with credentials
// naming the case, call and role.
func (h *Hub) iceServers(rm *room, p Participant) []ICEServer {
	session := string(rm.caseID) + "." + string(rm.call) + "." + string(p.Role)
	out := h.externalICE(session, p.Role == RoleCustomer)
	if h.turn != nil {
		out = append(out, h.turn.Credentials(session))
	}
	return out
}

// externalICE are the configured ICE servers with credentials for
// session: with ICESecret, TURN REST credentials of its own for every
// entry that names a TURN server; without, the configured ones, which a
// customer never gets (stripped).
func (h *Hub) externalICE(session string, customer bool) []ICEServer {
	out := make([]ICEServer, 0, len(h.cfg.ICEServers)+1)
	for _, s := range h.cfg.ICEServers {
		s.URLs = append([]string(nil), s.URLs...)
		switch {
		case len(h.cfg.ICESecret) > 0 && namesTURN(s.URLs):
			s.Username, s.Credential = restCredentials(h.cfg.ICESecret, h.cfg.Now().Add(h.cfg.MaxDuration+15*time.Minute), session)
		case customer:
			s.Username, s.Credential = "", ""
		}
		out = append(out, s)
	}
	return out
}

// namesTURN reports whether urls name a TURN server.
func namesTURN(urls []string) bool {
	for _, u := range urls {
		if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
			return true
		}
	}
	return false
}

// liveSession tells whether the TURN session "<case>.<call>.<role>" names
// a call that is running now: once it ends, its credentials stop working
// (new allocations and refreshes get 401), before they expire.
func (h *Hub) liveSession(session string) bool {
	c, rest, ok := strings.Cut(session, ".")
	call, _, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	rm := h.rooms[models.CaseID(c)]
	return rm != nil && rm.ctx.Err() == nil && string(rm.call) == call
}

// TURNAddr is the UDP address of the embedded TURN server, or nil.
func (h *Hub) TURNAddr() net.Addr {
	if h.turn == nil {
		return nil
	}
	return h.turn.Addr()
}

// Close ends every call and waits until all are torn down and their
// recordings handed over, then stops the TURN server. It is idempotent.
func (h *Hub) Close() error {
	h.mu.Lock()
	h.closed = true
	rooms := make([]*room, 0, len(h.rooms))
	for _, rm := range h.rooms {
		rooms = append(rooms, rm)
	}
	h.mu.Unlock()
	for _, rm := range rooms {
		rm.end(reasonShutdown)
	}
	h.wg.Wait()
	errs := []error{h.media.Close()}
	if h.turn != nil {
		errs = append(errs, h.turn.Close())
	}
	return errors.Join(errs...)
}

// MediaAddrs are the addresses of the shared media sockets (Config.Media):
// the UDP port's per-interface addresses and the ICE-TCP listener, nil
// where there is none.
func (h *Hub) MediaAddrs() (udp []net.Addr, tcp net.Addr) { return h.media.addrs() }

// Live returns the calls running now: who is connected and the latest
// quality sample of the customer's video, for the board and the metrics.
func (h *Hub) Live() []models.LiveCall {
	h.mu.Lock()
	rooms := make([]*room, 0, len(h.rooms))
	for _, rm := range h.rooms {
		rooms = append(rooms, rm)
	}
	h.mu.Unlock()
	out := make([]models.LiveCall, 0, len(rooms))
	for _, rm := range rooms {
		out = append(out, rm.live())
	}
	return out
}

// EndClerk closes, at once, staff member id's clerk sockets in case c's
// call (they are no longer one of its clerks) and returns how many it
// closed. Their observer sockets, if any, stay.
func (h *Hub) EndClerk(c models.CaseID, id models.StaffID, reason string) int {
	return h.endStaffPeers(reason, func(pe *peer) bool {
		return pe.p.Staff == id && pe.p.CaseID == c && pe.p.Role == RoleClerk
	})
}
