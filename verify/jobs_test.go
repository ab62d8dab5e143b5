package verify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"remoteidv/audit"
	"remoteidv/mail/mailtest"
	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/archiver/archivertest"
	"remoteidv/storage/localfs"
	"remoteidv/verify"
	"remoteidv/verify/verifytest"
)

// jobNodes is a database and an evidence store shared by several workflow
// services, each as one node's would be (its own lease owner), on a clock
// the test moves.
type jobNodes struct {
	db    models.Store
	store *localfs.Store
	st    *archiver.Stager
	arc   *archiver.Archiver
	nodes []*verify.Service
	desks []*verify.Desk
	smtp  *mailtest.Server
	skew  *atomic.Int64
}

func newJobNodes(t *testing.T, open func(testing.TB) models.Store, n int) *jobNodes {
	t.Helper()
	j := &jobNodes{db: open(t), skew: new(atomic.Int64)}
	now := func() time.Time { return time.Now().Add(time.Duration(j.skew.Load())) }
	var err error
	if j.store, err = localfs.New(localfs.Config{Root: t.TempDir(), Retention: 24 * time.Hour, Now: now}, nil); err != nil {
		t.Fatal(err)
	}
	if j.st, err = archiver.NewStager(filepath.Join(t.TempDir(), "staging"), now, rand.Reader); err != nil {
		t.Fatal(err)
	}
	if j.arc, err = archiver.New(j.db, j.store, archiver.Config{Rand: rand.Reader, Now: now}, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.arc.Close() })
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	j.smtp = mailtest.Start(t, mailtest.Options{})
	for range n {
		g := verifytest.New(t, verifytest.Options{Store: j.db, Now: now, Stager: j.st, Evidence: j.store, Key: key,
			Desk: verify.DeskDeps{Mailer: sender(t, j.smtp.Addr), MailFrom: "noreply@bank.example"}})
		j.nodes, j.desks = append(j.nodes, g.Service), append(j.desks, g.Desk)
	}
	return j
}

// all runs fn on every node at once.
func (j *jobNodes) all(fn func(i int, s *verify.Service)) {
	var wg sync.WaitGroup
	for i, s := range j.nodes {
		wg.Go(func() { fn(i, s) })
	}
	wg.Wait()
}

// casesWithArchivedEvidence seeds n cases in state, each with two
// archived items.
func (j *jobNodes) casesWithArchivedEvidence(t *testing.T, n int, state models.CaseState) []*models.Case {
	t.Helper()
	var cs []*models.Case
	for i := range n {
		c := archivertest.SeedCase(t, j.db, state)
		archivertest.Stage(t, j.db, j.st, c.ID, models.EvidenceCapture, 2, 2048, uint64(10*i))
		cs = append(cs, c)
	}
	if _, err := j.arc.Drain(context.Background(), "test/0"); err != nil {
		t.Fatal(err)
	}
	return cs
}

func (j *jobNodes) keys(t *testing.T, c models.CaseID, kind models.EvidenceKind) int {
	t.Helper()
	keys, err := j.store.List(context.Background(), "cases/"+string(c)+"/"+string(kind)+"/")
	if err != nil {
		t.Fatal(err)
	}
	return len(keys)
}

func countActions(t *testing.T, db models.Store, c models.CaseID, action string) int {
	t.Helper()
	n := 0
	for _, a := range caseActions(t, db, c) {
		if a == action {
			n++
		}
	}
	return n
}

// holdLease takes the lease name for a process that then dies: it never
// releases it.
func holdLease(t *testing.T, db models.Store, name string, until time.Time) {
	t.Helper()
	ctx := context.Background()
	err := db.Transact(ctx, func(tx models.Tx) error {
		ok, err := tx.ClaimJobLease(ctx, name, "dead-node/job", time.Now(), until)
		if err == nil && !ok {
			t.Fatalf("ClaimJobLease(%s) = false, want the lease", name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentSealers: two nodes, each from two goroutines (the sealer
// job and a decision sealing at once), seal the same approved cases at
// once: every case is sealed once, with one seal event and one manifest
// in the write-once store. A sealer that died holding a case's lease
// delays that case until the lease runs out; then another node seals it.
// The same node restarted takes its own lease back at once.
func TestConcurrentSealers(t *testing.T) {
	for _, d := range archivertest.Databases() {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			j := newJobNodes(t, d.Open, 4)
			cs := j.casesWithArchivedEvidence(t, 5, models.StateApproved)
			var sealed atomic.Int32
			j.all(func(i int, _ *verify.Service) {
				s := j.nodes[i&^1] // two nodes, each sealing from two goroutines (the sealer job and decisions)
				if i%2 == 0 {
					n, err := s.SealPending(ctx)
					if err != nil {
						t.Errorf("node %d: SealPending: %v", i, err)
					}
					sealed.Add(int32(n))
					return
				}
				for _, c := range cs {
					switch _, err := s.Seal(ctx, c.ID); models.ErrorCodeOf(err) {
					case "":
						sealed.Add(1)
					case models.EPRECONDITION, models.ECONFLICT: // another node has it, or has sealed it
					default:
						t.Errorf("node %d: Seal(%s): %v", i, c.ID, err)
					}
				}
			})
			if n := sealed.Load(); n != int32(len(cs)) {
				t.Errorf("%d seals by 4 nodes at once, want %d", n, len(cs))
			}
			for _, c := range cs {
				if n := countActions(t, j.db, c.ID, audit.SealAction); n != 1 {
					t.Errorf("case %s: %d seal events, want 1", c.ID, n)
				}
				if n := j.keys(t, c.ID, models.EvidenceManifest); n != 1 {
					t.Errorf("case %s: %d manifests in the store, want 1", c.ID, n)
				}
			}

			// A node died mid-seal: its lease holds the case until it runs out.
			c := j.casesWithArchivedEvidence(t, 1, models.StateApproved)[0]
			holdLease(t, j.db, "seal:"+string(c.ID), time.Now().Add(2*time.Minute))
			if n, err := j.nodes[1].SealPending(ctx); err != nil || n != 0 {
				t.Fatalf("SealPending while a dead node holds the lease = %d, %v; want 0", n, err)
			}
			j.skew.Store(int64(3 * time.Minute))
			if n, err := j.nodes[2].SealPending(ctx); err != nil || n != 1 {
				t.Fatalf("SealPending after the lease ran out = %d, %v; want 1", n, err)
			}
			if n := countActions(t, j.db, c.ID, audit.SealAction); n != 1 {
				t.Errorf("taken-over case: %d seal events, want 1", n)
			}

			// The node crashed mid-seal and restarts under its node ID.
			j.skew.Store(0)
			c = j.casesWithArchivedEvidence(t, 1, models.StateApproved)[0]
			err := j.db.Transact(ctx, func(tx models.Tx) error {
				_, err := tx.ClaimJobLease(ctx, "seal:"+string(c.ID), "idv-7/workflow", time.Now(), time.Now().Add(2*time.Minute))
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			cfg := verifytest.DefaultConfig()
			cfg.LeaseOwner = "idv-7/workflow"
			restarted := verifytest.New(t, verifytest.Options{Store: j.db, Stager: j.st, Evidence: j.store, Config: cfg}).Service
			if _, err := restarted.Seal(ctx, c.ID); err != nil {
				t.Fatalf("Seal by the restarted node holding its own lease: %v", err)
			}
		})
	}
}

// TestConcurrentExpiry: four nodes run the expiry job at once: every item
// past its retention is deleted once and recorded once. A node that died
// after deleting an item but before recording it holds the item's lease;
// once the lease runs out another node records it (already_gone).
func TestConcurrentExpiry(t *testing.T) {
	for _, d := range archivertest.Databases() {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			j := newJobNodes(t, d.Open, 4)
			cs := j.casesWithArchivedEvidence(t, 4, models.StateInSession)
			j.skew.Store(int64(25 * time.Hour))
			var deleted atomic.Int32
			j.all(func(i int, s *verify.Service) {
				rep, err := s.ExpireEvidence(ctx)
				if err != nil || rep.Failed != 0 {
					t.Errorf("node %d: ExpireEvidence = %+v, %v", i, rep, err)
				}
				deleted.Add(int32(rep.Deleted))
			})
			if n := deleted.Load(); n != 8 {
				t.Errorf("4 nodes at once deleted %d items, want 8", n)
			}
			for _, c := range cs {
				if n := countActions(t, j.db, c.ID, "evidence.expired"); n != 2 {
					t.Errorf("case %s: %d evidence.expired events, want 2", c.ID, n)
				}
				for _, e := range caseEvents(t, j.db, c.ID) {
					if e.Action == "evidence.expired" && e.Detail["already_gone"] != "false" {
						t.Errorf("case %s: %s recorded already_gone=%s, want false (one node deleted it)", c.ID, e.Detail["evidence"], e.Detail["already_gone"])
					}
				}
			}

			// A node deleted an item and died before recording it.
			j.skew.Store(0)
			c := j.casesWithArchivedEvidence(t, 1, models.StateInSession)[0]
			items := archivertest.Items(t, j.db, c.ID)
			j.skew.Store(int64(25 * time.Hour))
			holdLease(t, j.db, "expire:"+string(items[0].ID), time.Now().Add(25*time.Hour+time.Minute))
			if err := j.store.Expire(ctx, items[0].Key); err != nil {
				t.Fatal(err)
			}
			if rep, err := j.nodes[0].ExpireEvidence(ctx); err != nil || rep.Deleted != 1 {
				t.Fatalf("ExpireEvidence while a dead node holds one item = %+v, %v; want the other deleted", rep, err)
			}
			j.skew.Store(int64(25*time.Hour + 2*time.Minute))
			if rep, err := j.nodes[3].ExpireEvidence(ctx); err != nil || rep.Deleted != 1 {
				t.Fatalf("ExpireEvidence after the lease ran out = %+v, %v; want the dead node's item recorded", rep, err)
			}
			var gone []string
			for _, e := range caseEvents(t, j.db, c.ID) {
				if e.Action == "evidence.expired" {
					gone = append(gone, e.Detail["evidence"]+"="+e.Detail["already_gone"])
				}
			}
			if want := string(items[0].ID) + "=true"; len(gone) != 2 || !strings.Contains(strings.Join(gone, " "), want) {
				t.Errorf("evidence.expired events %v, want 2 with %s", gone, want)
			}
		})
	}
}

// queueMail puts n messages without a case into the outbox.
func (j *jobNodes) queueMail(t *testing.T, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().Add(time.Duration(j.skew.Load())).UTC()
	err := j.db.Transact(ctx, func(tx models.Tx) error {
		for i := range n {
			id := fmt.Sprintf("%s_%d", prefix, i)
			raw := []byte(fmt.Sprintf("From: noreply@bank.example\r\nTo: li.wei@example.com\r\nMessage-ID: <%s@bank.example>\r\nSubject: %s\r\n\r\nbody\r\n", id, id))
			sum := sha256.Sum256(raw)
			if err := tx.EnqueueMail(ctx, &models.OutboundMail{ID: id, Kind: "code", To: "li.wei@example.com", From: "noreply@bank.example",
				MessageID: id + "@bank.example", Raw: raw, RawSHA256: hex.EncodeToString(sum[:]), CreatedAt: now, NextAttemptAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sentOnce checks that the mail server got want messages, none twice.
func (j *jobNodes) sentOnce(t *testing.T, want int) {
	t.Helper()
	j.smtp.Wait(t, want, 10*time.Second)
	time.Sleep(100 * time.Millisecond) // a duplicate would arrive about now
	msgs := j.smtp.Messages()
	seen := map[string]int{}
	for _, m := range msgs {
		subject, _, _ := strings.Cut(string(m.Data[strings.Index(string(m.Data), "Subject: ")+len("Subject: "):]), "\r\n")
		seen[subject]++
		if seen[subject] == 2 {
			t.Errorf("%s sent twice", subject)
		}
	}
	if len(msgs) != want || len(seen) != want {
		t.Errorf("mail server got %d messages (%d distinct), want %d", len(msgs), len(seen), want)
	}
}

// TestConcurrentMailOutbox: four nodes work the mail outbox at once (each
// under its own lease owner): every message goes out once. A node that
// died after claiming a message (its lease never released) delays it
// until the lease runs out; then another node sends it.
func TestConcurrentMailOutbox(t *testing.T) {
	for _, d := range archivertest.Databases() {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			j := newJobNodes(t, d.Open, 4)
			j.queueMail(t, "mail_a", 30)
			var sent atomic.Int32
			j.all(func(i int, _ *verify.Service) {
				for range 3 { // mailBatch (20) at a time
					n, err := j.desks[i].DeliverMail(ctx, fmt.Sprintf("node-%d/mail", i))
					if err != nil {
						t.Errorf("node %d: DeliverMail: %v", i, err)
					}
					sent.Add(int32(n))
				}
			})
			if n := sent.Load(); n != 30 {
				t.Errorf("4 nodes at once sent %d messages, want 30", n)
			}
			j.sentOnce(t, 30)

			j.queueMail(t, "mail_b", 1)
			err := j.db.Transact(ctx, func(tx models.Tx) error {
				now := time.Now()
				ms, err := tx.ClaimMail(ctx, "dead-node/mail", now, now.Add(time.Minute), 10)
				if err == nil && len(ms) != 1 {
					return fmt.Errorf("dead node claimed %d messages, want 1", len(ms))
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if n, err := j.desks[0].DeliverMail(ctx, "node-0/mail"); err != nil || n != 0 {
				t.Fatalf("DeliverMail while a dead node holds the message = %d, %v; want 0", n, err)
			}
			j.skew.Store(int64(2 * time.Minute))
			if n, err := j.desks[1].DeliverMail(ctx, "node-1/mail"); err != nil || n != 1 {
				t.Fatalf("DeliverMail after the lease ran out = %d, %v; want 1", n, err)
			}
			j.sentOnce(t, 31)
		})
	}
}
