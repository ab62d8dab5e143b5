package verify

import (
	"context"
	"fmt"
	"io"

	"remoteidv/models"
)

// This file is the one way the workflow keeps evidence: stage the bytes,
// insert their evidence rows in the transaction that records what produced
// them, and discard every staged file whose row was not kept.

// artifact is one piece of evidence to keep: its bytes (Data), or a stream
// (Body, read once, such as a recording) staged without holding it in
// memory.
type artifact struct {
	Kind        models.EvidenceKind
	ContentType string
	Data        []byte
	Body        io.Reader
}

// evidenceBatch is the files one workflow step staged for a case. stage
// writes a file before the transaction; insert adds its row in the
// transaction, or returns the row already on file when the case has the
// same bytes (the new file is then not needed); done discards every file
// whose row was not kept: the step failed or stopped before inserting it,
// its transaction did not commit, or the same bytes were already on file.
// A transaction that runs again inserts the same staged files again.
type evidenceBatch struct {
	s      *Service
	id     models.CaseID
	actor  string
	staged []*models.Evidence        // rows as staged, in order
	kept   map[*models.Evidence]bool // by staged row: its own row was inserted
}

func (s *Service) newEvidenceBatch(id models.CaseID, actor string) *evidenceBatch {
	return &evidenceBatch{s: s, id: id, actor: actor, kept: map[*models.Evidence]bool{}}
}

// stage writes a into the staging folder and returns its row as staged.
func (b *evidenceBatch) stage(ctx context.Context, a artifact) (*models.Evidence, error) {
	var e *models.Evidence
	var err error
	if a.Body != nil {
		e, err = b.s.stager.StageStream(ctx, b.id, a.Kind, a.ContentType, a.Body, b.actor)
	} else {
		e, err = b.s.stager.Stage(ctx, b.id, a.Kind, a.ContentType, a.Data, b.actor)
	}
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", a.Kind, err)
	}
	b.staged = append(b.staged, e)
	return e, nil
}

// insert adds the row of the staged file e in tx and returns the row as
// stored: e's own, or the case's row already on file with the same bytes.
func (b *evidenceBatch) insert(ctx context.Context, tx models.Tx, e *models.Evidence) (*models.Evidence, error) {
	row := *e
	if err := tx.AddEvidence(ctx, &row); err != nil {
		return nil, err
	}
	b.kept[e] = row.ID == e.ID
	return &row, nil
}

// done discards the staged files whose rows were not kept; err is the
// step's outcome (nil: its transaction committed).
func (b *evidenceBatch) done(ctx context.Context, err error) {
	for _, e := range b.staged {
		if err == nil && b.kept[e] {
			continue
		}
		if derr := b.s.stager.Discard(e); derr != nil {
			b.s.log.ErrorContext(ctx, "discard staged evidence", "case_id", b.id, "kind", e.Kind, "err", derr)
		}
	}
}

// recordEvidence checks arts against the case's quotas, stages them as
// actor's evidence of case id, then in one
// transaction inserts their rows and runs fn with the rows as stored (in
// the order of arts; a row already on file with the same bytes stands for
// a new one), and discards every staged file whose row was not kept. It
// returns the rows as stored.
func (s *Service) recordEvidence(ctx context.Context, id models.CaseID, actor string, arts []artifact, fn func(tx models.Tx, evs []*models.Evidence) error) ([]*models.Evidence, error) {
	// The case's quotas are checked before anything is staged, and again
	// in the transaction that keeps the rows (two uploads may race).
	if err := s.store.Transact(ctx, func(tx models.Tx) error { return s.admitEvidence(ctx, tx, id, arts, false) }); err != nil {
		return nil, err
	}
	b := s.newEvidenceBatch(id, actor)
	var evs []*models.Evidence
	err := func() error {
		for _, a := range arts {
			if _, err := b.stage(ctx, a); err != nil {
				return err
			}
		}
		return s.store.Transact(ctx, func(tx models.Tx) error {
			if err := s.admitEvidence(ctx, tx, id, arts, true); err != nil {
				return err
			}
			evs = evs[:0]
			for _, e := range b.staged {
				row, err := b.insert(ctx, tx, e)
				if err != nil {
					return err
				}
				evs = append(evs, row)
			}
			return fn(tx, evs)
		})
	}()
	b.done(ctx, err)
	if err != nil {
		return nil, err
	}
	return evs, nil
}
