package mailtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// ErrNoReport says a server would send no report: the recipient's NOTIFY
// did not ask for one of this kind.
var ErrNoReport = errors.New("mailtest: NOTIFY asks for no such report")

// Intake is where delivery reports go: the bounce intake of the sender.
type Intake struct {
	Addr string // host:port
	LMTP bool   // speak LMTP (RFC 2033) rather than SMTP
}

// Outcome is what became of a recipient, as a report tells it.
type Outcome struct {
	Action     string // delivered, failed, delayed, relayed, expanded
	Status     string // e.g. 2.0.0, 5.1.1, 4.4.1
	Diagnostic string // e.g. "smtp; 550 5.1.1 <x>: Recipient address rejected"
}

// Report writes the delivery status notification a Postfix-like server
// sends to m's envelope sender for its recipient rcpt, honouring what the
// message asked for: the report exists only if rcpt's NOTIFY asks for it
// (no NOTIFY means FAILURE,DELAY, RFC 3461 section 4.1), it names m's
// ENVID and the ORCPT, and it returns the headers only for RET=HDRS, the
// whole message otherwise. It returns ErrNoReport when NOTIFY rules the
// report out.
func Report(m Message, rcpt string, o Outcome, at time.Time) ([]byte, error) {
	i := slices.IndexFunc(m.Rcpt, func(r Rcpt) bool { return strings.EqualFold(r.To, rcpt) })
	if i < 0 {
		return nil, fmt.Errorf("mailtest: %s is not a recipient of the message", rcpt)
	}
	r := m.Rcpt[i]
	notify := r.Notify
	if notify == nil {
		notify = []string{"FAILURE", "DELAY"}
	}
	want := map[string]string{"delivered": "SUCCESS", "relayed": "SUCCESS", "expanded": "SUCCESS", "failed": "FAILURE", "delayed": "DELAY"}[o.Action]
	if want == "" {
		return nil, fmt.Errorf("mailtest: action %q", o.Action)
	}
	if !slices.Contains(notify, want) {
		return nil, ErrNoReport
	}
	if _, err := mail.ReadMessage(bytes.NewReader(m.Data)); err != nil {
		return nil, fmt.Errorf("mailtest: the message: %w", err)
	}
	const boundary = "mailtest-report-boundary"
	var b bytes.Buffer
	subject := map[string]string{"failed": "Undelivered Mail Returned to Sender", "delayed": "Delayed Mail (still being retried)"}[o.Action]
	if subject == "" {
		subject = "Successful Mail Delivery Report"
	}
	fmt.Fprintf(&b, "Return-Path: <>\r\nDate: %s\r\nFrom: MAILER-DAEMON@mailtest.local (Mail Delivery System)\r\nSubject: %s\r\nTo: %s\r\n",
		at.UTC().Format(time.RFC1123Z), subject, m.From)
	fmt.Fprintf(&b, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n", boundary)
	fmt.Fprintf(&b, "This is a MIME-encapsulated message.\r\n\r\n--%s\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", boundary)
	fmt.Fprintf(&b, "This is the mail system at host mailtest.local.\r\n\r\nYour message to <%s>: %s %s.\r\n\r\n", rcpt, o.Action, o.Status)
	fmt.Fprintf(&b, "--%s\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n", boundary)
	b.WriteString("Reporting-MTA: dns; mailtest.local\r\nX-Postfix-Queue-ID: 4QmT1x2Yz3\r\n")
	if m.EnvelopeID != "" {
		fmt.Fprintf(&b, "Original-Envelope-Id: %s\r\n", m.EnvelopeID)
	}
	fmt.Fprintf(&b, "Arrival-Date: %s\r\n\r\n", at.Add(-time.Minute).UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Final-Recipient: rfc822; %s\r\n", rcpt)
	if r.ORCPT != "" {
		fmt.Fprintf(&b, "Original-Recipient: rfc822;%s\r\n", r.ORCPT)
	}
	fmt.Fprintf(&b, "Action: %s\r\nStatus: %s\r\nRemote-MTA: dns; mx.customer.example\r\n", o.Action, o.Status)
	if o.Diagnostic != "" {
		fmt.Fprintf(&b, "Diagnostic-Code: %s\r\n", o.Diagnostic)
	}
	if o.Action == "delayed" {
		fmt.Fprintf(&b, "Will-Retry-Until: %s\r\n", at.Add(5*24*time.Hour).UTC().Format(time.RFC1123Z))
	}
	b.WriteString("\r\n")
	if m.Return == "HDRS" {
		fmt.Fprintf(&b, "--%s\r\nContent-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary)
		head, _, _ := bytes.Cut(m.Data, []byte("\r\n\r\n"))
		b.Write(head)
		b.WriteString("\r\n")
	} else {
		fmt.Fprintf(&b, "--%s\r\nContent-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n\r\n", boundary)
		b.Write(m.Data)
		if !bytes.HasSuffix(m.Data, []byte("\r\n")) {
			b.WriteString("\r\n")
		}
	}
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.Bytes(), nil
}

// Bounce sends report, as a mail server sends a delivery report (from the
// null sender <>), to rcpt at the intake and returns the intake's answer
// to the data.
func Bounce(ctx context.Context, in Intake, rcpt string, report []byte) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", in.Addr)
	if err != nil {
		return "", fmt.Errorf("mailtest: bounce to %s: %w", in.Addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var c *smtp.Client
	if in.LMTP {
		c = smtp.NewClientLMTP(conn)
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if err := c.Hello("mailtest.local"); err != nil {
		return "", fmt.Errorf("mailtest: bounce hello: %w", err)
	}
	if err := c.Mail("", nil); err != nil {
		return "", fmt.Errorf("mailtest: bounce mail from: %w", err)
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return "", fmt.Errorf("mailtest: bounce rcpt: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return "", fmt.Errorf("mailtest: bounce data: %w", err)
	}
	if _, err := w.Write(report); err != nil {
		return "", fmt.Errorf("mailtest: bounce data: %w", err)
	}
	var reply string
	if in.LMTP {
		resp, err := w.CloseWithLMTPResponse()
		if err != nil {
			return "", fmt.Errorf("mailtest: bounce data: %w", err)
		}
		reply = resp[rcpt].StatusText
	} else {
		resp, err := w.CloseWithResponse()
		if err != nil {
			return "", fmt.Errorf("mailtest: bounce data: %w", err)
		}
		reply = resp.StatusText
	}
	_ = c.Quit()
	return reply, nil
}
