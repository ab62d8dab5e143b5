package httpapi_test

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"remoteidv/internal/testenv"
)

const caseLoadEnv = "IDV_CASE_LOAD_STORY"

// dbCounters are a database's counters in pg_stat_database.
type dbCounters struct {
	commits, rollbacks, inserted, updated, deleted, fetched, returned int64
}

// BenchmarkCaseLoad measures the database and storage load of one whole
// case (runReviewStory: invite mailed, consent, email code, live capture,
// letter, signature and registry checks, submission, approval after
// step-up, seal, release with the statement mailed, close) on
// PostgreSQL. The story runs in a child process (TestCaseLoadStory) on a
// database of its own, so pg_stat_database counts only its transactions:
// those of the story, from after the set-up to the end. The baseline is
// the set-up itself (migrations, staff, accounts, the ledger), measured the
// same way in the same run. Each run makes and drops a database.
func BenchmarkCaseLoad(b *testing.B) {
	ctx := context.Background()
	base := cmp.Or(os.Getenv("IDV_TEST_POSTGRES_URL"), testenv.DefaultPostgresURL)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := "sizing_" + hex.EncodeToString(rnd[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		b.Fatalf("create database: %v (the benchmark needs CREATE DATABASE on the test server)", err)
	}
	defer func() {
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			b.Errorf("drop database %s: %v", name, err)
		}
	}()
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + name
	counters := func() dbCounters {
		time.Sleep(1500 * time.Millisecond) // backends flush their counters at most once a second
		var c dbCounters
		if _, err := admin.ExecContext(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
			b.Fatal(err)
		}
		err := admin.QueryRowContext(ctx, `SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched, tup_returned
			FROM pg_stat_database WHERE datname = $1`, name).Scan(&c.commits, &c.rollbacks, &c.inserted, &c.updated, &c.deleted, &c.fetched, &c.returned)
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	b.ResetTimer()
	b.StopTimer()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCaseLoadStory$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), caseLoadEnv+"=1", "IDV_TEST_POSTGRES_URL="+u.String())
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	// The child stops at each mark until the counters are read.
	var before, ready, after dbCounters
	var evidence []string // kind, objects and bytes of the case's evidence
	metrics := map[string]float64{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case line == "BEGIN" || line == "READY" || line == "DONE":
			c := counters()
			switch line {
			case "BEGIN":
				before = c
			case "READY":
				ready = c
				b.StartTimer()
			case "DONE":
				b.StopTimer()
				after = c
			}
			if _, err := fmt.Fprintln(in, "go"); err != nil {
				b.Fatal(err)
			}
		case len(f) == 3 && f[0] == "METRIC":
			var v float64
			if _, err := fmt.Sscan(f[2], &v); err != nil {
				b.Fatalf("child: %q", line)
			}
			metrics[f[1]] = v
		case len(f) > 0 && f[0] == "EVIDENCE":
			evidence = append(evidence, strings.TrimPrefix(line, "EVIDENCE "))
		}
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		b.Fatalf("the story: %v", err)
	}
	if after.commits == 0 {
		b.Fatal("the story ended without a result")
	}
	story := dbCounters{after.commits - ready.commits, after.rollbacks - ready.rollbacks, after.inserted - ready.inserted,
		after.updated - ready.updated, after.deleted - ready.deleted, after.fetched - ready.fetched, after.returned - ready.returned}
	setup := ready.commits - before.commits
	b.ReportMetric(float64(story.commits), "commits/case")
	b.ReportMetric(float64(story.rollbacks), "rollbacks/case")
	b.ReportMetric(float64(story.inserted), "rows-ins/case")
	b.ReportMetric(float64(story.updated), "rows-upd/case")
	b.ReportMetric(float64(story.deleted), "rows-del/case")
	b.ReportMetric(float64(story.fetched), "rows-fetched/case")
	b.ReportMetric(float64(setup), "commits-setup")
	b.ReportMetric(float64(story.commits)/float64(max(1, setup)), "commits-vs-setup")
	for k, v := range metrics {
		b.ReportMetric(v, k)
	}
	b.Logf("evidence of the case: %s", strings.Join(evidence, "; "))
}

// TestCaseLoadStory is the child process of BenchmarkCaseLoad; it does
// nothing unless the benchmark starts it.
func TestCaseLoadStory(t *testing.T) {
	if os.Getenv(caseLoadEnv) == "" {
		t.Skip("the story of BenchmarkCaseLoad")
	}
	ctx := context.Background()
	stdin := bufio.NewScanner(os.Stdin)
	mark := func(m string) { // wait for the parent to read the counters
		fmt.Println(m)
		if !stdin.Scan() {
			t.Fatalf("mark %s: the benchmark went away", m)
		}
	}
	mark("BEGIN")
	se := newStoryEnv(t, "postgres")
	db := se.env.store.(interface{ SQL() *sql.DB }).SQL()
	// flush closes the idle connections: a backend that ends reports its
	// counters at once.
	flush := func() {
		db.SetMaxIdleConns(0)
		for deadline := time.Now().Add(10 * time.Second); db.Stats().OpenConnections > 0 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		db.SetMaxIdleConns(2)
	}
	size := func() int64 {
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	flush()
	mark("READY")
	size0 := size()
	flush()
	start := time.Now()
	story := runReviewStory(t, se)
	wall := time.Since(start)
	flush()
	mark("DONE")
	fmt.Printf("METRIC db-bytes/case %d\n", size()-size0)
	fmt.Printf("METRIC story-s %f\n", wall.Seconds())
	rows, err := db.QueryContext(ctx, `SELECT kind, count(*), sum(size) FROM evidence WHERE case_id = $1 GROUP BY kind ORDER BY kind`, story.caseID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var objects, bytes int64
	for rows.Next() {
		var kind string
		var n, sz int64
		if err := rows.Scan(&kind, &n, &sz); err != nil {
			t.Fatal(err)
		}
		objects, bytes = objects+n, bytes+sz
		fmt.Printf("EVIDENCE %s %d objects %d bytes\n", kind, n, sz)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("METRIC evidence-objects/case %d\n", objects)
	fmt.Printf("METRIC evidence-bytes/case %d\n", bytes)
}
