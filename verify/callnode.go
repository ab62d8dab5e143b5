package verify

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"remoteidv/models"
)

// CallNodes places each case's call on one node of the registry, so that
// the customer and the clerk meet in one room when their sockets reach
// different nodes. The node running case c's call holds the named lease
// "call:<c>" and renews it while the call lives; when the node dies the
// lease lapses and the parties' rejoin starts the call on another node.
type CallNodes struct {
	Store models.Store
	Self  models.NodeID
	// DeadAfter is how long a node of the registry may stay silent
	// before it counts as dead (three heartbeats).
	DeadAfter time.Duration
	// TTL is how long a call lease lasts without renewal (about three
	// heartbeats: it lapses about when its node counts as dead).
	TTL time.Duration
	Now func() time.Time
}

// CallNode is where a call runs: this node (Self), or another one at URL.
type CallNode struct {
	ID   models.NodeID
	URL  string
	Self bool
}

func callLease(c models.CaseID) string { return "call:" + string(c) }

// callOwner is the lease owner of a call lease: the node ID and "/call",
// as the node's other jobs name theirs.
func callOwner(id models.NodeID) string { return string(id) + "/call" }

func ownerNode(owner string) (models.NodeID, bool) {
	id, ok := strings.CutSuffix(owner, "/call")
	return models.NodeID(id), ok
}

// view is the registry and the call leases at one moment.
type view struct {
	live   map[models.NodeID]*models.Node // live nodes
	calls  map[models.NodeID]int          // call leases held per node
	holder map[string]models.NodeID       // call lease -> node
}

func (p *CallNodes) read(ctx context.Context, now time.Time) (*view, error) {
	v := &view{live: map[models.NodeID]*models.Node{}, calls: map[models.NodeID]int{}, holder: map[string]models.NodeID{}}
	err := p.Store.Transact(ctx, func(tx models.Tx) error {
		nodes, err := tx.Nodes(ctx)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if n.Live(now, p.DeadAfter) {
				v.live[n.ID] = n
			}
		}
		leases, err := tx.JobLeases(ctx, now)
		if err != nil {
			return err
		}
		for _, l := range leases {
			if !strings.HasPrefix(l.Name, "call:") {
				continue
			}
			if id, ok := ownerNode(l.Owner); ok {
				v.holder[l.Name] = id
				v.calls[id]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("call nodes: %w", err)
	}
	return v, nil
}

func (p *CallNodes) node(v *view, id models.NodeID) CallNode {
	n := CallNode{ID: id, Self: id == p.Self}
	if ln := v.live[id]; ln != nil {
		n.URL = ln.URL
	}
	return n
}

// Place returns the node case c's call runs on: the node holding its
// lease (its URL empty when the node is dead: nobody may start the call
// before the lease runs out, about when the node counts as dead), or else the live node running the fewest calls (counted by
// their leases, which are current, where the registry's count is a
// heartbeat old; ties go to this node, then by ID). When that is this
// node Place claims the lease; a claim lost to another node returns the
// winner.
func (p *CallNodes) Place(ctx context.Context, c models.CaseID) (CallNode, error) {
	now := p.Now().UTC()
	v, err := p.read(ctx, now)
	if err != nil {
		return CallNode{}, err
	}
	if h, ok := v.holder[callLease(c)]; ok {
		if h == p.Self {
			return p.Claim(ctx, c)
		}
		// A live holder runs the call; a dead one's lease has not run out
		// yet (URL empty: the socket is told to try again).
		return p.node(v, h), nil
	}
	ids := []models.NodeID{p.Self}
	for id := range v.live {
		if id != p.Self {
			ids = append(ids, id)
		}
	}
	best := slices.MinFunc(ids, func(a, b models.NodeID) int {
		if d := cmp.Compare(v.calls[a], v.calls[b]); d != 0 {
			return d
		}
		switch {
		case a == p.Self:
			return -1
		case b == p.Self:
			return 1
		}
		return cmp.Compare(a, b)
	})
	if best != p.Self {
		return p.node(v, best), nil
	}
	return p.Claim(ctx, c)
}

// Claim takes case c's call lease for this node (or renews it). When
// another node holds it Claim returns that node; its URL is empty when
// the holder is not live (a dead node whose lease has not lapsed yet).
func (p *CallNodes) Claim(ctx context.Context, c models.CaseID) (CallNode, error) {
	now := p.Now().UTC()
	var won bool
	err := p.Store.Transact(ctx, func(tx models.Tx) (err error) {
		won, err = tx.ClaimJobLease(ctx, callLease(c), callOwner(p.Self), now, now.Add(p.TTL))
		return err
	})
	if err != nil {
		return CallNode{}, fmt.Errorf("claim the call of case %s: %w", c, err)
	}
	if won {
		return CallNode{ID: p.Self, Self: true}, nil
	}
	v, err := p.read(ctx, now)
	if err != nil {
		return CallNode{}, err
	}
	h, ok := v.holder[callLease(c)]
	if !ok {
		// Released between the claim and the read: try once more.
		return p.retryClaim(ctx, c, now)
	}
	return p.node(v, h), nil
}

func (p *CallNodes) retryClaim(ctx context.Context, c models.CaseID, now time.Time) (CallNode, error) {
	var won bool
	err := p.Store.Transact(ctx, func(tx models.Tx) (err error) {
		won, err = tx.ClaimJobLease(ctx, callLease(c), callOwner(p.Self), now, now.Add(p.TTL))
		return err
	})
	if err != nil {
		return CallNode{}, fmt.Errorf("claim the call of case %s: %w", c, err)
	}
	if !won {
		return CallNode{}, models.Errorf(models.EUNAVAILABLE, "the call of case %s is changing nodes: try again", c)
	}
	return CallNode{ID: p.Self, Self: true}, nil
}

// Renew extends this node's leases of the calls it runs (live), and
// nothing else: the lease of a call that ended here lapses after TTL, so
// a call restarted soon after starts here again.
func (p *CallNodes) Renew(ctx context.Context, live []models.CaseID) error {
	now := p.Now().UTC()
	return p.Store.Transact(ctx, func(tx models.Tx) error {
		for _, c := range live {
			if _, err := tx.ClaimJobLease(ctx, callLease(c), callOwner(p.Self), now, now.Add(p.TTL)); err != nil {
				return fmt.Errorf("renew call leases: %w", err)
			}
		}
		return nil
	})
}

// ReleaseAll ends every call lease of this node, at a graceful shutdown
// once its calls have ended: the parties' rejoin goes to another node at
// once instead of after TTL.
func (p *CallNodes) ReleaseAll(ctx context.Context) error {
	now := p.Now().UTC()
	return p.Store.Transact(ctx, func(tx models.Tx) error {
		leases, err := tx.JobLeases(ctx, now)
		if err != nil {
			return fmt.Errorf("release call leases: %w", err)
		}
		for _, l := range leases {
			if strings.HasPrefix(l.Name, "call:") && l.Owner == callOwner(p.Self) {
				if err := tx.ReleaseJobLease(ctx, l.Name, l.Owner); err != nil {
					return fmt.Errorf("release call leases: %w", err)
				}
			}
		}
		return nil
	})
}

// Stopped returns, of the cases whose calls run here (live), those whose
// case no longer takes a call (cancelled, aborted, ...), with the reason
// to end it ("case cancelled"). The request that stopped the case ended
// its call at once only when it reached the call's node; the node's
// heartbeat ends the others with this.
func (p *CallNodes) Stopped(ctx context.Context, live []models.CaseID) (map[models.CaseID]string, error) {
	out := map[models.CaseID]string{}
	err := p.Store.Transact(ctx, func(tx models.Tx) error {
		for _, c := range live {
			cs, err := tx.CaseByID(ctx, c)
			if models.ErrorCodeOf(err) == models.ENOTFOUND {
				continue
			}
			if err != nil {
				return err
			}
			if !cs.State.TakesChecks() {
				out[c] = "case " + string(cs.State)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stopped calls: %w", err)
	}
	return out, nil
}
