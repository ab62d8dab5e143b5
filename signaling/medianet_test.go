package signaling_test

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"remoteidv/internal/testenv"
	"remoteidv/signaling"
)

// cand is one ICE candidate line, taken apart.
type cand struct {
	proto, ip, typ, tcpType string
	port                    int
}

func parseCand(t testing.TB, line string) cand {
	t.Helper()
	f := strings.Fields(strings.TrimPrefix(line, "candidate:"))
	if len(f) < 8 {
		t.Fatalf("candidate %q: too few fields", line)
	}
	port, err := strconv.Atoi(f[5])
	if err != nil {
		t.Fatalf("candidate %q: port: %v", line, err)
	}
	c := cand{proto: strings.ToLower(f[2]), ip: f[4], port: port, typ: f[7]}
	for i := 8; i+1 < len(f); i += 2 {
		if f[i] == "tcptype" {
			c.tcpType = f[i+1]
		}
	}
	return c
}

// connectCustomers dials the customer of each call and waits until every
// one's media is connected.
func connectCustomers(t *testing.T, f *fixture, n int, opts peerOpts) []*testPeer {
	t.Helper()
	var peers []*testPeer
	for i := 0; i < n; i++ {
		_, cu, _, _ := f.newCall(i)
		p := dialWith(t, cu, nil, source{}, opts)
		t.Cleanup(func() { p.close("") })
		peers = append(peers, p)
	}
	for i, p := range peers {
		select {
		case <-p.connected:
		case <-time.After(20 * time.Second):
			t.Fatalf("customer %d never connected; server candidates %q", i, p.candidates())
		}
	}
	return peers
}

// serverCands waits for the server's candidates of proto ("udp", "tcp").
func serverCands(t *testing.T, p *testPeer, proto string) []cand {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out []cand
		for _, line := range p.candidates() {
			if c := parseCand(t, line); c.proto == proto {
				out = append(out, c)
			}
		}
		if len(out) > 0 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMediaOnOnePort: with Media.UDPListen every call's media reach the
// node at one UDP port, the only one a firewall needs to open; without it
// each participant gets a port of its own (the control).
func TestMediaOnOnePort(t *testing.T) {
	for _, tt := range []struct {
		name    string
		media   signaling.MediaConfig
		onePort bool
	}{
		{"ephemeral ports", signaling.MediaConfig{}, false},
		{"one UDP port", signaling.MediaConfig{UDPListen: "127.0.0.1:0"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, signaling.Config{Media: tt.media})
			peers := connectCustomers(t, f, 2, peerOpts{})
			ports := map[int]bool{}
			for _, p := range peers {
				for _, c := range serverCands(t, p, "udp") {
					if c.typ == "host" && c.ip == "127.0.0.1" {
						ports[c.port] = true
					}
				}
			}
			udp, _ := f.hub.MediaAddrs()
			if !tt.onePort {
				if len(ports) < 2 || udp != nil {
					t.Fatalf("without a media port: server ports %v, MediaAddrs %v; want one per call", ports, udp)
				}
				return
			}
			if len(udp) != 1 {
				t.Fatalf("MediaAddrs udp = %v, want the one socket", udp)
			}
			want := udp[0].(*net.UDPAddr).Port
			if len(ports) != 1 || !ports[want] {
				t.Fatalf("server candidates' ports %v, want only the media port %d for both calls", ports, want)
			}
		})
	}
}

// TestPublicAddress: behind a 1:1 NAT the node's host candidates carry the
// public address (and the media port) instead of the interface's own. The
// public address here (TEST-NET-1) leads nowhere, yet the call connects:
// the node's own checks reach the customer, who learns the node's real
// address from them (a peer-reflexive candidate), as across a real NAT.
func TestPublicAddress(t *testing.T) {
	public := net.ParseIP("192.0.2.1")
	f := newFixture(t, signaling.Config{Media: signaling.MediaConfig{UDPListen: "127.0.0.1:0", PublicIPs: []net.IP{public}}})
	p := connectCustomers(t, f, 1, peerOpts{})[0]
	udp, _ := f.hub.MediaAddrs()
	port := udp[0].(*net.UDPAddr).Port
	cands := serverCands(t, p, "udp")
	if len(cands) == 0 {
		t.Fatal("the server sent no UDP candidate")
	}
	for _, c := range cands {
		if c.typ == "host" && (c.ip != public.String() || c.port != port) {
			t.Errorf("server host candidate %s:%d, want only the public address %s:%d", c.ip, c.port, public, port)
		}
	}
}

// TestICETCP: a customer whose network lets no UDP out reaches the node
// over ICE-TCP at the one TCP port.
func TestICETCP(t *testing.T) {
	for _, tt := range []struct {
		name     string
		media    signaling.MediaConfig
		connects bool
	}{
		{"no ICE-TCP", signaling.MediaConfig{}, false},
		{"ICE-TCP port", signaling.MediaConfig{TCPListen: "127.0.0.1:0"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, signaling.Config{Media: tt.media, MediaTimeout: 6 * time.Second})
			_, cu, _, _ := f.newCall(0)
			p := dialWith(t, cu, nil, source{ivf: testenv.VP8FromPhoto(t, testenv.JohnsPhoto(t, "John_Salley", 3), 2, 160)}, peerOpts{networks: []webrtc.NetworkType{webrtc.NetworkTypeTCP4}})
			defer p.close("")
			select {
			case <-p.connected:
				if !tt.connects {
					t.Fatal("a TCP-only customer connected to a node without ICE-TCP")
				}
			case <-time.After(8 * time.Second):
				if tt.connects {
					t.Fatalf("the TCP-only customer never connected; server candidates %q", p.candidates())
				}
				return
			}
			_, tcp := f.hub.MediaAddrs()
			port := tcp.(*net.TCPAddr).Port
			cands := serverCands(t, p, "tcp")
			if len(cands) == 0 {
				t.Fatal("the server sent no TCP candidate")
			}
			for _, c := range cands {
				if c.port != port || c.tcpType != "passive" {
					t.Errorf("server TCP candidate %+v, want passive at the ICE-TCP port %d", c, port)
				}
			}
			var pair *webrtc.ICECandidatePair
			for _, tr := range p.pc.GetTransceivers() {
				if s := tr.Sender(); s != nil && s.Transport() != nil {
					if pair, _ = s.Transport().ICETransport().GetSelectedCandidatePair(); pair != nil {
						break
					}
				}
			}
			if pair == nil || pair.Local.Protocol != webrtc.ICEProtocolTCP {
				t.Fatalf("selected pair %v, want TCP", pair)
			}
		})
	}
}
