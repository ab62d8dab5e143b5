package signaling

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"remoteidv/models"
)

// TestCloseDuringStart: a peer closed from outside (the call ends, its
// staff member is signed out, a new socket replaces it) while its read
// loop is still making the PeerConnection must not leave that connection
// running. close saw no PeerConnection to close; start must close the one
// it made and say the peer is gone. Before adopt, start stored the
// connection anyway and its ICE agent (mDNS sockets and read loops) lived
// on: goleak at the end of the package's run found them.
func TestCloseDuringStart(t *testing.T) {
	before := goleak.IgnoreCurrent()
	pe, done := closingPeer(t)

	pe.close("call ended") // from another goroutine, before start stored its connection
	if err := pe.start(); !errors.Is(err, errPeerClosing) {
		t.Errorf("start after close = %v, want errPeerClosing", err)
	}
	if pc := pe.pc.Load(); pc != nil {
		t.Errorf("the closed peer kept a PeerConnection (state %s)", pc.ConnectionState())
	}
	if got := pe.handle(&Message{Type: TypeJoin}); got != "closed" {
		t.Errorf("a join on a closed peer = %q, want closed", got)
	}
	done()
	goleak.VerifyNone(t, before)
}

// TestCloseDuringOffer: close begins after start adopted its
// PeerConnection but before pion made the connection's ICE agent (in
// CreateOffer). pion checks for a closed connection before it takes its
// own lock, so a Close in between found no agent and the one made just
// after it lived on (CI once failed on its mDNS read loop at the end of
// the package). close now waits until the offer is set; start then says
// the peer is gone.
func TestCloseDuringOffer(t *testing.T) {
	before := goleak.IgnoreCurrent()
	pe, done := closingPeer(t)
	closed := make(chan struct{})
	pe.afterAdopt = func() {
		go func() {
			pe.close("call ended")
			close(closed)
		}()
		for !pe.isClosing() {
			runtime.Gosched()
		}
	}
	if err := pe.start(); !errors.Is(err, errPeerClosing) {
		t.Errorf("start while closing = %v, want errPeerClosing (the offer made whole, then the peer gone)", err)
	}
	<-closed
	if pc := pe.pc.Load(); pc == nil || pc.ConnectionState() != webrtc.PeerConnectionStateClosed {
		t.Errorf("the peer's connection after close: %v, want closed", pc)
	}
	done()
	goleak.VerifyNone(t, before)
}

// closingPeer is a customer's peer on a fresh hub and room whose socket
// is connected to a client that never speaks; done closes all of it.
func closingPeer(t *testing.T) (*peer, func()) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	h, err := New(Config{RecordDir: t.TempDir(), Loopback: true}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := newRoom(h, "case_closing", models.CallLeg{Call: "call_closing", Leg: 1}, models.RecordingAllowance{})
	if err != nil {
		t.Fatal(err)
	}
	server := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := h.upgrader.Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		server <- ws
	}))
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pe := newPeer(rm, <-server, Participant{Role: RoleCustomer}, log)
	return pe, func() {
		_ = client.Close()
		srv.Close()
		rm.cancel()
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	}
}
