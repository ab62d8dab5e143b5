package signaling_test

import (
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"go.uber.org/goleak"

	"remoteidv/signaling"
)

// TestTURNAllocationQuota: one call holds at most MaxAllocations relays at
// once, all its participants together: the next Allocate gets 486
// Allocation Quota Reached, also when many ask at once; another call has
// its own quota, and a closed relay gives its place back.
func TestTURNAllocationQuota(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	// The clients close with the subtest, before the leak check.
	t.Run("clients", func(t *testing.T) {
		srv, err := signaling.NewTURN(t.Context(), signaling.TURNConfig{Listen: "127.0.0.1:0", Realm: "idv.test", TTL: time.Hour, MaxAllocations: 3},
			slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		allocate := func(session, network string) (net.PacketConn, error) {
			ice := srv.Credentials(session)
			c := turnClient(t, network, srv.Addr(), ice.Username, ice.Credential)
			return c.Allocate()
		}
		var held []net.PacketConn
		for i, s := range []struct{ session, network string }{
			{"case_x.call_y.customer", "udp"}, {"case_x.call_y.clerk", "tcp"}, {"case_x.call_y.customer", "udp"},
		} {
			relay, err := allocate(s.session, s.network)
			if err != nil {
				t.Fatalf("allocation %d of call_y (%s over %s) = %v, want a relay", i+1, s.session, s.network, err)
			}
			held = append(held, relay)
		}
		for _, s := range []string{"case_x.call_y.customer", "case_x.call_y.observer"} {
			relay, err := allocate(s, "udp")
			if err == nil {
				relay.Close()
			}
			if code := turnCode(err); code != stun.CodeAllocQuotaReached {
				t.Errorf("fourth allocation of call_y (%s) = %v, want 486 Allocation Quota Reached", s, err)
			}
		}
		if relay, err := allocate("case_x.call_z.customer", "udp"); err != nil {
			t.Errorf("allocation of another call = %v, want a relay", err)
		} else {
			relay.Close()
		}

		// A closed relay gives its place back (the server deletes the
		// allocation when the client's refresh with lifetime 0 arrives).
		held[0].Close()
		deadline := time.Now().Add(5 * time.Second)
		for {
			relay, err := allocate("case_x.call_y.customer", "udp")
			if err == nil {
				held[0] = relay
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("allocation after a relay of call_y closed = %v, want a relay", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		for _, r := range held {
			r.Close()
		}

		// Twenty at once for one call: three get a relay.
		var ok atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			network := "udp"
			if i%2 == 1 {
				network = "tcp"
			}
			ice := srv.Credentials("case_b.call_burst.customer")
			c := turnClient(t, network, srv.Addr(), ice.Username, ice.Credential)
			wg.Go(func() {
				if relay, err := c.Allocate(); err == nil {
					ok.Add(1)
					t.Cleanup(func() { relay.Close() })
				}
			})
		}
		wg.Wait()
		if n := ok.Load(); n != 3 {
			t.Errorf("20 allocations of one call at once: %d got a relay, want 3", n)
		}
	})
}

// TestTURNRefusesItsOwnAddresses: the server's own addresses (its public
// address, behind which a NAT reaches the host, and its interfaces) are
// refused as relay peers like private ranges, so a relay cannot reach the
// host's own services from outside. Nothing is sent to any peer.
func TestTURNRefusesItsOwnAddresses(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	// The clients close with the subtest, before the leak check.
	t.Run("clients", func(t *testing.T) {
		public := net.ParseIP("203.0.113.50")
		srv, err := signaling.NewTURN(t.Context(), signaling.TURNConfig{Listen: "127.0.0.1:0", PublicIP: public, Realm: "idv.test", TTL: time.Hour},
			slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		ice := srv.Credentials("case_x.call_y.customer")
		c := turnClient(t, "udp", srv.Addr(), ice.Username, ice.Credential)
		relay, err := c.Allocate()
		if err != nil {
			t.Fatalf("Allocate() = %v", err)
		}
		defer relay.Close()
		own := []string{public.String()}
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok && signaling.AllowedPeer(n.IP) {
					own = append(own, n.IP.String()) // a global address of this host
				}
			}
		}
		for _, peer := range own {
			if code := turnCode(c.CreatePermission(&net.UDPAddr{IP: net.ParseIP(peer), Port: 8080})); code != stun.CodeForbidden {
				t.Errorf("CreatePermission(%s, the server's own address) = %v, want 403 Forbidden", peer, code)
			}
		}
		if err := c.CreatePermission(&net.UDPAddr{IP: net.ParseIP("203.0.113.51"), Port: 9}); err != nil {
			t.Errorf("CreatePermission(203.0.113.51, a neighbour) = %v, want nil", err)
		}
	})
}

// TestHubExternalTURNCredentials: the external TURN servers of
// Config.ICEServers reach a customer only with credentials of its own in
// the TURN REST API scheme (coturn's use-auth-secret), never the static
// ones written in the configuration; without the shared secret a customer
// gets none.
func TestHubExternalTURNCredentials(t *testing.T) {
	secret := []byte("fedcba9876543210fedcba9876543210")
	servers := []signaling.ICEServer{{URLs: []string{"stun:192.0.2.10:3478"}}, {URLs: []string{"turn:192.0.2.11:3478?transport=udp"}, Username: "bank", Credential: "static-password"}}
	for _, tt := range []struct {
		name   string
		secret []byte
	}{{"shared secret", secret}, {"no secret", nil}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, signaling.Config{MaxDuration: 30 * time.Minute, ICEServers: servers, ICESecret: tt.secret})
			id, cu, _, _ := f.newCall(0)
			p := dial(t, cu, nil, source{})
			defer p.close("")
			join, ok := p.waitFor(signaling.TypeJoin, 10*time.Second)
			if !ok {
				t.Fatal("no join welcome")
			}
			var turnEntry *signaling.ICEServer
			for i, s := range join.ICE {
				if s.Credential == "static-password" || s.Username == "bank" {
					t.Errorf("the customer got the static TURN credentials: %+v", s)
				}
				if strings.HasPrefix(s.URLs[0], "turn:") {
					turnEntry = &join.ICE[i]
				}
			}
			if turnEntry == nil {
				t.Fatalf("join ICE servers = %+v, want the external TURN server", join.ICE)
			}
			if tt.secret == nil {
				if turnEntry.Username != "" || turnEntry.Credential != "" {
					t.Errorf("without a secret the customer got TURN credentials %+v, want none", turnEntry)
				}
				return
			}
			exp, session, _ := strings.Cut(turnEntry.Username, ":")
			if want := string(id) + "." + join.Call + ".customer"; session != want {
				t.Errorf("TURN username %q: participant %q, want %q", turnEntry.Username, session, want)
			}
			expiry := time.Unix(mustInt(t, exp), 0)
			if want := time.Now().Add(45 * time.Minute); expiry.Sub(want).Abs() > 5*time.Second {
				t.Errorf("TURN credentials expire at %v, want %v (the longest call plus 15 minutes)", expiry, want)
			}
			if _, want := restCreds(secret, expiry, session); turnEntry.Credential != want {
				t.Errorf("TURN credential is not base64(HMAC-SHA1(secret, username))")
			}
		})
	}
}
