package audit_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"remoteidv/audit"
	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/storage/localfs"
	"remoteidv/storage/postgres"
	"remoteidv/storage/sqlite"
)

// twoProcesses opens the same database twice, as two nodes would.
var twoProcesses = []struct {
	name string
	open func(t *testing.T) (models.Store, models.Store)
}{
	{"sqlite", func(t *testing.T) (models.Store, models.Store) {
		path := filepath.Join(t.TempDir(), "idv.db")
		return openTwice(t, func() (models.Store, error) {
			return sqlite.Open(context.Background(), path, slog.New(slog.DiscardHandler))
		})
	}},
	{"postgres", func(t *testing.T) (models.Store, models.Store) {
		url := testenv.PostgresURL(t)
		return openTwice(t, func() (models.Store, error) {
			return postgres.Open(context.Background(), url, slog.New(slog.DiscardHandler))
		})
	}},
}

func openTwice(t *testing.T, open func() (models.Store, error)) (models.Store, models.Store) {
	t.Helper()
	var out [2]models.Store
	for i := range out {
		s, err := open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out[0], out[1]
}

// TestCheckpointSignersAtOnce: four checkpointers on two processes sign
// and publish while 40 events are appended: the row lock on
// the chain head makes them sign one at a time, so there is never a
// second checkpoint of one size, never a second note for one size in the
// write-once store (a fork), and every published note verifies. A signer
// that dies holding the lock (its transaction aborted) holds nobody up.
func TestCheckpointSignersAtOnce(t *testing.T) {
	for _, d := range twoProcesses {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			a, b := d.open(t)
			ev, err := localfs.New(localfs.Config{Root: t.TempDir()}, nil)
			if err != nil {
				t.Fatal(err)
			}
			pub, key, _ := ed25519.GenerateKey(nil)
			stores := []models.Store{a, b, a, b}
			appended := make(chan struct{})
			var wg sync.WaitGroup
			errs := make(chan error, 100)
			wg.Go(func() { // events keep coming
				defer close(appended)
				for i := range 40 {
					if err := a.Transact(ctx, func(tx models.Tx) error {
						return audit.Chain{Now: time.Now}.Append(ctx, tx, &models.AuditEvent{Actor: "system", Action: "test.event", Detail: map[string]string{"i": fmt.Sprint(i)}})
					}); err != nil {
						errs <- err
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			})
			for i, s := range stores {
				cpr := audit.Checkpointer{Store: s, Key: key, Now: time.Now, Publish: ev}
				wg.Go(func() {
					for {
						// Whether the last event had been appended before
						// this round began: then this round sees it.
						last := false
						select {
						case <-appended:
							last = true
						default:
						}
						if err := cpr.CheckpointAndPublish(ctx); err != nil {
							errs <- fmt.Errorf("signer %d: %w", i, err)
							return
						}
						if last {
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			var cps []*models.Checkpoint
			if err := a.Transact(ctx, func(tx models.Tx) (err error) { cps, err = tx.Checkpoints(ctx); return }); err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(cps); i++ {
				if cps[i].Seq <= cps[i-1].Seq {
					t.Fatalf("checkpoints %d and %d sign sizes %d and %d, want strictly growing", i-1, i, cps[i-1].Seq, cps[i].Seq)
				}
			}
			if len(cps) == 0 || cps[len(cps)-1].Seq != 40 {
				t.Fatalf("%d checkpoints, want the last of size 40 (each signer signs once more after the last event)", len(cps))
			}
			n, _, err := audit.VerifyPublished(ctx, b, pub, ev)
			if err != nil || n < 1 {
				t.Fatalf("VerifyPublished = %d notes, %v; want all matching", n, err)
			}

			// A signer dies holding the head's lock: its transaction is
			// aborted and another signs.
			if err := a.Transact(ctx, func(tx models.Tx) error {
				return audit.Chain{Now: time.Now}.Append(ctx, tx, &models.AuditEvent{Actor: "system", Action: "test.event"})
			}); err != nil {
				t.Fatal(err)
			}
			dying, kill := context.WithCancel(ctx)
			locked := make(chan struct{})
			died := make(chan error, 1)
			go func() {
				died <- a.Transact(dying, func(tx models.Tx) error {
					if _, err := tx.AuditHeadForUpdate(dying); err != nil {
						return err
					}
					close(locked)
					<-dying.Done()
					return dying.Err()
				})
			}()
			<-locked
			time.AfterFunc(200*time.Millisecond, kill)
			cp, err := audit.Checkpointer{Store: b, Key: key, Now: time.Now, Publish: ev}.Checkpoint(ctx)
			if err != nil || cp == nil {
				t.Fatalf("Checkpoint after the other signer died = %v, %v; want a checkpoint", cp, err)
			}
			if err := <-died; !errors.Is(err, context.Canceled) {
				t.Errorf("the dying signer's transaction = %v, want context.Canceled", err)
			}
		})
	}
}
