package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"remoteidv/models"
	"remoteidv/signaling"
	"remoteidv/verify"
)

// nodeIdentity is this process's node ID and internal URL: the configured
// ones, or the host name with the port of listen (IDV_LISTEN: stable
// across restarts, and distinct for several nodes on one machine) and
// http(s)://host:port.
func nodeIdentity(cfg Config, listen string) (models.NodeID, string, error) {
	id, u := cfg.Node.ID, cfg.Node.URL
	if id != "" && u != "" {
		return models.NodeID(id), u, nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", "", fmt.Errorf("node identity: host name (set IDV_NODE_ID and IDV_NODE_URL): %w", err)
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", "", fmt.Errorf("node identity: listen address %s: %w", listen, err)
	}
	if id == "" {
		id = host + "-" + port
	}
	if u == "" {
		scheme := "http"
		if cfg.TLSCert != "" {
			scheme = "https"
		}
		u = scheme + "://" + net.JoinHostPort(host, port)
	}
	return models.NodeID(id), u, nil
}

// nodeBeat keeps this node's row in the registry: register (refused while
// another live process holds the node ID), a heartbeat with the running
// calls every interval, and gone at a graceful shutdown.
type nodeBeat struct {
	store    models.Store
	node     models.Node
	interval time.Duration
	calls    func() []models.LiveCall // the calls running here
	// onBeat runs after each heartbeat (nil: nothing): the renewal of
	// the leases of the calls running here.
	onBeat func(ctx context.Context) error
	now    func() time.Time
	log    *slog.Logger
}

// newNodeBeat returns the heartbeat of node id at url, with a random
// instance; it writes nothing until Register.
func newNodeBeat(store models.Store, id models.NodeID, url string, interval time.Duration, calls func() []models.LiveCall, now func() time.Time, random io.Reader, log *slog.Logger) (*nodeBeat, error) {
	var b [8]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return nil, fmt.Errorf("node %s: instance: %w", id, err)
	}
	version := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	return &nodeBeat{store: store, node: models.Node{ID: id, Instance: hex.EncodeToString(b[:]), URL: url, Version: version},
		interval: interval, calls: calls, now: now, log: log.With("node", id)}, nil
}

// Nodes lists the node registry (GET /api/admin/nodes).
func (b *nodeBeat) Nodes(ctx context.Context) ([]*models.Node, error) {
	var out []*models.Node
	err := b.store.Transact(ctx, func(tx models.Tx) (err error) { out, err = tx.Nodes(ctx); return })
	return out, err
}

// deadAfter is how long a node may stay silent before it counts as dead.
func deadAfter(heartbeat time.Duration) time.Duration { return 3 * heartbeat }

// Register writes the node's row. While another process under the node
// ID is live it waits, up to three heartbeats and one more: after a kill
// -9 and a quick restart the dead process's row goes quiet within that
// time; a process that goes on heartbeating is a second live process
// under this ID, and Register returns ECONFLICT.
func (b *nodeBeat) Register(ctx context.Context) error {
	deadline := b.now().Add(deadAfter(b.interval) + b.interval)
	for waited := false; ; waited = true {
		now := b.now().UTC()
		b.node.StartedAt, b.node.LastSeen = now, now
		err := b.store.Transact(ctx, func(tx models.Tx) error {
			return tx.RegisterNode(ctx, &b.node, now.Add(-deadAfter(b.interval)))
		})
		switch {
		case err == nil:
			b.log.Info("node registered", "url", b.node.URL, "instance", b.node.Instance)
			return nil
		case models.ErrorCodeOf(err) != models.ECONFLICT || now.After(deadline):
			return fmt.Errorf("register node: %w", err)
		case !waited:
			b.log.Warn("another process holds this node ID; waiting for it to go quiet (a restart after a crash) or refusing to start", "wait_at_most", deadAfter(b.interval)+b.interval)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("register node: %w", ctx.Err())
		case <-time.After(b.interval / 2):
		}
	}
}

// Run heartbeats until ctx ends, then marks the node gone. A database
// that does not answer is logged and tried again; losing the row to
// another process under the same node ID is fatal (their leases would
// mix).
func (b *nodeBeat) Run(ctx context.Context) error {
	t := time.NewTicker(b.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			err := b.store.Transact(gctx, func(tx models.Tx) error { return tx.NodeGone(gctx, b.node.ID, b.node.Instance, b.now().UTC()) })
			if err != nil {
				b.log.Warn("mark node gone", "err", err)
			}
			return nil
		case <-t.C:
			err := b.store.Transact(ctx, func(tx models.Tx) error {
				return tx.NodeHeartbeat(ctx, b.node.ID, b.node.Instance, b.now().UTC(), b.calls())
			})
			switch {
			case err == nil, ctx.Err() != nil:
			case models.ErrorCodeOf(err) == models.ECONFLICT:
				return fmt.Errorf("node heartbeat: %w", err)
			default:
				b.log.Warn("node heartbeat", "err", err)
			}
			if b.onBeat != nil && ctx.Err() == nil {
				if err := b.onBeat(ctx); err != nil {
					b.log.Warn("node heartbeat: renew call leases", "err", err)
				}
			}
		}
	}
}

// runNodes lists the node registry (idv nodes): each node live, dead
// (silent for three heartbeats) or gone (shut down), and the job leases
// held now.
func runNodes(ctx context.Context, e *cliEnv, args []string) error {
	return withApp(ctx, e, "nodes", args, func(a *app, _ []string) error {
		now := time.Now().UTC()
		var nodes []*models.Node
		var leases []models.JobLease
		err := a.store.Transact(ctx, func(tx models.Tx) (err error) {
			if nodes, err = tx.Nodes(ctx); err != nil {
				return err
			}
			leases, err = tx.JobLeases(ctx, now)
			return err
		})
		if err != nil {
			return fmt.Errorf("nodes: %w", err)
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NODE\tSTATE\tURL\tCALLS\tLAST SEEN\tSTARTED\tVERSION")
		for _, n := range nodes {
			state := "live"
			switch {
			case n.GoneAt != nil:
				state = "gone"
			case !n.Live(now, deadAfter(a.cfg.Node.Heartbeat)):
				state = "dead"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s ago\t%s\t%s\n", n.ID, state, n.URL, n.Calls, now.Sub(n.LastSeen).Round(time.Second), n.StartedAt.Format(time.RFC3339), n.Version)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if len(leases) == 0 {
			return nil
		}
		fmt.Fprintln(e.stdout, "\njob leases held:")
		w = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		for _, l := range leases {
			fmt.Fprintf(w, "  %s\t%s\tuntil %s\n", l.Name, l.Owner, l.Until.Format(time.RFC3339))
		}
		return w.Flush()
	})
}

// leaseOwner is the lease owner of a node's job: the node ID with the
// job's name, so that an operator reading a lease column sees which node
// and which job hold it.
func leaseOwner(id models.NodeID, job string) string {
	return strings.Join([]string{string(id), job}, "/")
}

// liveCases are the cases of the calls running here.
func liveCases(live []models.LiveCall) []models.CaseID {
	out := make([]models.CaseID, 0, len(live))
	for _, lc := range live {
		out = append(out, lc.CaseID)
	}
	return out
}

// callBeat renews the leases of the calls running on hub and ends those
// whose case was stopped through another node (cancel, abort), which
// could only end its own hub's calls.
func callBeat(ctx context.Context, cn *verify.CallNodes, hub *signaling.Hub) error {
	live := liveCases(hub.Live())
	if err := cn.Renew(ctx, live); err != nil {
		return err
	}
	stopped, err := cn.Stopped(ctx, live)
	if err != nil {
		return err
	}
	for c, why := range stopped {
		hub.End(c, why)
	}
	return nil
}
