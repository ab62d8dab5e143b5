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
)

// Stager writes artifacts into the local staging folder
// (<data-dir>/staging), where they wait until the archiver has stored them.
// It is safe for concurrent use.
type Stager struct {
	dir  string
	now  func() time.Time
	rand io.Reader
}

// NewStager creates (if needed) the staging folder dir. now and random are
// the clock and the source of evidence IDs (time.Now and crypto/rand.Reader
// in production).
func NewStager(dir string, now func() time.Time, random io.Reader) (*Stager, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("staging folder %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("staging folder %s: %w", dir, err)
	}
	return &Stager{dir: abs, now: now, rand: random}, nil
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
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
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
