package archiver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"remoteidv/models"
	"remoteidv/storage/encfile"
)

// Stager writes artifacts into the local staging folder
// (<data-dir>/staging), where they wait until the archiver has stored them.
// With a key (WithKey) the files are encrypted (see encfile); the row's
// Size and SHA256 are always the plaintext's. It is safe for concurrent
// use.
type Stager struct {
	dir  string
	now  func() time.Time
	rand io.Reader
	key  *encfile.Key
}

// StagerOption changes a Stager.
type StagerOption func(*Stager)

// WithKey encrypts every file the Stager writes with k. Files already in
// the folder stay as they are; Open reads both.
func WithKey(k *encfile.Key) StagerOption { return func(s *Stager) { s.key = k } }

// NewStager creates (if needed) the staging folder dir. now and random are
// the clock and the source of evidence IDs and nonces (time.Now and
// crypto/rand.Reader in production).
func NewStager(dir string, now func() time.Time, random io.Reader, opts ...StagerOption) (*Stager, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("staging folder %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("staging folder %s: %w", dir, err)
	}
	s := &Stager{dir: abs, now: now, rand: random}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Open returns the plaintext of a staged file, decrypting it with the
// Stager's key; see encfile.Open for the errors.
func (s *Stager) Open(e *models.Evidence) (io.ReadCloser, error) {
	return encfile.Open(e.Staged, s.key)
}

// StagedWhole reports whether the staged file at path holds size bytes of
// plaintext, encrypted (either encfile version) or not, judged by its
// length and chunk lengths alone (a cheap check for a file cut short by a
// crash; Open's reader finds altered bytes; see encfile.Whole).
func StagedWhole(path string, size int64) (bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	enc, _, err := encfile.Encrypted(path)
	if err != nil {
		return false, err
	}
	if enc {
		return encfile.Whole(path, size)
	}
	return st.Size() == size, nil
}

// ForeignFiles returns the files in the staging folder that are encrypted
// with a key other than the Stager's (or at all, without a key): they
// cannot be archived until that key is configured again.
func (s *Stager) ForeignFiles() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("staging folder %s: %w", s.dir, err)
	}
	var out []string
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(s.dir, e.Name())
		enc, id, err := encfile.Encrypted(path)
		if err != nil {
			return nil, fmt.Errorf("staging folder %s: %w", s.dir, err)
		}
		if enc && (s.key == nil || id != s.key.ID()) {
			out = append(out, path)
		}
	}
	return out, nil
}

// Dir returns the absolute path of the staging folder.
func (s *Stager) Dir() string { return s.dir }

// Artifact describes what is being staged.
type Artifact struct {
	Case        models.CaseID
	Kind        models.EvidenceKind
	ContentType string
	Actor       string // audit actor that produced it, e.g. "staff:stf_..."
}

// StageReader streams r into a new staging file (create-exclusive, hashed while
// written, fsynced) and returns the evidence row to insert, with
// AddEvidence, in the same transaction as the event that produced the
// artifact. Memory use does not depend on the size of r. If that
// transaction fails, call Discard. ctx is checked between writes.
func (s *Stager) StageReader(ctx context.Context, a Artifact, r io.Reader) (*models.Evidence, error) {
	id, err := models.NewID(s.rand, "evd")
	if err != nil {
		return nil, fmt.Errorf("stage %s of %s: %w", a.Kind, a.Case, err)
	}
	path := filepath.Join(s.dir, id)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("stage %s of %s: %w", a.Kind, a.Case, diskFull(err))
	}
	h := sha256.New()
	var n int64
	if s.key == nil {
		n, err = io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
	} else {
		var w *encfile.Writer
		if w, err = s.key.NewWriter(f, s.rand); err == nil {
			n, err = io.Copy(io.MultiWriter(w, h), ctxReader{ctx, r})
			if err == nil {
				err = w.Close()
			}
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("stage %s of %s: %w", a.Kind, a.Case, diskFull(err))
	}
	sum := hex.EncodeToString(h.Sum(nil))
	key, err := models.EvidenceKey(a.Case, a.Kind, sum)
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("stage %s of %s: %w", a.Kind, a.Case, err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	return &models.Evidence{
		ID: models.EvidenceID(id), CaseID: a.Case, Kind: a.Kind, Key: key, SHA256: sum, Size: n,
		ContentType: a.ContentType, Actor: a.Actor, CreatedAt: now, Staged: path, NextAttemptAt: now,
	}, nil
}

// Stage stages data, produced by actor, as an artifact of kind for case c;
// see StageReader. It implements verify.Stager.
func (s *Stager) Stage(ctx context.Context, c models.CaseID, kind models.EvidenceKind, contentType string, data []byte, actor string) (*models.Evidence, error) {
	return s.StageReader(ctx, Artifact{Case: c, Kind: kind, ContentType: contentType, Actor: actor}, bytes.NewReader(data))
}

// StageStream stages what r holds, produced by actor, as an artifact of
// kind for case c, without holding it in memory; see StageReader. It
// implements verify.Stager.
func (s *Stager) StageStream(ctx context.Context, c models.CaseID, kind models.EvidenceKind, contentType string, r io.Reader, actor string) (*models.Evidence, error) {
	return s.StageReader(ctx, Artifact{Case: c, Kind: kind, ContentType: contentType, Actor: actor}, r)
}

// Discard removes the staged file of an item whose transaction did not
// commit. A missing file is not an error.
func (s *Stager) Discard(e *models.Evidence) error {
	if e == nil || e.Staged == "" {
		return nil
	}
	if err := os.Remove(e.Staged); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("discard staged %s: %w", e.ID, err)
	}
	return nil
}

// diskFull gives a full staging disk (or quota) the kind EUNAVAILABLE
// and a message people understand; the half-written file is gone by then.
func diskFull(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", models.Errorf(models.EUNAVAILABLE, "the server's evidence staging disk is full: nothing was kept; try again once space is freed"), err)
	}
	return err
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
