// Package mail sends the service's email: composing MIME messages (plain
// text and HTML alternatives, attachments), the templates for invites, codes
// and statements in English and Simplified Chinese, and an SMTP sender with
// configurable STARTTLS and authentication that asks for delivery status
// notifications where the server offers DSN. It also takes the reports
// back: ParseReport reads RFC 3464 reports, BounceIntake receives them
// over LMTP or SMTP from the bank's mail server. The outbox that makes
// delivery survive SMTP outages lives in the database
// (models.MailOutboxRepo); its worker, and the recording of reports, are
// in verify.
package mail

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Attachment is a file sent with a message.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Message is an email before encoding.
type Message struct {
	From        string // "Name <addr>" or addr
	To          []string
	Subject     string
	Text        string
	HTML        string // optional alternative
	Attachments []Attachment
	MessageID   string // without angle brackets, e.g. "mail_x@idv.example"
	Date        time.Time
}

// Compose encodes m as an RFC 5322 message with MIME parts: a
// multipart/alternative body (text, HTML) and base64 attachments. Header
// values are checked for line breaks so no header can be injected.
func Compose(m Message) ([]byte, error) {
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("compose: from %q: %w", m.From, err)
	}
	if len(m.To) == 0 {
		return nil, fmt.Errorf("compose: no recipient")
	}
	var to []string
	for _, t := range m.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("compose: recipient %q: %w", t, err)
		}
		to = append(to, a.String())
	}
	if strings.ContainsAny(m.Subject+m.MessageID, "\r\n") || m.MessageID == "" || strings.ContainsAny(m.MessageID, "<> ") {
		return nil, fmt.Errorf("compose: bad subject or message id")
	}
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from.String())
	h("To", strings.Join(to, ", "))
	h("Subject", mime.BEncoding.Encode("utf-8", m.Subject))
	h("Date", m.Date.UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+m.MessageID+">")
	h("MIME-Version", "1.0")
	h("Auto-Submitted", "auto-generated")

	mixed := multipart.NewWriter(&b)
	h("Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": mixed.Boundary()}))
	b.WriteString("\r\n")

	var altBuf bytes.Buffer
	alt := multipart.NewWriter(&altBuf)
	if err := textPart(alt, "text/plain", m.Text); err != nil {
		return nil, err
	}
	if m.HTML != "" {
		if err := textPart(alt, "text/html", m.HTML); err != nil {
			return nil, err
		}
	}
	if err := alt.Close(); err != nil {
		return nil, err
	}
	w, err := mixed.CreatePart(textproto.MIMEHeader{"Content-Type": {mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": alt.Boundary()})}})
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(altBuf.Bytes()); err != nil {
		return nil, err
	}
	for _, a := range m.Attachments {
		if strings.ContainsAny(a.Name+a.ContentType, "\r\n\"") {
			return nil, fmt.Errorf("compose: bad attachment name or type")
		}
		// A type may carry parameters (text/calendar; method=REQUEST):
		// they are kept beside the name.
		mt, params, err := mime.ParseMediaType(a.ContentType)
		if err != nil {
			return nil, fmt.Errorf("compose: attachment type %q: %w", a.ContentType, err)
		}
		params["name"] = a.Name
		w, err := mixed.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(mt, params)},
			"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": a.Name})},
			"Content-Transfer-Encoding": {"base64"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeBase64(w, a.Data); err != nil {
			return nil, err
		}
	}
	if err := mixed.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func textPart(w *multipart.Writer, ct, body string) error {
	p, err := w.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {ct + "; charset=utf-8"},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return err
	}
	return writeBase64(p, []byte(body))
}

// writeBase64 writes data base64-encoded in lines of 76 characters.
func writeBase64(w io.Writer, data []byte) error {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		if _, err := io.WriteString(w, enc[:76]+"\r\n"); err != nil {
			return err
		}
		enc = enc[76:]
	}
	_, err := io.WriteString(w, enc+"\r\n")
	return err
}
