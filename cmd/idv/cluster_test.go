package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"remoteidv/audit"
	"remoteidv/internal/testenv"
	"remoteidv/mail/mailtest"
	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/archiver/archivertest"
	"remoteidv/storage/encfile"
	"remoteidv/storage/evidencetest"
	"remoteidv/storage/postgres"
)

// TestCluster runs two `idv serve` processes as one cluster on real
// services started for the test alone: a private PostgreSQL (so it can be
// restarted), MinIO erasure-coded over four drives with Object Lock, an
// SMTP server, one shared staging folder (IDV_STAGING_DIR), one signing
// key, staging key and cluster secret. Every job runs every second on both
// nodes for the whole test. The API is reached through a round-robin
// "load balancer" without stickiness (each request goes to the next node).
// The cluster starts once; the fault cases run in sequence on it, and
// after each `idv check` finds nothing lost and `idv audit verify` verifies
// the chain:
//
//   - archiving node killed: kill -9 the node whose archiver holds the
//     lease on a large staged recording, mid-upload; the other node takes
//     the item once the lease runs out and archives it, with the recorded
//     hash; the killed node comes back under its node ID;
//   - drive removed: one of MinIO's four drives is pulled while evidence
//     is archived; writes go on, the objects read back whole, and Object
//     Lock still refuses to delete a locked version;
//   - PostgreSQL restarted during approvals: decisions of several cases
//     are sent while PostgreSQL restarts; the client retries each with its
//     Idempotency-Key until it answers; every case ends with exactly one
//     decision (approvals row, case.approve event);
//   - every job on both nodes: at the end, no mail sent twice, one seal
//     (manifest) per case, no object key written twice in the bucket (seal
//     manifests, checkpoint notes, evidence), one release per case, no
//     deletion recorded twice.
func TestCluster(t *testing.T) {
	start := time.Now()
	ctx := context.Background()
	pg := testenv.Postgres(t)
	mio := testenv.MinIO(t, testenv.WithDrives(4))
	smtp := mailtest.Start(t, mailtest.Options{})
	shared := t.TempDir()
	staging := filepath.Join(shared, "staging") // the shared staging volume
	stagingKey := filepath.Join(shared, "staging-aes256.key")
	raw := make([]byte, 32)
	rand.Read(raw)
	if err := os.WriteFile(stagingKey, []byte(base64.StdEncoding.EncodeToString(raw)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := encfile.NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	const bucket = "idv-evidence"
	common := map[string]string{
		"IDV_DATABASE_URL": pg.URL, "IDV_REQUIRE_MODELS": "false", "IDV_MODELS_DIR": t.TempDir(),
		"IDV_S3_ENDPOINT": mio.Endpoint, "IDV_S3_BUCKET": bucket, "IDV_S3_ACCESS_KEY": mio.AccessKey, "IDV_S3_SECRET_KEY": mio.SecretKey,
		"IDV_S3_TLS": "false", "IDV_S3_RETENTION_DAYS": "1",
		"IDV_STAGING_DIR": staging, "IDV_STAGING_KEY_FILE": stagingKey, "IDV_NODE_SECRET": hex.EncodeToString(secret),
		"IDV_NODE_HEARTBEAT": "1s", "IDV_ARCHIVE_LEASE": "5s",
		// every job every second, on both nodes
		"IDV_SEAL_INTERVAL": "1s", "IDV_CHECKPOINT_INTERVAL": "1s", "IDV_EXPIRY_INTERVAL": "1s", "IDV_MAIL_INTERVAL": "1s",
		"IDV_NOTIFY_INTERVAL": "1s", "IDV_REMINDER_INTERVAL": "1s", "IDV_WEBHOOK_INTERVAL": "1s",
		"IDV_SMTP_ADDR": smtp.Addr, "IDV_SMTP_TLS": "none", "IDV_NEW_PASSWORD": e2ePassword, "IDV_LOG_LEVEL": "info",
	}
	nodeEnv := func(id string) map[string]string {
		env := map[string]string{"IDV_NODE_ID": id}
		for k, v := range common {
			env[k] = v
		}
		return env
	}
	a := newE2EIDV(t, nodeEnv("idv-a"))
	b := newE2EIDV(t, nodeEnv("idv-b"))
	for k, v := range a.env { // one audit signing key and statement signer for both
		switch k {
		case "IDV_LISTEN", "IDV_PUBLIC_URL", "IDV_DATA_DIR", "IDV_EVIDENCE_DIR", "IDV_NODE_ID":
		default:
			b.env[k] = v
		}
	}
	nodes := map[string]*e2eIDV{"idv-a": a, "idv-b": b}
	procs := map[string]*child{}
	serve := func(id string) {
		t.Helper()
		n := nodes[id]
		procs[id] = n.spawn(id, nil, "serve")
		procs[id].serving(n.origin, 90*time.Second)
	}
	serve("idv-a") // migrates the database and makes the bucket, alone
	if out, err := a.cli("users", "add", "--username", "sup", "--name", "Supervisor", "--role", "supervisor"); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	serve("idv-b")
	both := time.Now() // both nodes run every job from here on
	t.Logf("cluster up in %v", both.Sub(start).Round(time.Millisecond))

	// The test's own connections to the database; reopened after
	// PostgreSQL restarts (the restart cuts every pooled connection).
	var db models.Store
	openDB := func() {
		t.Helper()
		if db != nil {
			db.Close()
		}
		if db, err = postgres.Open(ctx, pg.URL, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
	}
	openDB()
	t.Cleanup(func() { db.Close() })
	var raws *sql.DB // the same, for the counts in SQL
	openRaw := func() {
		if raws != nil {
			raws.Close()
		}
		if raws, err = sql.Open("pgx", pg.URL); err != nil {
			t.Fatal(err)
		}
	}
	openRaw()
	t.Cleanup(func() { raws.Close() })
	stager, err := archiver.NewStager(staging, time.Now, rand.Reader, archiver.WithKey(key))
	if err != nil {
		t.Fatal(err)
	}
	s3c, err := minio.New(mio.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(mio.AccessKey, mio.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	lb := &roundRobin{hosts: []string{hostPort(a.origin), hostPort(b.origin)}}
	sup := lbLogin(t, lb, a.origin, "sup")

	// seed makes a case waiting for review, as a clerk's submission
	// leaves it: captures, a letter and its statement staged in the shared
	// folder, their rows in the database. It returns the case and its
	// statement's hash.
	var cases []models.CaseID
	seed := func() (*models.Case, string) {
		t.Helper()
		c := archivertest.SeedCase(t, db, models.StatePendingReview)
		if len(cases) == 0 { // the account's ledger, which the statement is made of
			if err := db.Transact(ctx, func(tx models.Tx) error {
				_, err := tx.AddLedgerEntries(ctx, []*models.LedgerEntry{{AccountNo: c.AccountNo, BookedAt: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC),
					Description: "Salary transfer", Amount: 500000, Currency: "CNY"}})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		archivertest.Stage(t, db, stager, c.ID, models.EvidenceCapture, 2, 32<<10, uint64(len(cases))*10+1)
		archivertest.Stage(t, db, stager, c.ID, models.EvidenceLetter, 1, 16<<10, uint64(len(cases))*10+5)
		sum := archivertest.SeedStatement(t, db, stager, c.ID)
		cases = append(cases, c.ID)
		return c, sum
	}
	decision := func(sum string) map[string]string {
		return map[string]string{"decision": "approve", "reason": "every check passed", "statement_sha256": sum}
	}
	// verified: nothing lost (idv check, the bytes of every item included)
	// and the audit chain verifies, with the published checkpoints.
	verified := func(when string) {
		t.Helper()
		out, err := a.cli("check")
		if err != nil || strings.Contains(out, "BROKEN") {
			t.Fatalf("idv check %s = %v:\n%s", when, err, out)
		}
		out, err = a.cli("audit", "verify")
		if err != nil || !strings.Contains(out, "OK: ") {
			t.Fatalf("idv audit verify %s = %v:\n%s", when, err, out)
		}
	}
	objectSHA := func(key, version string) (string, int64) {
		t.Helper()
		o, err := s3c.GetObject(ctx, bucket, key, minio.GetObjectOptions{VersionID: version})
		if err != nil {
			t.Fatalf("GetObject(%s) = %v", key, err)
		}
		defer o.Close()
		h := sha256.New()
		n, err := io.Copy(h, o)
		if err != nil {
			t.Fatalf("read %s: %v", key, err)
		}
		return hex.EncodeToString(h.Sum(nil)), n
	}

	t.Run("archiving node killed", func(t *testing.T) {
		c, _ := seed()
		// A recording large enough that its upload is still running
		// when the node holding it is killed.
		big := archivertest.Stage(t, db, stager, c.ID, models.EvidenceRecording, 1, 384<<20, 99)[0]
		var owner string
		deadline := time.Now().Add(60 * time.Second)
		for owner == "" {
			var archived sql.NullInt64
			if err := raws.QueryRowContext(ctx, "SELECT lease_owner, archived_at FROM evidence WHERE id = $1", big.ID).Scan(&owner, &archived); err != nil {
				t.Fatal(err)
			}
			if archived.Valid {
				t.Fatalf("the recording was archived before a lease was seen: make it larger")
			}
			if time.Now().After(deadline) {
				t.Fatal("no archiver claimed the recording in 60s")
			}
			time.Sleep(20 * time.Millisecond)
		}
		victim, _, _ := strings.Cut(owner, "/")
		other := map[string]string{"idv-a": "idv-b", "idv-b": "idv-a"}[victim]
		if other == "" {
			t.Fatalf("lease owner %q is not a node's archiver", owner)
		}
		time.Sleep(500 * time.Millisecond) // well into the upload
		var archived sql.NullInt64
		if err := raws.QueryRowContext(ctx, "SELECT archived_at FROM evidence WHERE id = $1", big.ID).Scan(&archived); err != nil || archived.Valid {
			t.Fatalf("recording archived %v (%v) before the kill: make it larger", archived, err)
		}
		killed := time.Now()
		procs[victim].cmd.Process.Signal(syscall.SIGKILL)
		if st := procs[victim].exit(30 * time.Second); !killedBy(st, syscall.SIGKILL) {
			t.Fatalf("%s ended %v, want killed", victim, st)
		}
		t.Logf("%s killed mid-upload (lease %s)", victim, owner)
		items := archivertest.WaitArchived(t, db, c.ID, 120*time.Second)
		t.Logf("%s archived the recording %v after the kill", other, time.Since(killed).Round(time.Millisecond))
		if !strings.Contains(procs[other].log.String(), "evidence archived") || !strings.Contains(procs[other].log.String(), string(big.ID)) {
			t.Errorf("%s's log does not show it archiving %s", other, big.ID)
		}
		for _, e := range items {
			if e.ID != big.ID {
				continue
			}
			sum, n := objectSHA(e.Key, e.VersionID)
			if sum != big.SHA256 || n != big.Size {
				t.Errorf("stored recording: %d bytes SHA-256 %s, staged %d bytes %s", n, sum, big.Size, big.SHA256)
			}
		}
		if _, err := os.Stat(big.Staged); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("staged recording after archiving: %v, want removed", err)
		}
		serve(victim) // back under its node ID
		verified("after the archiving node was killed")
	})

	t.Run("drive removed", func(t *testing.T) {
		c, _ := seed()
		mio.RemoveDrive(0)
		items := archivertest.Stage(t, db, stager, c.ID, models.EvidenceRecording, 3, 4<<20, 200)
		archivertest.WaitArchived(t, db, c.ID, 60*time.Second)
		for _, e := range archivertest.Items(t, db, c.ID) {
			sum, n := objectSHA(e.Key, e.VersionID)
			if sum != e.SHA256 || n != e.Size {
				t.Errorf("%s with a drive removed: stored %d bytes %s, want %d bytes %s", e.Key, n, sum, e.Size, e.SHA256)
			}
		}
		for _, e := range items {
			if _, err := os.Stat(filepath.Join(mio.Drives[0]+".removed", bucket, e.Key)); err == nil {
				t.Errorf("%s is on the removed drive", e.Key)
			}
			if _, err := os.Stat(filepath.Join(mio.Drives[1], bucket, e.Key, "xl.meta")); err != nil {
				t.Errorf("%s is not on drive 2: %v", e.Key, err)
			}
		}
		// Object Lock still holds with a drive gone.
		e := archivertest.Items(t, db, c.ID)[0]
		for _, o := range []minio.RemoveObjectOptions{{VersionID: e.VersionID}, {VersionID: e.VersionID, GovernanceBypass: true}, {VersionID: e.VersionID, ForceDelete: true}} {
			if err := s3c.RemoveObject(ctx, bucket, e.Key, o); err == nil {
				t.Errorf("RemoveObject(%s, %+v) with a drive removed = nil, want refused by Object Lock", e.Key, o)
			}
		}
		if sum, _ := objectSHA(e.Key, e.VersionID); sum != e.SHA256 {
			t.Errorf("%s after the delete attempts: SHA-256 %s, want %s", e.Key, sum, e.SHA256)
		}
		mio.RestoreDrive(0)
		verified("with a drive removed and put back")
	})

	t.Run("PostgreSQL restarted during approvals", func(t *testing.T) {
		const n = 6
		type pending struct {
			id  models.CaseID
			sum string
		}
		var ps []pending
		for range n {
			c, sum := seed()
			ps = append(ps, pending{c.ID, sum})
		}
		sup.stepUp()
		type answer struct {
			code  int
			body  string
			tries int
			seen  []string // what each try got
		}
		answers := make([]answer, n)
		var wg sync.WaitGroup
		for i, p := range ps {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * 60 * time.Millisecond)
				hdr := idempotencyKey(1000 + i)
				deadline := time.Now().Add(90 * time.Second)
				for {
					answers[i].tries++
					code, body, err := sup.call("POST", "/api/cases/"+string(p.id)+"/decision", decision(p.sum), hdr)
					answers[i].code, answers[i].body = code, string(body)
					if err != nil {
						answers[i].seen = append(answers[i].seen, "error: "+err.Error())
					} else {
						answers[i].seen = append(answers[i].seen, fmt.Sprintf("%d %.60s", code, body))
					}
					// An answer is a 2xx or 4xx other than "still being
					// processed"; a lost connection or a 5xx is retried
					// with the same key, as a client must.
					inFlight := code == http.StatusConflict && strings.Contains(string(body), "still being processed")
					if err == nil && code < 500 && !inFlight || time.Now().After(deadline) {
						return
					}
					time.Sleep(250 * time.Millisecond)
				}
			})
		}
		time.Sleep(120 * time.Millisecond)
		restarted := time.Now()
		pg.Restart()
		t.Logf("PostgreSQL restarted in %v", time.Since(restarted).Round(time.Millisecond))
		openDB()
		openRaw()
		wg.Wait()
		hit := 0
		for _, ans := range answers {
			if ans.tries > 1 {
				hit++
			}
		}
		if hit == 0 {
			t.Errorf("the restart missed every decision (none was retried): the case tested nothing")
		}
		for i, p := range ps {
			ans := answers[i]
			t.Logf("case %d: %d after %d tries: %q", i, ans.code, ans.tries, ans.seen)
			switch {
			case ans.code == 200:
			case ans.code >= 400 && ans.code < 500:
				// Failed clearly: nothing was decided; a new decision lands.
				if st := caseStateIn(t, db, p.id); st != models.StatePendingReview {
					t.Errorf("case %d refused with %d but is %s, want pending_review", i, ans.code, st)
				}
				sup.must(200, "POST", "/api/cases/"+string(p.id)+"/decision", decision(p.sum), idempotencyKey(2000+i))
			default:
				t.Errorf("case %d: decision never answered: %d %s", i, ans.code, ans.body)
			}
		}
		for i, p := range ps {
			var approvals, events int
			if err := raws.QueryRowContext(ctx, "SELECT count(*) FROM approvals WHERE case_id = $1", p.id).Scan(&approvals); err != nil {
				t.Fatal(err)
			}
			if err := raws.QueryRowContext(ctx, "SELECT count(*) FROM audit_events WHERE case_id = $1 AND action IN ('case.approve', 'case.reject')", p.id).Scan(&events); err != nil {
				t.Fatal(err)
			}
			if approvals != 1 || events != 1 {
				t.Errorf("case %d has %d approvals rows and %d decision events, want 1 each", i, approvals, events)
			}
		}
		t.Logf("idempotent answers stored again once PostgreSQL was back: %d", strings.Count(procs["idv-a"].log.String()+procs["idv-b"].log.String(), "store idempotent answer, trying again"))
		verified("after PostgreSQL restarted during approvals")
	})

	t.Run("every job on both nodes", func(t *testing.T) {
		// Items whose retention ends in seconds, so that the expiry job
		// of both nodes deletes them meanwhile: the test stores their
		// objects first, with a short COMPLIANCE retention of their own
		// (the bucket's default is a day), then stages them; the archiver
		// finds each stored and confirms it.
		c, _ := seed()
		var expiring []models.EvidenceID
		for i := range 3 {
			seedN, size := uint64(500+i), int64(8<<10)
			h := sha256.New()
			io.Copy(h, evidencetest.NewReader(seedN, size))
			sum := hex.EncodeToString(h.Sum(nil))
			key, err := models.EvidenceKey(c.ID, models.EvidenceCapture, sum)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s3c.PutObject(ctx, bucket, key, evidencetest.NewReader(seedN, size), size, minio.PutObjectOptions{
				ContentType: "application/octet-stream", UserMetadata: map[string]string{"sha256": sum},
				Mode: minio.Compliance, RetainUntilDate: time.Now().Add(5 * time.Second), ServerSideEncryption: encrypt.NewSSE()}); err != nil {
				t.Fatal(err)
			}
			expiring = append(expiring, archivertest.Stage(t, db, stager, c.ID, models.EvidenceCapture, 1, size, seedN)[0].ID)
		}
		// The cases approved above are sealed and released; both nodes
		// run every job meanwhile, for a minute at least in all.
		var approved []models.CaseID
		if err := func() error {
			rows, err := raws.QueryContext(ctx, "SELECT case_id FROM approvals ORDER BY case_id")
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id models.CaseID
				if err := rows.Scan(&id); err != nil {
					return err
				}
				approved = append(approved, id)
			}
			return rows.Err()
		}(); err != nil {
			t.Fatal(err)
		}
		for _, id := range approved {
			waitStateIn(t, db, id, models.StateSealed, 90*time.Second)
			sup.must(200, "POST", "/api/cases/"+string(id)+"/release", nil, idempotencyKey(3000))
		}
		if rest := time.Minute - time.Since(both); rest > 0 {
			time.Sleep(rest)
		}
		var outbox, unsent int
		if err := raws.QueryRowContext(ctx, "SELECT count(*), count(*) FILTER (WHERE sent_at IS NULL) FROM mail_outbox").Scan(&outbox, &unsent); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for unsent > 0 && time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
			raws.QueryRowContext(ctx, "SELECT count(*) FILTER (WHERE sent_at IS NULL) FROM mail_outbox").Scan(&unsent)
		}
		kinds := map[string]int{}
		if rows, err := raws.QueryContext(ctx, "SELECT kind, count(*) FROM mail_outbox GROUP BY kind"); err == nil {
			for rows.Next() {
				var k string
				var n int
				rows.Scan(&k, &n)
				kinds[k] = n
			}
			rows.Close()
		}
		if kinds["statement"] != len(approved) {
			t.Errorf("outbox holds %d statement mails for %d released cases (%v), want one each", kinds["statement"], len(approved), kinds)
		}
		msgs := smtp.Messages()
		seen := map[string]int{}
		for _, m := range msgs {
			p, err := mailtest.Parse(m.Data)
			if err != nil {
				t.Fatal(err)
			}
			seen[p.Header.Get("Message-Id")]++
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("message %s was delivered %d times", id, k)
			}
		}
		if unsent != 0 || len(msgs) != outbox {
			t.Errorf("mail: %d outbox rows (%d unsent), %d messages delivered; want all sent, each once", outbox, unsent, len(msgs))
		}
		for _, id := range approved {
			var seals, manifests, releases int
			raws.QueryRowContext(ctx, "SELECT count(*) FROM audit_events WHERE case_id = $1 AND action = 'case.seal'", id).Scan(&seals)
			raws.QueryRowContext(ctx, "SELECT count(*) FROM evidence WHERE case_id = $1 AND kind = 'manifest'", id).Scan(&manifests)
			raws.QueryRowContext(ctx, "SELECT count(*) FROM audit_events WHERE case_id = $1 AND action = 'case.release'", id).Scan(&releases)
			if seals != 1 || manifests != 1 || releases != 1 {
				t.Errorf("case %s: %d seal events, %d manifests, %d releases; want 1 each", id, seals, manifests, releases)
			}
		}
		var expired int
		raws.QueryRowContext(ctx, "SELECT count(*) FROM audit_events WHERE action = 'evidence.expired'").Scan(&expired)
		for _, id := range expiring {
			var events int
			var at sql.NullInt64
			raws.QueryRowContext(ctx, "SELECT count(*) FROM audit_events WHERE action = 'evidence.expired' AND detail LIKE '%' || $1 || '%'", id).Scan(&events)
			raws.QueryRowContext(ctx, "SELECT expired_at FROM evidence WHERE id = $1", id).Scan(&at)
			if events != 1 || !at.Valid {
				t.Errorf("evidence %s past its retention: %d evidence.expired events, expired_at %v; want deleted and recorded once", id, events, at)
			}
		}
		// Nothing in the write-once bucket was written twice: one version
		// per key (seal manifests, checkpoint notes, evidence), none
		// deleted.
		versions := map[string]int{}
		for o := range s3c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			versions[o.Key]++
			if o.IsDeleteMarker {
				t.Errorf("%s has a delete marker", o.Key)
			}
		}
		manifestsIn, notes := 0, 0
		for k, v := range versions {
			if v != 1 {
				t.Errorf("%s has %d versions in the bucket, want 1", k, v)
			}
			switch {
			case strings.Contains(k, "/manifest/"):
				manifestsIn++
			case strings.HasPrefix(k, path.Dir(audit.CheckpointKey(1))+"/"):
				notes++
			}
		}
		var checkpoints int
		raws.QueryRowContext(ctx, "SELECT count(*) FROM audit_checkpoints").Scan(&checkpoints)
		t.Logf("%v with both nodes running every job: %d cases, %d sealed and released, %d mails %v, %d checkpoints (%d notes in the bucket), %d objects, %d deletions",
			time.Since(both).Round(time.Second), len(cases), len(approved), len(msgs), kinds, checkpoints, notes, len(versions), expired)
		if manifestsIn != len(approved) {
			t.Errorf("%d manifest objects in the bucket, want %d (one per sealed case)", manifestsIn, len(approved))
		}
		verified("at the end")
	})
	t.Logf("TestCluster took %v", time.Since(start).Round(time.Second))
}

// roundRobin is a load balancer without stickiness, as an http.RoundTripper:
// each request goes to the next node; one that refuses the connection (a
// dead node) is skipped for the next, as a balancer's health check would.
type roundRobin struct {
	mu    sync.Mutex
	n     int
	hosts []string
}

func (r *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	var err error
	for range r.hosts {
		r.mu.Lock()
		host := r.hosts[r.n%len(r.hosts)]
		r.n++
		r.mu.Unlock()
		out := req.Clone(req.Context())
		out.URL.Host, out.Host = host, host
		if req.GetBody != nil {
			if out.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		var resp *http.Response
		resp, err = http.DefaultTransport.RoundTrip(out)
		var op *net.OpError
		if err != nil && errors.As(err, &op) && op.Op == "dial" {
			continue // never reached the node: the next one
		}
		return resp, err
	}
	return nil, err
}

// hostPort is the host:port of an origin.
func hostPort(origin string) string {
	u, err := url.Parse(origin)
	if err != nil {
		panic(err)
	}
	return u.Host
}

// lbLogin logs user in through the load balancer (base names any node:
// the balancer picks).
func lbLogin(t *testing.T, lb *roundRobin, base, user string) *staffAPI {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &staffAPI{t: t, base: base, http: &http.Client{Jar: jar, Transport: lb, Timeout: 2 * time.Minute}}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if code, b, err := s.call("POST", "/api/auth/login", map[string]string{"username": user, "password": e2ePassword}, nil); err != nil || code != 200 || json.Unmarshal(b, &me) != nil {
		t.Fatalf("login %s: %d %s %v", user, code, b, err)
	}
	s.csrf = me.CSRF
	return s
}

func caseStateIn(t *testing.T, db models.Store, id models.CaseID) models.CaseState {
	t.Helper()
	ctx := context.Background()
	var st models.CaseState
	if err := db.Transact(ctx, func(tx models.Tx) error {
		c, err := tx.CaseByID(ctx, id)
		if err == nil {
			st = c.State
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return st
}

func waitStateIn(t *testing.T, db models.Store, id models.CaseID, want models.CaseState, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got := caseStateIn(t, db, id)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("case %s is %s after %v, want %s", id, got, d, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
