package verify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/archiver/archivertest"
	"remoteidv/storage/localfs"
	"remoteidv/verify"
	"remoteidv/verify/verifytest"
)

// TestExpireEvidence: after the retention the job deletes every item of a
// case but the one under a legal hold, records each deletion in the audit
// trail (the chain still verifies), keeps the rows, and answers 410 for
// the deleted items and the bundle; before the retention it deletes nothing.
func TestExpireEvidence(t *testing.T) {
	for _, d := range archivertest.Databases() {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			db := d.Open(t)
			var skew atomic.Int64 // how far the service's clock runs ahead
			now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			store, err := localfs.New(localfs.Config{Root: t.TempDir(), Retention: 24 * time.Hour, Now: now}, nil)
			if err != nil {
				t.Fatal(err)
			}
			st, err := archiver.NewStager(filepath.Join(t.TempDir(), "staging"), now, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			arc, err := archiver.New(db, store, archiver.Config{Rand: rand.Reader, Now: now}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer arc.Close()
			_, key, _ := ed25519.GenerateKey(rand.Reader)
			svc := verifytest.New(t, verifytest.Options{Store: db, Now: now, Stager: st, Evidence: store, Key: key}).Service
			auditor := verify.Actor{Name: "staff:stf_aud", StaffID: "stf_aud", Roles: []models.Role{models.RoleAuditor}}

			c := archivertest.SeedCase(t, db, models.StateInSession)
			archivertest.Stage(t, db, st, c.ID, models.EvidenceCapture, 3, 4096, 3)
			if _, err := arc.Drain(ctx, "test/0"); err != nil {
				t.Fatal(err)
			}
			items := archivertest.WaitArchived(t, db, c.ID, time.Second)
			held := items[0]
			if err := store.SetLegalHold(ctx, held.Key, true); err != nil {
				t.Fatal(err)
			}

			if rep, err := svc.ExpireEvidence(ctx); err != nil || rep != (verify.ExpiryReport{}) {
				t.Fatalf("ExpireEvidence within retention = %+v, %v; want nothing done", rep, err)
			}
			skew.Store(int64(25 * time.Hour))
			rep, err := svc.ExpireEvidence(ctx)
			if err != nil || rep.Deleted != 2 || rep.Kept != 1 || rep.Failed != 0 {
				t.Fatalf("ExpireEvidence after retention = %+v, %v; want 2 deleted, 1 kept", rep, err)
			}
			// Idempotent: a second run only meets the held item again.
			if rep, err := svc.ExpireEvidence(ctx); err != nil || rep.Deleted != 0 || rep.Kept != 1 {
				t.Fatalf("second run = %+v, %v; want only the held item kept", rep, err)
			}
			after := archivertest.Items(t, db, c.ID)
			expired := 0
			for _, e := range after {
				_, statErr := store.Stat(ctx, e.Key)
				switch {
				case e.ID == held.ID:
					if e.ExpiredAt != nil || statErr != nil {
						t.Errorf("held item: expired %v, stat %v; want kept", e.ExpiredAt, statErr)
					}
				case e.ExpiredAt == nil || models.ErrorCodeOf(statErr) != models.ENOTFOUND:
					t.Errorf("%s: expired %v, stat %v; want deleted and recorded", e.Key, e.ExpiredAt, statErr)
				default:
					expired++
					if _, _, err := svc.OpenEvidence(ctx, auditor, c.ID, e.ID); models.ErrorCodeOf(err) != models.EGONE {
						t.Errorf("OpenEvidence(expired) = %v, want gone", err)
					}
				}
			}
			if expired != 2 {
				t.Errorf("%d items expired, want 2", expired)
			}
			var events []*models.AuditEvent
			if err := db.Transact(ctx, func(tx models.Tx) (err error) {
				events, err = tx.AuditEvents(ctx, models.AuditFilter{CaseID: c.ID, Limit: 1000})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			logged := 0
			for _, e := range events {
				if e.Action == "evidence.expired" && e.Actor == verify.SystemActor && e.Detail["sha256"] != "" && e.Detail["already_gone"] == "false" {
					logged++
				}
			}
			if logged != 2 {
				t.Errorf("%d evidence.expired events, want 2", logged)
			}
			if rep, err := audit.VerifyStore(ctx, db, key.Public().(ed25519.PublicKey)); err != nil || !rep.OK() {
				t.Errorf("audit chain after expiry: %+v, %v", rep, err)
			}
		})
	}
}
