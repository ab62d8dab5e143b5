package mailtest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
)

// Parsed is a received message taken apart.
type Parsed struct {
	Header      mail.Header
	Subject     string // decoded
	Text, HTML  string
	Attachments map[string][]byte // by file name
	AttachTypes map[string]string
}

// Parse decodes a MIME message as the mail package composes it.
func Parse(data []byte) (*Parsed, error) {
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parse message: %w", err)
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return nil, fmt.Errorf("parse subject: %w", err)
	}
	p := &Parsed{Header: m.Header, Subject: subj, Attachments: map[string][]byte{}, AttachTypes: map[string]string{}}
	if err := p.walk(m.Header.Get("Content-Type"), "", m.Body); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Parsed) walk(ct, disposition string, body io.Reader) error {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("parse content type %q: %w", ct, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			part, err := r.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("parse part: %w", err)
			}
			dec := io.Reader(part)
			if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
				dec = base64.NewDecoder(base64.StdEncoding, part)
			}
			if err := p.walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Disposition"), dec); err != nil {
				return err
			}
		}
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("read part: %w", err)
	}
	if disposition != "" {
		_, dp, err := mime.ParseMediaType(disposition)
		if err == nil && dp["filename"] != "" {
			p.Attachments[dp["filename"]] = b
			p.AttachTypes[dp["filename"]] = mt
			return nil
		}
	}
	switch mt {
	case "text/plain":
		p.Text = string(b)
	case "text/html":
		p.HTML = string(b)
	}
	return nil
}
