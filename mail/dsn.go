package mail

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"

	"remoteidv/models"
)

// MaxReportBytes is the largest delivery report ParseReport and the bounce
// intake accept. Mail goes out with RET=HDRS, so a report carries the
// original's headers only and takes a few kilobytes; 1 MiB leaves room
// for a server that returns a whole text message anyway.
const MaxReportBytes = 1 << 20

// Report is a delivery status notification (RFC 3464) taken apart.
type Report struct {
	// EnvelopeID is the Original-Envelope-Id: the ENVID the message was
	// sent with ("" when the reporting server did not keep it).
	EnvelopeID   string
	ReportingMTA string
	// MessageID is the Message-ID of the returned message's headers
	// (without angle brackets), "" when the report returns none.
	MessageID  string
	Recipients []RecipientStatus
	// Status is the message/delivery-status part as received: the
	// machine-readable report, without the returned message.
	Status []byte
}

// RecipientStatus is the report on one recipient.
type RecipientStatus struct {
	FinalRecipient    string // the address, without its type
	OriginalRecipient string // the ORCPT the message was sent with
	Action            models.DeliveryAction
	Status            string // e.g. 5.1.1
	Diagnostic        string // Diagnostic-Code, e.g. "smtp; 550 5.1.1 no such user"
	RemoteMTA         string
}

// For returns the report on the recipient addr (compared by its original
// recipient, then its final one, ignoring case), or the only recipient of
// a report on one; nil if none fits.
func (r *Report) For(addr string) *RecipientStatus {
	for _, ok := range []func(*RecipientStatus) bool{
		func(s *RecipientStatus) bool { return strings.EqualFold(s.OriginalRecipient, addr) },
		func(s *RecipientStatus) bool { return strings.EqualFold(s.FinalRecipient, addr) },
	} {
		for i := range r.Recipients {
			if ok(&r.Recipients[i]) {
				return &r.Recipients[i]
			}
		}
	}
	if len(r.Recipients) == 1 {
		return &r.Recipients[0]
	}
	return nil
}

var statusCode = regexp.MustCompile(`^[245]\.[0-9]{1,3}\.[0-9]{1,3}$`)

// ParseReport reads a delivery status notification: a multipart/report
// message with report-type=delivery-status (or RFC 6533's
// global-delivery-status), its message/delivery-status part, and the
// Message-ID of the returned message (text/rfc822-headers or
// message/rfc822). It returns EINVALID for anything larger than
// MaxReportBytes, for mail that is not such a report (an auto-reply, a
// bounce in plain text) and for a report whose recipients lack a valid
// Action or Status.
func ParseReport(raw []byte) (*Report, error) {
	if len(raw) > MaxReportBytes {
		return nil, models.Errorf(models.EINVALID, "delivery report of %d bytes is larger than %d", len(raw), MaxReportBytes)
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, models.Errorf(models.EINVALID, "delivery report: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return nil, models.Errorf(models.EINVALID, "delivery report content type: %v", err)
	}
	rt := strings.ToLower(params["report-type"])
	if mt != "multipart/report" || (rt != "delivery-status" && rt != "global-delivery-status") || params["boundary"] == "" {
		return nil, models.Errorf(models.EINVALID, "not a delivery report: %s report-type=%q", mt, params["report-type"])
	}
	rep := &Report{}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, models.Errorf(models.EINVALID, "delivery report part: %v", err)
		}
		pt, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			pt = "text/plain" // RFC 2045's default; a broken part is skipped below
		}
		body, err := io.ReadAll(decodePart(p))
		if err != nil {
			return nil, models.Errorf(models.EINVALID, "delivery report part %s: %v", pt, err)
		}
		switch pt {
		case "message/delivery-status", "message/global-delivery-status":
			if rep.Status != nil {
				return nil, models.Errorf(models.EINVALID, "delivery report has two status parts")
			}
			rep.Status = body
			if err := rep.parseStatus(body); err != nil {
				return nil, err
			}
		case "text/rfc822-headers", "message/rfc822", "message/global", "message/global-headers":
			if rep.MessageID == "" {
				if h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(body))).ReadMIMEHeader(); err == nil || len(h) > 0 {
					rep.MessageID = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
				}
			}
		}
	}
	if rep.Status == nil {
		return nil, models.Errorf(models.EINVALID, "delivery report has no message/delivery-status part")
	}
	return rep, nil
}

func decodePart(p *multipart.Part) io.Reader {
	switch strings.ToLower(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding"))) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, p) // it skips line breaks itself
	case "quoted-printable":
		return quotedprintable.NewReader(p)
	}
	return p
}

// parseStatus reads the per-message fields and one block per recipient
// (RFC 3464 section 2.1: header-like fields, blocks separated by an empty
// line).
func (rep *Report) parseStatus(body []byte) error {
	tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(body)))
	msg, err := tr.ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return models.Errorf(models.EINVALID, "delivery status fields: %v", err)
	}
	rep.EnvelopeID = strings.TrimSpace(msg.Get("Original-Envelope-Id"))
	rep.ReportingMTA = typed(msg.Get("Reporting-Mta"))
	for i := 1; ; i++ {
		h, err := tr.ReadMIMEHeader()
		if len(h) > 0 {
			rs := RecipientStatus{FinalRecipient: typed(h.Get("Final-Recipient")), OriginalRecipient: typed(h.Get("Original-Recipient")),
				Action: models.DeliveryAction(strings.ToLower(strings.TrimSpace(h.Get("Action")))), Status: strings.TrimSpace(h.Get("Status")),
				Diagnostic: strings.Join(strings.Fields(h.Get("Diagnostic-Code")), " "), RemoteMTA: typed(h.Get("Remote-Mta"))}
			// The status may carry a comment: "5.1.1 (bad destination mailbox)".
			if f := strings.Fields(rs.Status); len(f) > 0 {
				rs.Status = f[0]
			}
			switch rs.Action {
			case models.DeliveryDelivered, models.DeliveryFailed, models.DeliveryDelayed, models.DeliveryRelayed, models.DeliveryExpanded:
			default:
				return models.Errorf(models.EINVALID, "delivery status recipient %d: action %q", i, h.Get("Action"))
			}
			if !statusCode.MatchString(rs.Status) {
				return models.Errorf(models.EINVALID, "delivery status recipient %d: status %q", i, h.Get("Status"))
			}
			if rs.FinalRecipient == "" {
				return models.Errorf(models.EINVALID, "delivery status recipient %d: no Final-Recipient", i)
			}
			rep.Recipients = append(rep.Recipients, rs)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return models.Errorf(models.EINVALID, "delivery status recipient %d: %v", i, err)
		}
	}
	if len(rep.Recipients) == 0 {
		return models.Errorf(models.EINVALID, "delivery status names no recipient")
	}
	return nil
}

// typed drops the type of an address-type or mta-name-type field
// ("rfc822; a@b" is a@b, "dns; mx.example" is mx.example).
func typed(v string) string {
	v = strings.TrimSpace(v)
	if _, after, ok := strings.Cut(v, ";"); ok {
		v = strings.TrimSpace(after)
	}
	return strings.Trim(v, "<>")
}

// String tells the recipient's outcome in one line, for logs and events.
func (s *RecipientStatus) String() string {
	out := fmt.Sprintf("%s %s", s.Action, s.Status)
	if s.Diagnostic != "" {
		out += " (" + s.Diagnostic + ")"
	}
	return out
}
