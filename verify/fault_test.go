package verify_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"remoteidv/models"
)

// errInjected stands for the database connection or the process dying
// inside a transaction, before its commit.
var errInjected = errors.New("injected fault: the connection died before the commit")

// faultStore is a store with one injectable fault: while armed with an
// audit action, appending an event of that action fails inside its
// transaction, after every other write of the transaction was made. A
// workflow step that keeps its writes in one transaction then leaves
// nothing behind.
type faultStore struct {
	models.Store
	mu    sync.Mutex
	armed string
}

func (s *faultStore) arm(action string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = action
}

func (s *faultStore) Transact(ctx context.Context, fn func(models.Tx) error) error {
	return s.Store.Transact(ctx, func(tx models.Tx) error { return fn(faultTx{Tx: tx, s: s}) })
}

type faultTx struct {
	models.Tx
	s *faultStore
}

func (t faultTx) InsertAuditEvent(ctx context.Context, e *models.AuditEvent) error {
	t.s.mu.Lock()
	armed := t.s.armed
	t.s.mu.Unlock()
	if armed != "" && e.Action == armed {
		return errInjected
	}
	return t.Tx.InsertAuditEvent(ctx, e)
}

// caseFacts is what a failed decision or release must leave untouched.
type caseFacts struct {
	State     models.CaseState
	Approval  string // "none", "unused" or "used"
	Evidence  map[models.EvidenceKind]int
	Mail      map[string]int
	Staged    int // files in the staging folder
	StagedRef int // staged files the evidence rows name
}

func (f *deskFixture) facts() caseFacts {
	f.t.Helper()
	ctx := context.Background()
	out := caseFacts{State: f.state(), Approval: "none", Evidence: map[models.EvidenceKind]int{}, Mail: map[string]int{}}
	f.tx(func(tx models.Tx) error {
		switch apr, err := tx.ApprovalByCase(ctx, f.caseID); {
		case models.ErrorCodeOf(err) == models.ENOTFOUND:
		case err != nil:
			return err
		case apr.UsedAt != nil:
			out.Approval = "used"
		default:
			out.Approval = "unused"
		}
		items, err := tx.EvidenceByCase(ctx, f.caseID)
		if err != nil {
			return err
		}
		for _, e := range items {
			out.Evidence[e.Kind]++
		}
		msgs, err := tx.MailByCase(ctx, f.caseID)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			out.Mail[m.Kind]++
		}
		return nil
	})
	inFolder, onFile := f.stagedFiles()
	out.Staged, out.StagedRef = len(inFolder), len(onFile)
	return out
}

// failsWhole runs step with a fault injected at its audit event (the last
// write of its transaction) and checks that it failed and changed
// nothing: the same state, approval, evidence rows, mail and staging
// folder as before (RELIABILITY 19: a decision write is one transaction;
// a crash mid-write leaves neither half).
func (f *deskFixture) failsWhole(t *testing.T, action string, step func() error) {
	t.Helper()
	before := f.facts()
	f.fault.arm(action)
	err := step()
	f.fault.arm("")
	if !errors.Is(err, errInjected) {
		t.Fatalf("%s with a fault before its commit: error = %v, want the injected fault", action, err)
	}
	after := f.facts()
	if after.State != before.State || after.Approval != before.Approval || after.Staged != before.Staged || after.StagedRef != before.StagedRef ||
		!equalCounts(after.Evidence, before.Evidence) || !equalCounts(after.Mail, before.Mail) {
		t.Fatalf("%s failed before its commit but changed the case:\nbefore %+v\nafter  %+v", action, before, after)
	}
}

func equalCounts[K comparable](a, b map[K]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
