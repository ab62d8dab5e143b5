package models

import (
	"context"
	"time"
)

// NodeID names one `idv serve` process among several on one database
// (IDV_NODE_ID). It is also the owner written into the leases the node's
// jobs take.
type NodeID string

// Node is a row of the node registry: who serves, where its internal URL
// is, how busy it is and when it was last heard of.
type Node struct {
	ID NodeID
	// Instance is random per process start: a second live process under
	// the same ID is refused (RegisterNode), and a process whose row was
	// taken over notices at its next heartbeat.
	Instance  string
	URL       string // internal URL, for other nodes (not the public one)
	Version   string
	StartedAt time.Time
	LastSeen  time.Time
	Calls     int // running calls at the last heartbeat
	// Running are the calls running on the node at its last heartbeat.
	Running []LiveCall
	GoneAt  *time.Time // set at a graceful shutdown
}

// Live reports whether n is up at now: not gone, and seen within
// deadAfter.
func (n *Node) Live(now time.Time, deadAfter time.Duration) bool {
	return n.GoneAt == nil && now.Sub(n.LastSeen) < deadAfter
}

// NodeRepo is the node registry.
type NodeRepo interface {
	// RegisterNode writes n (started, seen, not gone). It returns
	// ECONFLICT when a different instance under n.ID is live: seen after
	// liveAfter and not gone.
	RegisterNode(ctx context.Context, n *Node, liveAfter time.Time) error
	// NodeHeartbeat records that the instance of id is up at at with the
	// calls live running on it. ECONFLICT: the row is another instance's
	// now, or gone.
	NodeHeartbeat(ctx context.Context, id NodeID, instance string, at time.Time, live []LiveCall) error
	// NodeGone marks the instance of id gone at at; nothing happens when
	// the row is another instance's.
	NodeGone(ctx context.Context, id NodeID, instance string, at time.Time) error
	// Nodes lists every registered node, by ID.
	Nodes(ctx context.Context) ([]*Node, error)
}

// JobLeaseRepo holds named leases: a unit of background work that has no
// queue row of its own (sealing one case, deleting one item past its
// retention) is done by whoever holds its lease.
type JobLeaseRepo interface {
	// ClaimJobLease gives the lease name to owner until until when nobody
	// holds it, its holder's lease ran out before now, or owner holds it
	// already (a renewal). It reports whether owner holds it now.
	ClaimJobLease(ctx context.Context, name, owner string, now, until time.Time) (bool, error)
	// ReleaseJobLease ends owner's lease name; nothing happens when
	// someone else holds it.
	ReleaseJobLease(ctx context.Context, name, owner string) error
	// JobLeases lists the leases held at now, by name.
	JobLeases(ctx context.Context, now time.Time) ([]JobLease, error)
}

// JobLease is a named lease held by Owner until Until.
type JobLease struct {
	Name, Owner string
	Until       time.Time
}
