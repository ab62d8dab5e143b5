package signaling_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"go.uber.org/goleak"

	"remoteidv/signaling"
)

// selfSigned is a certificate for name and the pool that trusts it.
func selfSigned(t testing.TB, name string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// TestTURNOverTLS: a customer whose firewall lets only HTTPS out reaches
// the embedded TURN server over TLS (turns:) and gets a relay; the turns:
// URL names the certificate's host; plain TURN on the TLS port gets
// nothing (the control).
func TestTURNOverTLS(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cert, pool := selfSigned(t, "turn.bank.test")
	srv, err := signaling.NewTURN(t.Context(), signaling.TURNConfig{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0", TLSCert: &cert, TLSHost: "turn.bank.test",
		Secret: []byte("0123456789abcdef0123456789abcdef"), TTL: time.Hour}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	}()
	ice := srv.Credentials("case_x.call_y.customer")
	port := strconv.Itoa(srv.TLSAddr().(*net.TCPAddr).Port)
	if want := "turns:turn.bank.test:" + port + "?transport=tcp"; len(ice.URLs) != 3 || ice.URLs[2] != want {
		t.Fatalf("URLs = %v, want the third to be %s", ice.URLs, want)
	}

	t.Run("over TLS", func(t *testing.T) {
		conn, err := tls.Dial("tcp", srv.TLSAddr().String(), &tls.Config{RootCAs: pool, ServerName: "turn.bank.test", MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatalf("TLS handshake: %v", err)
		}
		c := listenTURN(t, turn.NewSTUNConn(conn), srv.TLSAddr(), ice.Username, ice.Credential)
		relay, err := c.Allocate()
		if err != nil {
			t.Fatalf("Allocate() over TLS = %v", err)
		}
		relay.Close()
	})
	t.Run("plain TURN on the TLS port", func(t *testing.T) {
		conn, err := net.Dial("tcp", srv.TLSAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		c := listenTURN(t, turn.NewSTUNConn(conn), srv.TLSAddr(), ice.Username, ice.Credential)
		if relay, err := c.Allocate(); err == nil {
			relay.Close()
			t.Fatal("Allocate() in the clear on the TLS port succeeded")
		}
	})
	t.Run("a failed handshake is closed", func(t *testing.T) {
		conn, err := net.Dial("tcp", srv.TLSAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = io.Copy(io.Discard, conn) // an alert, then the server closes
		if err != nil {
			t.Fatalf("the server kept the connection of a failed handshake open: %v", err)
		}
	})
	t.Run("no certificate", func(t *testing.T) {
		if _, err := signaling.NewTURN(t.Context(), signaling.TURNConfig{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0", TTL: time.Hour}, slog.New(slog.DiscardHandler)); err == nil {
			t.Fatal("NewTURN with TLSListen and no certificate succeeded")
		}
	})
}

// listenTURN is a TURN client on conn, closed with the test.
func listenTURN(t testing.TB, conn net.PacketConn, addr net.Addr, user, pass string) *turn.Client {
	t.Helper()
	c, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: addr.String(), STUNServerAddr: addr.String(), Username: user, Password: pass,
		Conn: conn, LoggerFactory: quietPion, RTO: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		conn.Close()
	})
	return c
}
