package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/signaling"
)

type boardAnswer struct {
	BranchTZ string `json:"branch_tz"`
	Observe  bool   `json:"observe"`
	Calls    []struct {
		CaseID string `json:"case_id"`
		State  string `json:"state"`
		Slot   struct {
			Customer string `json:"customer"`
			Branch   string `json:"branch"`
		} `json:"slot"`
		Clerk struct {
			Name   string `json:"name"`
			Online bool   `json:"online"`
		} `json:"clerk"`
		Backup *struct {
			Name   string `json:"name"`
			Online bool   `json:"online"`
		} `json:"backup"`
		Consented bool `json:"consented"`
		Waiting   bool `json:"waiting"`
		Running   bool `json:"running"`
	} `json:"calls"`
	Pending []struct {
		CaseID     string `json:"case_id"`
		AgeSeconds int64  `json:"age_seconds"`
	} `json:"pending_review"`
}

// TestBoard: the supervisors' board lists the day's calls in both zones
// with the clerk (online or not) and the customer's consent, and the cases
// pending review with their age; the event stream sends the same board.
func TestBoard(t *testing.T) {
	e := newEnv(t)
	id, link := e.invite(t) // slot 2026-12-01 09:00 New York; the clock is 13:50 UTC that day
	sup := e.login(t, "supervisor")
	get := func(c *client) boardAnswer {
		t.Helper()
		var b boardAnswer
		if code := c.do("GET", "/api/board", nil, &b); code != http.StatusOK {
			t.Fatalf("GET /api/board: %d", code)
		}
		return b
	}
	row := func(b boardAnswer) int {
		t.Helper()
		for i, r := range b.Calls {
			if r.CaseID == id {
				return i
			}
		}
		t.Fatalf("board lacks case %s: %+v", id, b)
		return -1
	}

	b := get(sup)
	r := b.Calls[row(b)]
	if b.BranchTZ != "Asia/Shanghai" || !b.Observe || r.State != "scheduled" || !strings.HasPrefix(r.Slot.Customer, "2026-12-01T09:00:00-05:00 America/New_York") ||
		!strings.HasPrefix(r.Slot.Branch, "2026-12-01T22:00:00+08:00 Asia/Shanghai") || r.Clerk.Name != "Demo clerk" || r.Clerk.Online || r.Consented || r.Running {
		t.Errorf("board before consent = %+v (zone %s, observe %v), want the scheduled call in both zones, its clerk offline (last seen 4 days ago), no consent", r, b.BranchTZ, b.Observe)
	}
	e.login(t, "clerk") // the clerk comes back
	consentedCustomer(t, e, link)
	b = get(sup)
	if r := b.Calls[row(b)]; !r.Clerk.Online || !r.Consented || r.Waiting {
		t.Errorf("board after consent = %+v, want the clerk online and the customer consented, not in the call", r)
	}
	if adm := get(e.login(t, "admin")); adm.Observe || len(adm.Calls) != len(b.Calls) {
		t.Errorf("admin's board: observe %v, %d calls; want no Observe and the same %d calls", adm.Observe, len(adm.Calls), len(b.Calls))
	}
	if r := b.Calls[row(b)]; r.Backup != nil {
		t.Errorf("board before a backup is named = %+v, want no backup", r.Backup)
	}
	// A backup clerk, named by the supervisor, shows beside the primary.
	var clerk2 models.StaffID
	if err := e.store.Transact(context.Background(), func(tx models.Tx) error {
		st, err := tx.StaffByUsername(context.Background(), "clerk2")
		if err == nil {
			clerk2 = st.ID
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if code := sup.do("POST", "/api/cases/"+id+"/clerks", map[string]string{"role": "backup", "staff_id": string(clerk2), "reason": "the 22:00 call needs a stand-in"}, nil); code != http.StatusOK {
		t.Fatalf("name a backup: %d", code)
	}
	e.login(t, "clerk2")
	if r := get(sup).Calls[row(b)]; r.Backup == nil || r.Backup.Name != "Second clerk" || !r.Backup.Online {
		t.Errorf("board's backup = %+v, want Second clerk, online", r.Backup)
	}

	// Pending review for 90 minutes.
	ctx := context.Background()
	err := e.store.Transact(ctx, func(tx models.Tx) error {
		c, err := tx.CaseByID(ctx, models.CaseID(id))
		if err != nil {
			return err
		}
		c.State, c.UpdatedAt = models.StatePendingReview, e.now.Add(-90*time.Minute)
		return tx.UpdateCase(ctx, c)
	})
	if err != nil {
		t.Fatal(err)
	}
	b = get(sup)
	if len(b.Pending) != 1 || b.Pending[0].CaseID != id || b.Pending[0].AgeSeconds != 5400 {
		t.Errorf("pending review = %+v, want %s waiting 5400 s", b.Pending, id)
	}

	// The stream: a "board" event with the same board, then the end.
	req, _ := http.NewRequest("GET", sup.base+"/api/board/events", nil)
	resp, err := sup.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /api/board/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var event, data string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() && data == "" {
		if v, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			event = v
		} else if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = v
		}
	}
	var streamed boardAnswer
	if err := json.Unmarshal([]byte(data), &streamed); event != "board" || err != nil || len(streamed.Pending) != 1 || len(streamed.Calls) != len(b.Calls) {
		t.Errorf("first event %q %.200s (%v), want the board", event, data, err)
	}
}

// TestBoardRunningCall: a call the clerk runs and a supervisor observes is
// on the board as running, since when, with the clerk in the call and one
// observer.
func TestBoardRunningCall(t *testing.T) {
	e := newEnvWith(t, "sqlite", envOptions{signaling: signaling.Config{RevokePoll: noPoll}})
	id := callCase(t, e)
	dialStaff(t, e, e.login(t, "clerk"), id)
	sup := e.login(t, "supervisor")
	dialStaff(t, e, sup, id)
	var b struct {
		Calls []struct {
			CaseID    string     `json:"case_id"`
			Running   bool       `json:"running"`
			StartedAt *time.Time `json:"started_at"`
			Observers int        `json:"observers"`
			Waiting   bool       `json:"waiting"`
			Clerk     struct {
				Online bool `json:"online"`
				InCall bool `json:"in_call"`
			} `json:"clerk"`
		} `json:"calls"`
	}
	if code := sup.do("GET", "/api/board", nil, &b); code != http.StatusOK {
		t.Fatalf("GET /api/board: %d", code)
	}
	if len(b.Calls) != 1 {
		t.Fatalf("board calls = %+v, want the one case", b.Calls)
	}
	if r := b.Calls[0]; r.CaseID != id || !r.Running || r.StartedAt == nil || r.Observers != 1 || r.Waiting || !r.Clerk.InCall || !r.Clerk.Online {
		t.Errorf("running call on the board = %+v, want running with a start, one observer, the clerk in the call, no customer", r)
	}
}

// TestBoardCallsOfOtherNodes: the board served by one node shows the calls
// running on the other live nodes, as of their last heartbeat; a dead
// node's calls ended with it, and this node's own row is not believed over
// its hub (a call that ended here since the last heartbeat is not running).
func TestBoardCallsOfOtherNodes(t *testing.T) {
	e := newEnvWith(t, "sqlite", envOptions{node: &testNode{id: "node-a", secret: clusterSecret}})
	other, dead, self := callCase(t, e), callCase(t, e), callCase(t, e)
	ctx := context.Background()
	now := e.now.UTC().Truncate(time.Microsecond)
	started := now.Add(-90 * time.Second)
	for _, n := range []struct {
		id   models.NodeID
		seen time.Time
		call string
	}{{"node-b", now.Add(-2 * time.Second), other}, {"node-c", now.Add(-time.Hour), dead}, {"node-a", now.Add(-time.Second), self}} {
		node := &models.Node{ID: n.id, Instance: "i-" + string(n.id), URL: "http://" + string(n.id) + ":8080", StartedAt: n.seen.Add(-time.Hour), LastSeen: n.seen}
		running := []models.LiveCall{{CaseID: models.CaseID(n.call), Call: "cal_" + models.CallID(n.id), StartedAt: started, Customer: true, Observers: 2}}
		err := e.store.Transact(ctx, func(tx models.Tx) error {
			if err := tx.RegisterNode(ctx, node, n.seen.Add(-2*time.Hour)); err != nil {
				return err
			}
			return tx.NodeHeartbeat(ctx, node.ID, node.Instance, n.seen, running)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var b struct {
		Calls []struct {
			CaseID    string     `json:"case_id"`
			Running   bool       `json:"running"`
			StartedAt *time.Time `json:"started_at"`
			Observers int        `json:"observers"`
		} `json:"calls"`
	}
	if code := e.login(t, "supervisor").do("GET", "/api/board", nil, &b); code != http.StatusOK {
		t.Fatalf("GET /api/board: %d", code)
	}
	seen := map[string]bool{}
	for _, r := range b.Calls {
		seen[r.CaseID] = true
		wantRunning := r.CaseID == other
		if r.Running != wantRunning {
			t.Errorf("case %s running = %v, want %v (node-b live: %s, node-c dead: %s, this node's stale row: %s)", r.CaseID, r.Running, wantRunning, other, dead, self)
		}
		if wantRunning && (r.StartedAt == nil || !r.StartedAt.Equal(started) || r.Observers != 2) {
			t.Errorf("node-b's call on the board = %+v, want started at %v with 2 observers", r, started)
		}
	}
	for _, id := range []string{other, dead, self} {
		if !seen[id] {
			t.Errorf("case %s not on the board: %+v", id, b.Calls)
		}
	}
}
