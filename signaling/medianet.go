package signaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// MediaConfig is where this node receives the calls' media. The zero value
// gives each participant an ephemeral UDP port, which suits one machine
// without a firewall between it and the customers; a node behind a
// firewall or a 1:1 NAT publishes one UDP port (and optionally one TCP
// port) and names its public addresses.
type MediaConfig struct {
	// UDPListen is host:port of the one UDP port every call's ICE shares
	// (pion's UDP mux): the firewall opens that port only. A specific host
	// binds one socket (port 0 picks a free one); an unspecified host
	// (0.0.0.0:50000, [::]:50000) binds each interface's address at that
	// port, so replies leave from the address the packet came to, and then
	// the port must not be 0. Empty: an ephemeral port per participant.
	UDPListen string
	// TCPListen is host:port of ICE-TCP (RFC 6544 passive candidates), for
	// customers whose network lets no UDP out; empty: off. Media over TCP
	// suffers from every lost packet's retransmission, so UDP stays
	// preferred whenever it works.
	TCPListen string
	// PublicIPs are the addresses clients reach this node at when it sits
	// behind a 1:1 NAT (a cloud instance's public address, a published
	// container port): host candidates carry them instead of the
	// interfaces' own addresses, with the same ports.
	PublicIPs []net.IP
}

// mediaNet holds the shared media sockets of a hub.
type mediaNet struct {
	udp ice.UDPMux // nil: ephemeral ports
	tcp ice.TCPMux // nil: no ICE-TCP
	ln  net.Listener
}

// openMedia opens the sockets cfg names. loopback keeps loopback
// addresses among the candidates (tests, single-host set-ups).
func openMedia(ctx context.Context, cfg MediaConfig, loopback bool, log *slog.Logger) (*mediaNet, error) {
	m := &mediaNet{}
	logs := pionLogs{log}
	if cfg.UDPListen != "" {
		host, portStr, err := net.SplitHostPort(cfg.UDPListen)
		if err != nil {
			return nil, fmt.Errorf("media udp %q: %w", cfg.UDPListen, err)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil || port < 0 || port > 65535 {
			return nil, fmt.Errorf("media udp %q: bad port", cfg.UDPListen)
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			if port == 0 {
				return nil, fmt.Errorf("media udp %q: an unspecified host needs a fixed port (every interface binds the same one)", cfg.UDPListen)
			}
			opts := []ice.UDPMuxFromPortOption{ice.UDPMuxFromPortWithLogger(logs.NewLogger("ice-udp"))}
			if loopback {
				opts = append(opts, ice.UDPMuxFromPortWithLoopback())
			}
			if ip != nil && ip.To4() != nil {
				opts = append(opts, ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4))
			}
			mux, err := ice.NewMultiUDPMuxFromPort(port, opts...)
			if err != nil {
				return nil, fmt.Errorf("media udp %q: %w", cfg.UDPListen, err)
			}
			m.udp = mux
		} else {
			var lc net.ListenConfig
			pc, err := lc.ListenPacket(ctx, "udp", cfg.UDPListen)
			if err != nil {
				return nil, fmt.Errorf("media udp %q: %w", cfg.UDPListen, err)
			}
			m.udp = webrtc.NewICEUDPMux(logs.NewLogger("ice-udp"), pc)
		}
	}
	if cfg.TCPListen != "" {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", cfg.TCPListen)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("media tcp %q: %w", cfg.TCPListen, err)
		}
		m.ln = ln
		m.tcp = webrtc.NewICETCPMux(logs.NewLogger("ice-tcp"), ln, 32)
	}
	return m, nil
}

// apply makes every peer connection of the hub use the shared sockets and
// publish the public addresses.
func (m *mediaNet) apply(se *webrtc.SettingEngine, public []net.IP) error {
	if m.udp != nil {
		se.SetICEUDPMux(m.udp)
	}
	if m.tcp != nil {
		se.SetICETCPMux(m.tcp)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6})
	}
	if len(public) > 0 {
		ext := make([]string, len(public))
		for i, ip := range public {
			ext[i] = ip.String()
		}
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{External: ext, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace}); err != nil {
			return fmt.Errorf("media public addresses %v: %w", ext, err)
		}
	}
	return nil
}

// addrs are the shared sockets' addresses (nil where there is none).
func (m *mediaNet) addrs() (udp []net.Addr, tcp net.Addr) {
	if m.udp != nil {
		udp = m.udp.GetListenAddresses()
	}
	if m.ln != nil {
		tcp = m.ln.Addr()
	}
	return udp, tcp
}

// Close closes the shared sockets; the hub's calls have ended by then.
func (m *mediaNet) Close() error {
	var errs []error
	if m.udp != nil {
		errs = append(errs, m.udp.Close())
	}
	if m.tcp != nil {
		errs = append(errs, m.tcp.Close())
	}
	return errors.Join(errs...)
}
