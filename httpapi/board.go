package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
	"remoteidv/verify"
)

// The supervisors' live board: today's and the next days' calls across the
// branch, the running ones, and the cases pending review. GET /api/board
// answers it once; GET /api/board/events streams it (server-sent events)
// whenever it changes, so the page updates without a reload.

var supAdmin = []models.Role{models.RoleSupervisor, models.RoleAdmin}

const (
	// boardEvery is how often the stream looks for a change.
	boardEvery = 2 * time.Second
	// boardStreamFor bounds one stream (Config.BoardStream); the
	// browser's EventSource reconnects (the guard then checks the session
	// again), and the server's write timeout is never reached.
	boardStreamFor = 90 * time.Second
)

type boardClerk struct {
	ID     models.StaffID `json:"id"`
	Name   string         `json:"name"`
	Online bool           `json:"online"` // a request in the last 5 minutes, or in the call now
	InCall bool           `json:"in_call"`
}

type boardCall struct {
	CaseID    models.CaseID    `json:"case_id"`
	AccountNo string           `json:"account_no"` // masked
	State     models.CaseState `json:"state"`
	Slot      verify.SlotView  `json:"slot"`
	Clerk     boardClerk       `json:"clerk"`
	Backup    *boardClerk      `json:"backup,omitempty"` // the backup clerk, if the case has one
	// Consented: the customer accepted the recording and biometric consent
	// (open cases only); Waiting: the customer is connected to the call.
	Consented bool `json:"consented"`
	Waiting   bool `json:"waiting"`
	// Running: the call runs now (since StartedAt), with Observers
	// supervisors watching.
	Running   bool       `json:"running"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	Observers int        `json:"observers"`
}

type boardPending struct {
	CaseID      models.CaseID   `json:"case_id"`
	AccountNo   string          `json:"account_no"`
	Clerk       boardClerk      `json:"clerk"`
	Backup      *boardClerk     `json:"backup,omitempty"`
	SubmittedAt time.Time       `json:"submitted_at"`
	AgeSeconds  int64           `json:"age_seconds"`
	Slot        verify.SlotView `json:"slot"`
}

type boardView struct {
	From     time.Time      `json:"from"`
	To       time.Time      `json:"to"`
	BranchTZ string         `json:"branch_tz"`
	Calls    []boardCall    `json:"calls"`
	Pending  []boardPending `json:"pending_review"`
	// Observe: the viewer may observe running calls (supervisors).
	Observe bool `json:"observe"`
}

// boardView reads the board and joins it with the calls running now.
func (s *Server) board(c *gin.Context) (boardView, error) {
	live, err := s.liveCalls(c.Request.Context())
	if err != nil {
		return boardView{}, err
	}
	ids := make([]models.CaseID, 0, len(live))
	for id := range live {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	a := actor(c)
	b, err := s.verify.Board(c.Request.Context(), a, ids)
	if err != nil {
		return boardView{}, err
	}
	person := func(id models.StaffID, name string, seen time.Time, lc models.LiveCall) boardClerk {
		in := slices.Contains(lc.Clerks, "staff:"+string(id))
		return boardClerk{ID: id, Name: name, InCall: in, Online: in || seen.After(b.OnlineCutoff)}
	}
	clerk := func(bc *verify.BoardCase, lc models.LiveCall) boardClerk {
		return person(bc.Case.ClerkID, bc.ClerkName, bc.ClerkSeen, lc)
	}
	backup := func(bc *verify.BoardCase, lc models.LiveCall) *boardClerk {
		if bc.Case.BackupID == "" {
			return nil
		}
		p := person(bc.Case.BackupID, bc.BackupName, bc.BackupSeen, lc)
		return &p
	}
	v := boardView{From: b.From, To: b.To, BranchTZ: b.BranchTZ, Calls: []boardCall{}, Pending: []boardPending{},
		Observe: slices.Contains(a.Roles, models.RoleSupervisor)}
	for _, bc := range b.Calls {
		lc, running := live[bc.Case.ID]
		row := boardCall{CaseID: bc.Case.ID, AccountNo: models.MaskAccountNo(bc.Case.AccountNo), State: bc.Case.State,
			Slot: s.verify.ViewSlot(bc.Case.SlotAt, bc.Case.CustomerTZ), Clerk: clerk(bc, lc), Backup: backup(bc, lc), Consented: bc.ConsentAt != nil,
			Waiting: running && lc.Customer, Running: running, Observers: lc.Observers}
		if running {
			at := lc.StartedAt
			row.StartedAt = &at
		}
		v.Calls = append(v.Calls, row)
	}
	for _, bc := range b.PendingReview {
		v.Pending = append(v.Pending, boardPending{CaseID: bc.Case.ID, AccountNo: models.MaskAccountNo(bc.Case.AccountNo), Clerk: clerk(bc, models.LiveCall{}), Backup: backup(bc, models.LiveCall{}),
			SubmittedAt: bc.Case.UpdatedAt, AgeSeconds: int64(b.Now.Sub(bc.Case.UpdatedAt).Seconds()), Slot: s.verify.ViewSlot(bc.Case.SlotAt, bc.Case.CustomerTZ)})
	}
	return v, nil
}

// liveCalls are the calls running now on every node, by case: this node's
// from its hub, the other live nodes' as of their last heartbeat (a call
// that moved here since is this node's). A node that stopped heartbeating
// has no calls on the board: its calls ended with it.
func (s *Server) liveCalls(ctx context.Context) (map[models.CaseID]models.LiveCall, error) {
	live := map[models.CaseID]models.LiveCall{}
	if s.nodes != nil && s.cfg.NodeID != "" {
		nodes, err := s.nodes.Nodes(ctx)
		if err != nil {
			return nil, fmt.Errorf("board: the other nodes' calls: %w", err)
		}
		now := s.access.Now()
		for _, n := range nodes {
			if n.ID == s.cfg.NodeID || !n.Live(now, s.nodeDeadAfter()) {
				continue
			}
			for _, lc := range n.Running {
				live[lc.CaseID] = lc
			}
		}
	}
	if s.call.hub != nil {
		for _, lc := range s.call.hub.Live() {
			live[lc.CaseID] = lc
		}
	}
	return live, nil
}

func (s *Server) getBoard(c *gin.Context) error {
	v, err := s.board(c)
	if err != nil {
		return err
	}
	noStore(c)
	c.JSON(http.StatusOK, v)
	return nil
}

// boardEvents streams the board as server-sent events: a "board" event
// with the whole board (JSON) first and on every change, a comment every
// 15 s to keep proxies from closing the connection, for at most
// Config.BoardStream.
func (s *Server) boardEvents(c *gin.Context) error {
	v, err := s.board(c) // a refusal is an ordinary error answer
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	var last []byte
	tick := time.NewTicker(boardEvery)
	defer tick.Stop()
	streamFor := s.cfg.BoardStream
	if streamFor <= 0 {
		streamFor = boardStreamFor
	}
	end := time.NewTimer(streamFor)
	defer end.Stop()
	quiet := 0
	for {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("board events: %w", err)
		}
		var out []byte
		switch {
		case !bytes.Equal(b, last):
			out = fmt.Appendf(nil, "retry: 1000\nevent: board\ndata: %s\n\n", b)
			last, quiet = b, 0
		case quiet*int(boardEvery) >= int(15*time.Second):
			out, quiet = []byte(": keep-alive\n\n"), 0
		default:
			quiet++
		}
		if out != nil {
			if _, err := c.Writer.Write(out); err != nil {
				return nil // the browser left
			}
			c.Writer.Flush()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-end.C:
			return nil
		case <-tick.C:
		}
		if v, err = s.board(c); err != nil {
			s.log.WarnContext(ctx, "board events", "err", err)
			return nil // the browser reconnects; the guard answers a lost session
		}
	}
}
