// Package mailtest runs a real SMTP server (github.com/emersion/go-smtp) in
// the test process: STARTTLS with a throw-away certificate, optional PLAIN
// authentication, DSN (RFC 3461) offered unless turned off, and every
// accepted message kept for inspection with its MAIL and RCPT parameters.
// Like a mail server it writes delivery status notifications (RFC 3464)
// for what it accepted and hands them to a bounce intake (see Report and
// Bounce).
package mailtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one accepted message.
type Message struct {
	From string
	To   []string
	Data []byte
	// EnvelopeID and Return are MAIL FROM's ENVID and RET ("" when not
	// given).
	EnvelopeID string
	Return     string
	// Rcpt holds each RCPT TO's DSN parameters, in order.
	Rcpt []Rcpt
}

// Rcpt is one RCPT TO with its DSN parameters.
type Rcpt struct {
	To     string
	Notify []string // NOTIFY, e.g. [SUCCESS FAILURE]; nil when not given
	ORCPT  string   // the original recipient ("" when not given)
}

// Server is an in-process SMTP server.
type Server struct {
	// Addr is host:port.
	Addr string
	// ClientTLS trusts the server's certificate.
	ClientTLS *tls.Config

	srv  *smtp.Server
	user string
	pass string

	mu       sync.Mutex
	messages []Message
	notify   chan struct{}
}

// Options configure Start.
type Options struct {
	Addr     string // "" for a free port on 127.0.0.1
	Username string // "" for no authentication
	Password string
	NoDSN    bool // do not offer DSN in the EHLO answer
}

// Start runs a server until the test ends.
func Start(tb testing.TB, o Options) *Server {
	tb.Helper()
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ { // a port just given up may take a moment
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("mailtest: listen %s: %v", addr, err)
	}
	cert, pool := selfSigned(tb)
	s := &Server{Addr: l.Addr().String(), ClientTLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		user: o.Username, pass: o.Password, notify: make(chan struct{}, 1)}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "mailtest.local"
	s.srv.EnableDSN = !o.NoDSN
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.srv.MaxMessageBytes = 30 << 20
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	done := make(chan struct{})
	go func() { defer close(done); _ = s.srv.Serve(l) }()
	tb.Cleanup(func() { _ = s.srv.Close(); <-done })
	return s
}

// FreeAddr returns a local address nothing listens on (yet).
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("mailtest: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// Messages returns what the server accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Wait waits until the server holds at least n messages, failing the test
// after timeout.
func (s *Server) Wait(tb testing.TB, n int, timeout time.Duration) []Message {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.notify:
		case <-deadline:
			tb.Fatalf("mailtest: %d messages after %v, want %d", len(s.Messages()), timeout, n)
		}
	}
}

type session struct {
	s      *Server
	authed bool
	msg    Message
}

func (se *session) AuthMechanisms() []string {
	if se.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != se.s.user || pass != se.s.pass {
			return errors.New("invalid credentials")
		}
		se.authed = true
		return nil
	}), nil
}

func (se *session) Mail(from string, o *smtp.MailOptions) error {
	if se.s.user != "" && !se.authed {
		return smtp.ErrAuthRequired
	}
	se.msg = Message{From: from}
	if o != nil {
		se.msg.EnvelopeID, se.msg.Return = o.EnvelopeID, string(o.Return)
	}
	return nil
}

func (se *session) Rcpt(to string, o *smtp.RcptOptions) error {
	se.msg.To = append(se.msg.To, to)
	r := Rcpt{To: to}
	if o != nil {
		for _, n := range o.Notify {
			r.Notify = append(r.Notify, string(n))
		}
		r.ORCPT = o.OriginalRecipient
	}
	se.msg.Rcpt = append(se.msg.Rcpt, r)
	return nil
}

func (se *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	se.msg.Data = b
	se.s.mu.Lock()
	se.s.messages = append(se.s.messages, se.msg)
	se.s.mu.Unlock()
	select {
	case se.s.notify <- struct{}{}:
	default:
	}
	return nil
}

func (se *session) Reset()        { se.msg = Message{} }
func (se *session) Logout() error { return nil }

func selfSigned(tb testing.TB) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailtest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}
