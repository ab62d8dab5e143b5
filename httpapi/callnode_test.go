package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	"remoteidv/httpapi"
	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/signaling"
	"remoteidv/verify"
)

var clusterSecret = []byte("0123456789abcdef0123456789abcdef-test")

// clusterNode is one idv serve of two on one database.
type clusterNode struct {
	id  models.NodeID
	hub *signaling.Hub
	url string
	ts  interface{ Close() }
}

// twoNodes returns an env (node A) and a second node B on its database,
// both placing calls with the cluster secret and both registered live.
// With secret nil they have no cluster secret.
func twoNodes(t *testing.T, secret []byte) (*env, *clusterNode, *clusterNode) {
	t.Helper()
	return twoNodesWith(t, secret, signaling.Config{})
}

// twoNodesWith is twoNodes with both hubs configured as sc says.
func twoNodesWith(t *testing.T, secret []byte, sc signaling.Config) (*env, *clusterNode, *clusterNode) {
	t.Helper()
	e := newEnvWith(t, "postgres", envOptions{node: &testNode{id: "node-a", secret: secret}, signaling: sc})
	a := &clusterNode{id: "node-a", hub: e.hub, url: e.ts.URL, ts: e.ts}
	hub, _, ts := e.serve(t, envOptions{node: &testNode{id: "node-b", secret: secret}, signaling: sc}, slog.New(slog.NewTextHandler(e.logs, nil)))
	b := &clusterNode{id: "node-b", hub: hub, url: ts.URL, ts: ts}
	for _, n := range []*clusterNode{a, b} {
		now := time.Now().UTC()
		err := e.store.Transact(context.Background(), func(tx models.Tx) error {
			return tx.RegisterNode(context.Background(), &models.Node{ID: n.id, Instance: "i-" + string(n.id), URL: n.url, Version: "test", StartedAt: now, LastSeen: now}, now.Add(-time.Minute))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return e, a, b
}

// cookieHeader is c's cookies as a Cookie header, to present to any node
// (the load balancer's one origin in front of them).
func cookieHeader(e *env, c *client) http.Header {
	base, _ := url.Parse(e.ts.URL)
	h := http.Header{}
	for _, k := range c.http.Jar.Cookies(base) {
		h.Add("Cookie", k.Name+"="+k.Value)
	}
	return h
}

func wsOf(base, path string) string { return "ws" + strings.TrimPrefix(base, "http") + path }

// mediaPeer is a participant's browser: a pion peer that answers the
// server's offers, sends VP8 from an .ivf file and counts the video it
// receives.
type mediaPeer struct {
	t       testing.TB
	ws      *websocket.Conn
	pc      *webrtc.PeerConnection
	wmu     sync.Mutex
	frames  [][]byte
	videoIn atomic.Int64
	closed  chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func dialMedia(t testing.TB, u string, header http.Header, frames [][]byte) *mediaPeer {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(u, header)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &mediaPeer{t: t, ws: ws, pc: pc, frames: frames, closed: make(chan struct{}), ctx: ctx, cancel: cancel}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			if tr.Kind() == webrtc.RTPCodecTypeVideo {
				p.videoIn.Add(1)
			}
		}
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			init := c.ToJSON()
			p.send(signaling.Message{Type: signaling.TypeCandidate, Candidate: &signaling.Candidate{Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex}})
		}
	})
	p.wg.Add(1)
	go p.read()
	p.send(signaling.Message{Type: signaling.TypeJoin})
	t.Cleanup(p.close)
	return p
}

func (p *mediaPeer) send(m signaling.Message) {
	m.V = signaling.ProtocolVersion
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.ws.WriteJSON(m)
}

func (p *mediaPeer) read() {
	defer p.wg.Done()
	defer close(p.closed)
	sending := false
	for {
		_, b, err := p.ws.ReadMessage()
		if err != nil {
			return
		}
		var m signaling.Message
		if err := json.Unmarshal(b, &m); err != nil {
			p.t.Errorf("server sent bad JSON: %v", err)
			return
		}
		switch m.Type {
		case signaling.TypeOffer:
			if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
				if p.ctx.Err() == nil {
					p.t.Errorf("offer: %v", err)
				}
				return
			}
			if !sending && len(p.frames) > 0 {
				sending = true
				v, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "test")
				if err != nil {
					p.t.Error(err)
					return
				}
				s, err := p.pc.AddTrack(v)
				if err != nil {
					p.t.Error(err)
					return
				}
				p.wg.Add(2)
				go func() {
					defer p.wg.Done()
					for {
						if _, _, err := s.ReadRTCP(); err != nil {
							return
						}
					}
				}()
				go p.sendVideo(v)
			}
			ans, err := p.pc.CreateAnswer(nil)
			if err == nil {
				err = p.pc.SetLocalDescription(ans)
			}
			if err != nil {
				if p.ctx.Err() == nil {
					p.t.Errorf("answer: %v", err)
				}
				return
			}
			p.send(signaling.Message{Type: signaling.TypeAnswer, SDP: ans.SDP})
		case signaling.TypeCandidate:
			_ = p.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: m.Candidate.Candidate, SDPMid: m.Candidate.SDPMid, SDPMLineIndex: m.Candidate.SDPMLineIndex})
		}
	}
}

func (p *mediaPeer) sendVideo(tr *webrtc.TrackLocalStaticSample) {
	defer p.wg.Done()
	tick := time.NewTicker(time.Second / 15)
	defer tick.Stop()
	for i := 0; ; i = (i + 1) % len(p.frames) {
		select {
		case <-p.ctx.Done():
			return
		case <-tick.C:
		}
		if err := tr.WriteSample(media.Sample{Data: p.frames[i], Duration: time.Second / 15}); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			return
		}
	}
}

// closedWithin reports whether the socket ended within d.
func (p *mediaPeer) closedWithin(d time.Duration) bool {
	select {
	case <-p.closed:
		return true
	case <-time.After(d):
		return false
	}
}

func (p *mediaPeer) close() {
	p.cancel()
	p.wmu.Lock()
	_ = p.ws.Close()
	p.wmu.Unlock()
	<-p.closed
	_ = p.pc.Close()
	p.wg.Wait()
}

// waitVideo waits until p received n more video packets than it had.
func (p *mediaPeer) waitVideo(t *testing.T, who string, n int64) {
	t.Helper()
	start := p.videoIn.Load()
	deadline := time.Now().Add(20 * time.Second)
	for p.videoIn.Load()-start < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s received %d video packets in 20s, want %d", who, p.videoIn.Load()-start, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ivfFrames(t testing.TB, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _, err := ivfreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		fr, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fr)
	}
}

func liveOn(h *signaling.Hub, id string) bool {
	for _, lc := range h.Live() {
		if string(lc.CaseID) == id {
			return true
		}
	}
	return false
}

// waitLive waits until case id's call on h has its customer and a clerk.
func waitLive(t *testing.T, h *signaling.Hub, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, lc := range h.Live() {
			if string(lc.CaseID) == id && lc.Customer && len(lc.Clerks) == 1 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("case %s has no call with customer and clerk on the node: %+v", id, h.Live())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCallAcrossNodes: behind a load balancer without stickiness the
// customer's socket reaches node A and the clerk's node B; both meet in
// one room on one node with media flowing. When that node goes away both
// sockets end; they rejoin (on B, the one left) and the call continues
// there in the same call record, in its second leg.
func TestCallAcrossNodes(t *testing.T) {
	e, a, b := twoNodes(t, clusterSecret)
	frames := ivfFrames(t, testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 1, 320))
	id, link := e.invite(t)
	customer := consentedCustomer(t, e, link)
	clerk := e.login(t, "clerk")

	cust := dialMedia(t, wsOf(a.url, "/call/ws"), cookieHeader(e, customer), frames)
	clk := dialMedia(t, wsOf(b.url, "/api/cases/"+id+"/call/ws"), cookieHeader(e, clerk), frames)
	// Both on A: the customer came first, A was least loaded (a tie goes
	// to the node itself) and B proxied the clerk there.
	waitLive(t, a.hub, id)
	if liveOn(b.hub, id) {
		t.Fatalf("the call runs on both nodes")
	}
	clk.waitVideo(t, "clerk (through B)", 30)
	cust.waitVideo(t, "customer", 30)
	// The proxied socket outlives the servers' read and write timeouts.
	if clk.closedWithin(3 * time.Second) {
		t.Fatal("the clerk's proxied socket ended by itself")
	}
	clk.waitVideo(t, "clerk (through B) after 3 s", 30)
	if !strings.Contains(e.logs.String(), "call socket proxied to its node") {
		t.Error("B did not log the proxied socket")
	}

	// A goes away as idv serve shuts down: the hub ends its calls, the
	// call leases go, the node is gone.
	a.ts.Close()
	a.hub.Close()
	ctx := context.Background()
	if err := (&verify.CallNodes{Store: e.store, Self: a.id, Now: time.Now}).ReleaseAll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Transact(ctx, func(tx models.Tx) error { return tx.NodeGone(ctx, a.id, "i-"+string(a.id), time.Now().UTC()) }); err != nil {
		t.Fatal(err)
	}
	if !cust.closedWithin(10 * time.Second) {
		t.Fatal("the customer's socket on the gone node stays open")
	}
	if !clk.closedWithin(10 * time.Second) {
		t.Fatal("the clerk's socket proxied to the gone node stays open")
	}

	// They rejoin through the load balancer, which now only has B.
	cust = dialMedia(t, wsOf(b.url, "/call/ws"), cookieHeader(e, customer), frames)
	clk = dialMedia(t, wsOf(b.url, "/api/cases/"+id+"/call/ws"), cookieHeader(e, clerk), frames)
	waitLive(t, b.hub, id)
	clk.waitVideo(t, "clerk after the rejoin", 30)
	cust.waitVideo(t, "customer after the rejoin", 30)

	var calls struct {
		Calls []struct {
			EndedAt     *time.Time `json:"ended_at"`
			SuspendedAt *time.Time `json:"suspended_at"`
			Legs        int        `json:"legs"`
			Segments    []struct {
				Participant, Track string
				Leg                int
			}
		} `json:"calls"`
	}
	clerk.base = b.url // the cookie jar keys on the host, which the nodes share
	if code := clerk.do("GET", "/api/cases/"+id+"/calls", nil, &calls); code != 200 {
		t.Fatalf("calls: status %d", code)
	}
	if len(calls.Calls) != 1 {
		t.Fatalf("the case has %d calls, want the one call continued: %+v", len(calls.Calls), calls)
	}
	k := calls.Calls[0]
	if k.Legs != 2 || k.EndedAt != nil || k.SuspendedAt != nil {
		t.Errorf("the call: legs %d, ended %v, suspended %v; want 2, running on B", k.Legs, k.EndedAt, k.SuspendedAt)
	}
	// A kept what it recorded when it shut down: leg 1's segments.
	leg1 := 0
	for _, sg := range k.Segments {
		if sg.Leg == 1 {
			leg1++
		}
	}
	if leg1 == 0 {
		t.Errorf("no segment of leg 1 (node A's) on file: %+v", k.Segments)
	}
}

// signed returns the headers of a request node-proxied with hop, signed
// with secret at at.
func signed(secret []byte, method, path, client string, at time.Time, hop int) http.Header {
	ts, h := strconv.FormatInt(at.Unix(), 10), strconv.Itoa(hop)
	return http.Header{"X-Idv-Node-Client": {client}, "X-Idv-Node-Time": {ts}, "X-Idv-Node-Hop": {h},
		"X-Idv-Node-Sig": {httpapi.NodeSignature(secret, method, path, client, ts, h)}}
}

// TestNodeForwardedClient: a node's word on the client's address is
// believed only under a valid signature of the cluster secret less than
// 30 s old; anything else is the peer's own address.
func TestNodeForwardedClient(t *testing.T) {
	e := newEnvWith(t, "sqlite", envOptions{node: &testNode{id: "node-a", secret: clusterSecret}})
	tests := []struct {
		name   string
		header http.Header
		want   string
	}{
		{"valid", signed(clusterSecret, "GET", "/healthz", "203.0.113.7", e.now, 1), "203.0.113.7"},
		{"other secret", signed([]byte("another secret, 32 bytes or more!!"), "GET", "/healthz", "203.0.113.8", e.now, 1), "127.0.0.1"},
		{"other path", signed(clusterSecret, "GET", "/readyz", "203.0.113.9", e.now, 1), "127.0.0.1"},
		{"expired", signed(clusterSecret, "GET", "/healthz", "203.0.113.10", e.now.Add(-31*time.Second), 1), "127.0.0.1"},
		{"future", signed(clusterSecret, "GET", "/healthz", "203.0.113.11", e.now.Add(31*time.Second), 1), "127.0.0.1"},
		{"no signature", http.Header{"X-Idv-Node-Client": {"203.0.113.12"}}, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.logs.String())
			req, _ := http.NewRequest("GET", e.ts.URL+"/healthz", nil)
			req.Header = tt.header
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			logged := e.logs.String()[before:]
			if !strings.Contains(logged, "remote="+tt.want+" ") {
				t.Errorf("access log %q, want remote=%s", logged, tt.want)
			}
		})
	}
}

// TestCallHopLimit: a socket proxied from another node is served where
// it lands when that node can claim the call; when another node holds the
// call it goes one hop further at most, and past the limit the page is
// told to try again (503, Retry-After) instead of looping.
func TestCallHopLimit(t *testing.T) {
	e, a, b := twoNodes(t, clusterSecret)
	id := callCase(t, e)
	clerk := e.login(t, "clerk")
	path := "/api/cases/" + id + "/call/ws"
	// B runs the call.
	dialMedia(t, wsOf(b.url, path), cookieHeader(e, clerk), nil)
	deadline := time.Now().Add(10 * time.Second)
	for !liveOn(b.hub, id) {
		if time.Now().After(deadline) {
			t.Fatalf("no call on B: A %+v, B %+v", a.hub.Live(), b.hub.Live())
		}
		time.Sleep(50 * time.Millisecond)
	}
	tests := []struct {
		name string
		hop  int
		want int
	}{
		{"one hop more to the holder", 1, http.StatusSwitchingProtocols},
		{"past the limit", 2, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := signed(clusterSecret, "GET", path, "203.0.113.7", e.now, tt.hop)
			for k, v := range cookieHeader(e, clerk) {
				h[k] = v
			}
			ws, resp, err := websocket.DefaultDialer.Dial(wsOf(a.url, path), h)
			if ws != nil {
				ws.Close()
			}
			if resp == nil {
				t.Fatalf("dial through A: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
	if liveOn(a.hub, id) {
		t.Error("A started the call B runs")
	}
}

// TestCallNodesWithoutSecret: without the cluster secret nothing is
// placed or proxied: a socket is served on the node it reaches, as on a
// single node, even when another live node holds the case's call lease.
func TestCallNodesWithoutSecret(t *testing.T) {
	e, a, b := twoNodes(t, nil)
	id := callCase(t, e)
	ctx := context.Background()
	now := time.Now().UTC()
	if err := e.store.Transact(ctx, func(tx models.Tx) error {
		_, err := tx.ClaimJobLease(ctx, "call:"+id, string(a.id)+"/call", now, now.Add(time.Minute))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	clerk := e.login(t, "clerk")
	dialMedia(t, wsOf(b.url, "/api/cases/"+id+"/call/ws"), cookieHeader(e, clerk), nil)
	deadline := time.Now().Add(10 * time.Second)
	for !liveOn(b.hub, id) {
		if time.Now().After(deadline) {
			t.Fatalf("the call is not on B, the node the socket reached: A %+v, B %+v", a.hub.Live(), b.hub.Live())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if liveOn(a.hub, id) || strings.Contains(e.logs.String(), "call socket proxied") {
		t.Error("a socket was proxied without the cluster secret")
	}
}
