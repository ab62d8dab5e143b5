package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"remoteidv/models"
)

// The upsert takes the row over only from the same instance, a node gone,
// or one not seen since liveAfter; both dialects report 0 rows otherwise.
const registerNode = `INSERT INTO nodes (id, instance, url, version, started_at, last_seen, calls, live_calls, gone_at) VALUES (?, ?, ?, ?, ?, ?, ?, '[]', NULL)
ON CONFLICT (id) DO UPDATE SET instance = excluded.instance, url = excluded.url, version = excluded.version,
started_at = excluded.started_at, last_seen = excluded.last_seen, calls = excluded.calls, live_calls = '[]', gone_at = NULL
WHERE nodes.instance = excluded.instance OR nodes.gone_at IS NOT NULL OR nodes.last_seen < ?`

// RegisterNode writes n unless another live instance holds its ID.
func (t *Tx) RegisterNode(ctx context.Context, n *models.Node, liveAfter time.Time) error {
	r, err := t.exec(ctx, registerNode, n.ID, n.Instance, n.URL, n.Version, us(n.StartedAt), us(n.LastSeen), n.Calls, us(liveAfter))
	if err != nil {
		return fmt.Errorf("register node %s: %w", n.ID, err)
	}
	if k, err := r.RowsAffected(); err != nil || k == 0 {
		return models.Errorf(models.ECONFLICT, "node ID %s is in use by another live process; give each node its own IDV_NODE_ID", n.ID)
	}
	return nil
}

// NodeHeartbeat records that instance of id is up.
func (t *Tx) NodeHeartbeat(ctx context.Context, id models.NodeID, instance string, at time.Time, live []models.LiveCall) error {
	if live == nil {
		live = []models.LiveCall{}
	}
	js, err := json.Marshal(live)
	if err != nil {
		return fmt.Errorf("heartbeat of node %s: %w", id, err)
	}
	r, err := t.exec(ctx, `UPDATE nodes SET last_seen = ?, calls = ?, live_calls = ? WHERE id = ? AND instance = ? AND gone_at IS NULL`,
		us(at), len(live), string(js), id, instance)
	if err != nil {
		return fmt.Errorf("heartbeat of node %s: %w", id, err)
	}
	if k, err := r.RowsAffected(); err != nil || k == 0 {
		return models.Errorf(models.ECONFLICT, "node %s: this process no longer holds the node's row (another process took the ID over, or it was marked gone)", id)
	}
	return nil
}

// NodeGone marks instance of id gone.
func (t *Tx) NodeGone(ctx context.Context, id models.NodeID, instance string, at time.Time) error {
	if _, err := t.exec(ctx, `UPDATE nodes SET gone_at = ?, calls = 0, live_calls = '[]' WHERE id = ? AND instance = ? AND gone_at IS NULL`, us(at), id, instance); err != nil {
		return fmt.Errorf("mark node %s gone: %w", id, err)
	}
	return nil
}

// Nodes lists the registry by ID.
func (t *Tx) Nodes(ctx context.Context) ([]*models.Node, error) {
	rows, err := t.query(ctx, `SELECT id, instance, url, version, started_at, last_seen, calls, live_calls, gone_at FROM nodes ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("nodes: %w", err)
	}
	defer rows.Close()
	var out []*models.Node
	for rows.Next() {
		var n models.Node
		var started, seen int64
		var gone sql.NullInt64
		var running string
		if err := rows.Scan(&n.ID, &n.Instance, &n.URL, &n.Version, &started, &seen, &n.Calls, &running, &gone); err != nil {
			return nil, fmt.Errorf("nodes: %w", err)
		}
		if err := json.Unmarshal([]byte(running), &n.Running); err != nil {
			return nil, fmt.Errorf("nodes: the running calls of %s: %w", n.ID, err)
		}
		if len(n.Running) == 0 {
			n.Running = nil
		}
		n.StartedAt, n.LastSeen, n.GoneAt = fromUS(started), fromUS(seen), fromNullUS(gone)
		out = append(out, &n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("nodes: %w", t.db.translate(err))
	}
	return out, nil
}

// One statement both claims a free or run-out lease and renews one's own:
// the conflict branch updates only when the holder's lease ran out or the
// holder is owner, so 0 rows means someone else holds it.
const claimJobLease = `INSERT INTO job_leases (name, owner, lease_until) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
WHERE job_leases.lease_until < ? OR job_leases.owner = excluded.owner`

// ClaimJobLease gives name to owner until until, if it is free.
func (t *Tx) ClaimJobLease(ctx context.Context, name, owner string, now, until time.Time) (bool, error) {
	r, err := t.exec(ctx, claimJobLease, name, owner, us(until), us(now))
	if err != nil {
		return false, fmt.Errorf("claim lease %s for %s: %w", name, owner, t.db.translate(err))
	}
	k, err := r.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim lease %s for %s: %w", name, owner, err)
	}
	return k > 0, nil
}

// ReleaseJobLease ends owner's lease name.
func (t *Tx) ReleaseJobLease(ctx context.Context, name, owner string) error {
	if _, err := t.exec(ctx, `DELETE FROM job_leases WHERE name = ? AND owner = ?`, name, owner); err != nil {
		return fmt.Errorf("release lease %s of %s: %w", name, owner, err)
	}
	return nil
}

// JobLeases lists the leases held at now.
func (t *Tx) JobLeases(ctx context.Context, now time.Time) ([]models.JobLease, error) {
	rows, err := t.query(ctx, `SELECT name, owner, lease_until FROM job_leases WHERE lease_until >= ? ORDER BY name`, us(now))
	if err != nil {
		return nil, fmt.Errorf("job leases: %w", err)
	}
	defer rows.Close()
	var out []models.JobLease
	for rows.Next() {
		var l models.JobLease
		var until int64
		if err := rows.Scan(&l.Name, &l.Owner, &until); err != nil {
			return nil, fmt.Errorf("job leases: %w", err)
		}
		l.Until = fromUS(until)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("job leases: %w", t.db.translate(err))
	}
	return out, nil
}
