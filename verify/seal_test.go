package verify_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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

type sealFixture struct {
	db      models.Store
	store   *localfs.Store
	stager  *archiver.Stager
	arch    *archiver.Archiver
	svc     *verify.Service
	key     ed25519.PrivateKey
	auditor verify.Actor
	admin   verify.Actor
	clerk   verify.Actor
}

func newSealFixture(t *testing.T, open func(testing.TB) models.Store) *sealFixture {
	t.Helper()
	db := open(t)
	store, err := localfs.New(localfs.Config{Root: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := archiver.NewStager(filepath.Join(t.TempDir(), "staging"), time.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a, err := archiver.New(db, store, archiver.Config{Rand: rand.Reader}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	svc := verifytest.New(t, verifytest.Options{Store: db, Stager: st, Evidence: store, Key: key}).Service
	return &sealFixture{db: db, store: store, stager: st, arch: a, svc: svc, key: key,
		auditor: verify.Actor{Name: "staff:stf_aud", StaffID: "stf_aud", Roles: []models.Role{models.RoleAuditor}},
		admin:   verify.Actor{Name: "staff:stf_adm", StaffID: "stf_adm", Roles: []models.Role{models.RoleAdmin}},
		clerk:   verify.Actor{Name: "staff:" + string(archivertest.Clerk), StaffID: archivertest.Clerk, Roles: []models.Role{models.RoleClerk}},
	}
}

// approve moves the case to approved directly in the store: approval
// belongs to a later issue.
func (f *sealFixture) approve(t *testing.T, c *models.Case) {
	t.Helper()
	ctx := context.Background()
	err := f.db.Transact(ctx, func(tx models.Tx) error {
		cur, err := tx.CaseByID(ctx, c.ID)
		if err != nil {
			return err
		}
		cur.State = models.StateApproved
		return tx.UpdateCase(ctx, cur)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *sealFixture) drain(t *testing.T) {
	t.Helper()
	if _, err := f.arch.Drain(context.Background(), "test/0"); err != nil {
		t.Fatal(err)
	}
}

func caseEvents(t *testing.T, db models.Store, id models.CaseID) []*models.AuditEvent {
	t.Helper()
	ctx := context.Background()
	var evs []*models.AuditEvent
	if err := db.Transact(ctx, func(tx models.Tx) (err error) { evs, err = tx.AuditEvents(ctx, models.AuditFilter{CaseID: id}); return }); err != nil {
		t.Fatal(err)
	}
	return evs
}

func caseActions(t *testing.T, db models.Store, id models.CaseID) []string {
	t.Helper()
	var out []string
	for _, e := range caseEvents(t, db, id) {
		out = append(out, e.Action)
	}
	return out
}

// requirePublishedHead checks that the chain's head is covered by a
// checkpoint signed with key and published to ev, as the workflow leaves
// it after a seal or a decision, and returns the head event.
func requirePublishedHead(t *testing.T, db models.Store, ev models.EvidenceStore, key ed25519.PrivateKey, what string) *models.AuditEvent {
	t.Helper()
	ctx := context.Background()
	var head *models.AuditEvent
	var cps []*models.Checkpoint
	err := db.Transact(ctx, func(tx models.Tx) error {
		h, err := tx.AuditHeadForUpdate(ctx)
		if err != nil {
			return err
		}
		evs, err := tx.AuditEvents(ctx, models.AuditFilter{AfterSeq: h.Seq - 1})
		if err != nil || len(evs) != 1 {
			return fmt.Errorf("head event %d: %d events, %w", h.Seq, len(evs), err)
		}
		head = evs[0]
		cps, err = tx.Checkpoints(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if cp := audit.LatestCheckpoint(cps); cp == nil || cp.Seq != head.Seq {
		t.Fatalf("%s: newest checkpoint %+v, want one of the head %d", what, cp, head.Seq)
	}
	r, _, err := ev.Get(ctx, audit.CheckpointKey(head.Seq))
	if err != nil {
		t.Fatalf("%s: published note of size %d: %v", what, head.Seq, err)
	}
	defer r.Close()
	note, _ := io.ReadAll(r)
	if tree, err := audit.OpenCheckpointNote(key.Public().(ed25519.PublicKey), note); err != nil || tree.N != head.Seq {
		t.Fatalf("%s: published note %q: %v; want one of size %d signed with the service key", what, note, err, head.Seq)
	}
	return head
}

func TestSealVerifyAndBundle(t *testing.T) {
	for _, d := range archivertest.Databases() {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newSealFixture(t, d.Open)
			c := archivertest.SeedCase(t, f.db, models.StateInSession)
			archivertest.Stage(t, f.db, f.stager, c.ID, models.EvidenceCapture, 2, 50<<10, 1)
			archivertest.Stage(t, f.db, f.stager, c.ID, models.EvidenceRecording, 1, 2<<20, 9)

			if _, err := f.svc.Seal(ctx, c.ID); models.ErrorCodeOf(err) != models.ECONFLICT {
				t.Fatalf("Seal(in_session case) = %v, want ECONFLICT", err)
			}
			f.approve(t, c)
			_, err := f.svc.Seal(ctx, c.ID)
			if models.ErrorCodeOf(err) != models.EPRECONDITION || len(models.ErrorDetailsOf(err)) != 3 {
				t.Fatalf("Seal(nothing archived) = %v, want EPRECONDITION naming 3 items", err)
			}
			if err := f.svc.SealedAndVerified(ctx, c.ID); err == nil {
				t.Fatal("SealedAndVerified(unsealed) = nil, want an error")
			}
			f.drain(t)
			sealed, err := f.svc.Seal(ctx, c.ID)
			if err != nil || sealed.State != models.StateSealed {
				t.Fatalf("Seal(all archived) = %v, %v; want sealed", sealed, err)
			}
			if err := f.svc.SealedAndVerified(ctx, c.ID); err != nil {
				t.Fatalf("SealedAndVerified(sealed) = %v, want nil", err)
			}
			seal := requirePublishedHead(t, f.db, f.store, f.key, "after the seal")
			if seal.Action != audit.SealAction || seal.CaseID != c.ID {
				t.Fatalf("head after sealing = %s of %s, want the seal event", seal.Action, seal.CaseID)
			}
			var before []string
			for _, e := range caseEvents(t, f.db, c.ID) {
				if e.Seq < seal.Seq {
					before = append(before, fmt.Sprint(e.Seq))
				}
			}
			if got, want := seal.Detail[audit.DetailCaseEventSeqs], strings.Join(before, ","); got != want || seal.Detail[audit.DetailCheckpoints] == "" {
				t.Fatalf("seal event records case events %q and %q checkpoints; want %q and a count", got, seal.Detail[audit.DetailCheckpoints], want)
			}
			f.drain(t) // the manifest row is confirmed by read-back
			archivertest.WaitArchived(t, f.db, c.ID, time.Second)

			items, err := f.svc.EvidenceList(ctx, f.auditor, c.ID)
			if err != nil || len(items) != 4 {
				t.Fatalf("EvidenceList = %d items, %v; want 4 (3 + manifest)", len(items), err)
			}
			if _, err := f.svc.EvidenceList(ctx, f.clerk, c.ID); models.ErrorCodeOf(err) != models.EFORBIDDEN {
				t.Errorf("EvidenceList(clerk) = %v, want EFORBIDDEN", err)
			}
			r, e, err := f.svc.OpenEvidence(ctx, f.auditor, c.ID, items[0].ID)
			if err != nil {
				t.Fatalf("OpenEvidence: %v", err)
			}
			var got bytes.Buffer
			if _, err := got.ReadFrom(r); err != nil || int64(got.Len()) != e.Size {
				t.Errorf("read evidence = %d bytes, %v; want %d", got.Len(), err, e.Size)
			}
			r.Close()

			var zipped bytes.Buffer
			if err := f.svc.WriteBundle(ctx, f.auditor, c.ID, &zipped); err != nil {
				t.Fatalf("WriteBundle: %v", err)
			}
			zr, err := zip.NewReader(bytes.NewReader(zipped.Bytes()), int64(zipped.Len()))
			if err != nil {
				t.Fatal(err)
			}
			rep := audit.VerifyBundle(zr, f.key.Public().(ed25519.PublicKey))
			if !rep.OK() || len(rep.Items) != 3 {
				t.Fatalf("VerifyBundle(downloaded) ok %v, %d items, problems %v, items %+v; want ok with 3 items", rep.OK(), len(rep.Items), rep.Problems, rep.Items)
			}
			// No checkpoint covered the seal: the download wrote one.
			if rep.SealSeq == 0 || rep.LogSize < rep.SealSeq {
				t.Fatalf("VerifyBundle(downloaded): seal %d proven against a log of size %d, want a checkpoint covering the seal", rep.SealSeq, rep.LogSize)
			}

			if err := f.svc.SetLegalHold(ctx, f.auditor, c.ID, items[0].ID, true, "litigation"); models.ErrorCodeOf(err) != models.EFORBIDDEN {
				t.Errorf("SetLegalHold(auditor) = %v, want EFORBIDDEN", err)
			}
			if err := f.svc.SetLegalHold(ctx, f.admin, c.ID, items[0].ID, true, "litigation 2026-17"); err != nil {
				t.Errorf("SetLegalHold(admin) = %v", err)
			}
			if info, err := f.store.Stat(ctx, items[0].Key); err != nil || !info.LegalHold {
				t.Errorf("Stat after legal hold = %+v, %v; want LegalHold", info, err)
			}
			want := []string{audit.SealAction, "evidence.listed", "evidence.downloaded", "evidence.bundle_downloaded", "evidence.legal_hold_set"}
			acts := strings.Join(caseActions(t, f.db, c.ID), " ")
			for _, w := range want {
				if !strings.Contains(acts, w) {
					t.Errorf("case audit actions %q lack %q", acts, w)
				}
			}
		})
	}
}

// A stored artifact altered behind the service's back is caught when an
// auditor downloads it.
func TestTamperedArtifactCaughtOnDownload(t *testing.T) {
	ctx := context.Background()
	f := newSealFixture(t, archivertest.Databases()[0].Open)
	c := archivertest.SeedCase(t, f.db, models.StateInSession)
	staged := archivertest.Stage(t, f.db, f.stager, c.ID, models.EvidenceLetter, 1, 4096, 5)
	f.approve(t, c)
	f.drain(t)
	if _, err := f.svc.Seal(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.store.Root(), "objects", filepath.FromSlash(staged[0].Key))
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	b[100] ^= 0xff
	if err := os.WriteFile(path, b, 0o444); err != nil {
		t.Fatal(err)
	}
	err := f.svc.WriteBundle(ctx, f.auditor, c.ID, new(bytes.Buffer))
	if models.ErrorCodeOf(err) != models.ECONFLICT || !strings.Contains(err.Error(), staged[0].Key) {
		t.Errorf("WriteBundle(tampered store) = %v, want ECONFLICT naming %s", err, staged[0].Key)
	}
	r, _, err := f.svc.OpenEvidence(ctx, f.auditor, c.ID, staged[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := new(bytes.Buffer).ReadFrom(r); models.ErrorCodeOf(err) != models.ECONFLICT {
		t.Errorf("reading a tampered item = %v, want ECONFLICT at the end", err)
	}
}
