package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"remoteidv/models"
)

// Maildir is a local mailbox in the Maildir format (tmp/, new/, cur/): the
// demo mode's mail server. Send writes each message to tmp/ and renames it
// into new/, so a reader never sees half a message. It delivers to every
// recipient in one file; it is for demonstrations, not for customers.
type Maildir struct {
	Dir  string
	Now  func() time.Time
	Rand io.Reader
}

// NewMaildir makes the folders of a Maildir at dir.
func NewMaildir(dir string) (*Maildir, error) {
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			return nil, fmt.Errorf("maildir %s: %w", dir, err)
		}
	}
	return &Maildir{Dir: dir, Now: time.Now, Rand: rand.Reader}, nil
}

// Send stores raw in the mailbox with the envelope in X-Envelope-* headers
// and returns the file's name. It returns EUNAVAILABLE when the file
// cannot be written.
func (m *Maildir) Send(ctx context.Context, from string, to []string, raw []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", models.Errorf(models.EUNAVAILABLE, "maildir: %v", err)
	}
	id := make([]byte, 8)
	if _, err := io.ReadFull(m.Rand, id); err != nil {
		return "", models.Errorf(models.EUNAVAILABLE, "maildir: %v", err)
	}
	// <seconds>.<nanoseconds>_<random>.idv: sortable by arrival, unique.
	now := m.Now().UTC()
	name := fmt.Sprintf("%d.%09d_%s.idv", now.Unix(), now.Nanosecond(), hex.EncodeToString(id))
	var b bytes.Buffer
	fmt.Fprintf(&b, "X-Envelope-From: %s\r\nX-Envelope-To: %s\r\n", from, strings.Join(to, ", "))
	b.Write(raw)
	tmp := filepath.Join(m.Dir, "tmp", name)
	if err := writeSynced(tmp, b.Bytes()); err != nil {
		return "", models.Errorf(models.EUNAVAILABLE, "maildir: %v", err)
	}
	if err := os.Rename(tmp, filepath.Join(m.Dir, "new", name)); err != nil {
		return "", models.Errorf(models.EUNAVAILABLE, "maildir: %v", err)
	}
	return "stored " + name, nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Stored is one message of a Maildir, read for showing.
type Stored struct {
	ID          string // the file's name
	From        string
	To          []string
	Subject     string
	Date        time.Time
	Text        string
	Links       []string // every http(s) URL in the text
	Attachments []string // file names
}

var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// validID is a name Send makes (nothing that walks out of the folder).
var validID = regexp.MustCompile(`^[0-9]+\.[0-9]+_[0-9a-f]+\.idv$`)

// List reads every message in new/ and cur/, newest first.
func (m *Maildir) List(ctx context.Context) ([]*Stored, error) {
	var out []*Stored
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(m.Dir, sub))
		if err != nil {
			return nil, fmt.Errorf("maildir list: %w", err)
		}
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			// A mail reader that has seen a message moves it to cur/ and
			// appends its flags (":2,S"); the id is the name before them.
			id, _, _ := strings.Cut(e.Name(), ":")
			if !validID.MatchString(id) {
				continue
			}
			s, err := m.read(filepath.Join(m.Dir, sub, e.Name()), id)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

// Get reads message id; ENOTFOUND when there is none.
func (m *Maildir) Get(ctx context.Context, id string) (*Stored, error) {
	if !validID.MatchString(id) {
		return nil, models.Errorf(models.ENOTFOUND, "no message %q", id)
	}
	s, err := m.read(filepath.Join(m.Dir, "new", id), id)
	if !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	seen, err := filepath.Glob(filepath.Join(m.Dir, "cur", id+":*")) // id is checked: no pattern characters
	if err != nil {
		return nil, fmt.Errorf("maildir get %s: %w", id, err)
	}
	if len(seen) == 0 {
		if _, err := os.Stat(filepath.Join(m.Dir, "cur", id)); err != nil {
			return nil, models.Errorf(models.ENOTFOUND, "no message %q", id)
		}
		seen = []string{filepath.Join(m.Dir, "cur", id)}
	}
	return m.read(seen[0], id)
}

func (m *Maildir) read(path, id string) (*Stored, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("maildir read %s: %w", id, err)
	}
	s, err := ParseStored(raw)
	if err != nil {
		return nil, fmt.Errorf("maildir read %s: %w", id, err)
	}
	s.ID = id
	return s, nil
}

// ParseStored reads a message as Send stored it: its envelope, subject,
// date, plain text (with its links) and attachment names.
func ParseStored(raw []byte) (*Stored, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse message: %w", err)
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		subj = msg.Header.Get("Subject")
	}
	s := &Stored{From: msg.Header.Get("X-Envelope-From"), Subject: subj}
	for _, to := range strings.Split(msg.Header.Get("X-Envelope-To"), ",") {
		if to = strings.TrimSpace(to); to != "" {
			s.To = append(s.To, to)
		}
	}
	s.Date, _ = msg.Header.Date()
	if err := s.walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "", msg.Body, 0); err != nil {
		return nil, err
	}
	s.Links = linkPattern.FindAllString(s.Text, -1)
	return s, nil
}

func (s *Stored) walk(ct, cte, disposition string, body io.Reader, depth int) error {
	if depth > 5 {
		return errors.New("parse message: parts nested too deep")
	}
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("parse content type %q: %w", ct, err)
	}
	if strings.EqualFold(cte, "base64") {
		body = base64.NewDecoder(base64.StdEncoding, body)
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
			if err := s.walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part.Header.Get("Content-Disposition"), part, depth+1); err != nil {
				return err
			}
		}
	}
	if disposition != "" {
		if _, dp, err := mime.ParseMediaType(disposition); err == nil && dp["filename"] != "" {
			s.Attachments = append(s.Attachments, dp["filename"])
			return nil
		}
	}
	if mt == "text/plain" && s.Text == "" {
		b, err := io.ReadAll(io.LimitReader(body, 1<<20))
		if err != nil {
			return fmt.Errorf("read part: %w", err)
		}
		s.Text = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	return nil
}
