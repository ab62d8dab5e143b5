package signaling_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
	"go.uber.org/goleak"

	"remoteidv/signaling"
)

func TestAllowedPeer(t *testing.T) {
	tests := []struct {
		ip   string
		want bool
	}{
		{"203.0.113.7", true},
		{"8.8.8.8", true},
		{"2001:4860:4860::8888", true},
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"127.0.0.1", false},
		{"127.1.2.3", false},
		{"::1", false},
		{"::ffff:127.0.0.1", false}, // IPv4-mapped loopback
		{"0.0.0.0", false},
		{"::", false},
		{"10.0.0.1", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"169.254.0.1", false},
		{"fe80::1", false},
		{"100.64.0.1", false}, // CGNAT
		{"100.127.255.254", false},
		{"fc00::1", false}, // ULA
		{"fd00:ec2::254", false},
		{"224.0.0.1", false}, // multicast
		{"239.255.255.250", false},
		{"ff02::1", false},
		{"255.255.255.255", false},
		{"64:ff9b::a00:1", false},    // NAT64 of 10.0.0.1
		{"64:ff9b::7f00:1", false},   // NAT64 of 127.0.0.1
		{"2002:a9fe:a9fe::1", false}, // 6to4 of 169.254.169.254
		{"::127.0.0.1", false},       // IPv4-compatible
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			if got := signaling.AllowedPeer(net.ParseIP(tt.ip)); got != tt.want {
				t.Errorf("allowedPeer(%s) = %v, want %v", tt.ip, got, tt.want)
			}
		})
	}
	if signaling.AllowedPeer(nil) {
		t.Errorf("allowedPeer(nil) = true, want false")
	}
}

// restCreds makes TURN REST API credentials by hand, as an attacker
// knowing (or guessing) the secret would.
func restCreds(secret []byte, expiry time.Time, session string) (string, string) {
	user := strconv.FormatInt(expiry.Unix(), 10) + ":" + session
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(user))
	return user, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

var quietPion = &logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelDisabled}

// turnClient connects a pion TURN client over network ("udp" or "tcp") to
// addr; the cleanup closes it.
func turnClient(t testing.TB, network string, addr net.Addr, user, pass string) *turn.Client {
	t.Helper()
	var conn net.PacketConn
	if network == "tcp" {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		conn = turn.NewSTUNConn(c)
	} else {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = c
	}
	return listenTURN(t, conn, addr, user, pass)
}

// turnCode is the STUN error code in err, or 0.
func turnCode(err error) stun.ErrorCode {
	var p *stun.TurnError
	if errors.As(err, &p) {
		return p.ErrorCodeAttr.Code
	}
	var v stun.TurnError
	if errors.As(err, &v) {
		return v.ErrorCodeAttr.Code
	}
	return 0
}

// TestTURN runs the embedded server on loopback and talks to it with pion's
// TURN client: REST API credentials allocate (UDP and TCP); expired, forged
// and over-long credentials get 401; permissions to loopback, private,
// link-local (metadata) and CGNAT peers get 403. Only the CreatePermission
// peer addresses are checked: nothing is ever sent to them (a refused
// permission relays nothing; the allowed one is a documentation address
// and no data is sent).
func TestTURN(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	secret := []byte("0123456789abcdef0123456789abcdef")
	srv, err := signaling.NewTURN(t.Context(), signaling.TURNConfig{Listen: "127.0.0.1:0", Realm: "idv.test", Secret: secret, TTL: time.Hour},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("second Close() = %v", err)
		}
	}()
	addr := srv.Addr()

	ice := srv.Credentials("case_x.call_y.customer")
	port := strconv.Itoa(addr.(*net.UDPAddr).Port)
	if want := []string{"turn:127.0.0.1:" + port + "?transport=udp", "turn:127.0.0.1:" + port + "?transport=tcp"}; strings.Join(ice.URLs, " ") != strings.Join(want, " ") {
		t.Errorf("Credentials().URLs = %v, want %v", ice.URLs, want)
	}
	exp, session, _ := strings.Cut(ice.Username, ":")
	if session != "case_x.call_y.customer" {
		t.Errorf("username %q does not carry the session", ice.Username)
	}
	if sec, _ := strconv.ParseInt(exp, 10, 64); time.Until(time.Unix(sec, 0)) > time.Hour || time.Until(time.Unix(sec, 0)) < 59*time.Minute {
		t.Errorf("username %q expires at %v, want in 1h", ice.Username, time.Unix(sec, 0))
	}
	if _, want := restCreds(secret, time.Unix(mustInt(t, exp), 0), session); ice.Credential != want {
		t.Errorf("Credentials().Credential is not base64(HMAC-SHA1(secret, username))")
	}

	for _, network := range []string{"udp", "tcp"} {
		t.Run("valid/"+network, func(t *testing.T) {
			c := turnClient(t, network, addr, ice.Username, ice.Credential)
			relay, err := c.Allocate()
			if err != nil {
				t.Fatalf("Allocate() = %v", err)
			}
			defer relay.Close()
			if ip := relay.LocalAddr().(*net.UDPAddr).IP; !ip.Equal(net.IPv4(127, 0, 0, 1)) {
				t.Errorf("relayed address %v, want the public IP 127.0.0.1", ip)
			}
			// A public peer is permitted (no data is sent to it).
			if err := c.CreatePermission(&net.UDPAddr{IP: net.ParseIP("203.0.113.7"), Port: 9}); err != nil {
				t.Errorf("CreatePermission(203.0.113.7) = %v, want nil", err)
			}
			for _, peer := range []string{"127.0.0.1", "169.254.169.254", "10.0.0.1", "192.168.1.1", "172.16.0.1", "100.64.0.1", "224.0.0.1"} {
				err := c.CreatePermission(&net.UDPAddr{IP: net.ParseIP(peer), Port: 80})
				if code := turnCode(err); code != stun.CodeForbidden {
					t.Errorf("CreatePermission(%s) = %v, want 403 Forbidden", peer, err)
				}
			}
		})
	}

	now := time.Now()
	bad := map[string]func() (string, string){
		"expired": func() (string, string) { return restCreds(secret, now.Add(-time.Second), "case_x.call_y.customer") },
		"forged": func() (string, string) {
			return restCreds([]byte("not the secret, not the secret!!"), now.Add(time.Hour), "case_x.call_y.customer")
		},
		"wrong password": func() (string, string) { return ice.Username, ice.Credential[1:] + "A" },
		"a day long":     func() (string, string) { return restCreds(secret, now.Add(24*time.Hour), "case_x.call_y.customer") },
		"no session":     func() (string, string) { return strconv.FormatInt(now.Add(time.Hour).Unix(), 10), "x" },
	}
	for name, creds := range bad {
		t.Run(name, func(t *testing.T) {
			user, pass := creds()
			c := turnClient(t, "udp", addr, user, pass)
			relay, err := c.Allocate()
			if err == nil {
				relay.Close()
			}
			if code := turnCode(err); code != stun.CodeUnauthorized {
				t.Errorf("Allocate() with %s credentials = %v, want 401 Unauthorized", name, err)
			}
		})
	}
}

func mustInt(t testing.TB, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHubTURN: with the embedded TURN server on, a participant's join
// welcome carries it with credentials naming the case, call and role and
// living the longest call plus 15 minutes; they allocate a relay.
func TestHubTURN(t *testing.T) {
	f := newFixture(t, signaling.Config{MaxDuration: 30 * time.Minute, TURN: &signaling.TURNConfig{Listen: "127.0.0.1:0"}})
	id, cu, _, _ := f.newCall(0)
	p := dial(t, cu, nil, source{})
	defer p.close("")
	join, ok := p.waitFor(signaling.TypeJoin, 10*time.Second)
	if !ok {
		t.Fatal("no join welcome")
	}
	var ice *signaling.ICEServer
	for i, s := range join.ICE {
		if len(s.URLs) > 0 && strings.HasPrefix(s.URLs[0], "turn:") {
			ice = &join.ICE[i]
		}
	}
	if ice == nil {
		t.Fatalf("join ICE servers = %+v, want the embedded TURN server", join.ICE)
	}
	exp, session, _ := strings.Cut(ice.Username, ":")
	if want := string(id) + "." + join.Call + ".customer"; session != want {
		t.Errorf("TURN username session = %q, want %q", session, want)
	}
	// The hub runs on the real clock (the fixture's is the workflow's).
	if got, want := time.Unix(mustInt(t, exp), 0), time.Now().Add(45*time.Minute); got.Sub(want).Abs() > 5*time.Second {
		t.Errorf("TURN credentials expire at %v, want %v", got, want)
	}
	c := turnClient(t, "udp", f.hub.TURNAddr(), ice.Username, ice.Credential)
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("Allocate() with the join credentials = %v", err)
	}
	relay.Close()
	select {
	case <-p.connected: // let the call settle before leaving
	case <-time.After(10 * time.Second):
		t.Error("customer never connected")
	}
	// Once the call has ended, its credentials are refused before they expire.
	f.hub.End(id, "test over")
	f.waitEnded(id, 30*time.Second)
	late := turnClient(t, "udp", f.hub.TURNAddr(), ice.Username, ice.Credential)
	if relay, err := late.Allocate(); err == nil {
		relay.Close()
		t.Error("Allocate() with the credentials of an ended call succeeded")
	}
}
