package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
)

// nodeView is one node of the registry as GET /api/admin/nodes shows it.
type nodeView struct {
	ID        string     `json:"id"`
	State     string     `json:"state"` // live, dead or gone
	URL       string     `json:"url"`
	Version   string     `json:"version"`
	Calls     int        `json:"calls"`
	StartedAt time.Time  `json:"started_at"`
	LastSeen  time.Time  `json:"last_seen"`
	GoneAt    *time.Time `json:"gone_at,omitempty"`
}

// nodeState is live, dead (silent for deadAfter) or gone (shut down).
func nodeState(n *models.Node, now time.Time, deadAfter time.Duration) string {
	switch {
	case n.GoneAt != nil:
		return "gone"
	case !n.Live(now, deadAfter):
		return "dead"
	}
	return "live"
}

// nodeDeadAfter is how long a node may stay silent before it is dead.
func (s *Server) nodeDeadAfter() time.Duration {
	if s.cfg.NodeDeadAfter <= 0 {
		return 15 * time.Second
	}
	return s.cfg.NodeDeadAfter
}

func (s *Server) listNodes(c *gin.Context) error {
	if s.nodes == nil {
		return models.Errorf(models.EUNAVAILABLE, "the node registry is not configured on this server")
	}
	nodes, err := s.nodes.Nodes(c.Request.Context())
	if err != nil {
		return err
	}
	deadAfter := s.nodeDeadAfter()
	now := s.access.Now()
	out := make([]nodeView, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, nodeView{ID: string(n.ID), State: nodeState(n, now, deadAfter), URL: n.URL, Version: n.Version, Calls: n.Calls,
			StartedAt: n.StartedAt, LastSeen: n.LastSeen, GoneAt: n.GoneAt})
	}
	c.JSON(http.StatusOK, gin.H{"nodes": out})
	return nil
}
