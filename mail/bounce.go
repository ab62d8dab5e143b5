package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"remoteidv/models"
)

// ReportHandler records one delivery report (raw, at most MaxReportBytes).
// It returns nil once the report is stored, ENOTFOUND when the report
// names no message idv sent, EINVALID when raw is not a delivery report,
// and any other error when it could not be stored now (the intake then
// answers 451 and the bank's mail server tries again).
type ReportHandler func(ctx context.Context, raw []byte) error

// BounceConfig configures the bounce intake.
type BounceConfig struct {
	Addr string // host:port to listen on
	// LMTP speaks LMTP (RFC 2033), the protocol of a final delivery
	// agent; false speaks SMTP for mail servers that cannot.
	LMTP bool
	// Allow lists the peers (the bank's mail servers) that may deliver;
	// others are turned away at connection time. Empty allows loopback
	// only.
	Allow []netip.Prefix
	// Domain is the name in the greeting; default "localhost".
	Domain string
	Log    *slog.Logger
}

// BounceStats counts what the intake received since it started.
type BounceStats struct {
	Recorded  int64 // stored against their message
	Unmatched int64 // naming no message idv sent (accepted, dropped)
	Malformed int64 // not a delivery report (accepted, dropped)
	Oversized int64 // larger than MaxReportBytes (refused, 552)
	Deferred  int64 // not stored now (451: the server retries)
	Refused   int64 // connections from peers not allowed
}

// BounceIntake receives the delivery status notifications that come back
// to the envelope sender: the bank's mail server hands the bounce mailbox
// to it over LMTP (or SMTP). A report is answered 250 only once the
// handler stored it, so until then it stays in the mail server's queue:
// nothing is lost when idv is down. Unmatched and malformed mail is
// accepted and dropped (logged and counted), never bounced again.
type BounceIntake struct {
	cfg     BounceConfig
	handler ReportHandler
	l       net.Listener
	srv     *smtp.Server
	log     *slog.Logger

	ctxMu sync.Mutex
	ctx   context.Context

	recorded, unmatched, malformed, oversized, deferred, refused atomic.Int64
}

// NewBounceIntake listens on cfg.Addr; Run serves it.
func NewBounceIntake(cfg BounceConfig, h ReportHandler) (*BounceIntake, error) {
	if h == nil {
		return nil, errors.New("bounce intake: no report handler")
	}
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	if len(cfg.Allow) == 0 {
		cfg.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	lg := cfg.Log
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("bounce intake: listen %s: %w", cfg.Addr, err)
	}
	b := &BounceIntake{cfg: cfg, handler: h, l: l, log: lg.With("component", "bounce_intake"), ctx: context.Background()}
	b.srv = smtp.NewServer(smtp.BackendFunc(b.session))
	b.srv.LMTP = cfg.LMTP
	b.srv.Domain = cfg.Domain
	b.srv.MaxMessageBytes = MaxReportBytes
	b.srv.MaxRecipients = 10
	b.srv.ReadTimeout, b.srv.WriteTimeout = time.Minute, time.Minute
	b.srv.ErrorLog = log.New(io.Discard, "", 0)
	return b, nil
}

// Addr is the address the intake listens on.
func (b *BounceIntake) Addr() string { return b.l.Addr().String() }

// Stats returns the counts so far.
func (b *BounceIntake) Stats() BounceStats {
	return BounceStats{Recorded: b.recorded.Load(), Unmatched: b.unmatched.Load(), Malformed: b.malformed.Load(),
		Oversized: b.oversized.Load(), Deferred: b.deferred.Load(), Refused: b.refused.Load()}
}

// Run serves until ctx ends, then closes the listener and every
// connection.
func (b *BounceIntake) Run(ctx context.Context) error {
	b.ctxMu.Lock()
	b.ctx = ctx
	b.ctxMu.Unlock()
	done := make(chan error, 1)
	go func() { done <- b.srv.Serve(b.l) }()
	select {
	case <-ctx.Done():
		_ = b.srv.Close()
		<-done
		return nil
	case err := <-done:
		if errors.Is(err, smtp.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("bounce intake: %w", err)
	}
}

// Close stops the intake (for a caller that never ran it).
func (b *BounceIntake) Close() error { return b.srv.Close() }

func (b *BounceIntake) runCtx() context.Context {
	b.ctxMu.Lock()
	defer b.ctxMu.Unlock()
	return b.ctx
}

func (b *BounceIntake) session(c *smtp.Conn) (smtp.Session, error) {
	peer := c.Conn().RemoteAddr().String()
	ap, err := netip.ParseAddrPort(peer)
	allowed := false
	for _, p := range b.cfg.Allow {
		if err == nil && p.Contains(ap.Addr().Unmap()) {
			allowed = true
			break
		}
	}
	if !allowed {
		b.refused.Add(1)
		b.log.Warn("bounce intake: connection from a peer not allowed", "peer", peer)
		return nil, &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "not allowed to deliver here"}
	}
	return &bounceSession{b: b, peer: peer}, nil
}

type bounceSession struct {
	b    *BounceIntake
	peer string
	from string
}

func (s *bounceSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *bounceSession) Rcpt(string, *smtp.RcptOptions) error        { return nil }
func (s *bounceSession) Reset()                                      { s.from = "" }
func (s *bounceSession) Logout() error                               { return nil }

func (s *bounceSession) Data(r io.Reader) error {
	b := s.b
	raw, err := io.ReadAll(r)
	if errors.Is(err, smtp.ErrDataTooLarge) {
		b.oversized.Add(1)
		b.log.Warn("bounce intake: report refused: larger than the limit", "peer", s.peer, "from", s.from, "limit_bytes", MaxReportBytes)
		return err
	}
	if err != nil {
		return err
	}
	err = b.handler(b.runCtx(), raw)
	switch models.ErrorCodeOf(err) {
	case "":
		b.recorded.Add(1)
		return nil
	case models.ENOTFOUND:
		b.unmatched.Add(1)
		b.log.Warn("bounce intake: report names no message idv sent; dropped", "peer", s.peer, "from", s.from, "bytes", len(raw), "err", err)
		return nil
	case models.EINVALID:
		b.malformed.Add(1)
		b.log.Warn("bounce intake: not a delivery report; dropped", "peer", s.peer, "from", s.from, "bytes", len(raw), "err", err)
		return nil
	}
	b.deferred.Add(1)
	b.log.Error("bounce intake: report not recorded; the mail server will retry", "peer", s.peer, "err", err)
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "report not recorded now, try again later"}
}
