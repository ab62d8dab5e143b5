package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"remoteidv/audit"
	"remoteidv/internal/demobrowser"
	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/storage/postgres"
)

// TestClusterBrowserStory runs the browser story on a cluster of real
// processes: PostgreSQL, MinIO, two `idv serve` (idv-a, idv-b) sharing
// the database, the keys and the cluster secret, and Debian's haproxy in
// front of them (round-robin, no stickiness), the public URL being
// haproxy's. Everything the browsers and the story's API clients do goes
// through haproxy.
//
// The customer's and the clerk's call sockets reach different nodes, and
// not by luck: round-robin alone sends each socket wherever the count of
// all requests before it (the pages' own, the story's API calls) happens
// to fall. So the test arranges it the way an operator can, through
// haproxy's runtime API: idv-b is drained (no new requests) until the
// customer's socket is upgraded on idv-a, then idv-a is drained until the
// clerk's socket is upgraded on idv-b; both are then back in the rotation.
// haproxy's log shows which node served each socket, and idv-b's log that
// it proxied the clerk's socket to idv-a, the call's node.
//
// Case 1: the whole story (capture, liveness, letter, signature,
// registry, approval, seal, release, the auditor's bundle verified).
// Case 2: idv-a, the call's node (it holds the lease call:<case>), is
// killed with SIGKILL mid-call. haproxy marks it down; both pages see the
// call drop and rejoin by themselves through haproxy; the call continues
// on idv-b (a live capture there matches). idv-a restarts, as its service
// manager would, and recovers the segments it was writing (all but at
// most their last second). The case still has one call: idv-b continued
// it in its second leg, and idv-a's recovered segments fill in the first.
// Each party's recording shows exactly one gap, and one node_lost
// interruption, begun by idv-a's last heartbeat and ended by their media
// on idv-b; the call's recording is whole, which lets the case go on. The audit chain verifies and idv check
// finds nothing wrong.
func TestClusterBrowserStory(t *testing.T) {
	start := time.Now()
	pg := testenv.PostgresURL(t)
	m := testenv.MinIO(t, testenv.WithDrives(4)) // erasure-coded, as the bank runs it
	lbAddr := freeAddr(t)
	lbURL := "http://" + lbAddr
	env := func(id string) map[string]string {
		return map[string]string{"IDV_DEMO": "true", "IDV_MAIL_INTERVAL": "2s", "IDV_SEAL_INTERVAL": "2s",
			"IDV_DATABASE_URL": pg, "IDV_S3_ENDPOINT": m.Endpoint, "IDV_S3_BUCKET": "idv-cluster", "IDV_S3_ACCESS_KEY": m.AccessKey,
			"IDV_S3_SECRET_KEY": m.SecretKey, "IDV_S3_TLS": "false", "IDV_S3_RETENTION_DAYS": "1",
			"IDV_NODE_ID": id, "IDV_NODE_HEARTBEAT": "1s", "IDV_NODE_SECRET": "cluster-test-secret-0123456789abcdef-0123",
			"IDV_PUBLIC_URL": lbURL, "IDV_TRUSTED_PROXIES": "127.0.0.1", "IDV_LOG_LEVEL": "info"}
	}
	a := newE2EIDV(t, env("idv-a"))
	if out, err := a.cli("demo", "load"); err != nil {
		t.Fatalf("idv demo load: %v\n%s", err, out)
	}
	nodeA := a.spawn("idv-a", nil, "serve")
	nodeA.serving(a.origin, 60*time.Second)
	// idv-b shares the signing key, and the folders demo mode keeps: the
	// demo records and logins, the keys (staging, statement signing) and
	// the Maildir the demo mailbox reads.
	envB := env("idv-b")
	envB["IDV_SIGNING_KEY"] = a.env["IDV_SIGNING_KEY"]
	b := newE2EIDV(t, envB)
	for _, d := range []string{"demo", "keys", "mail"} {
		if err := os.MkdirAll(filepath.Join(a.dir, d), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(b.dir, d)); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(a.dir, d), filepath.Join(b.dir, d)); err != nil {
			t.Fatal(err)
		}
	}
	nodeB := b.spawn("idv-b", nil, "serve")
	nodeB.serving(b.origin, 60*time.Second)
	lb := testenv.StartHAProxy(t, lbAddr, a.origin, b.origin)
	t.Logf("cluster up in %v: haproxy %s -> idv-a %s, idv-b %s", time.Since(start).Round(time.Second), lbURL, a.origin, b.origin)

	key, err := audit.LoadOrCreateKey(a.env["IDV_SIGNING_KEY"], nil)
	if err != nil {
		t.Fatal(err)
	}
	fp := audit.Fingerprint(key.Public().(ed25519.PublicKey))
	pw, err := readDemoPasswords(filepath.Join(a.dir, "demo", "passwords.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	newStory := func(acct int) *story {
		return &story{base: lbURL, acct: acct, pw: pw, fingerprint: fp, print: func(who, msg string) { t.Logf("%-10s %s", who, msg) }}
	}

	// Case 1: the story, customer on idv-a and clerk on idv-b.
	from := len(lb.Served())
	routed := routeApart(ctx, lb, from, a.origin, b.origin)
	s := newStory(slices.IndexFunc(demoAccounts, func(d demoAccount) bool { return d.no == storyAccount }))
	if err := s.run(ctx); err != nil {
		t.Fatalf("the story through haproxy: %v", err)
	}
	if err := <-routed; err != nil {
		t.Fatal(err)
	}
	checkSockets(t, lb.Served()[from:], s.caseID, map[string]string{"customer": a.origin, "clerk": b.origin})
	if !strings.Contains(nodeB.log.String(), "call socket proxied to its node") {
		t.Errorf("idv-b did not log proxying the clerk's socket to the call's node")
	}
	t.Logf("case 1 done at %v", time.Since(start).Round(time.Second))

	// Case 2: the call's node is killed mid-call.
	s2 := newStory(slices.IndexFunc(demoAccounts, func(d demoAccount) bool { return d.no != storyAccount }))
	if err := s2.start(ctx); err != nil {
		t.Fatal(err)
	}
	link, err := s2.schedule(ctx)
	if err != nil {
		t.Fatal(err)
	}
	from = len(lb.Served())
	routed = routeApart(ctx, lb, from, a.origin, b.origin)
	br, err := demobrowser.Start(ctx, demobrowser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	ready, inCall := make(chan struct{}), make(chan struct{})
	pages := make(chan demobrowser.Page, 1)
	cust, err := demoCustomer(newDemoClient(lbURL), s2.acct, link, customerFlags{wait: 3 * time.Minute}, func(msg string) {
		t.Logf("customer   %s", msg)
		switch {
		case strings.HasPrefix(msg, "waiting for the clerk"):
			close(ready)
		case strings.HasPrefix(msg, "in the call"):
			close(inCall)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	cust.Opened = func(p demobrowser.Page) { pages <- p }
	custDone := make(chan error, 1)
	go func() { custDone <- br.Customer(ctx, cust) }()
	wait := func(ch chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case err := <-custDone:
			t.Fatalf("%s: the customer stopped: %v", what, err)
		case <-time.After(2 * time.Minute):
			t.Fatalf("%s: not within 2 minutes", what)
		}
	}
	custPage := <-pages
	wait(ready, "the customer gets ready")
	k, err := br.Clerk(ctx, lbURL, "clerk", pw["clerk"])
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if err := k.JoinCall(string(s2.caseID)); err != nil {
		t.Fatal(err)
	}
	wait(inCall, "the customer's device check")
	if err := <-routed; err != nil {
		t.Fatal(err)
	}
	holder := callHolder(t, pg, s2.caseID)
	if holder != "idv-a" {
		t.Fatalf("case %s's call runs on %q, want idv-a (the customer's socket reached it first)", s2.caseID, holder)
	}
	// Every state each page goes through from here on.
	for _, w := range []struct {
		page demobrowser.Page
		attr string
	}{{custPage, "state"}, {k.Page(), "call"}} {
		if _, err := w.page.Bool(fmt.Sprintf(`(window.states = [], new MutationObserver(() => window.states.push(document.body.dataset.%s))
			.observe(document.body, { attributes: true, attributeFilter: ['data-%s'] }), true)`, w.attr, w.attr)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(3 * time.Second) // a few seconds recorded on idv-a
	killed := len(lb.Served())
	killedAt := time.Now()
	if err := nodeA.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if st := nodeA.exit(10 * time.Second); !killedBy(st, syscall.SIGKILL) {
		t.Fatalf("idv-a ended %v, want killed by SIGKILL", st)
	}
	lb.WaitState(a.origin, "DOWN", 10*time.Second)
	t.Logf("idv-a killed; haproxy marked it DOWN after %v", time.Since(killedAt).Round(100*time.Millisecond))
	if err := k.Page().Poll("the clerk's page rejoins", `window.states.includes("joining") && window.states.lastIndexOf("connected") > window.states.indexOf("joining")`, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := custPage.Poll("the customer's page rejoins", `window.states.includes("connecting") && window.states.lastIndexOf("connected") > window.states.indexOf("connecting") && document.body.dataset.clerk === "joined"`, time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("both pages rejoined %v after the kill", time.Since(killedAt).Round(100*time.Millisecond))
	for who, p := range map[string]demobrowser.Page{"customer": custPage, "clerk": k.Page()} {
		states, err := p.Strings("window.states")
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(states, "ended") {
			t.Errorf("the %s's page showed the call ended on its way to the other node: %v", who, states)
		}
		t.Logf("the %s's page went through %v", who, states)
	}
	if h := callHolder(t, pg, s2.caseID); h != "idv-b" {
		t.Errorf("after the kill case %s's call runs on %q, want idv-b", s2.caseID, h)
	}
	checkSockets(t, lb.Served()[killed:], s2.caseID, map[string]string{"customer": b.origin, "clerk": b.origin})
	// The call goes on on idv-b: the server takes a capture from the
	// customer's live video there and it matches.
	time.Sleep(2 * time.Second)
	if err := s2.capture(ctx, k); err != nil {
		t.Fatalf("capture on idv-b after the rejoin: %v", err)
	}
	if err := k.Leave(); err != nil {
		t.Fatal(err)
	}
	if err := <-custDone; err != nil {
		t.Fatal(err)
	}

	// idv-a comes back (its service manager restarts it) and recovers the
	// segments it was writing when it was killed.
	nodeA = a.spawn("idv-a (restarted)", nil, "serve")
	nodeA.serving(a.origin, 60*time.Second)
	lb.WaitState(a.origin, "UP", 10*time.Second)
	clerk := newDemoClient(lbURL)
	if err := clerk.login(ctx, "clerk", pw["clerk"]); err != nil {
		t.Fatal(err)
	}
	calls := waitCalls(t, ctx, clerk, s2.caseID, 1, time.Minute)
	checkOneGap(t, calls, killedAt)
	missing, err := s2.requirements(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The one call went on on idv-b and ended whole, so the recording no
	// longer stands in the way of submission.
	if slices.Contains(missing, "recording") {
		t.Errorf("after the call went on on idv-b the case still misses its recording: %v", missing)
	}
	t.Logf("the case after the lost node misses %v", missing)
	call := calls[0]
	if call.Legs != 2 || call.Recording != "complete" {
		t.Errorf("the call: %d legs, recording %s; want 2 (idv-a's, idv-b's), complete", call.Legs, call.Recording)
	}
	legs := map[int]int{}
	for _, sg := range call.Segments {
		legs[sg.Leg]++
	}
	if legs[1] == 0 || legs[2] == 0 || len(legs) != 2 {
		t.Errorf("segments by leg = %v, want idv-a's recovered ones (leg 1) and idv-b's (leg 2)", legs)
	}
	// Each party's drop is one node_lost interruption, begun by idv-a's
	// last heartbeat and ended by their media on idv-b, in the same call.
	parties := map[string]int{}
	for _, in := range call.Interruptions {
		if in.Cause != "node_lost" {
			continue // the hang-up at the end
		}
		parties[in.Participant]++
		if in.StartedAt.After(killedAt) || in.EndedAt == nil || in.ResumedIn != call.ID {
			t.Errorf("interruption %+v, want node_lost begun before the kill (%s), ended in the same call %s", in, killedAt.Format(time.TimeOnly), call.ID)
		}
	}
	if parties["customer"] != 1 || parties["clerk"] != 1 {
		t.Errorf("node_lost interruptions by party = %v, want one each for the customer and the clerk", parties)
	}

	// The audit chain verifies, and every invariant holds.
	aud := newDemoClient(lbURL)
	if err := aud.login(ctx, "auditor", pw["auditor"]); err != nil {
		t.Fatal(err)
	}
	var chain struct {
		OK bool `json:"ok"`
	}
	if err := aud.call(ctx, "GET", "/api/audit/verify", nil, &chain); err != nil || !chain.OK {
		t.Errorf("audit verify after the kill = %v, %v; want ok", chain.OK, err)
	}
	if out, err := a.cli("check"); err != nil {
		t.Errorf("idv check after the kill: %v\n%s", err, out)
	}
	t.Logf("done in %v", time.Since(start).Round(time.Second))
}

// routeApart arranges, through haproxy's runtime API, that the next
// customer call socket after the from-th request reaches node cust and
// the next clerk's socket node clerk: clerk is drained until the
// customer's socket is upgraded, then cust until the clerk's is; both
// are back in the rotation at the end. The channel gives nil, or what
// went wrong.
func routeApart(ctx context.Context, lb *testenv.HAProxy, from int, cust, clerk string) <-chan error {
	done := make(chan error, 1)
	upgraded := func(staff bool) (testenv.Served, error) {
		deadline := time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			for _, s := range lb.Served()[from:] {
				if s.Status == 101 && isStaffSocket(s.Path) == staff && strings.HasSuffix(strings.SplitN(s.Path, "?", 2)[0], "/call/ws") {
					return s, nil
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		return testenv.Served{}, fmt.Errorf("no call socket (staff %v) upgraded within 3 minutes", staff)
	}
	go func() {
		done <- func() (err error) {
			defer func() { err = errors.Join(err, lb.Ready(cust), lb.Ready(clerk)) }()
			if err := lb.Drain(clerk); err != nil {
				return err
			}
			if _, err := upgraded(false); err != nil {
				return err
			}
			if err := errors.Join(lb.Ready(clerk), lb.Drain(cust)); err != nil {
				return err
			}
			_, err = upgraded(true)
			return err
		}()
	}()
	return done
}

func isStaffSocket(path string) bool { return strings.HasPrefix(path, "/api/cases/") }

// checkSockets checks that every call socket of case id haproxy upgraded
// among served reached the node want says for its party, and that each
// party had one.
func checkSockets(t *testing.T, served []testenv.Served, id models.CaseID, want map[string]string) {
	t.Helper()
	seen := map[string]int{}
	for _, s := range served {
		path := strings.SplitN(s.Path, "?", 2)[0]
		who := ""
		switch path {
		case "/call/ws":
			who = "customer"
		case "/api/cases/" + string(id) + "/call/ws":
			who = "clerk"
		default:
			continue
		}
		if s.Status != 101 {
			continue
		}
		seen[who]++
		if s.Backend != want[who] {
			t.Errorf("the %s's call socket reached %q, want %s", who, s.Backend, want[who])
		}
	}
	for who := range want {
		if seen[who] == 0 {
			t.Errorf("haproxy upgraded no call socket of the %s", who)
		}
	}
}

// callHolder returns the node holding case c's call lease, "" if none.
func callHolder(t *testing.T, url string, c models.CaseID) models.NodeID {
	t.Helper()
	ctx := t.Context()
	db, err := postgres.Open(ctx, url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var holder models.NodeID
	if err := db.Transact(ctx, func(tx models.Tx) error {
		leases, err := tx.JobLeases(ctx, time.Now().UTC())
		for _, l := range leases {
			if l.Name == "call:"+string(c) {
				holder = models.NodeID(strings.TrimSuffix(l.Owner, "/call"))
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return holder
}

// callView is a call as GET /api/cases/:id/calls shows it.
type callView struct {
	ID        string     `json:"id"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
	EndReason string     `json:"end_reason"`
	Recording string     `json:"recording"`
	Legs      int        `json:"legs"`
	// Interruptions of the call's parties (GET /api/cases/{id}/calls).
	Interruptions []struct {
		Participant string     `json:"participant"`
		Cause       string     `json:"cause"`
		StartedAt   time.Time  `json:"started_at"`
		EndedAt     *time.Time `json:"ended_at"`
		ResumedIn   string     `json:"resumed_in"`
	} `json:"interruptions"`
	Segments []struct {
		Participant string    `json:"participant"`
		Track       string    `json:"track"`
		Leg         int       `json:"leg"`
		Size        int64     `json:"size"`
		StartedAt   time.Time `json:"started_at"`
		EndedAt     time.Time `json:"ended_at"`
	} `json:"segments"`
}

// waitCalls waits until case id has n calls, all ended.
func waitCalls(t *testing.T, ctx context.Context, c *demoClient, id models.CaseID, n int, d time.Duration) []callView {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var out struct {
			Calls []callView `json:"calls"`
		}
		if err := c.call(ctx, "GET", "/api/cases/"+string(id)+"/calls", nil, &out); err != nil {
			t.Fatal(err)
		}
		ended := 0
		for _, k := range out.Calls {
			if k.EndedAt != nil {
				ended++
			}
		}
		if len(out.Calls) == n && ended == n {
			return out.Calls
		}
		if time.Now().After(deadline) {
			t.Fatalf("case %s has %d calls, %d ended, after %v; want %d ended: %+v", id, len(out.Calls), ended, d, n, out.Calls)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// checkOneGap checks that each party's tracks, across the calls, were
// recorded on both sides of the kill with exactly one gap around it (more
// than a second between a segment's end and the next one's start, as the
// recording page counts them), and logs what idv-a's recovered segments
// hold: a segment's end is its file's last write, but only its sealed
// chunks (64 KiB each, storage/encfile) survive a SIGKILL.
func checkOneGap(t *testing.T, calls []callView, killedAt time.Time) {
	t.Helper()
	type span struct {
		from, to time.Time
		size     int64
	}
	tracks := map[string][]span{}
	for _, k := range calls {
		t.Logf("call %s: %s to %v, %q, recording %s, %d segments", k.ID, k.StartedAt.Format(time.TimeOnly), k.EndedAt, k.EndReason, k.Recording, len(k.Segments))
		for _, sg := range k.Segments {
			tracks[sg.Participant+"/"+sg.Track] = append(tracks[sg.Participant+"/"+sg.Track], span{sg.StartedAt, sg.EndedAt, sg.Size})
		}
	}
	for _, want := range []string{"customer/video", "customer/audio", "clerk/audio"} {
		if len(tracks[want]) == 0 {
			t.Errorf("no segment of %s", want)
		}
	}
	names := slices.Sorted(maps.Keys(tracks))
	for _, name := range names {
		ss := tracks[name]
		sort.Slice(ss, func(i, j int) bool { return ss[i].from.Before(ss[j].from) })
		var gaps []string
		for i := 1; i < len(ss); i++ {
			if g := ss[i].from.Sub(ss[i-1].to); g > time.Second {
				gaps = append(gaps, fmt.Sprintf("%v from %s", g.Round(100*time.Millisecond), ss[i-1].to.Format(time.TimeOnly)))
			}
		}
		before := ss[0].from.Before(killedAt)
		after := ss[len(ss)-1].to.After(killedAt)
		if len(gaps) != 1 || !before || !after {
			t.Errorf("%s: %d segments, recorded before the kill %v, after %v, gaps %v; want recorded on both sides and one gap", name, len(ss), before, after, gaps)
			continue
		}
		var sizes []string
		for _, sp := range ss {
			sizes = append(sizes, fmt.Sprintf("%s-%s %d B", sp.from.Format(time.TimeOnly), sp.to.Format(time.TimeOnly), sp.size))
		}
		t.Logf("%s: one gap, %s; segments %v", name, gaps[0], sizes)
	}
}
