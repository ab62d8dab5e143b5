package signaling

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // TURN REST credentials are HMAC-SHA1 by definition (draft-uberti-behave-turn-rest)
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"
)

// TURNConfig configures the embedded TURN server.
type TURNConfig struct {
	// Listen is the host:port of the TURN server, served on UDP and TCP
	// (the same port). Port 0 picks a free one.
	Listen string
	// TLSListen is the host:port of TURN over TLS (turns:), usually on
	// 443, for customers behind a firewall that lets only HTTPS out: the
	// browser reaches the server over TLS and relays its media through an
	// allocation here. Empty: off. Needs TLSCert.
	TLSListen string
	// TLSCert is the certificate TURN over TLS presents; browsers check it
	// against TLSHost like any web site's.
	TLSCert *tls.Certificate
	// TLSHost is the name in the turns: URL (default: PublicIP); it must be
	// a name the certificate holds.
	TLSHost string
	// PublicIP is the address clients reach the server and its relays at
	// (given in the ICE server URLs and as the relayed address). Default:
	// the host of Listen, which then must not be unspecified.
	PublicIP net.IP
	// Realm of the long-term credentials (default "idv").
	Realm string
	// Secret keys the HMAC of the credentials; empty: 32 random bytes
	// from Rand, so credentials die with the process.
	Secret []byte
	// TTL is how long issued credentials stay valid. Keep it about the
	// longest call plus 15 minutes, never a day.
	TTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the randomness of a generated secret (default crypto/rand).
	Rand io.Reader
	// Live, when set, tells whether the session a username names is still
	// running; credentials of ended sessions are refused (401) before
	// they expire. The hub sets it to its live calls.
	Live func(session string) bool
	// MaxAllocations caps the relay allocations one call holds at once,
	// all its participants together (sessions "<case>.<call>.<role>");
	// more are refused with 486 Allocation Quota Reached. Default 12: a
	// browser allocates once or twice per TURN URL it is given.
	MaxAllocations int
}

// LogValue keeps the secret out of logs.
func (c TURNConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("listen", c.Listen), slog.Any("public_ip", c.PublicIP),
		slog.String("realm", c.Realm), slog.Duration("ttl", c.TTL), slog.String("secret", "(redacted)"))
}

// TURN is an embedded TURN server (pion/turn) handing out short-lived
// credentials in the TURN REST API scheme, capping each call's relay
// allocations, and refusing relays to the server's own addresses and to
// loopback, private, link-local (cloud metadata), CGNAT, ULA and multicast
// peers.
type TURN struct {
	cfg  TURNConfig
	log  *slog.Logger
	srv  *turn.Server
	urls []string
	udp  net.Addr
	tls  net.Addr // nil without TURN over TLS
	own  []net.IP // the host's own addresses: never a relay peer

	mu     sync.Mutex
	allocs map[string]int // live allocations by call ("<case>.<call>")

	live tracker // pion's read loops, TCP connections and relay sockets

	once     sync.Once
	closeErr error
}

// errNoTCPRelay answers RFC 6062 TCP allocations: browsers relay media
// over UDP allocations (reached over UDP or TCP), so only those are offered.
var errNoTCPRelay = errors.New("turn: TCP relay allocations are not offered")

// NewTURN starts the TURN server on cfg.Listen (UDP and TCP); Close stops it.
func NewTURN(ctx context.Context, cfg TURNConfig, log *slog.Logger) (*TURN, error) {
	if cfg.Realm == "" {
		cfg.Realm = "idv"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.TTL <= 0 {
		return nil, fmt.Errorf("turn %s: credential lifetime must be positive", cfg.Listen)
	}
	if cfg.MaxAllocations <= 0 {
		cfg.MaxAllocations = 12
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("turn %s: %w", cfg.Listen, err)
	}
	if cfg.PublicIP == nil {
		cfg.PublicIP = net.ParseIP(host)
	}
	if cfg.PublicIP == nil || cfg.PublicIP.IsUnspecified() {
		return nil, fmt.Errorf("turn %s: needs a public IP when listening on %q", cfg.Listen, host)
	}
	if len(cfg.Secret) == 0 {
		cfg.Secret = make([]byte, 32)
		if _, err := io.ReadFull(cfg.Rand, cfg.Secret); err != nil {
			return nil, fmt.Errorf("turn %s: secret: %w", cfg.Listen, err)
		}
	}
	t := &TURN{cfg: cfg, log: log, allocs: map[string]int{}, own: ownAddrs(cfg.PublicIP, net.ParseIP(host))}
	if cfg.TLSListen != "" && cfg.TLSCert == nil {
		return nil, fmt.Errorf("turn %s: TURN over TLS needs a certificate", cfg.TLSListen)
	}
	pc, ln, err := listenTwins(ctx, cfg.Listen, host)
	if err != nil {
		return nil, err
	}
	t.udp = pc.LocalAddr()
	port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
	hp := net.JoinHostPort(cfg.PublicIP.String(), port)
	t.urls = []string{"turn:" + hp + "?transport=udp", "turn:" + hp + "?transport=tcp"}
	var tlsLn net.Listener
	if cfg.TLSListen != "" {
		var lc net.ListenConfig
		if tlsLn, err = lc.Listen(ctx, "tcp", cfg.TLSListen); err != nil {
			pc.Close()
			ln.Close()
			return nil, fmt.Errorf("turn %s: listen tls: %w", cfg.TLSListen, err)
		}
		t.tls = tlsLn.Addr()
		name := cfg.TLSHost
		if name == "" {
			name = cfg.PublicIP.String()
		}
		t.urls = append(t.urls, "turns:"+net.JoinHostPort(name, strconv.Itoa(tlsLn.Addr().(*net.TCPAddr).Port))+"?transport=tcp")
	}
	relayHost := host
	if relayHost == "" {
		relayHost = "0.0.0.0"
	}
	gen := &relays{inner: &turn.RelayAddressGeneratorStatic{RelayAddress: cfg.PublicIP, Address: relayHost}, live: &t.live, take: t.take}
	t.srv, err = turn.NewServer(turn.ServerConfig{
		Realm:         cfg.Realm,
		AuthHandler:   t.auth,
		QuotaHandler:  t.quota,
		LoggerFactory: pionLogs{log},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn: &loopConn{PacketConn: pc, done: t.live.add()}, RelayAddressGenerator: gen, PermissionHandler: t.permit,
		}},
		ListenerConfigs: t.listeners(ln, tlsLn, gen),
	})
	if err != nil {
		pc.Close()
		ln.Close()
		if tlsLn != nil {
			tlsLn.Close()
		}
		return nil, fmt.Errorf("turn %s: %w", cfg.Listen, err)
	}
	log.InfoContext(ctx, "TURN server listening", "udp", t.udp, "tcp", ln.Addr(), "tls", t.tls, "public_ip", cfg.PublicIP, "realm", cfg.Realm, "ttl", cfg.TTL)
	return t, nil
}

// listeners are pion's TCP listeners: plain TCP, and TLS when configured.
// The TLS listener wraps the tracked one, so Close reaches its
// connections whatever state their handshake is in.
func (t *TURN) listeners(ln, tlsLn net.Listener, gen turn.RelayAddressGenerator) []turn.ListenerConfig {
	out := []turn.ListenerConfig{{
		Listener: &trackedListener{Listener: ln, live: &t.live, done: t.live.add()}, RelayAddressGenerator: gen, PermissionHandler: t.permit,
	}}
	if tlsLn != nil {
		tc := &tls.Config{Certificates: []tls.Certificate{*t.cfg.TLSCert}, MinVersion: tls.VersionTLS12}
		out = append(out, turn.ListenerConfig{
			Listener: tlsListener{Listener: &trackedListener{Listener: tlsLn, live: &t.live, done: t.live.add()}, cfg: tc}, RelayAddressGenerator: gen, PermissionHandler: t.permit,
		})
	}
	return out
}

// tlsListener serves TURN over TLS. Given a *tls.Conn, pion's server
// (turn v5.1.3) returns from a failed handshake without closing the
// connection, so every client that fails one (a port scanner, plain TURN
// sent to the TLS port) would keep a socket open for good. Its connections
// are wrapped instead: the handshake runs on the first read, bounded in
// time, and its failure ends pion's read loop, which closes the connection.
type tlsListener struct {
	net.Listener
	cfg *tls.Config
}

func (l tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tlsConn{Conn: tls.Server(c, l.cfg)}, nil
}

// tlsHandshakeTimeout bounds a TURN over TLS handshake.
const tlsHandshakeTimeout = 10 * time.Second

type tlsConn struct {
	net.Conn // *tls.Conn
	once     sync.Once
	err      error
}

func (c *tlsConn) Read(b []byte) (int, error) {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
		defer cancel()
		c.err = c.Conn.(*tls.Conn).HandshakeContext(ctx)
	})
	if c.err != nil {
		return 0, c.err
	}
	return c.Conn.Read(b)
}

// Addr is the UDP address the server listens on.
func (t *TURN) Addr() net.Addr { return t.udp }

// TLSAddr is the address of TURN over TLS (nil when off).
func (t *TURN) TLSAddr() net.Addr { return t.tls }

// Credentials returns the server's ICE entry with a fresh username
// "<expiry-unix>:<session>" and password base64(HMAC-SHA1(secret, username))
// valid for the configured TTL. session names the call participant.
func (t *TURN) Credentials(session string) ICEServer {
	user, cred := restCredentials(t.cfg.Secret, t.cfg.Now().Add(t.cfg.TTL), session)
	return ICEServer{URLs: append([]string(nil), t.urls...), Username: user, Credential: cred}
}

func (t *TURN) password(user string) string { return restPassword(t.cfg.Secret, user) }

// restCredentials are TURN REST API credentials (the scheme coturn's
// use-auth-secret accepts): username "<expiry-unix>:<id>", credential
// base64(HMAC-SHA1(secret, username)). They need no state on either side
// and stop working at expiry.
func restCredentials(secret []byte, expiry time.Time, id string) (username, credential string) {
	username = strconv.FormatInt(expiry.Unix(), 10) + ":" + id
	return username, restPassword(secret, username)
}

func restPassword(secret []byte, user string) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(user))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// callOf is the call "<case>.<call>" of a session "<case>.<call>.<role>"
// (the whole session when it has no role part).
func callOf(session string) string {
	if i := strings.LastIndexByte(session, '.'); i > 0 {
		return session[:i]
	}
	return session
}

// quota is pion's allocation quota check (user is the session auth
// returned): a call whose relays are all taken gets 486 Allocation Quota
// Reached. The count itself is kept by take, where the relay socket is
// made, so requests racing past this check are still refused there.
func (t *TURN) quota(user, _ string, src net.Addr) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.allocs[callOf(user)] >= t.cfg.MaxAllocations {
		t.log.Info("TURN allocation refused: the call's quota is used up", "session", user, "src", src, "limit", t.cfg.MaxAllocations)
		return false
	}
	return true
}

// take counts a relay of user's call, unless the call holds its quota;
// release (idempotent) uncounts it when the relay closes.
func (t *TURN) take(user string) (release func(), ok bool) {
	call := callOf(user)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.allocs[call] >= t.cfg.MaxAllocations {
		return nil, false
	}
	t.allocs[call]++
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			if t.allocs[call]--; t.allocs[call] <= 0 {
				delete(t.allocs, call)
			}
		})
	}, true
}

// auth gives pion the long-term key of a REST API username; pion checks the
// request's MESSAGE-INTEGRITY with it, so a forged password gets 401, and so
// does an expired or malformed username (ok false).
func (t *TURN) auth(ra *turn.RequestAttributes) (string, []byte, bool) {
	exp, session, ok := strings.Cut(ra.Username, ":")
	if !ok || session == "" || ra.Realm != t.cfg.Realm {
		return "", nil, false
	}
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return "", nil, false
	}
	now := t.cfg.Now()
	// Expired, or claiming a lifetime this server never issues.
	if sec <= now.Unix() || sec > now.Add(t.cfg.TTL+time.Minute).Unix() {
		t.log.Debug("TURN credentials refused: expired or too long", "session", session, "src", ra.SrcAddr)
		return "", nil, false
	}
	if t.cfg.Live != nil && !t.cfg.Live(session) {
		t.log.Info("TURN credentials refused: the call has ended", "session", session, "src", ra.SrcAddr)
		return "", nil, false
	}
	return session, turn.GenerateAuthKey(ra.Username, ra.Realm, t.password(ra.Username)), true
}

// permit is pion's permission handler: CreatePermission, ChannelBind and
// Connect to a peer it refuses are answered with an error and nothing is
// sent to the peer.
func (t *TURN) permit(client net.Addr, peer net.IP) bool {
	if allowedPeer(peer) && !t.isOwn(peer) {
		return true
	}
	t.log.Info("TURN relay refused", "client", client, "peer", peer)
	return false
}

// Close stops the server, ends its TCP connections and relays, and waits
// for pion's goroutines. It is idempotent.
func (t *TURN) Close() error {
	t.once.Do(func() {
		if err := t.srv.Close(); err != nil {
			t.closeErr = fmt.Errorf("turn %s: close: %w", t.udp, err)
		}
		t.live.closeAll()
		if err := t.live.wait(5 * time.Second); err != nil && t.closeErr == nil {
			t.closeErr = fmt.Errorf("turn %s: close: %w", t.udp, err)
		}
	})
	return t.closeErr
}

// isOwn reports whether ip is one of the host's own addresses: a relay to
// it would reach the server's own services (this one's HTTP port, the
// database, an admin port) from outside, like a private address.
func (t *TURN) isOwn(ip net.IP) bool {
	for _, o := range t.own {
		if o.Equal(ip) {
			return true
		}
	}
	return false
}

// ownAddrs are the addresses of this host's interfaces and the given
// ones (the public address, which a NAT in front of the host maps to it,
// and the listening address).
func ownAddrs(extra ...net.IP) []net.IP {
	var out []net.IP
	for _, ip := range extra {
		if ip != nil && !ip.IsUnspecified() {
			out = append(out, ip)
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			out = append(out, n.IP)
		}
	}
	return out
}

// blockedPeers are the networks a relay must never reach: the server's own
// host, the private networks behind it, cloud metadata and the like.
var blockedPeers = func() []*net.IPNet {
	var nets []*net.IPNet
	for _, s := range []string{
		"0.0.0.0/8",         // "this network"
		"10.0.0.0/8",        // RFC 1918
		"100.64.0.0/10",     // CGNAT (RFC 6598)
		"127.0.0.0/8",       // loopback
		"169.254.0.0/16",    // link-local, incl. 169.254.169.254 metadata
		"172.16.0.0/12",     // RFC 1918
		"192.0.0.0/24",      // IETF protocol assignments
		"192.168.0.0/16",    // RFC 1918
		"198.18.0.0/15",     // benchmarking
		"224.0.0.0/4",       // multicast
		"240.0.0.0/4",       // reserved, incl. broadcast
		"::/96",             // unspecified, loopback, IPv4-compatible
		"100::/64",          // discard
		"fc00::/7",          // ULA
		"fe80::/10",         // link-local
		"fec0::/10",         // site-local (deprecated)
		"ff00::/8",          // multicast
		"fd00:ec2::254/128", // AWS IPv6 metadata (inside ULA already)
	} {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			panic(err) // a constant above is wrong
		}
		nets = append(nets, n)
	}
	return nets
}()

// embedsIPv4 are IPv6 prefixes whose last 32 bits (NAT64) or bits 16-48
// (6to4) carry an IPv4 address that must pass the IPv4 rules.
var (
	nat64a = &net.IPNet{IP: net.ParseIP("64:ff9b::"), Mask: net.CIDRMask(96, 128)}
	nat64b = &net.IPNet{IP: net.ParseIP("64:ff9b:1::"), Mask: net.CIDRMask(48, 128)}
	sixto4 = &net.IPNet{IP: net.ParseIP("2002::"), Mask: net.CIDRMask(16, 128)}
)

// allowedPeer reports whether the TURN server may relay to ip: only
// globally routable unicast addresses. IPv4-mapped, NAT64 and 6to4 IPv6
// addresses are judged by the IPv4 address inside them.
func allowedPeer(ip net.IP) bool {
	if ip == nil || (ip.To4() == nil && len(ip) != net.IPv6len) {
		return false
	}
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	} else {
		switch {
		case nat64a.Contains(ip), nat64b.Contains(ip):
			return allowedPeer(net.IP(ip[12:16]))
		case sixto4.Contains(ip):
			return allowedPeer(net.IP(ip[2:6]))
		}
	}
	if ip.IsUnspecified() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() {
		return false
	}
	for _, n := range blockedPeers {
		if n.Contains(ip) {
			return false
		}
	}
	return true
}

// tracker counts live goroutine-owning resources handed to pion, which
// itself does not wait for its goroutines on Close.
type tracker struct {
	mu     sync.Mutex
	n      int
	closed bool
	conns  map[net.Conn]struct{}
}

// add counts one resource; the returned func (idempotent) releases it.
func (tr *tracker) add() func() {
	tr.mu.Lock()
	tr.n++
	tr.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			tr.mu.Lock()
			tr.n--
			tr.mu.Unlock()
		})
	}
}

// conn registers an accepted TCP connection so closeAll can end it.
func (tr *tracker) conn(c net.Conn) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.closed {
		return false
	}
	if tr.conns == nil {
		tr.conns = map[net.Conn]struct{}{}
	}
	tr.conns[c] = struct{}{}
	return true
}

func (tr *tracker) forget(c net.Conn) {
	tr.mu.Lock()
	delete(tr.conns, c)
	tr.mu.Unlock()
}

// closeAll ends every TCP connection (pion leaves them to the client).
func (tr *tracker) closeAll() {
	tr.mu.Lock()
	tr.closed = true
	conns := tr.conns
	tr.conns = nil
	tr.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
}

// wait returns once nothing is live, or an error after d.
func (tr *tracker) wait(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		tr.mu.Lock()
		n := tr.n
		tr.mu.Unlock()
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d relay resources still open after %v", n, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// loopConn is pion's listening socket, released when pion's read loop over
// it ends (at its first read error pion returns).
type loopConn struct {
	net.PacketConn
	done func()
}

func (c *loopConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(b)
	if err != nil {
		c.done()
	}
	return n, addr, err
}

// trackedListener hands pion connections that are released when pion
// closes them (after its read loop over them ends).
type trackedListener struct {
	net.Listener
	live *tracker
	done func()
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		l.done()
		return nil, err
	}
	tc := &trackedConn{Conn: c, live: l.live, done: l.live.add()}
	if !l.live.conn(c) {
		_ = c.Close() // accepted while closing: pion's loop ends at once
	}
	return tc, nil
}

type trackedConn struct {
	net.Conn
	live *tracker
	done func()
}

func (c *trackedConn) Close() error {
	c.live.forget(c.Conn)
	err := c.Conn.Close()
	c.done()
	return err
}

// relays wraps a relay address generator: UDP relays only, each relay
// socket tracked and counted against its call's quota until its
// allocation closes it.
type relays struct {
	inner turn.RelayAddressGenerator
	live  *tracker
	take  func(user string) (release func(), ok bool)
}

// errQuota refuses a relay past the call's quota.
var errQuota = errors.New("turn: the call's relay allocations are used up")

func (r *relays) Validate() error { return r.inner.Validate() }

func (r *relays) AllocatePacketConn(c turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	release, ok := r.take(c.UserID)
	if !ok {
		return nil, nil, errQuota
	}
	pc, addr, err := r.inner.AllocatePacketConn(c)
	if err != nil {
		release()
		return nil, nil, err
	}
	done := r.live.add()
	return &relayConn{PacketConn: pc, done: func() { release(); done() }}, addr, nil
}

func (r *relays) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errNoTCPRelay
}

func (r *relays) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) {
	return nil, errNoTCPRelay
}

// relayConn is a relay socket, released when its allocation closes it.
type relayConn struct {
	net.PacketConn
	done func()
}

func (c *relayConn) Close() error {
	err := c.PacketConn.Close()
	c.done()
	return err
}

// pionLogs routes pion's logs to slog: its errors are mostly about clients'
// bad requests, so they log at info, everything else at debug.
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLog{f.log.With("pion", scope)}
}

type pionLog struct{ log *slog.Logger }

func (l pionLog) Trace(msg string)                  { l.log.Debug(msg) }
func (l pionLog) Tracef(format string, args ...any) { l.log.Debug(fmt.Sprintf(format, args...)) }
func (l pionLog) Debug(msg string)                  { l.log.Debug(msg) }
func (l pionLog) Debugf(format string, args ...any) { l.log.Debug(fmt.Sprintf(format, args...)) }
func (l pionLog) Info(msg string)                   { l.log.Debug(msg) }
func (l pionLog) Infof(format string, args ...any)  { l.log.Debug(fmt.Sprintf(format, args...)) }
func (l pionLog) Warn(msg string)                   { l.log.Info(msg) }
func (l pionLog) Warnf(format string, args ...any)  { l.log.Info(fmt.Sprintf(format, args...)) }
func (l pionLog) Error(msg string)                  { l.log.Info(msg) }
func (l pionLog) Errorf(format string, args ...any) { l.log.Info(fmt.Sprintf(format, args...)) }

// listenTwins listens on UDP and on TCP at the same port. With port 0 the
// system picks the UDP port, whose TCP twin another program may hold: then
// it tries another port (a few times) rather than fail at random.
func listenTwins(ctx context.Context, listen, host string) (net.PacketConn, net.Listener, error) {
	_, want, _ := net.SplitHostPort(listen)
	var lc net.ListenConfig
	for attempt := 0; ; attempt++ {
		pc, err := lc.ListenPacket(ctx, "udp", listen)
		if err != nil {
			return nil, nil, fmt.Errorf("turn %s: listen udp: %w", listen, err)
		}
		port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
		ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, port))
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if want != "0" || !errors.Is(err, syscall.EADDRINUSE) || attempt == 19 {
			return nil, nil, fmt.Errorf("turn %s: listen tcp: %w", listen, err)
		}
	}
}
